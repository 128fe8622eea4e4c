"""The small ViT without the rest of open_clip (core/clip_vision.py, issue 25), each checked in
a fresh interpreter: a model loads without open_clip's package, torchvision, timm or
torch._dynamo, and the tower is the one open_clip.create_model builds."""
import os
import subprocess
import sys

import pytest

HEAVY = ("torch", "open_clip", "torchvision", "timm", "torch._dynamo")


def run(code: str) -> str:
    """`code` in a fresh interpreter (Qt offscreen); its stdout."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_a_model_loads_without_the_rest_of_open_clip(tiny_checkpoint):
    out = run(f"""
import sys
from sketchstudio.core.checkpoint import load_model
load_model({str(tiny_checkpoint)!r})
print(sorted(m for m in {HEAVY[1:]!r} if m in sys.modules))
import open_clip, torchvision  # afterwards both import as usual, in full
print(callable(open_clip.create_model), callable(torchvision.ops.roi_align))
""")
    assert out.splitlines() == ["[]", "True True"]


@pytest.mark.parametrize("preset_name", ["tiny", "default"])
def test_the_small_vit_is_open_clips_own_tower(preset_name):
    """build_small_vit makes what open_clip.create_model(...).visual makes: the same modules,
    the same seeded initial weights, leaving torch's generator where create_model leaves it, and
    the same outputs (the full open_clip is imported after, as the paper preset would)."""
    out = run(f"""
import torch
from sketchstudio.core.clip_vision import build_small_vit
from sketchstudio.core.config import preset
e = preset({preset_name!r}).encoder
vision = dict(image_size=e.image_size, patch_size=e.patch_size, width=e.width, layers=e.layers,
              head_width=e.head_width)
torch.manual_seed(0)
lean = build_small_vit(e.clip_model, **vision)
after_lean = torch.get_rng_state()
import open_clip
from sketchstudio.core.clip_vision import CONFIG_DIR
open_clip.add_model_config(CONFIG_DIR)
torch.manual_seed(0)
full = open_clip.create_model(e.clip_model, pretrained=None, vision_cfg=vision).visual
assert torch.equal(after_lean, torch.get_rng_state())
assert type(lean).__module__ != type(full).__module__  # the lean one did not come from the package
assert repr(lean) == repr(full)
a, b = lean.state_dict(), full.state_dict()
assert [k for k in a] == [k for k in b] and all(torch.equal(a[k], b[k]) for k in a)
lean.eval(), full.eval()
lean.output_tokens = full.output_tokens = True
x = torch.rand(2, 3, e.image_size, e.image_size)
with torch.no_grad():
    print(all(torch.equal(p, q) for p, q in zip(lean(x), full(x))))
""")
    assert out == "True"
