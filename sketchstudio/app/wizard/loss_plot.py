"""A small live loss curve: raw losses faint, a running average bold, one colour per stage.

Plain QPainter polylines (no plotting library). Thousands of steps stay cheap: each series
is thinned to about one point per pixel column before drawing.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

COLOURS = ("#1f6fb2", "#d0682a", "#3a9a4a", "#8a4bb0")
SMOOTH = 0.9  # weight of the running average's past


class LossPlot(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.series: list[tuple[str, list[tuple[int, float]]]] = []  # (stage, [(global step, loss)])
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 140)
        self.setAccessibleName("Training loss")

    def sizeHint(self) -> QSize:
        return QSize(420, 200)

    def clear(self) -> None:
        self.series = []
        self.update()

    def add(self, stage: str, step: int, loss: float) -> None:
        if not math.isfinite(loss):
            return
        if not self.series or self.series[-1][0] != stage:
            self.series.append((stage, []))
        self.series[-1][1].append((step, loss))
        self.update()

    @property
    def count(self) -> int:
        return sum(len(points) for _, points in self.series)

    def _bounds(self):
        pts = [p for _, s in self.series for p in s]
        x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
        ys = sorted(p[1] for p in pts)
        # The first steps' losses are far above the rest: the top is the 98th percentile, not the max.
        y0, y1 = ys[0], ys[min(len(ys) - 1, int(len(ys) * 0.98))]
        if y1 - y0 < 1e-9:
            y0, y1 = y0 - 0.5, y1 + 0.5
        return x0, max(x1, x0 + 1), y0, y1

    def paintEvent(self, _e: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        fm = p.fontMetrics()
        area = QRectF(fm.horizontalAdvance("0.000") + 10, 8, 0, 0)
        area.setRight(self.width() - 10)
        area.setBottom(self.height() - fm.height() - 8)
        p.setPen(QPen(QColor("#999999"), 1))
        p.drawRect(area)
        if not self.count:
            p.setPen(QColor("#777777"))
            p.drawText(area, Qt.AlignmentFlag.AlignCenter, "The loss appears here once training starts.")
            return
        x0, x1, y0, y1 = self._bounds()

        def at(x: float, y: float) -> QPointF:
            fy = (min(max(y, y0), y1) - y0) / (y1 - y0)
            return QPointF(area.left() + (x - x0) / (x1 - x0) * area.width(), area.bottom() - fy * area.height())

        p.setPen(QColor("#444444"))
        p.drawText(QRectF(0, area.top() - 4, area.left() - 4, fm.height()), Qt.AlignmentFlag.AlignRight,
                   f"{y1:.3g}")
        p.drawText(QRectF(0, area.bottom() - fm.height() + 4, area.left() - 4, fm.height()),
                   Qt.AlignmentFlag.AlignRight, f"{y0:.3g}")
        p.drawText(QRectF(area.left(), area.bottom() + 2, area.width(), fm.height()), Qt.AlignmentFlag.AlignLeft,
                   f"step {x0}")
        p.drawText(QRectF(area.left(), area.bottom() + 2, area.width(), fm.height()), Qt.AlignmentFlag.AlignRight,
                   f"step {x1}")
        cols = max(1, int(area.width()))
        for k, (stage, points) in enumerate(self.series):
            colour = QColor(COLOURS[k % len(COLOURS)])
            thin = points[:: max(1, len(points) // cols)]
            faint = QColor(colour)
            faint.setAlpha(70)
            p.setPen(QPen(faint, 1))
            p.drawPolyline(QPolygonF([at(x, y) for x, y in thin]))
            avg, smooth = points[0][1], []
            for x, y in points:
                avg = SMOOTH * avg + (1 - SMOOTH) * y
                smooth.append((x, avg))
            p.setPen(QPen(colour, 2))
            p.drawPolyline(QPolygonF([at(x, y) for x, y in smooth[:: max(1, len(smooth) // cols)] + smooth[-1:]]))
            p.drawText(QRectF(area.left() + 6, area.top() + 4 + k * fm.height(), area.width() - 12, fm.height()),
                       Qt.AlignmentFlag.AlignRight, f"{stage}: {smooth[-1][1]:.3f}")
