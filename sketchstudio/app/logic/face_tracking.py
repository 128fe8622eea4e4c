"""The webcam crop follows the face from frame to frame, smoothed so a still face gives a still
crop (and so a still sketch), and pinned to the face's pixels so a face that moves keeps its
place in the crop (and its sketch can be reused); Qt-free.

Face Mesh's landmarks wobble by a pixel or two between frames of a still face; a crop that
followed them would move, and every sketch would be drawn from a slightly different square.
`CropTracker` keeps the crop where it is while the face stays within a dead band of it, and
otherwise moves it part of the way towards the new framing (an exponential filter), so a face
that moves is followed within a few frames without jumps. A frame with no face keeps the last
crop for a while (a blink of the detector does not throw the crop to the centre).

Given the frames themselves (`update(found, image)`), the tracker also measures how far the
face moved since the last frame by phase correlation of the two frames inside the crop
(OpenCV's `phaseCorrelate`, a Hann window weighting the face in the middle over the edges)
and moves the crop by exactly that, to the nearest pixel: the face then stays where it was
in the crop, as it does for a still face, and the live stream (core/live.py) sees unchanged
cells where only the position changed, instead of a new picture. The landmarks still decide
the crop's size and turn, and where the measured shift is unsure or leaves the landmarks'
framing by more than the dead band, the filter above takes over.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from ...core.face_structure import Framing

DEAD_BAND = 0.04  # of the crop side: a centre or side change below it is wobble, not motion
DEAD_ROLL = 2.5  # degrees
FOLLOW = 0.5  # share of the way to the new framing a moving face's crop goes each frame
HOLD_FRAMES = 15  # frames with no face that keep the last crop
PATCH = 128  # side of the grey patch the shift is measured on
MIN_RESPONSE = 0.2  # phaseCorrelate's peak below this: the shift is not trusted
MIN_SHIFT = 0.25  # of a frame pixel: a measured shift below this is sensor noise
REANCHOR = 0.1  # of the patch: a face moved this far is measured from a new reference


def _centre(box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _box(cx: float, cy: float, side: int) -> tuple[int, int, int, int]:
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    return x0, y0, x0 + side, y0 + side


def grey_patch(image: Image.Image | np.ndarray, framing: Framing) -> np.ndarray:
    """The framed square of `image` as a (PATCH, PATCH) float32 grey patch."""
    a = np.asarray(image)
    grey = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY) if a.ndim == 3 else a
    return cv2.warpAffine(grey, framing.matrix(PATCH), (PATCH, PATCH), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE).astype(np.float32)


@dataclass
class CropTracker:
    framing: Framing | None = None
    missed: int = 0
    # Where the face's shift is measured from: a crop and the frame inside it then. Each frame
    # is compared with it, not with the frame before: phaseCorrelate is off by up to a third
    # of a pixel, and frame-to-frame errors would add up to a crop that walks off the face.
    anchor: Framing | None = None
    ref: np.ndarray | None = field(default=None, repr=False)
    window: np.ndarray = field(default_factory=lambda: cv2.createHanningWindow((PATCH, PATCH), cv2.CV_32F), repr=False)

    def reset(self) -> None:
        self.framing, self.missed, self.anchor, self.ref = None, 0, None, None

    def update(self, found: Framing | None, image: Image.Image | np.ndarray | None = None) -> Framing | None:
        """The crop for this frame given the framing of the face found in it (None: no face)
        and, where the caller has it, the frame itself (RGB), to pin the crop to the face.
        Returns None when there is nothing to hold (the caller frames the centre)."""
        if found is None:
            self.missed += 1
            if self.missed > HOLD_FRAMES:
                self.framing, self.anchor, self.ref = None, None, None
            return self.framing
        self.missed = 0
        old = self.framing
        pinned = None if old is None else self._pinned(old, found, image)
        if pinned is not None:
            framing, far = pinned
            if far:  # measured from here on: the face has moved far across the old reference
                self._anchor(framing, image)
        else:
            framing = found if old is None else self._filtered(old, found)
            self._anchor(framing, image)
        self.framing = framing
        return framing

    def _anchor(self, framing: Framing, image) -> None:
        self.anchor, self.ref = (None, None) if image is None else (framing, grey_patch(image, framing))

    def _pinned(self, old: Framing, found: Framing, image) -> tuple[Framing, bool] | None:
        """The reference crop moved by the face's measured shift since (to the nearest pixel),
        and whether the shift is far enough to measure from anew; or None where the frames do
        not tell it or the landmarks' size and turn have changed."""
        if image is None or self.ref is None or self.anchor is None:
            return None
        anchor = self.anchor
        side, new_side = anchor.box[2] - anchor.box[0], found.box[2] - found.box[0]
        if abs(new_side - side) >= DEAD_BAND * side or abs(found.roll - anchor.roll) >= DEAD_ROLL:
            return None
        (sx, sy), response = cv2.phaseCorrelate(self.ref, grey_patch(image, anchor), self.window)
        if response < MIN_RESPONSE:
            return None
        dx, dy = cv2.invertAffineTransform(anchor.matrix(PATCH))[:, :2] @ np.array([sx, sy])  # frame pixels
        if abs(dx) < MIN_SHIFT and abs(dy) < MIN_SHIFT:
            dx = dy = 0.0
        acx, acy = _centre(anchor.box)
        cx, cy = acx + float(dx), acy + float(dy)
        fcx, fcy = _centre(found.box)
        if max(abs(cx - fcx), abs(cy - fcy)) >= 2 * DEAD_BAND * side:
            return None  # the shift and the landmarks disagree: follow the landmarks
        box = _box(cx, cy, side)
        framing = old if box == old.box else Framing(box, anchor.roll)
        return framing, max(abs(sx), abs(sy)) > REANCHOR * PATCH

    def _filtered(self, old: Framing, found: Framing) -> Framing:
        """The exponential filter with its dead band (the module docstring)."""
        side, new_side = old.box[2] - old.box[0], found.box[2] - found.box[0]
        (ocx, ocy), (ncx, ncy) = _centre(old.box), _centre(found.box)
        still = (max(abs(ncx - ocx), abs(ncy - ocy), abs(new_side - side)) < DEAD_BAND * side
                 and abs(found.roll - old.roll) < DEAD_ROLL)
        if still:
            return old
        cx, cy = ocx + FOLLOW * (ncx - ocx), ocy + FOLLOW * (ncy - ocy)
        s = max(8, int(round(side + FOLLOW * (new_side - side))))
        return Framing(_box(cx, cy, s), round(old.roll + FOLLOW * (found.roll - old.roll), 2))
