"""Files the studio writes and reads back; Qt-free. Every write is atomic.

A sketch PNG holds its settings in the format of `sketchstudio.sketch_file` (the CLI's),
plus what the studio needs to redo it exactly: the photo's path, the crop square and the
re-drawn regions.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ...core.files import atomic_write
from ...core.imaging import save_png, tensor_to_image
from ...sketch_file import MetadataError, save_sketch_png, settings_from_metadata, sketch_metadata, style_from_metadata
from .decode_job import Redraw, SketchResult, SketchSpec
from .photo import Photo


def studio_metadata(result: SketchResult, styles: tuple[str, ...], model_id: str) -> dict:
    spec, photo = result.spec, result.photo
    return sketch_metadata(
        spec.style, styles, spec.settings, "none" if photo.crop is None else "face", model_id,
        crop_box=None if photo.crop is None else list(photo.crop),
        crop_roll=None if photo.crop is None else photo.roll, photo=photo.path,
        redraws=[{"cells": list(r.cells), "seed": r.seed} for r in spec.redraws])


def sketch_image(result: SketchResult) -> Image.Image:
    im = Image.fromarray(result.sketch, "L")
    if result.photo.crop is None:  # the whole photo was squashed: back to its frame, as the CLI does
        im = im.resize(result.photo.size, resample=Image.BICUBIC)
    return im


def output_frame(result: SketchResult, longer: int) -> tuple[int, int]:
    """(H, W) of the sketch drawn with `longer` pixels on its longer side: a square for a
    face crop, the photo's frame for the whole photo."""
    if result.photo.crop is not None:
        return longer, longer
    from ...core.tokenizer import render_size  # torch: imported when a sketch is drawn, not with the window

    return render_size(result.photo.size, longer)


def draw_at(model, result: SketchResult, longer: int) -> Image.Image:
    """The finished sketch of `result` drawn again from its tokens by the model's renderer at
    `longer` pixels on the longer side (seconds on a CPU at 2048 px: run it off the GUI thread)."""
    import torch

    style = torch.tensor(result.spec.style, dtype=torch.float32)[None]  # (1, K)
    photo = result.photo.tensor(model.photo_size)  # (1, 3, S, S): what the tokens were sampled for
    with torch.inference_mode():
        out = model.decode(result.tokens, size=output_frame(result, longer), style=style, photo=photo)
    return tensor_to_image(out[0])


def save_sketch(path, result: SketchResult, styles: tuple[str, ...], model_id: str,
                image: Image.Image | None = None) -> dict:
    """Write the sketch PNG with its settings; `image`: the sketch drawn at another size (draw_at)."""
    meta = studio_metadata(result, styles, model_id)
    if image is not None:
        meta["size"] = max(image.size)
    save_sketch_png(image if image is not None else sketch_image(result), path, meta)
    return meta


def save_sketch_svg(path, result: SketchResult, image: Image.Image | None = None) -> None:
    """Write the sketch as vector paths in its greys (sketch_svg); `image`: drawn at another size."""
    from ...sketch_svg import save_svg

    save_svg(image if image is not None else sketch_image(result), path)


def spec_from_metadata(meta: dict, styles: tuple[str, ...]) -> SketchSpec:
    """The settings of a sketch PNG (studio or CLI) for a model with `styles`."""
    weights = style_from_metadata(meta, styles)
    settings = settings_from_metadata(meta)
    try:
        redraws = tuple(Redraw(tuple(int(c) for c in r["cells"]), int(r["seed"])) for r in meta.get("redraws") or ())
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise MetadataError(f"unusable sketchstudio settings ({exc})") from None
    return SketchSpec(tuple(weights), settings, redraws)


def crop_from_metadata(meta: dict, photo: Photo) -> Photo | None:
    """The photo with its stored framing (a crop square or the whole photo); None when the file
    stores none (CLI files with --crop face): then the detected face decides, as in the CLI."""
    if meta.get("crop") == "none":
        return photo.with_crop(None)
    box, roll = meta.get("crop_box"), meta.get("crop_roll", 0.0)
    if not (isinstance(roll, (int, float)) and not isinstance(roll, bool) and -180 <= roll <= 180):
        roll = 0.0  # a file from before crops were levelled, or a damaged value: unturned
    if isinstance(box, list) and len(box) == 4 and all(isinstance(v, int) for v in box) and box[2] > box[0]:
        return photo.with_crop(tuple(box), clamp=False, roll=float(roll))
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
