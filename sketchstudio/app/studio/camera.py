"""Where webcam frames come from: a `FrameSource` emits QImages; the studio sketches the newest.

`CameraFrameSource` wraps QtMultimedia (QCamera -> QMediaCaptureSession -> QVideoSink);
`VideoFileSource` plays a video file (PyAV, data/video.py) at its own rate, looping;
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


class VideoFileSource(FrameSource):
    """A video file as a camera: its frames at the file's rate, from the start again at the end.
    A file FFmpeg cannot read is a `failed` message, like a camera error."""

    def __init__(self, path, parent: QObject | None = None):
        super().__init__(parent)
        self.path = str(path)
        self.mirrored = False  # a film is not a selfie view
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self._frames = None

    @property
    def name(self) -> str:
        from pathlib import Path

        return Path(self.path).name

    def start(self) -> None:
        from ...data.video import VideoError, open_video, video_info

        try:
            container = open_video(self.path)
            rate = video_info(container).rate
            container.close()
        except VideoError as exc:
            self.failed.emit(f"Video error: {exc}")
            return
        self.timer.setInterval(max(1, round(1000 / float(rate or 25))))
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        if self._frames is not None:
            self._frames.close()
            self._frames = None

    def is_active(self) -> bool:
        return self.timer.isActive()

    def _tick(self) -> None:
        from ...data.video import VideoError, read_frames

        for _attempt in range(2):  # at the end, once more from the start
            if self._frames is None:
                self._frames = read_frames(self.path)
            try:
                image = next(self._frames)
            except StopIteration:
                self._frames = None
                continue
            except VideoError as exc:
                self.stop()
                self.failed.emit(f"Video error: {exc}")
                return
            self._emit(qimage_from_array(np.asarray(image)))
            return
        self.stop()
        self.failed.emit(f"Video error: {self.path}: no frames")
