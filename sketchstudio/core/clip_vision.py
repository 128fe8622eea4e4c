"""open_clip's vision transformer without the rest of open_clip (issue 25).

`import open_clip` runs the package's __init__, which imports the whole library: the
pretrained-weight hub, tokenizers, losses, CoCa, timm and torchvision, whose ops import
torch._dynamo; about 2.5 s on 2 cores, of which a sketch uses one class. The `tiny` and
`default` presets describe a plain ViT (clip_configs/SketchStudio-ViT.json) that open_clip
builds from its `transformer` module alone.

`transformer_module()` runs open_clip's transformer.py, with the two modules it imports
(utils.py, pos_embed.py), as modules of a private package: the code is open_clip's, unchanged,
and a later `import open_clip` (the paper preset, `--clip-weights`) is the ordinary, complete
package. Should that fail (a layout it does not know), it falls back to the ordinary import.
open_clip/utils.py imports torchvision's FrozenBatchNorm2d (for freezing ResNet towers, never
built here); for that one import, torchvision.ops.misc is loaded without torchvision's and
torchvision.ops' package __init__s, and those stand-ins are forgotten again at once. Where
open_clip or torchvision is imported already, nothing is loaded a second time.

`build_small_vit` makes the tower exactly as `open_clip.create_model(name, vision_cfg=...)
.visual` does for such a config (tests/test_clip_vision.py compares the two).
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import importlib.util
import json
import sys
import threading
import types
from pathlib import Path

import torch.nn as nn

CONFIG_DIR = Path(__file__).with_name("clip_configs")
_PACKAGE = "_sketchstudio_open_clip"  # the private package open_clip's vision modules load into
# The vision settings an EncoderConfig gives; a config file that sets anything else (an
# activation, a pooling, a timm tower) is built by open_clip.create_model instead.
_VISION_KEYS = {"image_size", "patch_size", "width", "layers", "head_width"}
_TEXT_KEYS = {"context_length", "vocab_size", "width", "heads", "layers"}  # of the text tower (see below)
_lock = threading.Lock()


def clip_config(name: str) -> dict | None:
    """The open_clip model config `name` from clip_configs/, or None if it is not one of ours."""
    path = CONFIG_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def is_small_vit(name: str) -> bool:
    """True when `name` is one of our configs that `build_small_vit` builds: a plain ViT."""
    cfg = clip_config(name)
    return (cfg is not None and set(cfg) <= {"embed_dim", "vision_cfg", "text_cfg"}
            and set(cfg.get("vision_cfg", {})) <= _VISION_KEYS and set(cfg.get("text_cfg", {})) <= _TEXT_KEYS)


def build_small_vit(name: str, image_size: int, patch_size: int, width: int, layers: int,
                    head_width: int) -> nn.Module:
    """open_clip's VisionTransformer for config `name` with these vision settings, as
    `open_clip.create_model(name, pretrained=None, vision_cfg=...).visual` builds it (fp32,
    GELU, open_clip's LayerNorm, every other setting at CLIPVisionCfg's default), drawing the
    same initial weights from torch's generator."""
    if not is_small_vit(name):
        raise ValueError(f"{name} is not a plain ViT config of this package")
    t = transformer_module()
    cfg = clip_config(name)
    visual = t.VisionTransformer(
        image_size=image_size, patch_size=patch_size, width=width, layers=layers, heads=width // head_width,
        mlp_ratio=4.0, ls_init_value=None, patch_dropout=0.0, attentional_pool=False, attn_pooler_queries=256,
        attn_pooler_heads=8, pos_embed_type="learnable", no_ln_pre=False, final_ln_after_pool=False,
        pool_type="tok", output_tokens=False, output_dim=cfg["embed_dim"], act_layer=nn.GELU,
        norm_layer=t.LayerNorm, block_type=None, qk_norm=False, scaled_cosine_attn=False, scale_heads=False,
        scale_attn_inner=False, scale_attn=False, scale_fc=False,
    )
    # CLIP builds its text tower next. Building it too, and dropping it, draws the same random
    # numbers, so every seeded build (a model trained from scratch, the tests' tiny model) gets
    # the weights it got when open_clip built the whole CLIP. Ours is tiny: about a millisecond.
    text = {"context_length": 77, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12, **cfg.get("text_cfg", {})}
    t.TextTransformer(
        context_length=text["context_length"], vocab_size=text["vocab_size"], width=text["width"],
        heads=text["heads"], layers=text["layers"], mlp_ratio=4.0, ls_init_value=None, output_dim=cfg["embed_dim"],
        embed_cls=False, no_causal_mask=False, pad_id=0, eos_id=2, pool_type="argmax", proj_type="linear",
        proj_bias=False, output_tokens=False, act_layer=nn.GELU, norm_layer=t.LayerNorm, block_type=None,
        qk_norm=False, scaled_cosine_attn=False, scale_heads=False, scale_attn_inner=False, scale_attn=False,
        scale_fc=False,
    )
    return visual


