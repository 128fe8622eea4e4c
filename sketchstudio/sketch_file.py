"""The sketch PNG's settings: one writer and one reader for the command line and the window.

A sketch PNG carries its settings as JSON in the `sketchstudio` text chunk: style,
style_weights, crop, model and the sampler settings (seed, steps, temperature, schedule,
noise, top_k, self_guidance, style_guidance). The studio adds what it needs to redo a sketch
exactly (the photo's path, the crop square, the re-drawn regions); readers ignore keys they
do not know, so a CLI file and a studio file open the same way.
"""
from __future__ import annotations

import json
import math

from PIL import Image

from .core.imaging import ImageLoadError, read_png_text, save_png
from .core.sampler_settings import SamplerSettings
from .core.sampler_settings_io import settings_from_dict, settings_to_dict
from .core.styles import StyleError, canonical, format_style, parse_style

SKETCH_META_KEY = "sketchstudio"  # PNG text chunk holding the settings as JSON


class MetadataError(ValueError):
    """The file's sketchstudio settings cannot be used (one line, for a message box)."""


def sketch_metadata(weights, styles: tuple[str, ...], settings: SamplerSettings, crop: str, model_id: str,
                    **extra) -> dict:
    """The settings of one sketch; `extra` keys (the studio's) are added as they are."""
    return {
        "style": format_style(weights, styles), "style_weights": dict(zip(styles, map(float, weights))),
        **settings_to_dict(settings), "crop": crop, "model": model_id, **extra,
    }


def png_text(meta: dict) -> dict[str, str]:
    """The PNG text chunks that carry `meta` (for save_png)."""
    return {SKETCH_META_KEY: json.dumps(meta, sort_keys=True)}


def save_sketch_png(im: Image.Image, path, meta: dict) -> None:
    save_png(im, path, png_text(meta))


def read_metadata(path) -> dict | None:
    """The PNG's settings, or None when it has none (then it is just a photo)."""
    try:
        text = read_png_text(path).get(SKETCH_META_KEY)
    except FileNotFoundError:
        raise ImageLoadError(f"{path}: file not found") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None  # not a readable PNG: let the photo loader say why
    if text is None:
        return None
    try:
        meta = json.loads(text)
    except ValueError:
        raise MetadataError(f"{path}: the sketchstudio settings in this file are not valid JSON") from None
    if not isinstance(meta, dict):
        raise MetadataError(f"{path}: the sketchstudio settings in this file are not a JSON object")
    return meta


def style_from_metadata(meta: dict, styles: tuple[str, ...]) -> list[float]:
    """The stored style mix for a model with `styles` (normalised weights)."""
    try:
        if not isinstance(meta.get("style_weights"), dict):
            return parse_style(meta.get("style"), styles)
        weights = [0.0] * len(styles)
        for name, w in meta["style_weights"].items():
            w = float(w)
            if not math.isfinite(w) or w < 0:
                raise MetadataError(f"bad weight {w} for style {name!r}")
            weights[styles.index(canonical(name, styles))] += w
    except StyleError as exc:
        raise MetadataError(str(exc)) from None
    except MetadataError:
        raise
    except (TypeError, ValueError, AttributeError) as exc:
        raise MetadataError(f"unusable sketchstudio settings ({exc})") from None
    total = sum(weights)
    if total <= 0:
        raise MetadataError("the style mix has no positive weight")
    return [w / total for w in weights]


def settings_from_metadata(meta: dict) -> SamplerSettings:
    """The stored sampler settings; what a file leaves out keeps SamplerSettings' default."""
    try:
        return settings_from_dict(meta)
    except (TypeError, ValueError, OverflowError) as exc:
        raise MetadataError(f"unusable sketchstudio settings ({exc})") from None
