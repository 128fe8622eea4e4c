"""Sketches as vector paths: the SVG holds only paths in greys and rasterises back to the PNG."""
import io
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from sketchstudio import cli
from sketchstudio.app.logic.batch_jobs import BatchJob
from sketchstudio.app.logic.decode_job import SketchSpec
from sketchstudio.core.checkpoint import load_model
from sketchstudio.core.metrics import ssim_uint8
from sketchstudio.core.sampler_settings import CancelToken, SamplerSettings
from sketchstudio.paths import DEFAULT_MODEL_NAME, bundle_root, resources_dir
from sketchstudio.sketch_svg import save_svg, sketch_svg

cairosvg = pytest.importorskip("cairosvg")


def rasterise(svg: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(cairosvg.svg2png(bytestring=svg.encode()))).convert("L"))


def line_drawing(side=256) -> Image.Image:
    """A sketch-like picture: strokes of three greys on white paper, softened a little."""
    im = Image.new("L", (side, side), 255)
    d = ImageDraw.Draw(im)
    d.ellipse((50, 30, 206, 220), outline=40, width=3)
    for x, grey in ((90, 110), (150, 110)):
        d.ellipse((x - 14, 100, x + 14, 116), outline=grey, width=2)
    d.line((128, 120, 120, 160, 134, 162), fill=70, width=2)
    d.arc((95, 165, 161, 195), 10, 170, fill=60, width=3)
    for i in range(12):
        d.line((60 + 8 * i, 40, 40 + 8 * i, 90), fill=170, width=2)  # hatching in the hair
    return im.filter(ImageFilter.GaussianBlur(0.6))


def test_the_svg_is_paths_in_greys_and_rasterises_back():
    im = line_drawing()
    svg = sketch_svg(im)
    assert "<image" not in svg and "base64" not in svg  # nothing raster inside
    fills = re.findall(r'fill="#([0-9a-f]{6})"', svg)
    assert len(fills) > 10 and all(f[0:2] == f[2:4] == f[4:6] for f in fills)  # greys only
    back = rasterise(svg)
    assert back.shape == (256, 256)
    assert ssim_uint8(np.asarray(im), back) >= 0.9


SHIPPED = bundle_root() / "models" / DEFAULT_MODEL_NAME


@pytest.mark.parametrize("style", ["pencil", "charcoal"])
def test_a_textured_sketch_of_the_shipped_model_rasterises_back(tmp_path, style):
    # The textured styles' grain is pixel-sized: traced at the sketch's own size the spline fit
    # rounded it off (SSIM 0.86 pencil, 0.84 charcoal on the sample face); traced at 2x it keeps it.
    out = tmp_path / "out"
    face = resources_dir() / "sample_face.png"
    assert cli.main(["sketch", str(face), "--out", str(out), "--model", str(SHIPPED), "--style", style, "-q"]) == 0
    png = Image.open(out / "sample_face.png")
    assert ssim_uint8(np.asarray(png.convert("L")), rasterise(sketch_svg(png))) >= 0.9


def test_a_blank_page_is_one_white_rect():
    svg = sketch_svg(Image.new("L", (40, 30), 255))
    assert "<path" not in svg and 'width="40" height="30"' in svg
    assert rasterise(svg).min() == 255


def test_sketch_writes_an_svg_beside_the_png(tmp_path, tiny_checkpoint, make_photo):
    photo = make_photo("face.png", size=(64, 64))
    out = tmp_path / "out"
    assert cli.main(["sketch", str(photo), "--out", str(out), "--model", str(tiny_checkpoint), "--steps", "2", "-q",
                     "--svg"]) == 0
    png = np.asarray(Image.open(out / "face.png").convert("L"))
    back = rasterise((out / "face.svg").read_text())
    assert back.shape == png.shape
    # Random weights draw pixel noise, which the tracer drops as speckle: only the page's tone is kept.
    assert abs(float(png.mean()) - float(back.mean())) < 25 and "<image" not in (out / "face.svg").read_text()


def test_batch_export_writes_svgs_when_asked(tmp_path, tiny_checkpoint, make_photo):
    model, _ = load_model(tiny_checkpoint)
    photos = [make_photo(f"p{i}.png", size=(48, 48)) for i in range(2)]
    spec = SketchSpec((1.0,) + (0.0,) * (len(model.styles) - 1), SamplerSettings(steps=2))
    gen = BatchJob(model, "tiny", spec, photos, tmp_path / "batch", svg=True).run(CancelToken())
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            report = stop.value
            break
    assert sorted(p.name for p in report.written) == ["p0.png", "p0.svg", "p1.png", "p1.svg"]
    assert report.failures == []


def test_save_svg_writes_the_text_it_returns(tmp_path):
    text = save_svg(line_drawing(64), tmp_path / "x.svg")
    assert (tmp_path / "x.svg").read_text() == text and [p.name for p in tmp_path.iterdir()] == ["x.svg"]
