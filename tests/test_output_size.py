"""Drawing at the size the artist needs (issue 12, item 5): `sketch --size` and the window's
export at 1024 or 2048 px draw from the sketch's tokens at that size, not a 512 px sketch resized."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from app_fixtures import SAMPLE, make_window, settle  # noqa: F401  (fixtures)
from sketchstudio.cli import main as cli_main
from sketchstudio.core.checkpoint import save_model
from sketchstudio.core.imaging import read_png_text
from sketchstudio.core.sampler import SamplerSettings
from sketchstudio.core.tokenizer import render_size
from sketchstudio.sketch_file import SKETCH_META_KEY
from sketchstudio.train.surgery import add_renderer
from conftest import make_tiny


@pytest.fixture(scope="module")
def renderer_model(tmp_path_factory):
    """A tiny model with a style-aware renderer that sees the photo and draws something
    (perturbed weights), so the window's export and the CLI must hand it the same photo."""
    torch.manual_seed(0)
    model = add_renderer(make_tiny(0), 2, 4, photo=True).eval()
    with torch.no_grad():
        for p in model.tokenizer.renderer.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    path = tmp_path_factory.mktemp("m") / "r.safetensors"
    save_model(model, path)
    return path


def pixels(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def test_render_size_puts_the_asked_pixels_on_the_longer_side():
    assert render_size((300, 120)) == (120, 300)  # the photo's own size
    assert render_size((300, 120), 1024) == (410, 1024)
    assert render_size((120, 300), 2048) == (2048, 819)
    assert render_size((6000, 1500), 4096) == (512, 2048)  # never past RENDER_MAX


def test_cli_size_draws_at_that_size(renderer_model, tmp_path):
    args = ["sketch", str(SAMPLE), "--model", str(renderer_model), "--steps", "3", "-q"]
    assert cli_main([*args, "--out", str(tmp_path / "a")]) == 0
    assert cli_main([*args, "--out", str(tmp_path / "b"), "--size", "1024"]) == 0
    small, big = pixels(tmp_path / "a" / "sample_face.png"), pixels(tmp_path / "b" / "sample_face.png")
    assert small.shape == (64, 64) and big.shape == (1024, 1024)  # tiny model: 32 px decode, renderer x2
    resized = np.asarray(Image.fromarray(small).resize((1024, 1024), Image.BICUBIC))
    assert np.abs(big.astype(int) - resized).mean() > 1  # drawn at 1024, not the small sketch resized
    wide = tmp_path / "wide.png"
    Image.new("RGB", (300, 120), (200, 180, 160)).save(wide)
    assert cli_main(["sketch", str(wide), "--model", str(renderer_model), "--steps", "3", "-q", "--crop", "none",
                     "--size", "512", "--out", str(tmp_path / "c")]) == 0
    assert Image.open(tmp_path / "c" / "wide.png").size == (512, 205)
    with pytest.raises(SystemExit):
        cli_main([*args, "--out", str(tmp_path / "d"), "--size", "700"])  # one of 512, 1024, 2048


def test_window_export_at_1024_matches_the_cli(qtbot, make_window, renderer_model, tmp_path):  # noqa: F811
    win = make_window(model=renderer_model)
    win.studio.set_settings(SamplerSettings(steps=3, seed=5))
    win.style_controls.select("pencil")
    with qtbot.waitSignal(win.studio.sketch_ready, timeout=20000):
        assert win.open_path(SAMPLE)
    settle(qtbot, win.studio)
    png = tmp_path / "big.png"
    assert win.exports.export_png(png, 1024)
    assert json.loads(read_png_text(png)[SKETCH_META_KEY])["size"] == 1024
    assert cli_main(["sketch", str(SAMPLE), "--model", str(renderer_model), "--steps", "3", "--seed", "5",
                     "--style", "pencil", "--size", "1024", "-q", "--out", str(tmp_path / "cli")]) == 0
    assert np.array_equal(pixels(png), pixels(tmp_path / "cli" / "sample_face.png"))
    assert win.exports.export_png(tmp_path / "shown.png")  # as shown: the sketch in the window
    assert pixels(tmp_path / "shown.png").shape == win.studio.result.sketch.shape
