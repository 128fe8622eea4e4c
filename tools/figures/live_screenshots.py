"""Screenshots for issue 33: the webcam tab sketching a video file, and an SVG export.

    Xvfb :99 -screen 0 1400x900x24 &
    DISPLAY=:99 .venv/bin/python tools/figures/live_screenshots.py --model MODEL.safetensors

Writes to --out (default docs/screenshots/):
- `webcam-video.png`: the real window, the webcam tab's source a 640x480 H.264 clip of the
  sample face (--scene, default turning in front of a room; made here with
  tools/bench/bench_video.py's make_clip), a few seconds
  into playing it, the tab saying which path each frame took;
- `svg-export.png`: the window after File > Export sketch as vector paths (its status bar names
  the file), and beside it the sketch's PNG, the SVG rasterised again by cairosvg, and a 2x
  crop of each, with the SVG's size, path count and SSIM against the PNG written under them.
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "bench"))
sys.path.insert(0, str(ROOT / "tools" / "figures"))

from bench_video import make_clip  # noqa: E402
from scenes import frames  # noqa: E402
from screenshots import pump  # noqa: E402

from sketchstudio.app.logic.settings import AppSettings  # noqa: E402
from sketchstudio.app.studio.main_window import MainWindow  # noqa: E402
from sketchstudio.core.metrics import ssim_uint8  # noqa: E402
from sketchstudio.paths import resources_dir  # noqa: E402


def svg_sheet(window_png: Image.Image, png: Image.Image, svg_text: str) -> Image.Image:
    import cairosvg

    back = Image.open(io.BytesIO(cairosvg.svg2png(bytestring=svg_text.encode()))).convert("L")
    grey = png.convert("L")
    score = ssim_uint8(np.asarray(grey), np.asarray(back))
    side = 360
    w, h = grey.size
    box = (w * 3 // 10, h * 3 // 10, w * 3 // 10 + w // 4, h * 3 // 10 + w // 4)  # an eye and the brow
    tiles = [grey.resize((side, side), Image.LANCZOS), back.resize((side, side), Image.LANCZOS),
             grey.crop(box).resize((side, side), Image.NEAREST), back.crop(box).resize((side, side), Image.NEAREST)]
    sheet = Image.new("RGB", (window_png.width + 2 * side + 30, max(window_png.height, 2 * side + 90)), "white")
    sheet.paste(window_png, (0, 0))
    x0 = window_png.width + 10
    for i, t in enumerate(tiles):
        sheet.paste(t.convert("RGB"), (x0 + (i % 2) * (side + 10), 30 + (i // 2) * (side + 30)))
    d = ImageDraw.Draw(sheet)
    d.text((x0, 8), "PNG", fill="black")
    d.text((x0 + side + 10, 8), "SVG, rasterised again (cairosvg)", fill="black")
    d.text((x0, 30 + side + 8), "PNG, crop at 2x", fill="black")
    d.text((x0 + side + 10, 30 + side + 8), "SVG, crop at 2x", fill="black")
    d.text((x0, 30 + 2 * side + 40), f"SVG {len(svg_text.encode()) / 1000:.0f} kB, {svg_text.count('<path')} paths, "
           f"SSIM {score:.3f} against the PNG", fill="black")
    return sheet


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    ap.add_argument("--seconds", type=float, default=8.0, help="how long the clip plays before the shot")
    ap.add_argument("--scene", default="turn", help="the clip's scene (tools/bench/scenes.py; default turn)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _app = QApplication.instance() or QApplication(sys.argv[:1])
    tmp = Path(tempfile.mkdtemp(prefix="live_shots_"))
    clip = tmp / f"{args.scene}-face.mp4"
    make_clip(clip, frames(150, args.scene))
    win = MainWindow(AppSettings(), find_cameras=False)
    win.persist = False
    win.interactive = False
    win.resize(1280, 800)
    win.show()
    win.start(args.model)
    pump(120, lambda: win.studio.model is not None)
    win.inputs.setCurrentWidget(win.webcam)
    win.webcam.add_video(clip)
    win.webcam.start()
    pump(args.seconds)
    path = out / "webcam-video.png"
    win.grab().save(str(path))
    print(f"wrote {path}")
    win.webcam.stop()
    pump(2.0, lambda: not win.studio.busy)
    win.inputs.setCurrentWidget(win.photo_panel)
    face = resources_dir() / "sample_face.png"
    win.open_path(face)
    pump(0.5)
    pump(120, lambda: win.studio.result is not None and not win.studio.busy and win.studio.photo.path == str(face))
    pump(0.5)
    svg = tmp / "sample_face.svg"
    png = tmp / "sample_face.png"
    assert win.exports.export_png(png) and win.exports.export_svg(svg)
    pump(0.3)
    shot = out / "svg-export.png"
    window = tmp / "window.png"
    win.grab().save(str(window))
    sheet = svg_sheet(Image.open(window), Image.open(png), svg.read_text())
    sheet.save(shot)
    print(f"wrote {shot}")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
