"""What a user's photo brings that FS2K's do not: a coloured, graded, busy or lettered background
behind the person, a colour cast, no colour at all, heavy JPEG, too few pixels.

Each change takes a square uint8 RGB photo (H, W, 3) and its person mask (H, W) in [0, 1] and
returns the changed photo; the drawing of it stays what it was (the artist's paper is white
whatever stood behind the person). The training stages draw from them to augment the photos
(`random_change`), and `sketchstudio eval --robust` scores each one (`CHANGES`).

Turns and scale changes are not here: they move the face, so the drawing would have to move
with it, and the cached structure maps too.
"""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

Change = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]


def _behind(photo: np.ndarray, person: np.ndarray, background: np.ndarray) -> np.ndarray:
    """`background` (H, W, 3) where the soft person mask is 0, the photo where it is 1."""
    a = np.clip(person, 0, 1)[..., None].astype(np.float32)
    return (a * photo + (1 - a) * background).round().clip(0, 255).astype(np.uint8)


def _colour(rng: np.random.Generator) -> np.ndarray:
    # Saturated and dark colours as often as pale ones: ID-photo blue, studio grey, a red wall.
    hsv = np.uint8([[[rng.integers(0, 180), rng.integers(60, 256), rng.integers(50, 256)]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def flat_background(photo, person, rng):
    return _behind(photo, person, np.broadcast_to(_colour(rng), photo.shape))


def gradient_background(photo, person, rng):
    h, w = photo.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = (np.cos(angle) * xx / w + np.sin(angle) * yy / h)
    t = (t - t.min()) / max(1e-6, t.max() - t.min())
    bg = (1 - t)[..., None] * _colour(rng) + t[..., None] * _colour(rng)
    return _behind(photo, person, bg)


def clutter_background(photo, person, rng):
    """Blurred shapes in several colours: a room or a street out of focus."""
    h, w = photo.shape[:2]
    bg = np.empty((h, w, 3), np.float32)
    bg[:] = _colour(rng)
    for _ in range(int(rng.integers(8, 20))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(w // 10, w // 2)), y0 + int(rng.integers(h // 10, h // 2))
        cv2.rectangle(bg, (x0, y0), (x1, y1), _colour(rng).tolist(), -1)
    bg = cv2.GaussianBlur(bg, (0, 0), sigmaX=w / 40)
    return _behind(photo, person, bg)


def lettering_background(photo, person, rng):
    """A coloured wall with lines of large lettering: a press wall or a poster."""
    h, w = photo.shape[:2]
    bg = np.empty((h, w, 3), np.float32)
    bg[:] = _colour(rng)
    ink = _colour(rng).tolist()
    scale = w / 256
    for row in range(int(rng.integers(3, 7))):
        text = "".join(rng.choice(list("ABCDEFGHKLMNPRSTWXYZ0123456789 ")) for _ in range(10))
        y = int((row + 0.8) * h / 6)
        cv2.putText(bg, text, (int(rng.integers(-w // 4, w // 8)), y), cv2.FONT_HERSHEY_SIMPLEX,
                    1.2 * scale, ink, max(1, int(3 * scale)), cv2.LINE_AA)
    return _behind(photo, person, bg)


def colour_cast(photo, person, rng):
    """A white-balance shift and a change of saturation (tungsten, shade, a faded print)."""
    gains = np.exp(rng.uniform(-0.25, 0.25, size=3)).astype(np.float32)
    out = photo.astype(np.float32) * gains
    grey = out.mean(axis=2, keepdims=True)
    out = grey + rng.uniform(0.4, 1.6) * (out - grey)
    return out.round().clip(0, 255).astype(np.uint8)


def greyscale(photo, person, rng):
    grey = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    return np.repeat(grey[..., None], 3, axis=2)


def low_quality_jpeg(photo, person, rng):
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(photo, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(8, 25))])
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def few_pixels(photo, person, rng):
    """Taken at a quarter to a half of the size and enlarged again (a thumbnail, a far face)."""
    h, w = photo.shape[:2]
    f = rng.uniform(0.25, 0.5)
    small = cv2.resize(photo, (max(8, int(w * f)), max(8, int(h * f))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


# The changes, by the name `eval --robust` reports them under.
CHANGES: dict[str, Change] = {
    "flat-background": flat_background,
    "gradient-background": gradient_background,
    "clutter-background": clutter_background,
    "lettering-background": lettering_background,
    "colour-cast": colour_cast,
    "greyscale": greyscale,
    "low-quality-jpeg": low_quality_jpeg,
    "few-pixels": few_pixels,
}


def random_change(photo: np.ndarray, person: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One or two changes drawn at random (a background and a camera change together, sometimes)."""
    names = list(CHANGES)
    picks = rng.choice(len(names), size=int(rng.integers(1, 3)), replace=False)
    # Backgrounds first: a colour cast or JPEG then falls on the new background as on the person.
    for i in sorted(picks, key=lambda i: "background" not in names[i]):
        photo = CHANGES[names[i]](photo, person, rng)
    return photo
