"""Where webcam frames come from: a `FrameSource` emits QImages; the studio sketches the newest.

`CameraFrameSource` wraps QtMultimedia (QCamera -> QMediaCaptureSession -> QVideoSink);
`FakeFrameSource` replays QImages or numpy frames on a timer, for tests, screenshots and
machines without a camera.
"""
from __future__ import annotations

import itertools
from typing import Callable, Iterable

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QImage

from ..qt_images import qimage_from_array
from ..workers.thread import user_message


class FrameSource(QObject):
    frame_ready = Signal(QImage)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.mirrored = True  # a selfie view: what users expect from a webcam
        self.frames_seen = 0

    @property
    def name(self) -> str:
        return "frames"

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def is_active(self) -> bool:
        raise NotImplementedError

    def _emit(self, image: QImage) -> None:
        if image.isNull():
            return
        self.frames_seen += 1
        if self.mirrored:
            image = image.flipped(Qt.Orientation.Horizontal)
        self.frame_ready.emit(image)


def camera_devices() -> list:
    """The system's video inputs (QCameraDevice); empty without a camera or QtMultimedia."""
    try:
        from PySide6.QtMultimedia import QMediaDevices
    except ImportError:
        return []
    return list(QMediaDevices.videoInputs())


class CameraFrameSource(FrameSource):
    def __init__(self, device, parent: QObject | None = None):
        super().__init__(parent)
        from PySide6.QtMultimedia import QCamera, QMediaCaptureSession, QVideoSink

        self.device = device
        self.camera = QCamera(device)
        self.session = QMediaCaptureSession()
        self.sink = QVideoSink()
        self.session.setCamera(self.camera)
        self.session.setVideoSink(self.sink)
        self.sink.videoFrameChanged.connect(lambda frame: self._emit(frame.toImage()))
        self.camera.errorOccurred.connect(lambda _err, text: self.failed.emit(f"Camera error: {text}"))

    @property
    def name(self) -> str:
        return self.device.description()

    def start(self) -> None:
        self.camera.start()

    def stop(self) -> None:
        self.camera.stop()

    def is_active(self) -> bool:
        return self.camera.isActive()


class FakeFrameSource(FrameSource):
    """Cycles through `frames` (QImages or (H, W, 3) uint8 arrays), or calls `make(i)`, every `interval_ms`.

    `make` stands for a device: returning None is a tick without a frame, raising is the device
    failing (reported through `failed`, like a camera error, and the source stops).
    """

    def __init__(self, frames: Iterable | None = None, interval_ms: int = 33,
                 make: Callable[[int], QImage | np.ndarray] | None = None, parent: QObject | None = None):
        super().__init__(parent)
        if make is None:
            items = [f if isinstance(f, QImage) else qimage_from_array(f) for f in frames or ()]
            if not items:
                raise ValueError("a fake frame source needs frames or a make function")
            cycle = itertools.cycle(items)
            make = lambda _i: next(cycle)  # noqa: E731
        self.make = make
        self.mirrored = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self._i = 0

    @property
    def name(self) -> str:
        return "Test pattern"

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def is_active(self) -> bool:
        return self.timer.isActive()

    def _tick(self) -> None:
        try:
            frame = self.make(self._i)
        except Exception as exc:  # else it raises again on every tick, and nobody is told
            self.stop()
            self.failed.emit(f"Camera error: {user_message(exc)}")
            return
        self._i += 1
        if frame is not None:
            self._emit(frame if isinstance(frame, QImage) else qimage_from_array(frame))
