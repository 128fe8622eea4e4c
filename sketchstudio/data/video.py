"""Video files through PyAV (FFmpeg's libraries, inside its wheels): frames in, sketches out.

No codec work here: `read_frames` decodes a file's first video stream to RGB pictures,
`VideoOut` encodes greyscale frames to MP4 (H.264, yuv420p) or GIF and copies a sound
stream's packets across untouched (a remux: no re-encoding, so the sound stays as it was).
Whatever FFmpeg refuses becomes a `VideoError`, one line for the user. Qt-free: the
`video` command and the window's video source both read through it.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

MAX_SIDE = 640  # frames are shrunk to this before face analysis, as the webcam's are
OUT_FORMATS = {".mp4": "mp4", ".gif": "gif"}  # suffix -> container
_CODECS = {"mp4": ("libx264", "yuv420p"), "gif": ("gif", "gray")}


class VideoError(Exception):
    """One-line, user-facing reason a video could not be read or written."""


@dataclass(frozen=True)
class VideoInfo:
    size: tuple[int, int]  # (W, H)
    rate: Fraction  # frames a second
    frames: int | None  # as the container says (None: it does not say)
    audio: bool


def _plain(exc: Exception) -> str:
    return " ".join(str(getattr(exc, "strerror", None) or exc).split()) or type(exc).__name__


def open_video(path):
    """The container of a readable video file with a video stream, else a VideoError."""
    import av

    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: {'is a folder, not a video' if path.is_dir() else 'file not found'}")
    try:
        container = av.open(str(path), "r")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise VideoError(f"{path}: not a video FFmpeg can read ({_plain(exc)})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: has no video stream")
    return container


def video_info(container) -> VideoInfo:
    v = container.streams.video[0]
    rate = v.average_rate or v.guessed_rate or Fraction(25)
    frames = v.frames or None
    if frames is None and v.duration and v.time_base:
        frames = max(1, round(float(v.duration * v.time_base) * rate))
    elif frames is None and container.duration:
        frames = max(1, round(container.duration / 1_000_000 * rate))
    return VideoInfo((v.codec_context.width, v.codec_context.height), Fraction(rate), frames,
                     bool(container.streams.audio))


def shrink(im: Image.Image, max_side: int = MAX_SIDE) -> Image.Image:
    if max(im.size) <= max_side:
        return im
    k = max_side / max(im.size)
    return im.resize((max(1, round(im.width * k)), max(1, round(im.height * k))), Image.BILINEAR)


def decoded(container, path, audio_out=None) -> Iterator[tuple[Image.Image, float]]:
    """(RGB picture shrunk to MAX_SIDE, its time in seconds) of each frame of the first video
    stream; the first sound stream's packets go to `audio_out(packet)` as they are read."""
    import av

    v = container.streams.video[0]
    a = container.streams.audio[0] if audio_out is not None and container.streams.audio else None
    try:
        for packet in container.demux(*([v] + ([a] if a is not None else []))):
            if packet.stream is a:
                if packet.dts is not None:
                    audio_out(packet)
                continue
            for frame in packet.decode():
                t = float(frame.time) if frame.time is not None else 0.0
                yield shrink(frame.to_image()), t
    except av.FFmpegError as exc:
        raise VideoError(f"{path}: damaged video ({_plain(exc)})") from None


def read_frames(path) -> Iterator[Image.Image]:
    """Every frame of a video file, RGB, shrunk to MAX_SIDE (VideoError when it cannot)."""
    container = open_video(path)
    try:
        for im, _t in decoded(container, path):
            yield im
    finally:
        container.close()


class VideoOut:
    """Greyscale frames (H, W) uint8 of one size into `path` as `fmt` (OUT_FORMATS), at `rate`;
    `audio`: a sound stream to copy packets of (`mux_audio`), where the container takes it."""

    def __init__(self, path, fmt: str, size: int, rate: Fraction, audio=None):
        import av

        self.av = av
        self.container = av.open(str(path), "w", format=fmt)
        codec, pix = _CODECS[fmt]
        self.rate = Fraction(rate).limit_denominator(1001 * 1000) if fmt == "mp4" else Fraction(rate).limit_denominator(100)
        self.stream = self.container.add_stream(codec, rate=self.rate)
        self.stream.width = self.stream.height = size
        self.stream.pix_fmt = pix
        self.pix = pix
        self.audio = None
        if audio is not None and fmt == "mp4":
            try:
                self.audio = self.container.add_stream_from_template(audio)
            except (av.FFmpegError, ValueError):
                self.audio = None  # a sound codec MP4 cannot hold: left out (the caller says so)
        self._last_pts = -1

    def write(self, grey: np.ndarray, seconds: float | None = None) -> None:
        """One frame at its time (None: right after the last); times keep the sound in step."""
        frame = self.av.VideoFrame.from_ndarray(np.ascontiguousarray(grey), format="gray")
        if self.pix != "gray":
            frame = frame.reformat(format=self.pix)
        pts = self._last_pts + 1 if seconds is None else max(self._last_pts + 1, round(seconds * self.rate))
        frame.pts, self._last_pts = pts, pts
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def mux_audio(self, packet) -> None:
        if self.audio is not None:
            packet.stream = self.audio
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()

    def abort(self) -> None:
        try:
            self.container.close()
        except Exception:  # closing a half-written file that is deleted next
            pass
