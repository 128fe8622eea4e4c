"""`sketchstudio --self-test`: drive the real window through the GUI path and check the result.

Opens the bundled sample photo, sketches it in every style by moving the style controls,
exports a PNG to a temporary folder and checks its pixels and metadata. Returns the exit code.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QCoreApplication, QEventLoop, QThread

from ..paths import resources_dir
from ..sketch_file import read_metadata
from .studio.main_window import MainWindow

SAMPLE = "sample_face.png"


class SelfTestError(Exception):
    pass


def check(ok, message: str) -> None:
    if not ok:
        raise SelfTestError(message)


def wait_until(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise SelfTestError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        QThread.msleep(5)


def run_self_test(window: MainWindow, timeout_s: float = 300.0) -> int:
    out = Path(tempfile.mkdtemp(prefix="sketchstudio-self-test-"))
    errors: list[str] = []
    window.error_reported.connect(lambda title, text: errors.append(f"{title}: {text}"))
    try:
        studio = window.studio
        check(studio.model is not None, "no model is loaded (the shipped model is missing; pass --model PATH)")
        sample = resources_dir() / SAMPLE
        check(window.open_path(sample), f"cannot open the sample photo {sample}: {errors}")
        # The face models (LiteRT, resources/face_models) find the sample's face, on the worker.
        wait_until(lambda: errors or (studio.photo is not None and studio.photo.face is not None), timeout_s,
                   "the sample's face (the face models in resources/face_models)")
        check(not errors, "; ".join(errors))
        print(f"self-test: found the sample's face ({len(studio.photo.face.landmarks)} landmarks)")
        for i, name in enumerate(studio.styles):
            want = tuple(1.0 if j == i else 0.0 for j in range(len(studio.styles)))
            window.style_controls.select(name)  # through the widgets, like a user
            wait_until(lambda: errors or (not studio.busy and studio.result is not None
                                          and studio.result.spec.style == want), timeout_s, f"the {name} sketch")
            check(not errors, "; ".join(errors))
            sketch = studio.result.sketch
            check(sketch.dtype == np.uint8 and sketch.shape == (studio.model.output_size,) * 2,
                  f"{name}: the sketch has shape {sketch.shape}")
            check(len(studio.frames) == studio.settings.steps, f"{name}: {len(studio.frames)} steps shown")
            print(f"self-test: sketched the sample in style {name!r} ({studio.settings.steps} steps)")
        png = out / "self-test.png"
        check(window.exports.export_png(png), f"export failed: {errors}")
        meta = read_metadata(png) or {}
        result = studio.result
        check(meta["model"] == studio.model_id and meta["seed"] == result.spec.settings.seed
              and meta["steps"] == result.spec.settings.steps and meta["style"] == studio.styles[-1]
              and Path(meta["photo"]) == sample, f"unexpected metadata {meta}")
        with Image.open(png) as im:
            check(np.array_equal(np.asarray(im.convert("L")), result.sketch), "the PNG's pixels differ from the sketch")
        print(f"self-test passed: {len(studio.styles)} styles sketched, PNG with settings checked ({studio.model_id})")
        return 0
    except SelfTestError as exc:
        print(f"self-test FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(out, ignore_errors=True)
