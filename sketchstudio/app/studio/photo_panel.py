"""The photo input: the photo with its crop square, open / paste / reset, and the model's view."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..logic.photo import Photo
from ..qt_images import qimage_from_pil
from .crop_view import CropView

THUMB = 96


class PhotoPanel(QWidget):
    open_clicked = Signal()
    paste_clicked = Signal()
    reset_clicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = CropView()
        self.view.set_placeholder("Open a photo, drop one here, or paste one (Ctrl+V).")
        self.crop_changed = self.view.crop_changed
        self.open = QPushButton("Open photo…")
        self.paste = QPushButton("Paste")
        self.reset = QPushButton("Reset crop")
        self.reset.setToolTip("Back to the square around the detected face")
        self.structure = QCheckBox("Face lines")
        self.structure.setToolTip("Overlay what the model is told about the face: its landmark lines and the person mask")
        self.thumb = QLabel()
        self.thumb.setFixedSize(THUMB, THUMB)
        self.thumb.setToolTip("What the model sees")
        self.thumb.setStyleSheet("border: 1px solid #999;")
        self.info = QLabel("")
        self.info.setTextFormat(Qt.TextFormat.PlainText)
        self.info.setWordWrap(True)
        buttons = QVBoxLayout()
        for b in (self.open, self.paste, self.reset, self.structure):
            buttons.addWidget(b)
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.addLayout(buttons)
        row.addWidget(self.info, 1)
        row.addWidget(self.thumb, 0, Qt.AlignmentFlag.AlignBottom)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.view, 1)
        lay.addLayout(row)
        self.open.clicked.connect(self.open_clicked)
        self.paste.clicked.connect(self.paste_clicked)
        self.reset.clicked.connect(self.reset_clicked)
        self.structure.toggled.connect(self.view.set_show_structure)
        self.set_photo(None)

    def set_photo(self, photo: Photo | None) -> None:
        self.view.set_photo(photo)
        self.reset.setEnabled(photo is not None and (photo.crop != photo.auto or photo.roll != photo.auto_roll))
        self.thumb.setVisible(photo is not None)
        if photo is None:
            self.thumb.clear()
            self.info.setText("")
            return
        framed = photo.framed().resize((THUMB, THUMB))
        self.thumb.setPixmap(QPixmap.fromImage(qimage_from_pil(framed)))
        self.info.setText(describe(photo))


def describe(photo: Photo) -> str:
    name = photo.path.rsplit("/", 1)[-1] if photo.path else "pasted image"
    w, h = photo.size
    if not photo.searched:
        face = "finding the face…"
    elif photo.face is None:
        face = "no face found: centre crop, drawn without the face's structure"
    else:
        face = "face found" + (f", levelled {-photo.roll:+.0f}°" if abs(photo.roll) >= 0.5 else "")
    crop = "whole photo" if photo.crop is None else ("adjusted crop" if photo.crop != photo.auto else face)
    return f"{name}\n{w} × {h} px\n{crop}\nDrag the square to move it, a corner or the wheel to resize."
