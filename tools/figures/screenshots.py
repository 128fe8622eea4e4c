"""Screenshots of the real window for docs/screenshots/: loading the model (a photo already
open), idle, mid-decode, finished, the styles strip filled in, webcam (`--only loading`: the first).

    Xvfb :99 -screen 0 1400x900x24 &
    DISPLAY=:99 .venv/bin/python tools/figures/screenshots.py --model MODEL.safetensors

The webcam shot uses a fake frame source (the sample face drifting about), so no camera is needed.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import threading
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QCoreApplication, QEventLoop, QThread
from PySide6.QtWidgets import QApplication

from sketchstudio.app.logic.settings import AppSettings
from sketchstudio.app.studio.camera import FakeFrameSource
from sketchstudio.app.studio.main_window import MainWindow
from sketchstudio.paths import resources_dir

ROOT = Path(__file__).resolve().parents[2]


def pump(seconds: float, until=lambda: False) -> None:
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end and not until():
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 30)
        QThread.msleep(5)


def drifting_face(i: int) -> np.ndarray:
    """A 480x360 'camera frame': the sample face moving slowly on a grey background."""
    face = Image.open(resources_dir() / "sample_face.png").convert("RGB").resize((240, 293))
    frame = Image.new("RGB", (480, 360), (128, 132, 140))
    dx, dy = int(60 * math.sin(i / 15)), int(20 * math.cos(i / 11))
    frame.paste(face, (120 + dx, 40 + dy))
    return np.asarray(frame)


def loading_shot(model: str, out: Path) -> None:
    """The window as it starts: the model still loading (held back), a photo opened meanwhile."""
    hold = threading.Event()
    win = MainWindow(AppSettings(), find_cameras=False)
    win.persist = False
    win.interactive = False
    win.resize(1280, 800)
    win.show()
    win.start(model, background=True, hold=hold)
    pump(1.0, until=lambda: win._painted)
    win.open_path(resources_dir() / "sample_face.png")
    pump(0.5)
    path = out / "loading.png"
    win.grab().save(str(path))
    print(f"wrote {path}")
    hold.set()
    pump(60.0, until=lambda: not win.loading)
    win.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--only", choices=("loading",), help="take only this screenshot")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _app = QApplication.instance() or QApplication(sys.argv[:1])  # kept alive until the end
    loading_shot(args.model, out)
    if args.only:
        return 0
    win = MainWindow(AppSettings(), find_cameras=False)
    win.persist = False
    win.interactive = False
    win.webcam.add_source("Test pattern (fake camera)", lambda: FakeFrameSource(make=drifting_face, interval_ms=40))
    win.resize(1280, 800)
    win.show()
    win.start(args.model)
    win.studio.settings = win.studio.settings.with_(steps=args.steps, seed=7)
    win.sampler_controls.set_settings(win.studio.settings)
    pump(1.0)

    def shot(name: str) -> None:
        path = out / f"{name}.png"
        win.grab().save(str(path))
        print(f"wrote {path}")

    shot("idle")
    mid = {"done": False}

    def grab_mid(frame) -> None:
        if not mid["done"] and frame.step == args.steps // 2 - 1:
            mid["done"] = True
            win.decode_view.show_step(frame)
            shot("mid-decode")

    win.studio.step_ready.connect(grab_mid)
    thumbs = set()  # the styles strip's samples of the opened photo, as they come
    win.thumbnails.ready.connect(lambda style, _image: thumbs.add(style))
    win.open_path(resources_dir() / "sample_face.png")
    pump(120, lambda: win.studio.result is not None and not win.studio.busy)
    pump(0.5)
    shot("finished")
    pump(180, lambda: len(thumbs) >= len(win.studio.model.styles))
    pump(0.3)
    shot("styles-panel")
    # A tilted head: the crop is levelled by the eye line; the overlay shows what the model is told.
    tilted = out / "tilted-sample.png"
    Image.open(resources_dir() / "sample_face.png").convert("RGB").rotate(
        -18, resample=Image.BICUBIC, fillcolor=(190, 200, 210)).save(tilted)
    win.open_path(tilted)
    pump(120, lambda: win.studio.result is not None and not win.studio.busy and win.studio.photo.path == str(tilted))
    win.photo_panel.structure.setChecked(True)
    pump(0.5)
    shot("face-lines")
    win.photo_panel.structure.setChecked(False)
    tilted.unlink()
    win.open_path(resources_dir() / "sample_face.png")
    pump(120, lambda: win.studio.result is not None and not win.studio.busy)
    win.decode_view.set_overlay("confidence")
    win.decode_view.scrubber.setValue(args.steps // 3)
    pump(0.3)
    shot("replay-confidence")
    win.decode_view.set_overlay("tokens")
    win.inputs.setCurrentWidget(win.webcam)
    win.webcam.start()
    pump(6.0)
    shot("webcam")
    win.webcam.stop()
    pump(0.5, lambda: not win.studio.busy)
    win.inputs.setCurrentWidget(win.photo_panel)
    win.style_controls.setCurrentIndex(1)  # the mixer, for the record
    win.style_controls.mixer.sliders[2].setValue(60)
    pump(60, lambda: not win.studio.busy and win.studio.result.spec.style[2] > 0)
    pump(0.3)
    shot("mixer")
    win.close()

    os.environ["SKETCHSTUDIO_MODEL"] = str(out / "no-such-model.safetensors")
    bare = MainWindow(AppSettings(), find_cameras=True)  # no camera here: the webcam tab explains
    bare.persist = False
    bare.resize(1280, 800)
    bare.show()
    bare.start()
    bare.inputs.setCurrentWidget(bare.webcam)
    pump(0.5)
    path = out / "no-model.png"
    bare.grab().save(str(path))
    print(f"wrote {path}")
    bare.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
