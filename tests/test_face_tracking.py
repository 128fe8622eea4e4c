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


def textured_frame(dx: float = 0.0, dy: float = 0.0, seed: int = 0, noise: float = 0.0) -> np.ndarray:
    """A 480 x 640 RGB frame: a textured 'face' square moved by (dx, dy) over a flat wall."""
    import cv2

    rng = np.random.default_rng(seed)
    tex = cv2.GaussianBlur(rng.uniform(0, 255, (200, 200)).astype(np.float32), (0, 0), 3)
    tex = (tex - tex.min()) / (tex.max() - tex.min()) * 200 + 30
    frame = np.full((480, 640), 120, np.float32)
    m = np.float32([[1, 0, 220 + dx], [0, 1, 140 + dy]])
    cv2.warpAffine(tex, m, (640, 480), dst=frame, borderMode=cv2.BORDER_TRANSPARENT)
    if noise:
        frame = frame + np.random.default_rng(seed + 1).normal(0, noise, frame.shape)
    return np.repeat(np.clip(frame, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def test_given_the_frames_the_crop_moves_with_the_face_to_the_pixel():
    t = CropTracker()
    t.update(framing(320, 240, 180), textured_frame())
    for k in range(1, 13):  # 1.3 px a frame, the landmarks wobbling around the true place
        rng = np.random.default_rng(k)
        f = t.update(framing(320 + 1.3 * k + rng.normal(0, 1.5), 240 - 0.6 * k + rng.normal(0, 1.5), 180),
                     textured_frame(1.3 * k, -0.6 * k, noise=2.0))
        cx, cy = (f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2
        assert abs(cx - (320 + 1.3 * k)) <= 0.75 and abs(cy - (240 - 0.6 * k)) <= 0.75
    # Without the frames, the dead band holds the crop back: the face moves inside it.
    t2 = CropTracker()
    t2.update(framing(320, 240, 180))
    assert t2.update(framing(320 + 5, 240, 180)).box == framing(320, 240, 180).box


def test_a_still_face_with_noise_keeps_the_crop_given_the_frames():
    t = CropTracker()
    first = t.update(framing(320, 240, 180), textured_frame(noise=3.0, seed=0))
    rng = np.random.default_rng(1)
    for k in range(30):
        f = t.update(framing(320 + rng.normal(0, 1.5), 240 + rng.normal(0, 1.5), 180), textured_frame(noise=3.0, seed=k))
        assert f.box == first.box


def test_pinning_gives_way_to_the_landmarks_when_they_disagree_or_the_size_changes():
    t = CropTracker()
    t.update(framing(320, 240, 180), textured_frame())
    # The picture did not move but the landmarks say the face is 40 px off: a new face, a
    # detector's jump; the filter's half-way step, not the measured zero shift.
    f = t.update(framing(360, 240, 180), textured_frame())
    assert (f.box[0] + f.box[2]) / 2 == 340
    t = CropTracker()
    t.update(framing(320, 240, 180), textured_frame())
    f = t.update(framing(320, 240, 220), textured_frame())  # the face came nearer
    assert f.box[2] - f.box[0] == 200
