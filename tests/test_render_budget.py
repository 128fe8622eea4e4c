"""The drawing budget as shipped: the texture head draws at most RENDER_MAX = 2,048 px on the longer
side (docs/RELIABILITY.md: a 10,000 px photo would otherwise need gigabytes of activations). The
real value is asserted here, through `render_size` and through `sketch --crop none`."""
from PIL import Image
import torch

import sketchstudio.cli as cli_mod
from sketchstudio.core import build_model, preset
from sketchstudio.core.checkpoint import save_model
from sketchstudio.core.model import SketchModel
from sketchstudio.core.tokenizer import RENDER_MAX, render_size
from sketchstudio.train.surgery import add_upscaler


def make_tiny(seed: int):
    """The tiny preset with weights drawn under `seed` (as conftest's tiny_model)."""
    torch.manual_seed(seed)
    return build_model(preset("tiny")).eval()


def test_the_budget_is_2048_px_on_the_longer_side():
    assert RENDER_MAX == 2048
    assert render_size((10000, 10000)) == (2048, 2048)  # (W, H) in, (H, W) out
    assert render_size((10000, 2500)) == (512, 2048)
    assert render_size((1000, 8000)) == (2048, 256)
    assert render_size((2048, 2048)) == (2048, 2048)  # at the budget: unchanged
    assert render_size((2049, 100)) == (100, 2048)
    assert render_size((300, 120)) == (120, 300)  # under it: the photo's own size


def test_the_cli_asks_the_head_for_at_most_the_budget(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    save_model(add_upscaler(make_tiny(0).eval(), 2, 8), path)
    photo = tmp_path / "wide.png"
    Image.new("RGB", (6000, 1500), (200, 180, 160)).save(photo)
    asked = []
    real_decode = SketchModel.decode

    def spy(self, ids, size=None, texture=True, style=None, photo=None):
        asked.append(size)
        return real_decode(self, ids, None, texture)  # drawn small here: only the size asked matters

    monkeypatch.setattr(SketchModel, "decode", spy)
    out = tmp_path / "out"
    assert cli_mod.main(["sketch", str(photo), "--out", str(out), "--model", str(path), "--crop", "none", "-q"]) == 0
    assert asked == [(512, 2048)]  # 6000 x 1500 scaled to 2,048 px on the longer side
    assert Image.open(out / "wide.png").size == (6000, 1500)  # and returned at the photo's size
