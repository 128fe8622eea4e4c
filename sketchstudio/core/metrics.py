"""Sketch-quality metrics as the FS2K toolbox computes them (numpy/torch, no downloads).

Inputs are greyscale uint8 arrays (H, W) or float tensors in [0, 1]; the
prediction must already be at the ground truth's size.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

# --- SSIM ---------------------------------------------------------------------------
_SSIM_SIGMA, _SSIM_SIZE = 1.5, 11  # MATLAB ssim(): Gaussian sigma 1.5, 2*ceil(3*sigma)+1 taps


def _gauss_window() -> torch.Tensor:
    x = torch.arange(_SSIM_SIZE, dtype=torch.float64) - (_SSIM_SIZE - 1) / 2
    g = torch.exp(-x * x / (2 * _SSIM_SIGMA**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).view(1, 1, _SSIM_SIZE, _SSIM_SIZE)


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean SSIM per image with MATLAB ssim()'s defaults (Wang et al. 2004).

    a, b: (B, 1, H, W) in [0, 1], compared on the 0-255 scale; K1 = 0.01, K2 = 0.03,
    11x11 Gaussian window (sigma 1.5), replicate padding, 'same' size map.
    """
    a = a.double() * 255
    b = b.double() * 255
    w = _gauss_window().to(a.device)
    r = _SSIM_SIZE // 2

    def blur(x):
        return F.conv2d(F.pad(x, (r, r, r, r), mode="replicate"), w)

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = blur(a), blur(b)
    saa = blur(a * a) - mu_a**2
    sbb = blur(b * b) - mu_b**2
    sab = blur(a * b) - mu_a * mu_b
    m = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a**2 + mu_b**2 + c1) * (saa + sbb + c2))
    return m.mean(dim=(1, 2, 3)).float()  # (B,)


def ssim_uint8(gt: np.ndarray, pred: np.ndarray) -> float:
    t = lambda a: torch.from_numpy(a.astype(np.float64) / 255.0)[None, None]  # noqa: E731
    return float(ssim(t(gt), t(pred))[0])


# --- SCOOT (Fan et al. 2019) -------------------------------------------------------
SCOOT_LEVELS = 6
SCOOT_BLOCKS = 4
SCOOT_OFFSETS = ((0, 1), (-1, 1), (-1, 0), (-1, -1))  # (row, col), MATLAB graycomatrix 'Offset'


def _quantize(a: np.ndarray, levels: int) -> np.ndarray:
    """MATLAB graycomatrix scaling with GrayLimits [0 255]: round(1 + (L-1)·x/255) -> 0-based."""
    q = np.rint(a.astype(np.float64) * (levels - 1) / 255.0).astype(np.int64)
    return np.clip(q, 0, levels - 1)


def _glcm(q: np.ndarray, dr: int, dc: int, levels: int) -> np.ndarray:
    """Non-symmetric co-occurrence counts of q[r, c] with q[r + dr, c + dc]."""
    h, w = q.shape
    r0, r1 = max(0, -dr), min(h, h - dr)
    c0, c1 = max(0, -dc), min(w, w - dc)
    a = q[r0:r1, c0:c1]
    b = q[r0 + dr:r1 + dr, c0 + dc:c1 + dc]
    return np.bincount((a * levels + b).ravel(), minlength=levels * levels).reshape(levels, levels).astype(np.float64)


def _contrast_energy(block: np.ndarray) -> tuple[float, float]:
    i, j = np.indices((SCOOT_LEVELS, SCOOT_LEVELS))
    con, ene = [], []
    for dr, dc in SCOOT_OFFSETS:
        g = _glcm(block, dr, dc, SCOOT_LEVELS)
        s = g.sum()
        p = g / s if s > 0 else g
        con.append(float(((i - j) ** 2 * p).sum()))
        ene.append(float((p**2).sum()))
    return float(np.mean(con)), float(np.mean(ene))


def scoot_features(grey: np.ndarray) -> np.ndarray:
    """Contrast and Energy (mean over the 4 orientations) of each of the 4x4 blocks."""
    q = _quantize(grey, SCOOT_LEVELS)
    h, w = q.shape
    bh, bw = h // SCOOT_BLOCKS, w // SCOOT_BLOCKS
    feats = []
    for r in range(SCOOT_BLOCKS):
        for c in range(SCOOT_BLOCKS):
            feats.extend(_contrast_energy(q[r * bh:(r + 1) * bh, c * bw:(c + 1) * bw]))
    return np.asarray(feats)


def scoot(gt: np.ndarray, pred: np.ndarray) -> float:
    """SCOOT: Q = 1 / (1 + ||f_gt - f_pred||_2) over the block features; 1 means identical style."""
    if gt.shape != pred.shape:
        raise ValueError(f"scoot needs equal sizes, got {gt.shape} and {pred.shape}")
    return float(1.0 / (1.0 + np.linalg.norm(scoot_features(gt) - scoot_features(pred))))
