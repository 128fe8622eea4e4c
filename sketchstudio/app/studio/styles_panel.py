"""The studio's styles panel: each style of the model as a small sample sketch, where it came
from, and Rename… / Remove… (issue 13: styles belong to the user).

`StylesPanel` is the widget; `ThumbnailMaker` fills it from a worker thread of its own, one
short decode per style, cached by (model, photo, style). It gives way to the live sketch: a
decode in the studio cancels it (between sampler steps) and it goes on once the studio idles.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QHBoxLayout, QListView, QListWidget, QListWidgetItem, QMenu, QPushButton,
                               QVBoxLayout, QWidget)

from ...core.sampler_settings import CancelToken, SamplerSettings
from ..logic.style_thumbs import THUMB_SIZE, Thumbnail, ThumbnailJob, photo_key
from ..messages import plain_label, plain_tooltip
from ..qt_images import qimage_from_array
from ..workers.thread import WorkerThread
from .studio import Studio

CACHE_SIZE = 256  # thumbnails kept (a few models x photos x styles)


class StylesPanel(QWidget):
    rename_requested = Signal(str)
    remove_requested = Signal(str)
    style_chosen = Signal(str)  # double-click: sketch in this style

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.styles: tuple[str, ...] = ()
        self.origins: dict[str, str] = {}
        self.edit_blocked: str | None = None  # why rename/remove are off (the shipped model)
        self.thumbnails: dict[str, np.ndarray] = {}  # shown, by style (a new photo's replace them as they come)
        self.list = QListWidget()
        self.list.setAccessibleName("Styles of this model")
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.list.setGridSize(QSize(THUMB_SIZE + 28, THUMB_SIZE + 24))
        # One row under the sketch, like a film strip; more styles than fit scroll sideways.
        self.list.setFlow(QListView.Flow.LeftToRight)
        self.list.setWrapping(False)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setFixedHeight(THUMB_SIZE + 24 + self.list.horizontalScrollBar().sizeHint().height() + 6)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.origin = plain_label()
        self.origin.setWordWrap(True)
        self.origin.setStyleSheet("color: palette(dark);")
        self.rename_button = QPushButton("Rename…")
        self.remove_button = QPushButton("Remove…")
        row = QHBoxLayout()
        row.addWidget(self.origin, 1)
        row.addWidget(self.rename_button)
        row.addWidget(self.remove_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.list)
        lay.addLayout(row)
        self.list.currentItemChanged.connect(lambda *_: self._update())
        self.list.itemDoubleClicked.connect(lambda item: self.style_chosen.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.list.customContextMenuRequested.connect(self._menu)
        self.rename_button.clicked.connect(lambda: self.current() and self.rename_requested.emit(self.current()))
        self.remove_button.clicked.connect(lambda: self.current() and self.remove_requested.emit(self.current()))
        self._placeholder = QPixmap(THUMB_SIZE, THUMB_SIZE)
        self._placeholder.fill(QColor("#ececec"))
        self._update()

    def set_styles(self, styles, origins: dict[str, str], edit_blocked: str | None) -> None:
        """A new model: placeholders until the thumbnails come."""
        keep = self.current()
        self.styles, self.origins, self.edit_blocked = tuple(styles), dict(origins), edit_blocked
        self.list.clear()
        self.thumbnails = {}
        for s in self.styles:
            item = QListWidgetItem(QIcon(self._placeholder), s)
            item.setData(Qt.ItemDataRole.UserRole, s)
            item.setToolTip(plain_tooltip(f"{s}\nfrom {self.origins.get(s, '')}\nDouble-click to sketch in it."))
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            self.list.addItem(item)
        if self.styles:
            self.list.setCurrentRow(self.styles.index(keep) if keep in self.styles else 0)
        self._update()

    def set_thumbnail(self, style: str, image: np.ndarray) -> None:
        if style in self.styles:
            pm = QPixmap.fromImage(qimage_from_array(image))
            icon = QIcon(pm)
            icon.addPixmap(pm, QIcon.Mode.Selected)  # the selection shows on the name, not tinting the sketch
            self.list.item(self.styles.index(style)).setIcon(icon)
            self.thumbnails[style] = image

    def current(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _update(self) -> None:
        s = self.current()
        self.origin.setText(f"{s}: from {self.origins.get(s, '')}" if s else "")
        blocked = self.edit_blocked if s else "Load a model first."
        for b, tip in ((self.rename_button, "Save a copy of this model with the style renamed"),
                       (self.remove_button, "Save a copy of this model without the style")):
            b.setEnabled(not blocked)
            b.setToolTip(blocked or tip)
        if s and not blocked and len(self.styles) < 2:
            self.remove_button.setEnabled(False)
            self.remove_button.setToolTip("A model needs at least one style.")

    def _menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        self.list.setCurrentItem(item)
        style = item.data(Qt.ItemDataRole.UserRole)
        menu = QMenu(self)
        use = QAction(f"Sketch in “{style}”", menu)
        use.triggered.connect(lambda: self.style_chosen.emit(style))
        menu.addAction(use)
        for text, button, signal in (("Rename…", self.rename_button, self.rename_requested),
                                     ("Remove…", self.remove_button, self.remove_requested)):
            a = QAction(text, menu)
            a.setEnabled(button.isEnabled())
            a.setToolTip(button.toolTip())
            a.triggered.connect(lambda _=False, sig=signal: sig.emit(style))
            menu.addAction(a)
        menu.setToolTipsVisible(True)
        menu.exec(self.list.viewport().mapToGlobal(pos))


class ThumbnailMaker(QObject):
    """Thumbnails of the studio's model's styles, on its own worker thread."""

    ready = Signal(str, object)  # style, (s, s) uint8: a thumbnail for the current model and photo

    def __init__(self, studio: Studio, parent: QObject | None = None):
        super().__init__(parent)
        self.studio = studio
        self.settings = SamplerSettings()  # the model's recommended settings (set by the window)
        self.cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self.photo = None  # the still photo (webcam frames are not thumbnailed)
        self.jobs_started = 0
        self._cancel: CancelToken | None = None
        self._job_base: tuple | None = None  # (model id, photo key) of the running job
        self._failed_base: tuple | None = None  # a job failed for these: not tried again
        self._thread = WorkerThread("sketchstudio-thumbnails", self, compute=False)
        self._thread.hook_up(yielded=self._got, finished=self._ended, failed=self._failed, cancelled=self._ended)
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.timeout.connect(self.refresh)
        studio.model_changed.connect(self._later)
        studio.photo_changed.connect(self._photo)
        studio.decode_started.connect(lambda _req: self._stop())
        studio.busy_changed.connect(lambda busy: busy or self._later())

    def _photo(self, photo) -> None:
        self.photo = photo
        self._later()

    def _later(self) -> None:
        self._soon.start(0)  # after the studio has asked for its own decode

    def base(self) -> tuple:
        return (self.studio.model_id, photo_key(self.photo))

    def refresh(self) -> None:
        """Show what is cached for the current model and photo; make the rest when the studio idles."""
        s = self.studio
        if s.model is None:
            return
        missing = []
        for style in s.styles:
            thumb = self.cache.get((*self.base(), style))
            if thumb is None:
                missing.append(style)
            else:
                self.ready.emit(style, thumb)
        if self._cancel is not None:
            if self._job_base != self.base():
                self._stop()  # `_ended` calls refresh again
            return
        if not missing or s.busy or s.policy.pending is not None or s.live or self._failed_base == self.base():
            return  # nothing to do, or the live sketch comes first (busy_changed calls again)
        self._cancel, self._job_base = CancelToken(), self.base()
        self.jobs_started += 1
        self._thread.submit(ThumbnailJob(s.model, s.model_id, self.photo, missing, self.settings), self._cancel)

    def _stop(self) -> None:
        if self._cancel is not None:
            self._cancel.cancel()

    def _got(self, thumb: Thumbnail) -> None:
        self.cache[thumb.key] = thumb.image
        while len(self.cache) > CACHE_SIZE:
            self.cache.popitem(last=False)
        if thumb.key == (*self.base(), thumb.style):
            self.ready.emit(thumb.style, thumb.image)

    def _failed(self, message: str) -> None:
        self._failed_base = self._job_base  # thumbnails are a nicety: no message box, no retry loop
        self._ended()

    def _ended(self, *_args) -> None:
        self._cancel, self._job_base = None, None
        self._later()

    def shutdown(self) -> None:
        self._soon.stop()
        self._stop()
        self._thread.stop()
