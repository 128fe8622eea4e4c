"""The sketch canvas: each decoding step as it arrives, a token overlay, a scrubber that replays
the steps, and the re-draw brush (paint over tokens to re-mask and re-decode only those)."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider, QSpinBox,
                               QVBoxLayout, QWidget)

from ..logic.decode_job import StepFrame
from ..qt_images import qimage_from_array

OVERLAYS = {"none": "No overlay", "tokens": "Token states", "confidence": "Confidence"}
MASKED = QColor(40, 110, 255, 95)
NEW = QColor(255, 140, 0, 170)
BRUSH = QColor(230, 0, 150, 130)
LEGEND = {
    "none": "",
    "tokens": "<span style='color:#286eff'>■</span> still masked &nbsp; "
              "<span style='color:#ff8c00'>■</span> fixed this step &nbsp; □ fixed earlier",
    "confidence": "<span style='color:#e03c28'>■</span> unsure &nbsp;→&nbsp; "
                  "<span style='color:#28b43c'>■</span> confident",
}


def confidence_color(c: float) -> QColor:
    c = min(max(float(c), 0.0), 1.0)
    return QColor(int(224 - 184 * c), int(60 + 120 * c), int(40 + 20 * c), 120)


class SketchCanvas(QWidget):
    redraw_requested = Signal(object)  # list of token indices, row-major

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.image: QImage | None = None
        self.frame: StepFrame | None = None
        self.overlay = "tokens"
        self.brush = False
        self.brush_radius = 1  # in tokens
        self.painted: set[int] = set()
        self._last = QPointF()  # the brush's previous position
        self.placeholder = ""
        self.setMinimumSize(280, 280)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_frame(self, frame: StepFrame | None) -> None:
        self.frame = frame
        self.image = None if frame is None else qimage_from_array(frame.sketch)
        self.update()

    def set_placeholder(self, text: str) -> None:
        self.placeholder = text
        self.update()

    def set_overlay(self, mode: str) -> None:
        self.overlay = mode
        self.update()

    def image_rect(self) -> QRectF:
        side = min(self.width(), self.height()) - 8
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def shown_side(self) -> int:
        """Device pixels on the side of the square the sketch is shown in."""
        return max(1, round(self.image_rect().width() * self.devicePixelRatioF()))

    def _grid(self) -> int:
        return self.frame.mask.shape[0] if self.frame is not None else 0

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().window())
        r = self.image_rect()
        if self.image is None:
            p.fillRect(r, QColor(250, 250, 248))
            p.setPen(QPen(QColor(120, 120, 120)))
            p.drawText(r.adjusted(20, 20, -20, -20), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       self.placeholder)
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.drawImage(r, self.image)
        g = self._grid()
        cell = r.width() / g if g else 0
        f = self.frame
        if f is not None and self.overlay != "none" and not (self.overlay == "tokens" and f.done):
            p.setPen(Qt.PenStyle.NoPen)
            for y in range(g):
                for x in range(g):
                    if self.overlay == "tokens":
                        color = MASKED if f.mask[y, x] else NEW if f.newly_fixed[y, x] else None
                    else:
                        color = confidence_color(f.confidence[y, x])
                    if color is not None:
                        p.fillRect(QRectF(r.x() + x * cell, r.y() + y * cell, cell, cell), color)
        if self.painted and g:
            p.setPen(Qt.PenStyle.NoPen)
            for i in self.painted:
                y, x = divmod(i, g)
                p.fillRect(QRectF(r.x() + x * cell, r.y() + y * cell, cell, cell), BRUSH)
        p.setPen(QPen(QColor(160, 160, 160)))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(r)

    # --- the re-draw brush ---------------------------------------------------------------
    def cells_at(self, pos: QPointF) -> set[int]:
        g, r = self._grid(), self.image_rect()
        if not g or not r.contains(pos):
            return set()
        cell = r.width() / g
        cx, cy = int((pos.x() - r.x()) / cell), int((pos.y() - r.y()) / cell)
        k = self.brush_radius - 1
        return {y * g + x for y in range(cy - k, cy + k + 1) for x in range(cx - k, cx + k + 1)
                if 0 <= x < g and 0 <= y < g and (x - cx) ** 2 + (y - cy) ** 2 <= k * k + k}

    def mousePressEvent(self, e: QMouseEvent) -> None:
        if self.brush and self.frame is not None and e.button() == Qt.MouseButton.LeftButton:
            self.painted = self.cells_at(e.position())
            self._last = e.position()
            self.update()

    def mouseMoveEvent(self, e: QMouseEvent) -> None:
        if self.brush and self.frame is not None and e.buttons() & Qt.MouseButton.LeftButton:
            # Paint along the segment since the last event: a quick stroke skips no cells.
            a, b = self._last, e.position()
            step = max(1.0, self.image_rect().width() / max(self._grid(), 1) / 3)
            n = max(1, int(((b.x() - a.x()) ** 2 + (b.y() - a.y()) ** 2) ** 0.5 / step))
            for i in range(n + 1):
                self.painted |= self.cells_at(a + (b - a) * (i / n))
            self._last = b
            self.update()

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:
        if self.brush and self.painted:
            cells, self.painted = sorted(self.painted), set()
            self.update()
            self.redraw_requested.emit(cells)


class DecodeView(QWidget):
    """The canvas with its step read-out, scrubber, overlay choice and brush controls."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.frames: list[StepFrame] = []
        self.canvas = SketchCanvas()
        self.step_label = QLabel("")
        self.step_label.setMinimumWidth(110)
        self.scrubber = QSlider(Qt.Orientation.Horizontal)
        self.scrubber.setAccessibleName("Replay decoding steps")
        self.scrubber.setToolTip("Replay the decoding steps")
        self.scrubber.setEnabled(False)
        self.overlay = QComboBox()
        for key, text in OVERLAYS.items():
            self.overlay.addItem(text, key)
        self.overlay.setCurrentIndex(1)
        self.legend = QLabel(LEGEND["tokens"])
        self.legend.setTextFormat(Qt.TextFormat.RichText)  # our own constant text, not file contents
        self.brush = QPushButton("Re-draw brush")
        self.brush.setCheckable(True)
        self.brush.setToolTip("Paint over part of the sketch to re-draw only those tokens")
        self.brush_size = QSpinBox()
        self.brush_size.setRange(1, 6)
        self.brush_size.setValue(2)
        self.brush_size.setToolTip("Brush radius, in tokens")
        top = QHBoxLayout()
        top.addWidget(self.step_label)
        top.addWidget(self.scrubber, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.overlay)
        bottom.addWidget(self.legend, 1)
        bottom.addWidget(self.brush)
        bottom.addWidget(self.brush_size)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.canvas, 1)
        lay.addLayout(top)
        lay.addLayout(bottom)
        self.scrubber.valueChanged.connect(self._scrub)
        self.overlay.currentIndexChanged.connect(self._overlay_changed)
        self.brush.toggled.connect(self._brush_toggled)
        self.brush_size.valueChanged.connect(lambda v: setattr(self.canvas, "brush_radius", v))
        self.canvas.brush_radius = self.brush_size.value()

    def show_step(self, frame: StepFrame) -> None:
        """A step as it arrives: the scrubber follows it and stays off until the end."""
        self.scrubber.setEnabled(False)
        self.scrubber.blockSignals(True)
        self.scrubber.setRange(1, frame.total)
        self.scrubber.setValue(frame.step + 1)
        self.scrubber.blockSignals(False)
        self._show(frame)

    def set_frames(self, frames: list[StepFrame]) -> None:
        """Decoding finished: the scrubber replays `frames`."""
        self.frames = list(frames)
        if not self.frames:
            return
        self.scrubber.blockSignals(True)
        self.scrubber.setRange(1, len(self.frames))
        self.scrubber.setValue(len(self.frames))
        self.scrubber.blockSignals(False)
        self.scrubber.setEnabled(len(self.frames) > 1)
        self._show(self.frames[-1])

    def clear(self, placeholder: str = "") -> None:
        self.frames = []
        self.scrubber.setEnabled(False)
        self.step_label.setText("")
        self.canvas.set_frame(None)
        self.canvas.set_placeholder(placeholder)

    def set_overlay(self, mode: str) -> None:
        i = self.overlay.findData(mode)
        if i >= 0:
            self.overlay.setCurrentIndex(i)

    def _show(self, frame: StepFrame) -> None:
        self.step_label.setText(f"Step {frame.step + 1} / {frame.total}")
        self.canvas.set_frame(frame)

    def _scrub(self, value: int) -> None:
        if 1 <= value <= len(self.frames):
            self._show(self.frames[value - 1])

    def _overlay_changed(self) -> None:
        mode = self.overlay.currentData()
        self.canvas.set_overlay(mode)
        self.legend.setText(LEGEND[mode])

    def _brush_toggled(self, on: bool) -> None:
        self.canvas.brush = on
        self.canvas.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)
