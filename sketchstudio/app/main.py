"""Application entry point. Until the studio window lands this is a small placeholder window."""
from __future__ import annotations

import sys

from PySide6.QtCore import QTimer, Qt
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QVBoxLayout, QWidget

from .. import __version__
from ..paths import default_model_path


class PlaceholderWindow(QMainWindow):
    def __init__(self, model_path: str | None = None):
        super().__init__()
        self.setWindowTitle(f"SketchStudio {__version__}")
        path = model_path or str(default_model_path())
        body = QWidget()
        layout = QVBoxLayout(body)
        title = QLabel("SketchStudio")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setStyleSheet("font-size: 24px; font-weight: bold;")
        note = QLabel("The studio window is under construction.\n"
                      "Use 'sketchstudio sketch PHOTO --out DIR' meanwhile.")
        note.setTextFormat(Qt.TextFormat.PlainText)
        note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        model = QLabel(f"Model: {path}")
        model.setTextFormat(Qt.TextFormat.PlainText)
        for w in (title, note, model):
            layout.addWidget(w)
        self.setCentralWidget(body)
        self.resize(520, 240)


def run_app(model_path: str | None = None, self_test: bool = False) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    win = PlaceholderWindow(model_path)
    win.show()
    if self_test:
        QTimer.singleShot(200, app.quit)
    return app.exec()
