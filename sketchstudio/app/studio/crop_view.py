"""The photo with the square the model sees: drag it to move, drag a corner or scroll to resize."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPainterPath, QPen, QPolygonF, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..logic.photo import Crop, Photo, clamp_crop
from ..logic.structure_overlay import overlay_parts, person_mask_rgba
from ..qt_images import qimage_from_pil

# Overlay colours of the face's parts (core/face_structure.py PARTS order).
PART_COLOURS = {"jaw": (255, 120, 40), "brows": (80, 200, 255), "eyes": (120, 255, 120), "nose": (255, 230, 80),
                "lips": (255, 90, 160)}

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
        self.show_structure = False  # overlay what the model is told: the face's lines, the person mask
        self._mask: tuple | None = None  # (photo cache key, QImage of the mask over the framed square)
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

    def set_show_structure(self, on: bool) -> None:
        self.show_structure = bool(on)
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
        square = self._turned(crop, self.photo.roll)
        hole.addPolygon(square)
        p.fillPath(shade.subtracted(hole), QColor(0, 0, 0, 110))
        if self.show_structure:
            self._paint_structure(p, crop)
        elif self.photo.face is not None:
            x0, y0, x1, y1 = self.photo.face.detection.box
            p.setPen(QPen(QColor(255, 210, 60), 1.5, Qt.PenStyle.DashLine))
            p.drawRect(self.to_widget((x0, y0, x1, y1)))
        p.setPen(QPen(QColor(255, 255, 255), 2))
        p.drawPolygon(square)
        if self.editable:
            p.setBrush(QColor(255, 255, 255))
            for c in (crop.topLeft(), crop.topRight(), crop.bottomLeft(), crop.bottomRight()):
                p.drawRect(QRectF(c.x() - 4, c.y() - 4, 8, 8))

    @staticmethod
    def _turned(rect: QRectF, roll: float) -> QPolygonF:
        """The crop square as the photo sees it: `rect` turned by +roll about its centre."""
        c, t = rect.center(), math.radians(roll)
        pts = []
        for q in (rect.topLeft(), rect.topRight(), rect.bottomRight(), rect.bottomLeft()):
            dx, dy = q.x() - c.x(), q.y() - c.y()
            pts.append(QPointF(c.x() + dx * math.cos(t) - dy * math.sin(t), c.y() + dx * math.sin(t) + dy * math.cos(t)))
        return QPolygonF(pts)

    def _paint_structure(self, p: QPainter, crop: QRectF) -> None:
        """The person mask over the framed square and the face's part lines over the photo."""
        photo = self.photo
        if photo.crop is not None:
            if self._mask is None or self._mask[0] != photo.cache_key:
                rgba = person_mask_rgba(photo)
                self._mask = (photo.cache_key, QImage(rgba.data, rgba.shape[1], rgba.shape[0],
                                                      QImage.Format.Format_RGBA8888).copy())
            p.save()
            c = crop.center()
            p.translate(c)
            p.rotate(photo.roll)
            p.drawImage(QRectF(-crop.width() / 2, -crop.height() / 2, crop.width(), crop.height()), self._mask[1])
            p.restore()
        if photo.face is None:
            return
        s, ox, oy = self._scale()
        for part, segments in overlay_parts(photo.face).items():
            p.setPen(QPen(QColor(*PART_COLOURS[part]), 1.5))
            p.drawLines([QLineF(ox + a[0] * s, oy + a[1] * s, ox + b[0] * s, oy + b[1] * s)
                         for a, b in np.asarray(segments, dtype=float)])

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
