"""Webcam input: pick a device, mirror, go live; the newest frame with the face the studio found."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout,
                               QWidget)

from ..logic.photo import Photo
from ..qt_images import pil_from_qimage
from .camera import CameraFrameSource, FrameSource, VideoFileSource, camera_devices
from .crop_view import CropView

MAX_SIDE = 640  # frames are shrunk to this before face detection and encoding
NO_CAMERA = ("No camera was found on this computer, so webcam mode is off. "
             "Connect a camera and restart SketchStudio, or open a photo instead.")
NO_FRAMES = ("The camera has sent no pictures for a while. Is it still connected, or in use by another "
             "program? Stop live sketching and pick another camera, or open a photo instead.")
STALL_MS = 5000  # no frame for this long while live: say so (cameras can take seconds to start)


def frame_photo(image: QImage) -> tuple[Photo, QImage]:
    """A camera frame as a Photo (the worker finds the face) and the QImage it was made from."""
    if max(image.width(), image.height()) > MAX_SIDE:
        image = image.scaled(MAX_SIDE, MAX_SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
    return Photo.from_image(pil_from_qimage(image), detect=False), image


class WebcamPanel(QWidget):
    frame_ready = Signal(object)  # Photo of the newest frame
    live_changed = Signal(bool)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.sources: list[tuple[str, Callable[[], FrameSource]]] = []
        self.source: FrameSource | None = None
        self.device = QComboBox()
        self.device.setAccessibleName("Camera")
        self.mirror = QCheckBox("Mirror")
        self.video = QPushButton("Video file…")
        self.video.setToolTip("Sketch a video file live, as if it were a camera")
        self.mirror.setChecked(True)
        self.drafts = QCheckBox("Quick drafts while moving")
        self.drafts.setToolTip("While the face moves, re-drawn sketches are drawn smaller and enlarged, for more "
                               "sketches a second; each is drawn again in full as soon as the face is still")
        self.drafts.setChecked(False)  # drafts look lighter and finer than full sketches: a choice, not the default
        self.live = QPushButton("Start live sketching")
        self.live.setCheckable(True)
        self.view = CropView(editable=False)
        self.rate = QLabel("")
        self.path = QLabel("")  # which path the last frame took (core/live.py): reused, partly re-drawn, new
        self.path.setAccessibleName("Last frame")
        self.note = QLabel("")
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setWordWrap(True)
        self.stall_ms = STALL_MS
        self._stall = QTimer(self)  # restarted by every frame: fires when the camera went quiet
        self._stall.setSingleShot(True)
        self._stall.timeout.connect(lambda: self.note.setText(NO_FRAMES))
        row = QHBoxLayout()
        row.addWidget(self.device, 1)
        row.addWidget(self.mirror)
        row.addWidget(self.video)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(row)
        lay.addWidget(self.live)
        lay.addWidget(self.drafts)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.rate)
        lay.addWidget(self.path)
        lay.addWidget(self.note)
        self.live.toggled.connect(self._toggled)
        self.mirror.toggled.connect(self._mirror)
        self.device.currentIndexChanged.connect(self._device_changed)
        self.video.clicked.connect(self.ask_video)

    def find_cameras(self) -> None:
        for dev in camera_devices():
            self.add_source(dev.description(), lambda dev=dev: CameraFrameSource(dev))
        self._update_enabled()

    def add_source(self, name: str, factory: Callable[[], FrameSource]) -> None:
        self.sources.append((name, factory))
        self.device.addItem(name)
        self._update_enabled()

    def ask_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Video to sketch", "",
                                              "Videos (*.mp4 *.mov *.mkv *.webm *.avi *.m4v *.gif);;All files (*)")
        if path:
            self.add_video(path)

    def add_video(self, path) -> None:
        """A video file as a source beside the cameras, chosen at once (not started)."""
        from pathlib import Path

        self.stop()
        self.add_source(f"Video: {Path(path).name}", lambda: VideoFileSource(path))
        self.device.setCurrentIndex(len(self.sources) - 1)

    def _update_enabled(self) -> None:
        have = bool(self.sources)
        for w in (self.device, self.mirror, self.live):
            w.setEnabled(have)
        self.note.setText("" if have else NO_CAMERA)
        self.view.set_placeholder("Start live sketching to see the camera here." if have else "No camera")

    def start(self) -> None:
        self.live.setChecked(True)

    def stop(self) -> None:
        self.live.setChecked(False)

    def is_live(self) -> bool:
        return self.source is not None

    def _toggled(self, on: bool) -> None:
        if on and self.source is None and self.sources:
            self.source = self.sources[self.device.currentIndex()][1]()
            self.source.setParent(self)
            self.source.mirrored = self.mirror.isChecked() and not isinstance(self.source, VideoFileSource)
            self.source.frame_ready.connect(self._frame)
            self.source.failed.connect(self._failed)
            self.source.start()
            self._stall.start(self.stall_ms)
        elif not on and self.source is not None:
            self.source.stop()
            self.source.deleteLater()
            self.source = None
            self._stall.stop()
            if self.note.text() == NO_FRAMES:
                self.note.setText("")
            self.path.setText("")
        self.live.setText("Stop live sketching" if on else "Start live sketching")
        self.device.setEnabled(not on and bool(self.sources))
        self.live_changed.emit(self.source is not None)

    def _failed(self, message: str) -> None:
        self.stop()
        self.failed.emit(message)

    def _frame(self, image: QImage) -> None:
        self._stall.start(self.stall_ms)
        if self.note.text() == NO_FRAMES:  # it came back
            self.note.setText("")
        photo, image = frame_photo(image)
        old = self.view.photo  # keep drawing the last face square found until a newer one comes
        keep = old is not None and old.size == photo.size
        shown = replace(photo, face=old.face, crop=old.crop, roll=old.roll, searched=old.searched) if keep else photo
        self.view.set_photo(shown, image)
        self.frame_ready.emit(photo)

    def show_framed(self, photo: Photo) -> None:
        """The studio found the face in a frame: draw its square on the live view."""
        if self.view.photo is not None and self.view.photo.size == photo.size:
            self.view.set_photo(replace(self.view.photo, face=photo.face, crop=photo.crop, roll=photo.roll,
                                        searched=photo.searched))

    def set_rate(self, per_second: float, dropped: int, steps: int | None = None) -> None:
        each = f", {steps} steps each" if steps else ""
        self.rate.setText(f"{per_second:.1f} sketches/s{each}   ({dropped} stale frames dropped)")

    def show_result(self, result) -> None:
        """A live frame's sketch is done (a SketchResult): say which path it took."""
        if result.live_path is None:
            return
        n = result.tokens.shape[-1]
        text = {"still": "last frame: still, the sketch reused",
                "partial": f"last frame: {result.redrawn} of {n} tokens re-drawn"
                           + (", a quick draft" if result.draft else ""),
                "scratch": "last frame: drawn from scratch (a new face or a large move)"}[result.live_path]
        self.path.setText(text)

    def _mirror(self, on: bool) -> None:
        if self.source is not None and not isinstance(self.source, VideoFileSource):
            self.source.mirrored = on

    def _device_changed(self, _i: int) -> None:
        if self.source is not None:  # switch live
            self.stop()
            self.start()
