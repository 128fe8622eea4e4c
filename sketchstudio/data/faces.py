"""Face framing: MediaPipe's face models (core/face_structure.py) find the largest face and its
landmarks; the square crop is framed from them as FS2K frames its faces and turned so the eyes
are level. Nothing is downloaded: the models ship in resources/face_models/.

OpenCV's Haar cascade, which framed crops before model v10, is kept only as the baseline that
tools/bench/bench_faces.py measures the landmark path against (docs/BENCHMARKS.md: it found no face
the landmark path missed on any of the measured sets)."""
from __future__ import annotations

import functools

import cv2
import numpy as np
from PIL import Image

from ..core.face_structure import Face, Framing, centre_framing, default_models, face_framing

__all__ = ["Face", "Framing", "auto_framing", "crop_face", "find_face", "haar_faces"]


def find_face(im: Image.Image) -> Face | None:
    """The largest face in `im` with its landmarks (in `im`'s pixels), or None."""
    return default_models().analyse(im)


def auto_framing(im: Image.Image, face: Face | None) -> Framing:
    """FS2K framing levelled by the eye line around `face`, or the centre square without one."""
    return face_framing(face) if face is not None else centre_framing(im.size)


def crop_face(im: Image.Image, face: Face | None | bool = True) -> tuple[Image.Image, Face | None, Framing]:
    """(the square crop the model sees, the face or None, its framing). face=True: find it;
    a Face: frame that one; None: the centre square."""
    if face is True:
        face = find_face(im)
    framing = auto_framing(im, face)
    return framing.crop(im), face, framing


# -- the earlier detector, for the comparison benchmark -----------------------------------------
@functools.lru_cache(maxsize=1)
def _cascade() -> cv2.CascadeClassifier:
    path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"OpenCV face cascade missing at {path}")
    return cascade


HAAR_SCALE, HAAR_DROP = 1.7, 0.05  # its FS2K framing: crop side / face width, centre drop in face heights


def haar_faces(im: Image.Image, max_side: int = 640) -> list[tuple[int, int, int, int]]:
    """OpenCV Haar cascade faces (x, y, w, h), largest first, in `im`'s pixels."""
    w, h = im.size
    scale = min(1.0, max_side / max(w, h))
    small = im.convert("L")
    if scale < 1.0:
        small = small.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR)
    grey = cv2.equalizeHist(np.asarray(small))
    if min(grey.shape) < 24:  # below the cascade's window
        return []
    found = _cascade().detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
    boxes = [tuple(int(round(v / scale)) for v in f) for f in found]
    return sorted(boxes, key=lambda b: b[2] * b[3], reverse=True)


def haar_framing(box: tuple[int, int, int, int]) -> Framing:
    """The Haar path's square crop around a face box (no roll)."""
    x, y, w, h = box
    side = int(round(w * HAAR_SCALE))
    cx, cy = x + w / 2, y + h / 2 + HAAR_DROP * h
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    return Framing((left, top, left + side, top + side), 0.0)
