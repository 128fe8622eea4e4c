"""The run page's side-by-side preview: the check photo in the new style and in an old one,
each with its label (logic/style_compare.py draws them)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from ..qt_images import qimage_from_array
from .pages import _label

SHOWN = 2  # the new style and one old style
SIDE = 128  # px on screen


class StyleCompare(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.images = [QLabel() for _ in range(SHOWN)]
        self.captions = [_label("", False) for _ in range(SHOWN)]
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        for i, (image, caption) in enumerate(zip(self.images, self.captions)):
            image.setAlignment(Qt.AlignmentFlag.AlignCenter)
            image.setFixedSize(SIDE, SIDE)
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(image, 0, i)
            grid.addWidget(caption, 1, i)
        self.hide()  # until a stage with the new style shows its first preview

    def show_sketches(self, sketches) -> None:
        """StyleSketch items (logic/style_compare.py), new style first."""
        for image, caption, s in zip(self.images, self.captions, sketches):
            pm = QPixmap.fromImage(qimage_from_array(s.image))
            image.setPixmap(pm.scaled(SIDE, SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                                      Qt.TransformationMode.SmoothTransformation))
            caption.setText(s.label)
            image.setToolTip(s.label)
        self.setVisible(bool(sketches))

    def labels(self) -> list[str]:
        return [c.text() for c in self.captions]

    def clear(self) -> None:
        for image, caption in zip(self.images, self.captions):
            image.clear()
            caption.setText("")
        self.hide()
