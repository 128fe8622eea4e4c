"""SamplerSettings as a plain dict and back: the one copy of its fields for files (sketch PNGs,
the studio's settings.json). They could become `SamplerSettings.to_dict`/`from_dict` later.

`preview` is left out: it says how a decode is shown, not what it draws.
"""
from __future__ import annotations

from dataclasses import fields

from .sampler_settings import SamplerSettings

# Each stored field with the type a file's value is converted to.
FIELDS: dict[str, type] = {f.name: type(f.default) for f in fields(SamplerSettings) if f.name != "preview"}


def settings_to_dict(s: SamplerSettings, keys=None) -> dict:
    """The fields named in `keys` (default: all but preview) as JSON-ready values."""
    return {k: getattr(s, k) for k in (FIELDS if keys is None else keys)}


def settings_from_dict(d: dict, base: SamplerSettings | None = None) -> SamplerSettings:
    """`base` (default SamplerSettings()) with the known fields of `d` over it; other keys are
    ignored. A value of the wrong kind raises TypeError or ValueError (OverflowError for inf)."""
    base = base or SamplerSettings()
    changes = {}
    for k, kind in FIELDS.items():
        if k in d:
            changes[k] = kind(d[k])
    return base.with_(**changes)
