"""The photo with the square the model sees: drag it to move, drag a corner or scroll to resize."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPainterPath, QPen, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..logic.photo import Crop, Photo, clamp_crop
from ..qt_images import qimage_from_pil

HANDLE = 10  # px: how close to a corner a press resizes


class CropView(QWidget):
    crop_changed = Signal(object)  # (left, top, right, bottom) in photo pixels, after a drag or scroll

    def __init__(self, parent: QWidget | None = None, editable: bool = True):
        super().__init__(parent)
        self.editable = editable
        self.photo: Photo | None = None
        self.image: QImage | None = None
        self.box: Crop | None = None
        self.placeholder = ""
        self._drag: tuple | None = None  # (mode, press point in photo px or corner index, box at press)
        self._bounds = (0, 0, 1, 1)  # photo px shown: the photo and the crop square
        self.setMinimumSize(220, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(editable)

    def set_photo(self, photo: Photo | None, image: QImage | None = None) -> None:
        """Show `photo` (`image`: its pixels already as a QImage, e.g. a camera frame)."""
        if photo is None or self.photo is None or photo.image is not self.photo.image:
            self.image = None if photo is None else (image if image is not None else qimage_from_pil(photo.image))
        self.photo = photo
        self.box = None if photo is None else photo.crop
        self._refit()
        self.update()

    def set_placeholder(self, text: str) -> None:
        self.placeholder = text
        self.update()

    # --- photo px <-> widget px ----------------------------------------------------------
    def _refit(self) -> None:
        """Fit the photo and the whole crop square (it may run past the photo); not during a drag,
        so the mapping under the mouse stays put."""
        w, h = self.photo.size if self.photo is not None else (1, 1)
        l, t, r, b = 0, 0, w, h
        if self.box is not None:
            l, t, r, b = min(l, self.box[0]), min(t, self.box[1]), max(r, self.box[2]), max(b, self.box[3])
        self._bounds = (l, t, r, b)

    def _scale(self) -> tuple[float, float, float]:
        l, t, r, b = self._bounds
        s = min((self.width() - 16) / (r - l), (self.height() - 16) / (b - t))
        return s, (self.width() - (r - l) * s) / 2 - l * s, (self.height() - (b - t) * s) / 2 - t * s

    def to_widget(self, box) -> QRectF:
        s, ox, oy = self._scale()
        l, t, r, b = box
        return QRectF(ox + l * s, oy + t * s, (r - l) * s, (b - t) * s)

    def to_photo(self, pos: QPointF) -> QPointF:
        s, ox, oy = self._scale()
        return QPointF((pos.x() - ox) / s, (pos.y() - oy) / s)

    # --- painting --------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(48, 48, 48))
        if self.photo is None or self.image is None:
            p.setPen(QColor(200, 200, 200))
            p.drawText(self.rect().adjusted(16, 16, -16, -16),
                       Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        whole = self.to_widget((0, 0, *self.photo.size))
        p.drawImage(whole, self.image)
        if self.box is None:
            return
        crop = self.to_widget(self.box)
        shade = QPainterPath()
        shade.addRect(QRectF(self.rect()))
        hole = QPainterPath()
        hole.addRect(crop)
        p.fillPath(shade.subtracted(hole), QColor(0, 0, 0, 110))
        if self.photo.face is not None:
            f = self.photo.face
            p.setPen(QPen(QColor(255, 210, 60), 1.5, Qt.PenStyle.DashLine))
            p.drawRect(self.to_widget((f.x, f.y, f.x + f.w, f.y + f.h)))
        p.setPen(QPen(QColor(255, 255, 255), 2))
        p.drawRect(crop)
        if self.editable:
            p.setBrush(QColor(255, 255, 255))
            for c in (crop.topLeft(), crop.topRight(), crop.bottomLeft(), crop.bottomRight()):
                p.drawRect(QRectF(c.x() - 4, c.y() - 4, 8, 8))

    # --- editing ---------------------------------------------------------------------------
    def _corner(self, pos: QPointF) -> int | None:
        crop = self.to_widget(self.box)
        corners = (crop.topLeft(), crop.topRight(), crop.bottomLeft(), crop.bottomRight())
        for i, c in enumerate(corners):
            if abs(pos.x() - c.x()) <= HANDLE and abs(pos.y() - c.y()) <= HANDLE:
                return i
        return None

    def mousePressEvent(self, e: QMouseEvent) -> None:
        if not self.editable or self.box is None or e.button() != Qt.MouseButton.LeftButton:
            return
        corner = self._corner(e.position())
        if corner is not None:
            self._drag = ("resize", corner, self.box)
        elif self.to_widget(self.box).contains(e.position()):
            self._drag = ("move", self.to_photo(e.position()), self.box)

    def mouseMoveEvent(self, e: QMouseEvent) -> None:
        if self._drag is None:
            if self.editable and self.box is not None:
                over = self._corner(e.position()) is not None
                inside = self.to_widget(self.box).contains(e.position())
                self.setCursor(Qt.CursorShape.SizeFDiagCursor if over else
                               Qt.CursorShape.SizeAllCursor if inside else Qt.CursorShape.ArrowCursor)
            return
        mode, anchor, (l, t, r, b) = self._drag
        pos = self.to_photo(e.position())
        if mode == "move":
            dx, dy = round(pos.x() - anchor.x()), round(pos.y() - anchor.y())
            box = (l + dx, t + dy, r + dx, b + dy)
        else:  # resize about the opposite corner, staying square
            fx, fy = (r, b) if anchor == 0 else (l, b) if anchor == 1 else (r, t) if anchor == 2 else (l, t)
            side = max(abs(pos.x() - fx), abs(pos.y() - fy), 16)
            nx = fx - side if pos.x() < fx else fx
            ny = fy - side if pos.y() < fy else fy
            box = (round(nx), round(ny), round(nx + side), round(ny + side))
        self.box = clamp_crop(box, self.photo.size)
        self.update()

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:
        if self._drag is not None:
            self._drag = None
            self._refit()
            self.update()
            if self.box != self.photo.crop:
                self.crop_changed.emit(self.box)

    def wheelEvent(self, e: QWheelEvent) -> None:
        if not self.editable or self.box is None:
            return
        factor = 0.9 ** (e.angleDelta().y() / 120)
        l, t, r, b = self.box
        cx, cy, side = (l + r) / 2, (t + b) / 2, (r - l) * factor
        self.box = clamp_crop((round(cx - side / 2), round(cy - side / 2), round(cx + side / 2),
                               round(cy + side / 2)), self.photo.size)
        self._refit()
        self.update()
        self.crop_changed.emit(self.box)
