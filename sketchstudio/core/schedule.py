"""MaskGIT maths as small pure functions: mask schedules, Gumbel noise, re-masking.

γ(r) maps decoding progress r in [0, 1] to the fraction of tokens still masked:
γ(0) = 1 (all masked), γ(1) = 0 (none). Training draws r ~ U[0, 1) and masks
γ(r) of the tokens, so the model sees every ratio the sampler will show it.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

# The functions that make tensors import torch when called: SamplerSettings checks its schedule's
# name here in the window, before PyTorch is imported (issue 25).
if TYPE_CHECKING:
    import torch

SCHEDULES: dict[str, Callable[[float], float]] = {
    "cosine": lambda r: math.cos(math.pi / 2 * r),  # MaskGIT's best
    "linear": lambda r: 1.0 - r,
    "square": lambda r: 1.0 - r * r,
    "cubic": lambda r: 1.0 - r ** 3,
    "sqrt": lambda r: 1.0 - math.sqrt(r),
}


def gamma(name: str) -> Callable[[float], float]:
    try:
        return SCHEDULES[name]
    except KeyError:
        raise ValueError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}") from None


def mask_counts(n_unknown: int, steps: int, schedule: str = "cosine") -> list[int]:
    """Tokens still masked after each of `steps` steps, starting from n_unknown masked.

    Strictly decreasing while tokens remain (each step fixes at least one), and
    0 after the last step.
    """
    if steps < 1:
        raise ValueError("steps must be >= 1")
    g = gamma(schedule)
    counts, prev = [], n_unknown
    for t in range(steps):
        r = (t + 1) / steps
        want = 0 if t == steps - 1 else math.floor(n_unknown * g(r))
        prev = max(0, min(prev - 1, want))
        counts.append(prev)
    return counts


def gumbel_noise(shape, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    import torch

    u = torch.rand(shape, generator=generator, device=device).clamp_(1e-20, 1.0 - 1e-7)
    return -torch.log(-torch.log(u))


def lowest_k_mask(scores: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Bool mask (B, N) of the k[b] lowest scores in row b (k (B,) long, may be 0)."""
    ranks = scores.argsort(dim=1, stable=True).argsort(dim=1)  # (B, N) rank of each score
    return ranks < k.to(scores.device).unsqueeze(1)


def random_training_mask(batch: int, n: int, schedule: str = "cosine",
                         generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """Training mask (B, N) bool: each row masks ceil(γ(r)·N) tokens, r ~ U[0, 1)."""
    import torch

    g = gamma(schedule)
    r = torch.rand(batch, generator=generator, device=device)
    counts = torch.tensor([max(1, math.ceil(g(float(x)) * n)) for x in r], device=device)  # (B,)
    scores = torch.rand(batch, n, generator=generator, device=device)
    ranks = scores.argsort(dim=1).argsort(dim=1)  # (B, N) rank of each position
    return ranks < counts.unsqueeze(1)
