"""Files the studio writes and reads back; Qt-free. Every write is atomic.

A sketch PNG carries its settings as JSON in the `sketchstudio` text chunk, in the CLI's
shape (style, style_weights, seed, steps, temperature, schedule, self_guidance,
style_guidance, crop, model) plus what the studio needs to redo it exactly: the photo's
path, the crop square, the re-drawn regions, noise and top_k.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..cli import SKETCH_META_KEY
from ..core.checkpoint import atomic_write
from ..core.imaging import ImageLoadError, read_png_text, save_png
from ..core.sampler import SamplerSettings
from ..core.styles import StyleError, canonical, format_style, parse_style
from .decode_job import Redraw, SketchResult, SketchSpec
from .photo import Photo


class MetadataError(ValueError):
    """The file's sketchstudio settings cannot be used (one line, for a message box)."""


def sketch_metadata(result: SketchResult, styles: tuple[str, ...], model_id: str) -> dict:
    spec, s, photo = result.spec, result.spec.settings, result.photo
    return {
        "style": format_style(spec.style, styles), "style_weights": dict(zip(styles, map(float, spec.style))),
        "seed": s.seed, "steps": s.steps, "temperature": s.temperature, "schedule": s.schedule,
        "self_guidance": s.self_guidance, "style_guidance": s.style_guidance,
        "crop": "none" if photo.crop is None else "face", "model": model_id,
        "noise": s.noise, "top_k": s.top_k,
        "crop_box": None if photo.crop is None else list(photo.crop),
        "photo": photo.path,
        "redraws": [{"cells": list(r.cells), "seed": r.seed} for r in spec.redraws],
    }


def sketch_image(result: SketchResult) -> Image.Image:
    im = Image.fromarray(result.sketch, "L")
    if result.photo.crop is None:  # the whole photo was squashed: back to its frame, as the CLI does
        im = im.resize(result.photo.size, resample=Image.BICUBIC)
    return im


def save_sketch(path, result: SketchResult, styles: tuple[str, ...], model_id: str) -> dict:
    meta = sketch_metadata(result, styles, model_id)
    save_png(sketch_image(result), path, {SKETCH_META_KEY: json.dumps(meta, sort_keys=True)})
    return meta


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


def spec_from_metadata(meta: dict, styles: tuple[str, ...]) -> SketchSpec:
    """The settings of a sketch PNG (studio or CLI) for a model with `styles`."""
    try:
        if isinstance(meta.get("style_weights"), dict):
            weights = [0.0] * len(styles)
            for name, w in meta["style_weights"].items():
                w = float(w)
                if not math.isfinite(w) or w < 0:
                    raise MetadataError(f"bad weight {w} for style {name!r}")
                weights[styles.index(canonical(name, styles))] += w
            total = sum(weights)
            if total <= 0:
                raise MetadataError("the style mix has no positive weight")
            weights = [w / total for w in weights]
        else:
            weights = parse_style(meta.get("style"), styles)
        defaults = SamplerSettings()
        settings = SamplerSettings(
            steps=int(meta.get("steps", defaults.steps)), seed=int(meta.get("seed", defaults.seed)),
            temperature=float(meta.get("temperature", defaults.temperature)),
            schedule=str(meta.get("schedule", defaults.schedule)),
            self_guidance=float(meta.get("self_guidance", 0.0)),
            style_guidance=float(meta.get("style_guidance", 0.0)),
            noise=float(meta.get("noise", defaults.noise)), top_k=int(meta.get("top_k", 0)),
        )
        redraws = tuple(Redraw(tuple(int(c) for c in r["cells"]), int(r["seed"])) for r in meta.get("redraws") or ())
    except StyleError as exc:
        raise MetadataError(str(exc)) from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise MetadataError(f"unusable sketchstudio settings ({exc})") from None
    return SketchSpec(tuple(weights), settings, redraws)


def crop_from_metadata(meta: dict, photo: Photo) -> Photo | None:
    """The photo with its stored framing (a crop square or the whole photo); None when the file
    stores none (CLI files with --crop face): then the detected face decides, as in the CLI."""
    if meta.get("crop") == "none":
        return photo.with_crop(None)
    box = meta.get("crop_box")
    if isinstance(box, list) and len(box) == 4 and all(isinstance(v, int) for v in box) and box[2] > box[0]:
        return photo.with_crop(tuple(box), clamp=False)
    return None


def save_animation(frames: list[np.ndarray], path, step_ms: int = 250, hold_ms: int = 1500) -> None:
    """The decoding steps as a looping GIF (greyscale), the last frame held."""
    if not frames:
        raise ValueError("no decoding steps to animate")
    images = [Image.fromarray(f, "L") for f in frames]
    durations = [step_ms] * (len(images) - 1) + [hold_ms]
    atomic_write(path, lambda tmp: images[0].save(
        tmp, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0))


def sweep_sheet(sketches: list[np.ndarray], labels: list[str], label_h: int = 18) -> Image.Image:
    """One row: the sketches side by side, each with its label underneath."""
    h, w = sketches[0].shape
    sheet = Image.new("L", (w * len(sketches), h + label_h), 255)
    draw = ImageDraw.Draw(sheet)
    for i, (a, label) in enumerate(zip(sketches, labels)):
        sheet.paste(Image.fromarray(a, "L"), (i * w, 0))
        draw.text((i * w + 4, h + 3), label, fill=0)
    return sheet


def save_sheet(sheet: Image.Image, path) -> None:
    save_png(sheet, Path(path))
