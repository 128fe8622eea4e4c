"""Application entry point: `sketchstudio` (the window) and `sketchstudio --self-test`."""
from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from .logic.settings import AppSettings
from .studio.main_window import MainWindow


def run_app(model_path: str | None = None, self_test: bool = False) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("SketchStudio")
    settings = AppSettings() if self_test else AppSettings.load()  # the self-test leaves the user's alone
    window = MainWindow(settings, find_cameras=not self_test)
    window.interactive = window.persist = not self_test
    window.show()
    window.start(model_path)
    if self_test:
        from .self_test import run_self_test

        def test() -> None:
            code = run_self_test(window)
            window.close()
            app.exit(code)

        QTimer.singleShot(0, test)
    code = app.exec()
    window.studio.shutdown()  # no-op after a normal close; never leave the worker thread running
    return code
