"""The webcam crop follows the face smoothly (app/logic/face_tracking.py)."""
import numpy as np

from sketchstudio.app.logic.face_tracking import DEAD_BAND, HOLD_FRAMES, CropTracker
from sketchstudio.core.face_structure import Framing


def framing(cx, cy, side, roll=0.0):
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    return Framing((x0, y0, x0 + side, y0 + side), roll)


def test_a_still_face_gives_a_still_crop():
    rng = np.random.default_rng(0)
    t = CropTracker()
    first = t.update(framing(200, 150, 180))
    for _ in range(50):  # landmark wobble: a pixel or two, a degree
        wobble = framing(200 + rng.normal(0, 1.5), 150 + rng.normal(0, 1.5), 180 + int(rng.normal(0, 2)), rng.normal(0, 0.7))
        assert t.update(wobble) == first


def test_a_moving_face_is_followed_without_jumps():
    t = CropTracker()
    t.update(framing(200, 150, 180))
    centres = []
    for _ in range(8):
        f = t.update(framing(300, 150, 180))
        centres.append((f.box[0] + f.box[2]) / 2)
    steps = np.diff([200] + centres)
    assert (steps >= 0).all() and steps.max() <= 0.5 * 100 + 1  # never more than half the way at once
    assert abs(centres[-1] - 300) < DEAD_BAND * 180  # and it gets there


def test_a_missed_frame_holds_the_crop_then_lets_go():
    t = CropTracker()
    held = t.update(framing(200, 150, 180))
    for _ in range(HOLD_FRAMES):
        assert t.update(None) == held
    assert t.update(None) is None
    t.reset()
    assert t.framing is None