def transformer_module() -> types.ModuleType:
    """open_clip.transformer: the imported one if open_clip is, else loaded on its own (above)."""
    with _lock:
        for name in ("open_clip.transformer", f"{_PACKAGE}.transformer"):
            if name in sys.modules:
                return sys.modules[name]
        try:
            return _load_alone()
        except (ImportError, OSError, AttributeError, TypeError):
            # A layout this loader does not know (another packager): the ordinary, slower import.
            for name in [n for n in sys.modules if n == _PACKAGE or n.startswith(_PACKAGE + ".")]:
                del sys.modules[name]
            return importlib.import_module("open_clip.transformer")


def _load_alone() -> types.ModuleType:
    spec = importlib.util.find_spec("open_clip")  # a top-level name: found, not imported
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("open_clip is not installed")
    folder = Path(list(spec.submodule_search_locations)[0])
    package = sys.modules[_PACKAGE] = _bare_package(_PACKAGE, [])  # its three modules are put in below
    with _torchvision_misc_alone():
        for sub in ("utils", "pos_embed", "transformer"):  # each imports only the ones before it
            name = f"{_PACKAGE}.{sub}"
            module = types.ModuleType(name)
            module.__package__ = _PACKAGE
            module.__file__ = str(folder / f"{sub}.py")
            sys.modules[name] = module
            setattr(package, sub, module)
            exec(_code(spec, folder, sub), module.__dict__)
    return module


def _code(spec, folder: Path, sub: str):
    """The code object of open_clip/<sub>.py: from the source (and its cached bytecode) in an
    installed package, from the archive in a frozen app (PyInstaller keeps no sources)."""
    source = folder / f"{sub}.py"
    if source.is_file():
        return importlib.machinery.SourceFileLoader(f"open_clip.{sub}", str(source)).get_code(f"open_clip.{sub}")
    return spec.loader.get_code(f"open_clip.{sub}")


def _bare_package(name: str, path: list[str]) -> types.ModuleType:
    """A package module whose submodules are found in `path`, its own __init__ not run."""
    spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
    spec.submodule_search_locations = list(path)
    return importlib.util.module_from_spec(spec)


@contextlib.contextmanager
def _torchvision_misc_alone():
    """While open_clip/utils.py runs `from torchvision.ops.misc import FrozenBatchNorm2d`:
    `torchvision` and `torchvision.ops` are bare packages, so only misc.py (and the
    torchvision/utils.py it imports) run. Every torchvision module is forgotten afterwards,
    so a later `import torchvision` runs torchvision's own __init__ as usual."""
    if "torchvision" in sys.modules:
        yield
        return
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("torchvision is not installed")
    root = Path(list(spec.submodule_search_locations)[0])
    sys.modules["torchvision"] = _bare_package("torchvision", [str(root)])
    sys.modules["torchvision.ops"] = _bare_package("torchvision.ops", [str(root / "ops")])
    try:
        yield
    finally:
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
