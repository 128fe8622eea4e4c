"""Model checkpoints: one `.safetensors` file, config and format version in its metadata.

Loading never unpickles. Every problem with a file (missing, truncated, a
pickle, wrong format or version, an architecture that does not match its own
config, a header that lies about its tensors, a weight stored in a dtype it
cannot have, non-finite weights) raises `CheckpointError` with a one-line message
naming the file and the problem.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .config import ModelConfig
from .encoder import ClipWeightsError
from .files import TEMP_SUFFIX, atomic_write, remove_stale_temps  # noqa: F401 (also imported from here)
from .model import SketchModel

FORMAT = "sketchstudio-model"
FORMAT_VERSION = 1
# Storage dtypes a float weight may have; anything else (float64, float8, ints, bool) is refused
# rather than cast, so a float64 1e300 can never load as an infinite float32.
FLOAT_STORAGE = (torch.float32, torch.float16, torch.bfloat16)
_PICKLE_MAGIC = (b"PK\x03\x04", b"\x80")  # torch zip archives, raw pickle protocol >= 2


class CheckpointError(RuntimeError):
    pass


def _fail(path, problem: str) -> CheckpointError:
    # One line, whatever the wrapped library error looked like.
    return CheckpointError(f"{path}: {' '.join(problem.split())}")


def save_model(model: SketchModel, path, info: dict | None = None, half: bool = False) -> None:
    """Write the model's weights, config and `info` (a JSON-able dict: model card data)."""
    state = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu().contiguous()
        state[k] = v.half() if half and v.is_floating_point() else v
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "config": model.cfg.to_json(),
        "info": json.dumps(info or {}, sort_keys=True),
    }
    atomic_write(path, lambda tmp: save_file(state, tmp, metadata=metadata))


def read_metadata(path) -> dict:
    """The file's metadata after format checks (cheap: reads only the header)."""
    path = Path(path)
    if not path.exists():
        raise _fail(path, "model file not found")
    if not path.is_file():
        raise _fail(path, "not a file")
    with open(path, "rb") as f:
        head = f.read(9)
    if len(head) < 8:
        raise _fail(path, f"file is truncated ({path.stat().st_size} bytes)")
    # A safetensors header length can itself start with 0x80 (one file in 32), so the
    # pickle test only applies when no JSON header follows the 8-byte length.
    if head[8:9] != b"{" and head.startswith(_PICKLE_MAGIC):
        raise _fail(path, "is a pickle-based PyTorch file; SketchStudio never unpickles model files "
                          "(convert it to .safetensors)")
    header_len = int.from_bytes(head[:8], "little")
    if header_len > path.stat().st_size - 8:
        raise _fail(path, "file is truncated or not a safetensors file (header runs past the end)")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise _fail(path, f"not a readable safetensors file ({exc})") from None
    if meta.get("format") != FORMAT:
        raise _fail(path, "not a SketchStudio model (no sketchstudio-model format tag)")
    if meta.get("format_version") != str(FORMAT_VERSION):
        raise _fail(path, f"format version {meta.get('format_version')!r} is not supported "
                          f"(this SketchStudio reads version {FORMAT_VERSION})")
    return meta


def read_config(path) -> tuple[ModelConfig, dict]:
    meta = read_metadata(path)
    try:
        cfg = ModelConfig.from_json(meta["config"])
        info = json.loads(meta.get("info", "{}"))
    except (KeyError, ValueError, TypeError, AttributeError) as exc:  # AttributeError: a list where a dict belongs
        raise _fail(path, f"bad config in metadata ({exc})") from None
    if not isinstance(info, dict):
        raise _fail(path, f"bad info in metadata (a JSON {type(info).__name__}, not an object)")
    return cfg, info


def load_model(path, clip_weights=None) -> tuple[SketchModel, dict]:
    """Build the model from the file's config and load its weights (float32, eval mode)."""
    path = Path(path)
    cfg, info = read_config(path)
    try:
        model = SketchModel(cfg, clip_weights)
    except ClipWeightsError:
        raise
    except (ValueError, TypeError, RuntimeError, AssertionError) as exc:  # e.g. channels GroupNorm cannot split
        raise _fail(path, f"cannot build the model its config describes ({exc})") from None
    expected = model.state_dict()
    try:
        with safe_open(str(path), framework="pt") as f:
            keys = set(f.keys())
            missing, extra = sorted(set(expected) - keys), sorted(keys - set(expected))
            if missing or extra:
                raise _fail(path, "architecture does not match its config: "
                                  f"{len(missing)} missing keys (e.g. {missing[:2]}), "
                                  f"{len(extra)} unexpected keys (e.g. {extra[:2]})")
            state = {}
            for k in expected:
                t = f.get_tensor(k)
                if t.shape != expected[k].shape:
                    raise _fail(path, f"architecture does not match its config: {k} has shape "
                                      f"{tuple(t.shape)}, expected {tuple(expected[k].shape)}")
                want = expected[k].dtype
                allowed = FLOAT_STORAGE if want.is_floating_point else (want,)
                if t.dtype not in allowed:
                    names = [str(d).removeprefix("torch.") for d in allowed]
                    raise _fail(path, f"{k} has dtype {str(t.dtype).removeprefix('torch.')}, expected "
                                      + (", ".join(names[:-1]) + " or " if len(names) > 1 else "") + names[-1])
                t = t.to(want)
                if t.is_floating_point() and not torch.isfinite(t).all():
                    raise _fail(path, f"{k} holds NaN or infinite values")
                state[k] = t
    except CheckpointError:
        raise
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise _fail(path, f"cannot read weights ({exc})") from None
    model.load_state_dict(state)
    return model.eval(), info
