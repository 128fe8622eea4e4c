"""The studio window's panels: input on the left (photo or webcam), the live sketch in the middle
with the model's styles under it, the controls on the right, a banner over them all when no
model is loaded, and the status line.

Widgets and their layout only: the window wires them to the studio (main_window.py).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QFrame, QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSplitter,
                               QStatusBar, QTabWidget, QVBoxLayout, QWidget)

from ..logic.model_load import LOAD_STAGES
from .decode_view import DecodeView
from .photo_panel import PhotoPanel
from .sampler_controls import SamplerControls
from .style_controls import StyleControls
from .styles_panel import StylesPanel
from .webcam_panel import WebcamPanel


class WindowPanels(QWidget):
    """The window's central widget, and the status line and the load's progress
    (`add_to_status_bar`)."""

    def __init__(self):
        super().__init__()
        self.photo_panel = PhotoPanel()
        self.webcam = WebcamPanel()
        self.inputs = QTabWidget()
        self.inputs.addTab(self.photo_panel, "Photo")
        self.inputs.addTab(self.webcam, "Webcam")
        self.decode_view = DecodeView()
        self.style_controls = StyleControls()
        self.styles_panel = StylesPanel()
        self.sampler_controls = SamplerControls()
        self.model_label = QLabel("No model")
        self.model_label.setTextFormat(Qt.TextFormat.PlainText)
        self.model_label.setWordWrap(True)
        self.model_button = QPushButton("Choose model…")
        self.export_button = QPushButton("Export PNG…")
        self._banner()

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.inputs)
        split.addWidget(self._middle())
        split.addWidget(self._controls())
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setStretchFactor(2, 0)
        split.setSizes([340, 560, 320])
        vl = QVBoxLayout(self)
        vl.addWidget(self.banner)
        vl.addWidget(split, 1)

        self.status_label = QLabel("Ready")
        # While the model loads in the background: its stages (a busy bar would repaint all the time).
        self.load_progress = QProgressBar()
        self.load_progress.setRange(0, len(LOAD_STAGES))
        self.load_progress.setTextVisible(False)
        self.load_progress.setMaximumWidth(120)
        self.load_progress.hide()

    def add_to_status_bar(self, status_bar: QStatusBar) -> None:
        status_bar.addPermanentWidget(self.load_progress)
        status_bar.addPermanentWidget(self.status_label)

    def _banner(self) -> None:
        """What is missing when no model is loaded, and a button to choose one."""
        self.banner = QFrame()
        self.banner.setObjectName("banner")
        self.banner.setStyleSheet("QFrame#banner { background: #fff3cd; border: 1px solid #e0c36a; }")
        self.banner_text = QLabel()
        self.banner_text.setTextFormat(Qt.TextFormat.PlainText)
        self.banner_text.setWordWrap(True)
        self.banner_button = QPushButton("Choose model…")
        bl = QHBoxLayout(self.banner)
        bl.addWidget(self.banner_text, 1)
        bl.addWidget(self.banner_button)
        self.banner.hide()

    def _middle(self) -> QWidget:
        """The sketch, and under it the model's styles as a strip of samples."""
        styles_box = QGroupBox("Styles of this model (double-click: sketch in it; right-click: rename, remove)")
        sl = QVBoxLayout(styles_box)
        sl.setContentsMargins(4, 2, 4, 2)
        sl.addWidget(self.styles_panel)
        middle = QWidget()
        ml = QVBoxLayout(middle)
        ml.setContentsMargins(0, 0, 0, 0)
        ml.addWidget(self.decode_view, 1)
        ml.addWidget(styles_box)
        return middle

    def _controls(self) -> QWidget:
        """The model, the style and the decoding settings, and the export button under them."""
        model_box = QGroupBox("Model")
        lay = QVBoxLayout(model_box)
        lay.addWidget(self.model_label)
        lay.addWidget(self.model_button)
        style_box = QGroupBox("Style")
        QVBoxLayout(style_box).addWidget(self.style_controls)
        decode_box = QGroupBox("Decoding")
        QVBoxLayout(decode_box).addWidget(self.sampler_controls)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(4, 0, 4, 0)
        for w in (model_box, style_box, decode_box):
            rl.addWidget(w)
        rl.addStretch(1)
        rl.addWidget(self.export_button)
        right.setMinimumWidth(330)
        return right

    def show_photo_input(self) -> None:
        """The photo tab in front, the webcam stopped: a photo or a sketch was opened."""
        self.webcam.stop()
        self.inputs.setCurrentWidget(self.photo_panel)
