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


# --- FSIM (Zhang et al. 2011), greyscale, following the authors' reference code ------------------
def _freq_grid(rows: int, cols: int):
    def axis(n):
        return (np.arange(n) - (n - 1) / 2) / (n - 1) if n % 2 else (np.arange(n) - n // 2) / n

    x, y = np.meshgrid(axis(cols), axis(rows))
    return x, y


def _phase_congruency(im: np.ndarray, nscale=4, norient=4, min_wavelength=6, mult=2.0, sigma_onf=0.55,
                      d_theta_on_sigma=1.2, k=2.0, eps=1e-4) -> np.ndarray:
    rows, cols = im.shape
    fft = np.fft.fft2(im)
    x, y = _freq_grid(rows, cols)
    radius = np.fft.ifftshift(np.sqrt(x**2 + y**2))
    theta = np.fft.ifftshift(np.arctan2(-y, x))
    lowpass = 1.0 / (1.0 + (radius / 0.45) ** (2 * 15))  # Butterworth, cutoff .45, order 15
    radius[0, 0] = 1.0
    sin_t, cos_t = np.sin(theta), np.cos(theta)
    log_gabor = []
    for s in range(nscale):
        fo = 1.0 / (min_wavelength * mult**s)
        g = np.exp(-(np.log(radius / fo)) ** 2 / (2 * np.log(sigma_onf) ** 2)) * lowpass
        g[0, 0] = 0.0
        log_gabor.append(g)
    theta_sigma = np.pi / norient / d_theta_on_sigma
    energy_all = np.zeros_like(im)
    an_all = np.zeros_like(im)
    for o in range(norient):
        angle = o * np.pi / norient
        ds = sin_t * np.cos(angle) - cos_t * np.sin(angle)
        dc = cos_t * np.cos(angle) + sin_t * np.sin(angle)
        spread = np.exp(-np.abs(np.arctan2(ds, dc)) ** 2 / (2 * theta_sigma**2))
        eo, ifft_filters = [], []
        for s in range(nscale):
            filt = log_gabor[s] * spread
            ifft_filters.append(np.real(np.fft.ifft2(filt)) * np.sqrt(rows * cols))
            eo.append(np.fft.ifft2(fft * filt))
            if s == 0:
                em_n = np.sum(filt**2)
        sum_e = sum(np.real(e) for e in eo)
        sum_o = sum(np.imag(e) for e in eo)
        sum_an = sum(np.abs(e) for e in eo)
        x_energy = np.sqrt(sum_e**2 + sum_o**2) + eps
        mean_e, mean_o = sum_e / x_energy, sum_o / x_energy
        energy = np.zeros_like(im)
        for e in eo:
            E, O = np.real(e), np.imag(e)
            energy += E * mean_e + O * mean_o - np.abs(E * mean_o - O * mean_e)
        # Noise threshold from the smallest scale (Kovesi): Rayleigh statistics of its amplitude.
        mean_e2n = -np.median(np.abs(eo[0]) ** 2) / np.log(0.5)
        noise_power = mean_e2n / em_n
        sum_an2 = sum(np.sum(f**2) for f in ifft_filters)
        sum_aiaj = sum(np.sum(ifft_filters[i] * ifft_filters[j]) for i in range(nscale) for j in range(i + 1, nscale))
        tau = np.sqrt((2 * noise_power * sum_an2 + 4 * noise_power * sum_aiaj) / 2)
        threshold = (tau * np.sqrt(np.pi / 2) + k * np.sqrt((2 - np.pi / 2) * tau**2)) / 1.7
        energy_all += np.maximum(energy - threshold, 0)
        an_all += sum_an
    return energy_all / an_all


def fsim_features(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(phase congruency, gradient magnitude) of a greyscale uint8 image, as FSIM uses them.

    Computing them once per ground truth lets `fsim` compare it with many predictions.
    """
    import cv2

    y = grey.astype(np.float64)
    f = max(1, round(min(grey.shape) / 256))  # the reference code's downsampling
    if f > 1:
        y = cv2.filter2D(y, -1, np.full((f, f), 1.0 / (f * f)), borderType=cv2.BORDER_CONSTANT)[::f, ::f]
    dx = np.array([[3, 0, -3], [10, 0, -10], [3, 0, -3]]) / 16.0  # Scharr
    gx = cv2.filter2D(y, -1, dx[::-1, ::-1], borderType=cv2.BORDER_CONSTANT)
    gy = cv2.filter2D(y, -1, dx.T[::-1, ::-1], borderType=cv2.BORDER_CONSTANT)
    return _phase_congruency(y), np.sqrt(gx**2 + gy**2)


def fsim(gt, pred) -> float:
    """FSIM (greyscale) of two uint8 images, or of two `fsim_features` results."""
    f1 = gt if isinstance(gt, tuple) else fsim_features(gt)
    f2 = pred if isinstance(pred, tuple) else fsim_features(pred)
    (pc1, g1), (pc2, g2) = f1, f2
    if pc1.shape != pc2.shape:
        raise ValueError(f"fsim needs equal sizes, got {pc1.shape} and {pc2.shape}")
    t1, t2 = 0.85, 160.0
    s_pc = (2 * pc1 * pc2 + t1) / (pc1**2 + pc2**2 + t1)
    s_g = (2 * g1 * g2 + t2) / (g1**2 + g2**2 + t2)
    pcm = np.maximum(pc1, pc2)
    return float(np.sum(s_pc * s_g * pcm) / np.sum(pcm))
