"""Application entry point: `sketchstudio` (the window), `sketchstudio --self-test` and
`sketchstudio --quit-when-ready` (prints the seconds from launch to the window's first paint
and to a loaded model, then exits). Imports no torch: the window shows before it (issue 25)."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from .logic.settings import AppSettings
from .studio.main_window import MainWindow
from .workers.thread import reserve_gui_thread


_IMPORTED = time.monotonic()


def seconds_since_launch() -> float:
    """Seconds since this process started (Linux: from /proc; elsewhere: since this module was imported)."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.monotonic() - _IMPORTED


def run_app(model_path: str | None = None, self_test: bool = False, quit_when_ready: bool = False) -> int:
    """The window first, then torch and the model on a worker (issue 25): nothing imported here
    imports torch, and the load starts once the window has painted."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("SketchStudio")
    settings = AppSettings() if self_test else AppSettings.load()  # the self-test leaves the user's alone
    window = MainWindow(settings, find_cameras=not self_test)
    window.interactive = window.persist = not self_test
    window.torch_loaded.connect(reserve_gui_thread)  # before any decode computes (workers/thread.py)
    if quit_when_ready:
        window.persist = False

        def painted() -> None:
            print(f"painted: first window paint {seconds_since_launch():.2f} s after launch", flush=True)

        def ready() -> None:  # the window is shown, the model loaded and the first events handled
            app.processEvents()
            model = "a model loaded" if window.studio.model is not None else "no model"
            print(f"ready: window shown, {model}, {seconds_since_launch():.2f} s after launch", flush=True)
            window.close()
            app.exit(0 if window.studio.model is not None else 1)

        window.first_painted.connect(painted)
        window.load_finished.connect(lambda _ok: QTimer.singleShot(0, ready))
    if self_test:
        from .self_test import run_self_test

        def test() -> None:
            code = run_self_test(window)
            window.close()
            app.exit(code)

        window.load_finished.connect(lambda _ok: QTimer.singleShot(0, test))
    window.show()
    window.start(model_path, background=True)
    code = app.exec()
    window.studio.shutdown()  # no-op after a normal close; never leave the worker thread running
    return code
