"""How the tests measure a sketch, and the model card's machine-readable checks.

The two measures are the ones the "Checks" section of `models/README.md` states its ranges in:

* ink fraction: the share of pixels darker than 128 (of 0-255);
* edge density: the share of pixels whose right or lower neighbour differs from them by more
  than 32 grey levels (the last row and column, which have no such pair, are left out).

A blank page scores 0 on both, uniform noise about 0.5 and 0.94; a drawing sits in between.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODEL_CARD = ROOT / "models" / "README.md"
CHECKS_HEADING = "## Checks (read by tests/test_shipped_model.py)"

INK_BELOW = 128
EDGE_STEP = 32


def ink_fraction(grey) -> float:
    a = np.asarray(grey)
    assert a.ndim == 2, a.shape
    return float((a < INK_BELOW).mean())


def edge_density(grey) -> float:
    a = np.asarray(grey).astype(np.int16)
    assert a.ndim == 2, a.shape
    dx = np.abs(a[:-1, 1:] - a[:-1, :-1])  # (H-1, W-1): right neighbour
    dy = np.abs(a[1:, :-1] - a[:-1, :-1])  # (H-1, W-1): lower neighbour
    return float((np.maximum(dx, dy) > EDGE_STEP).mean())


def model_card_checks(card: Path = MODEL_CARD) -> dict:
    """The JSON block under CHECKS_HEADING in the model card."""
    text = card.read_text(encoding="utf-8")
    if CHECKS_HEADING not in text:
        raise AssertionError(f"{card}: no '{CHECKS_HEADING}' section")
    m = re.search(r"```json\n(.*?)\n```", text.split(CHECKS_HEADING, 1)[1], re.S)
    if m is None:
        raise AssertionError(f"{card}: the Checks section has no ```json block")
    return json.loads(m[1])
