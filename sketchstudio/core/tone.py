"""Per-style tone curves: the finished sketch's grey levels mapped onto the style's drawings'.

The renderer learns where strokes go from L1 and an adversarial term; neither asks it to put
its greys where an artist's are. Measured on the held-out FS2K pairs (docs/BENCHMARKS.md,
model v11): contour lines a level too light, so a faint line merges with the paper at SCOOT's
six grey levels, pencil paper whiter than the drawings' toned paper. A tone curve per style
(a monotone map of the 256 grey levels, `train tone`) moves the model's grey-level distribution
onto the drawings': where a share q of the model's pixels is at most v, the curve sends v to
the level at most which a share q of the drawings' pixels lies (quantile matching, fitted on
the training pairs' sketches the model itself drew).

A mix of styles gets the same mix of curves (a mix of monotone curves is monotone, so the
style slider stays gradual); weights that sum to less than one keep the rest of the sketch's
own grey (an all-zero vector, or no style, changes nothing). A new table is the identity.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

LEVELS = 256
FINE = 4  # lookup entries per level when a curve is applied
# A curve this close to the identity everywhere is the identity (a quarter of a grey level: an
# identity table stored in fp16, as shipped models are, is within 2.5e-4 of it).
IDENTITY_TOL = 1e-3


def identity_curve(dtype=None, device=None) -> torch.Tensor:
    """(LEVELS,): the identity curve, level v at v / (LEVELS - 1)."""
    return torch.linspace(0, 1, LEVELS, dtype=dtype, device=device)


def identity_table(styles: int) -> torch.Tensor:
    """(styles, LEVELS): every style's curve the identity, in [0, 1]."""
    return identity_curve().expand(styles, -1).clone()


def quantile_curve(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The monotone curve (LEVELS,) in [0, 1] that maps a grey-level histogram `source`
    (LEVELS,) onto `target` (LEVELS,): level v goes to the target's quantile at the source's
    mid-bin CDF at v (so a source equal to the target gives the identity up to a bin's rounding,
    and levels the source never uses are interpolated between the ones it does)."""
    src = source.double() / source.sum()
    tgt = target.double() / target.sum()
    cdf_src = torch.cumsum(src, 0)
    mid = cdf_src - src / 2  # (LEVELS,)
    cdf_tgt = torch.cumsum(tgt, 0)
    # The target's inverse CDF with linear interpolation inside each bin: the level at which
    # its CDF (bin edges at 0.5 past each level) reaches `mid`.
    edges = torch.cat([torch.zeros(1, dtype=torch.float64), cdf_tgt])  # (LEVELS + 1,)
    pos = torch.arange(LEVELS + 1, dtype=torch.float64) - 0.5  # level of each edge
    i = torch.searchsorted(edges, mid.clamp(0, 1), right=True).clamp(1, LEVELS)
    lo, hi = edges[i - 1], edges[i]
    frac = torch.where(hi > lo, (mid - lo) / (hi - lo).clamp_min(1e-12), torch.zeros_like(mid))
    level = (pos[i - 1] + frac).clamp(0, LEVELS - 1)
    used = src > 0
    if used.sum() >= 2:  # levels the model never drew: interpolate between the ones it did
        v = torch.arange(LEVELS, dtype=torch.float64)
        xs, ys = v[used], level[used]
        j = torch.searchsorted(xs, v).clamp(1, len(xs) - 1)
        x0, x1, y0, y1 = xs[j - 1], xs[j], ys[j - 1], ys[j]
        level = torch.where(v <= xs[0], ys[0], torch.where(v >= xs[-1], ys[-1],
                                                           y0 + (y1 - y0) * (v - x0) / (x1 - x0)))
    return torch.cummax(level / (LEVELS - 1), 0).values.float()


class ToneCurves(nn.Module):
    """A tone curve per style, (styles, LEVELS) in [0, 1], applied to sketches in [0, 1]."""

    def __init__(self, styles: int):
        super().__init__()
        self.register_buffer("table", identity_table(styles))

    @property
    def styles(self) -> int:
        return self.table.shape[0]

    def curve(self, style: torch.Tensor) -> torch.Tensor:
        """Style weights (B, K) or (K,) -> each row's curve (B, LEVELS)."""
        w = torch.as_tensor(style, dtype=self.table.dtype, device=self.table.device)
        w = w.unsqueeze(0) if w.dim() == 1 else w
        if w.shape[-1] != self.styles:
            raise ValueError(f"style weights must have {self.styles} entries, got {tuple(w.shape)}")
        ident = identity_curve(self.table.dtype, self.table.device)
        return w @ self.table + (1 - w.sum(-1, keepdim=True)) * ident  # (B, LEVELS)

    def forward(self, x: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        """x (B, C, H, W) in [0, 1] -> the same through each row's style curve; unchanged without
        style weights or where the curve is the identity (within IDENTITY_TOL). The curve is
        looked up at FINE times its levels (linear between them, the nearest entry taken): within
        0.4 grey levels of interpolating every pixel, and a single gather (9x faster than
        interpolating, 10 ms for a 2048 px sketch on one core)."""
        if style is None:
            return x
        curve = self.curve(style).to(x.dtype)  # (b, LEVELS)
        if (curve - identity_curve(x.dtype, x.device)).abs().max() < IDENTITY_TOL:
            return x  # identity curves (a new table, unfitted styles): the sketch as it was, bit for bit
        n = (LEVELS - 1) * FINE + 1
        fine = F.interpolate(curve[:, None], size=n, mode="linear", align_corners=True)[:, 0]  # (b, n)
        fine = fine.expand(x.shape[0], -1) if fine.shape[0] == 1 else fine
        i = (x.flatten(1) * (n - 1)).round_().clamp_(0, n - 1).long()  # (B, C*H*W)
        return fine.gather(1, i).view_as(x)
