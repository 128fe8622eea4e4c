"""Style names and mixes: "pencil", "contour=0.3,pencil=0.7", FS2K aliases."""
from __future__ import annotations

from .config import FS2K_STYLES

# FS2K's numeric style labels, accepted wherever a style name is.
ALIASES = {f"fs2k-{i}": name for i, name in enumerate(FS2K_STYLES)}


class StyleError(ValueError):
    pass


def canonical(name: str, styles: tuple[str, ...]) -> str:
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    for s in styles:
        if s.lower() == key:
            return s
    raise StyleError(f"unknown style {name!r}; this model has: {', '.join(styles)}")


def parse_style(spec: str | None, styles: tuple[str, ...]) -> list[float]:
    """A style spec -> convex weights over `styles` (summing to 1).

    "pencil" is one style; "contour=1,pencil=3" mixes them (weights are normalised).
    None picks the first style.
    """
    weights = [0.0] * len(styles)
    if spec is None or not spec.strip():
        weights[0] = 1.0
        return weights
    for part in spec.split(","):
        name, _, value = part.partition("=")
        try:
            w = float(value) if value.strip() else 1.0
        except ValueError:
            raise StyleError(f"bad weight {value!r} for style {name.strip()!r}") from None
        if w < 0 or w != w or w == float("inf"):
            raise StyleError(f"style weights must be finite and >= 0 (got {value!r})")
        weights[styles.index(canonical(name, styles))] += w
    total = sum(weights)
    if total <= 0:
        raise StyleError(f"style mix {spec!r} has no positive weight")
    return [w / total for w in weights]


def format_style(weights, styles: tuple[str, ...]) -> str:
    """Inverse of parse_style: "contour=0.25,pencil=0.75" (pure styles by name alone)."""
    parts = [(s, float(w)) for s, w in zip(styles, weights) if w > 1e-6]
    if len(parts) == 1:
        return parts[0][0]
    return ",".join(f"{s}={w:.4g}" for s, w in parts)
