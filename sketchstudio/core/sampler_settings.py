"""Sampler settings and the cancel token: what a decode is asked to do, without PyTorch.

`sampler.py` decodes with them; the window, the settings file and sketch PNGs use them
before torch is imported (issue 25), so this module imports nothing heavy.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, replace

from .schedule import gamma

PREVIEWS = ("none", "cheap", "full")


class CancelToken:
    """Set from any thread; the sampler stops at its next step boundary."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass(frozen=True)
class SamplerSettings:
    steps: int = 8
    schedule: str = "cosine"
    temperature: float = 1.0  # token sampling temperature; 0 = argmax
    noise: float = 4.5  # Gumbel temperature of the confidence, annealed by (1 - progress)
    top_k: int = 0  # 0 = sample from the whole codebook
    self_guidance: float = 0.0
    style_guidance: float = 0.0
    seed: int = 0
    preview: str = "cheap"  # "none", "cheap" (code brightness grid), "full" (VQ decoder)

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError("steps must be >= 1")
        gamma(self.schedule)  # validates the name
        if self.preview not in PREVIEWS:
            raise ValueError(f"preview must be one of {PREVIEWS}")
        if self.temperature < 0 or self.noise < 0:
            raise ValueError("temperature and noise must be >= 0")

    def with_(self, **changes) -> "SamplerSettings":
        return replace(self, **changes)


# Settings a model may recommend in its checkpoint info (`info["sampler"]`): what its card
# measured as the best way to sample it. Callers apply them under what the user asked for.
RECOMMENDABLE = {"steps": int, "temperature": float, "self_guidance": float, "style_guidance": float}


def recommended_settings(info: dict | None, base: SamplerSettings | None = None) -> SamplerSettings:
    """`base` (default SamplerSettings()) with a model's recommended sampler settings over it.

    The info comes from a file: anything malformed (not a number, out of range, NaN) is ignored.
    """
    base = base or SamplerSettings()
    rec = (info or {}).get("sampler") if isinstance(info, dict) else None
    if not isinstance(rec, dict):
        return base
    changes = {}
    for k, kind in RECOMMENDABLE.items():
        v = rec.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v <= 100:
            changes[k] = kind(v)
    try:
        return base.with_(**changes)
    except (TypeError, ValueError):
        return base
