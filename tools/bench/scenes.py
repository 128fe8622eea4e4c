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

SCENES = ("jitter", "still", "slow")
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
    out = []
    radius = n / (2 * math.pi)  # one loop of n frames: about 1 px a frame
    for i in range(n):
        if scene == "jitter":
            dx, dy = (int(v) for v in rng.integers(-6, 7, size=2))
        elif scene == "still":
            dx = dy = 0
        else:
            a = 2 * math.pi * i / n
            dx, dy = round(min(radius, 24) * math.cos(a)), round(min(radius, 24) * 0.5 * math.sin(a))
        im = Image.new("RGB", (640, 480), WALL)
        im.paste(face, (170 + dx, 90 + dy))
        if scene != "jitter":
            a = np.asarray(im, dtype=np.float32) + rng.normal(0, NOISE_SIGMA, (480, 640, 3))
            im = Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8))
        out.append(im)
    return out
