"""Procedural sketches for stage-1 pre-training: three named styles made with OpenCV.

Each function takes an RGB uint8 array and a seed and returns a greyscale uint8
sketch of the same size; the seed picks the style's parameters (light
augmentation), so the same photo and seed always give the same sketch.
"""
from __future__ import annotations

import cv2
import numpy as np

SYNTHETIC_STYLES = ("xdog-lines", "soft-pencil", "hatching")


def _grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0


def _scale(img: np.ndarray) -> float:
    return max(img.shape[:2]) / 256.0  # parameters are tuned at 256 px


def xdog(rgb: np.ndarray, seed: int = 0) -> np.ndarray:
    """Difference-of-Gaussians contour lines (the line-only form of XDoG, Winnemöller 2012)."""
    rng = np.random.default_rng(seed)
    g = _grey(rgb)
    sigma = rng.uniform(0.8, 1.2) * _scale(rgb)
    a = cv2.GaussianBlur(g, (0, 0), sigma)
    b = cv2.GaussianBlur(g, (0, 0), sigma * 1.6)
    dog = b - a  # > 0 on the dark side of an edge
    eps, phi = rng.uniform(0.004, 0.01), rng.uniform(35, 55)
    ink = np.tanh(phi * np.maximum(dog - eps, 0.0))
    return ((1.0 - np.clip(ink, 0, 1)) * 255).astype(np.uint8)


def soft_pencil(rgb: np.ndarray, seed: int = 0) -> np.ndarray:
    """Dodge-and-blend pencil: the grey image divided by its blurred negative."""
    rng = np.random.default_rng(seed)
    g = (_grey(rgb) * 255).astype(np.uint8)
    blur = cv2.GaussianBlur(255 - g, (0, 0), rng.uniform(5, 9) * _scale(rgb))
    dodge = cv2.divide(g, 255 - blur, scale=256)
    gamma = rng.uniform(1.6, 2.4)  # darken the strokes towards pencil weight
    out = 255.0 * (dodge.astype(np.float32) / 255.0) ** gamma
    return np.clip(out, 0, 255).astype(np.uint8)


def hatching(rgb: np.ndarray, seed: int = 0) -> np.ndarray:
    """Tone as diagonal hatching in three densities, over XDoG contours."""
    rng = np.random.default_rng(seed)
    h, w = rgb.shape[:2]
    tone = cv2.GaussianBlur(_grey(rgb), (0, 0), 2.0 * _scale(rgb))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    spacing = rng.uniform(5, 7) * _scale(rgb)
    angle = rng.uniform(0.6, 1.0)
    out = np.ones((h, w), np.float32)
    for level, (thresh, theta) in enumerate(((0.45, angle), (0.3, -angle), (0.16, angle + 0.6))):
        u = xx * np.cos(theta) + yy * np.sin(theta)
        lines = (np.mod(u, spacing) < 1.2 * _scale(rgb)).astype(np.float32)
        out = np.minimum(out, 1.0 - 0.75 * lines * (tone < thresh))
    lines = xdog(rgb, seed).astype(np.float32) / 255.0
    return (np.minimum(out, lines) * 255).astype(np.uint8)


GENERATORS = {"xdog-lines": xdog, "soft-pencil": soft_pencil, "hatching": hatching}


def synthetic_sketch(rgb: np.ndarray, style: str, seed: int = 0) -> np.ndarray:
    return GENERATORS[style](rgb, seed)
