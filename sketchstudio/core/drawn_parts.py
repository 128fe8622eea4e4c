"""What a sketch draws, measured against the photo's face structure: is the face drawn where the
photo has it (per-part inking), is it drawn as strokes or as a tonal wash (mid-grey share), and
does anything behind the person reach the paper (ink outside the person mask).

Per-part inking: for each part of the face (core/face_structure.py PARTS: the jaw line below
the eyes, brows, eyes, nose, lips), located by Face Mesh on the photo, the share of the part's
line, sampled every pixel, that has ink within INK_RADIUS pixels, with the sketch at
MEASURE_SIDE pixels on its longer side. A drawing and a sketch of the same photo are measured
against the same lines, so the artist's share is the target. Greyscale uint8 (H, W) in, plain
floats out; numpy and OpenCV only.
"""
from __future__ import annotations

import cv2
import numpy as np

MEASURE_SIDE = 250  # the longer side the inking is measured at (FS2K's photo1 is 250 x 250)
INK_RADIUS = 3  # pixels at MEASURE_SIDE
INK = 150  # grey levels below this are ink (light pencil strokes in FS2K drawings reach 140-150)
MID_GREY = (64, 192)  # [lo, hi): neither paper nor a committed dark stroke: tonal wash


def part_inking(sketch: np.ndarray, segments: dict[str, np.ndarray]) -> dict[str, float]:
    """Share of each part's line (segments (S, 2, 2) in the sketch's pixels) with ink near it."""
    h, w = sketch.shape
    k = MEASURE_SIDE / max(h, w)
    small = cv2.resize(sketch, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * INK_RADIUS + 1,) * 2)
    near = cv2.dilate((small < INK).astype(np.uint8), disc) > 0  # (h', w')
    out = {}
    for part, seg in segments.items():
        pts = _along(seg * k)  # (P, 2)
        if not len(pts):
            continue
        x = np.clip(np.round(pts[:, 0]).astype(int), 0, near.shape[1] - 1)
        y = np.clip(np.round(pts[:, 1]).astype(int), 0, near.shape[0] - 1)
        inside = (pts[:, 0] >= 0) & (pts[:, 0] < near.shape[1]) & (pts[:, 1] >= 0) & (pts[:, 1] < near.shape[0])
        if inside.any():
            out[part] = float(near[y[inside], x[inside]].mean())
    return out


def mid_grey_share(sketch: np.ndarray) -> float:
    """Share of pixels neither paper nor dark stroke (tonal wash)."""
    lo, hi = MID_GREY
    return float(((sketch >= lo) & (sketch < hi)).mean())


def ink_outside(sketch: np.ndarray, person: np.ndarray) -> float:
    """Share of the pixels outside the person (mask (H, W) in [0, 1] < 0.5) that are ink; nan if none are."""
    outside = person < 0.5
    return float((sketch[outside] < INK).mean()) if outside.any() else float("nan")


def _along(seg: np.ndarray) -> np.ndarray:
    """Points every pixel along each segment (S, 2, 2) -> (P, 2)."""
    pts = []
    for a, b in seg:
        n = max(1, int(np.ceil(np.linalg.norm(b - a))))
        t = np.linspace(0.0, 1.0, n + 1)[:, None]
        pts.append(a + t * (b - a))
    return np.concatenate(pts) if pts else np.zeros((0, 2))
