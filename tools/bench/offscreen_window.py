"""The studio window opened offscreen for a benchmark script (bench_responsiveness, bench_webcam).

    with studio_window("bench_webcam", model_path, tiny=False) as (app, win, errors):
        ...

Qt runs offscreen unless QT_QPA_PLATFORM says otherwise; error boxes are collected in `errors`
instead of shown; `tiny` loads the test suite's tiny model (random weights) instead of a file.
The window starts on the model (None: the shipped one), with the denormal flush the app sets.
"""
from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402


@contextmanager
def studio_window(tool: str, model: str | None, tiny: bool = False):
    from PySide6.QtWidgets import QApplication

    from sketchstudio.app import messages
    from sketchstudio.app.logic.settings import AppSettings
    from sketchstudio.app.studio.main_window import MainWindow
    from sketchstudio.app.workers.thread import release_gui_thread, reserve_gui_thread

    torch.set_flush_denormal(True)  # as the app does
    reserve_gui_thread()  # as the app does: the GUI thread computes on one torch thread
    try:
        app = QApplication.instance() or QApplication([sys.argv[0]])
        errors: list[str] = []
        messages.show_error = lambda parent, title, text: errors.append(f"{title}: {text}")  # no modal boxes
        with tempfile.TemporaryDirectory() as tmp:
            if tiny:
                from sketchstudio.core import build_model, preset
                from sketchstudio.core.checkpoint import save_model

                torch.manual_seed(0)
                model = str(Path(tmp) / "tiny.safetensors")
                save_model(build_model(preset("tiny")), model)
            win = MainWindow(AppSettings(path=Path(tmp) / "settings.json"), find_cameras=False, grace_s=0.0)
            win.show()
            win.start(model)
            if win.studio.model is None:
                raise SystemExit(f"{tool}: no model loaded ({'; '.join(errors)})")
            try:
                yield app, win, errors
            finally:
                win.close()
    finally:
        release_gui_thread()  # a test process gets its torch threads back
