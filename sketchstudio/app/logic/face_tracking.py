"""The webcam crop follows the face from frame to frame, smoothed so a still face gives a still
crop (and so a still sketch); Qt-free.

Face Mesh's landmarks wobble by a pixel or two between frames of a still face; a crop that
followed them would move, and every sketch would be drawn from a slightly different square.
`CropTracker` keeps the crop where it is while the face stays within a dead band of it, and
otherwise moves it part of the way towards the new framing (an exponential filter), so a face
that moves is followed within a few frames without jumps. A frame with no face keeps the last
crop for a while (a blink of the detector does not throw the crop to the centre).
"""
from __future__ import annotations

from dataclasses import dataclass

from ...core.face_structure import Framing

DEAD_BAND = 0.04  # of the crop side: a centre or side change below it is wobble, not motion
DEAD_ROLL = 2.5  # degrees
FOLLOW = 0.5  # share of the way to the new framing a moving face's crop goes each frame
HOLD_FRAMES = 15  # frames with no face that keep the last crop


@dataclass
class CropTracker:
    framing: Framing | None = None
    missed: int = 0

    def reset(self) -> None:
        self.framing, self.missed = None, 0

    def update(self, found: Framing | None) -> Framing | None:
        """The crop for this frame given the framing of the face found in it (None: no face).
        Returns None when there is nothing to hold (the caller frames the centre)."""
        if found is None:
            self.missed += 1
            if self.missed > HOLD_FRAMES:
                self.framing = None
            return self.framing
        self.missed = 0
        old = self.framing
        if old is None:
            self.framing = found
            return found
        (ox0, oy0, ox1, oy1), (nx0, ny0, nx1, ny1) = old.box, found.box
        side, new_side = ox1 - ox0, nx1 - nx0
        ocx, ocy, ncx, ncy = (ox0 + ox1) / 2, (oy0 + oy1) / 2, (nx0 + nx1) / 2, (ny0 + ny1) / 2
        still = (max(abs(ncx - ocx), abs(ncy - ocy), abs(new_side - side)) < DEAD_BAND * side
                 and abs(found.roll - old.roll) < DEAD_ROLL)
        if still:
            return old
        cx, cy = ocx + FOLLOW * (ncx - ocx), ocy + FOLLOW * (ncy - ocy)
        s = max(8, int(round(side + FOLLOW * (new_side - side))))
        x0, y0 = int(round(cx - s / 2)), int(round(cy - s / 2))
        self.framing = Framing((x0, y0, x0 + s, y0 + s), round(old.roll + FOLLOW * (found.roll - old.roll), 2))
        return self.framing
