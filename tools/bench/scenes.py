"""Camera-like frames of the sample face for the live benchmarks (bench_webcam, bench_live_steadiness).

    frames(n, scene="slow", face=None, seed=0) -> n 640x480 RGB PIL images

Scenes: `jitter` (the face moved by up to 6 px at random every frame, no noise: the figure
the webcam bench always measured), `still` (the face where it is, with camera-like sensor
noise: every pixel and channel Gaussian, sigma 3 grey levels, new each frame) and `slow` (the
same noise, the face drifting on a slow loop, at most about 1 px a frame, as a sitter shifts).
The frames loop: frame n-1 leads back to frame 0 without a jump.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

SCENES = ("jitter", "still", "slow", "busy", "turn", "talk")
NOISE_SIGMA = 3.0  # grey levels
FACE_SIDE = 300
WALL = (120, 118, 112)


def sample_face() -> Image.Image:
    from sketchstudio.paths import resources_dir

    return Image.open(resources_dir() / "sample_face.png").convert("RGB")


def frames(n: int, scene: str = "slow", face: Image.Image | str | Path | None = None, seed: int = 0) -> list[Image.Image]:
    if scene not in SCENES:
        raise ValueError(f"unknown scene {scene!r}; choose one of {', '.join(SCENES)}")
    face = sample_face() if face is None else (Image.open(face) if isinstance(face, (str, Path)) else face)
    face = face.convert("RGB").resize((FACE_SIDE, FACE_SIDE))
    rng = np.random.default_rng(seed)
    room = _room() if scene in ("busy", "turn") else None
    person = _person_mask(face) if room is not None else None
    out = []
    radius = n / (2 * math.pi)  # one loop of n frames: about 1 px a frame
    for i in range(n):
        if scene == "jitter":
            dx, dy = (int(v) for v in rng.integers(-6, 7, size=2))
        elif scene in ("still", "talk"):
            dx = dy = 0
        else:
            a = 2 * math.pi * i / n
            dx, dy = round(min(radius, 24) * math.cos(a)), round(min(radius, 24) * 0.5 * math.sin(a))
        im = Image.new("RGB", (640, 480), WALL) if room is None else room.copy()
        if scene == "talk":
            im.paste(_talking(face, abs(math.sin(3 * math.pi * i / n))), (170 + dx, 90 + dy))
        elif room is None:
            im.paste(face, (170 + dx, 90 + dy))
        else:  # the sitter alone in front of the room, the sample's own wall left out
            t = math.sin(2 * math.pi * i / n) if scene == "turn" else 0.0
            im.paste(_turned(face, t), (170 + dx, 90 + dy), _turned(person, t))
        if scene != "jitter":
            a = np.asarray(im, dtype=np.float32) + rng.normal(0, NOISE_SIGMA, (480, 640, 3))
            im = Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8))
        out.append(im)
    return out


def _room() -> Image.Image:
    """A 640x480 room behind the sitter, the same every frame: shelves of books, a bright
    window, lettering on a poster."""
    from PIL import ImageDraw

    rng = np.random.default_rng(7)
    im = Image.new("RGB", (640, 480), (150, 140, 125))
    d = ImageDraw.Draw(im)
    for y in (60, 200, 340):  # shelves with books of random widths and colours
        x = 0
        while x < 640:
            w = int(rng.integers(8, 26))
            colour = tuple(int(v) for v in rng.integers(30, 230, 3))
            d.rectangle([x, y, x + w - 2, y + int(rng.integers(80, 120))], fill=colour)
            x += w
        d.rectangle([0, y + 120, 640, y + 130], fill=(90, 70, 50))
    d.rectangle([470, 20, 630, 220], fill=(235, 240, 245))  # a window
    d.line([550, 20, 550, 220], fill=(80, 80, 80), width=6)
    d.rectangle([10, 380, 200, 470], fill=(240, 230, 40))  # a poster
    d.text((20, 400), "OPEN STUDIO 2026", fill=(20, 20, 20))
    return im


def _turned(face: Image.Image, t: float) -> Image.Image:
    """The face (RGB, or its L mask) as if turned a little: t in [-1, 1], its picture squeezed
    on one side and stretched on the other (up to 8 %), the side turning away a little darker."""
    if t == 0.0:
        return face
    if face.mode == "L":
        return Image.fromarray(_turned_array(np.asarray(face, dtype=np.float32)[..., None], t, shade=False)[..., 0])
    return Image.fromarray(_turned_array(np.asarray(face, dtype=np.float32), t, shade=True))


def _turned_array(a: np.ndarray, t: float, shade: bool) -> np.ndarray:
    h, w = a.shape[:2]
    u = np.linspace(-1, 1, w, dtype=np.float32)
    src = u + 0.08 * t * (1 - u ** 2)  # where each column comes from: the middle moves, the edges stay
    cols = np.clip((src + 1) / 2 * (w - 1), 0, w - 1)
    lo = np.floor(cols).astype(int)
    hi = np.minimum(lo + 1, w - 1)
    f = (cols - lo)[None, :, None]
    out = a[:, lo] * (1 - f) + a[:, hi] * f
    if shade:
        out = out * (1 - 0.12 * max(t, 0) * np.clip(u, 0, 1) - 0.12 * max(-t, 0) * np.clip(-u, 0, 1))[None, :, None]
    return np.clip(out, 0, 255).round().astype(np.uint8)


def _person_mask(face: Image.Image) -> Image.Image:
    """The sample face's person (L mask): the pixels off its smooth wall, a plane per channel
    fitted to the photo's top rows and upper sides, cleaned with a morphological close."""
    import cv2

    a = np.asarray(face, dtype=np.float32)
    h, w = a.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    wall = np.zeros((h, w), bool)
    wall[: h // 12] = True
    wall[: h // 2, : w // 20] = wall[: h // 2, -w // 20:] = True
    basis = np.stack([np.ones_like(xx), xx, yy], -1)
    coef, *_ = np.linalg.lstsq(basis[wall], a[wall], rcond=None)  # (3, 3)
    off = np.abs(a - basis @ coef).max(-1) > 12
    m = cv2.morphologyEx(off.astype(np.uint8) * 255, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    return Image.fromarray(cv2.GaussianBlur(m, (3, 3), 0))


MOUTH = (110, 160, 190, 205)  # the sample face's mouth at FACE_SIDE px: x0, y0, x1, y1


def _talking(face: Image.Image, t: float) -> Image.Image:
    """The face with its mouth open by t in [0, 1]: the mouth's box stretched down by up to
    35 % (its top kept), cut back to the box."""
    x0, y0, x1, y1 = MOUTH
    box = face.crop(MOUTH)
    h = y1 - y0
    tall = box.resize((x1 - x0, round(h * (1 + 0.35 * t))), Image.BICUBIC)
    out = face.copy()
    out.paste(tall.crop((0, 0, x1 - x0, h)), (x0, y0))
    return out
