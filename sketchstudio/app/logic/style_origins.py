"""Where each style of a model came from, for its model card and the studio's styles panel.

Qt-free. A card made by the wizard records `style_origins` ({style: text}); a model without
one (the shipped model, a model trained on the command line, a card written before origins
were recorded) gets them from the style names: the FS2K styles and the synthetic pre-training
styles are known by name, and a card's `new_style` came from the drawings it names.
"""
from __future__ import annotations

from ...core.config import FS2K_STYLES
from ...data.synthetic import SYNTHETIC_STYLES

FS2K_ORIGIN = "FS2K drawings (MIT licence)"
SYNTHETIC_ORIGIN = "synthetic pre-training sketches"
UNKNOWN_ORIGIN = "not recorded"


def drawings_origin(folder) -> str:
    return f"your drawings in {folder}"


def default_origin(style: str) -> str:
    if style in FS2K_STYLES:
        return FS2K_ORIGIN
    if style in SYNTHETIC_STYLES:
        return SYNTHETIC_ORIGIN
    return UNKNOWN_ORIGIN


def style_origins(styles, info: dict | None = None) -> dict[str, str]:
    """{style: origin} for every one of `styles`, from the card in `info` where it says."""
    card = info.get("card") if isinstance(info, dict) else None
    card = card if isinstance(card, dict) else {}
    known = card.get("style_origins")
    known = known if isinstance(known, dict) else {}
    data = card.get("data") if isinstance(card.get("data"), dict) else {}
    out = {}
    for s in styles:
        if isinstance(known.get(s), str):
            out[s] = known[s]
        elif s == card.get("new_style") and isinstance(data.get("pairs"), str):
            out[s] = drawings_origin(data["pairs"])  # a wizard card from before origins were recorded
        else:
            out[s] = default_origin(s)
    return out
