"""Longer Qt-free jobs for the worker: sketch a folder, sweep between two styles.

Both yield `Progress` events and stop at the next sampler step once cancelled.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from ...core.imaging import ImageLoadError, load_image, tensor_to_image
from ...core.sampler_settings import CancelToken
from .decode_job import MemoryCache, SketchResult, SketchSpec, condition
from .export import draw_at, output_frame, save_sketch, save_sketch_svg, sweep_sheet
from .photo import Photo

if TYPE_CHECKING:
    from ...core.model import SketchModel

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"}


@dataclass(frozen=True)
class Progress:
    done: int  # sampler steps done so far
    total: int
    label: str


@dataclass
class BatchReport:
    written: list[Path] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # one line each


def photos_in(folder) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)


def _decode(model: SketchModel, photo: Photo, spec: SketchSpec, cache: MemoryCache | None, cancel, tick):
    """Yields tick() after every step; returns the sketch (H, W) uint8 and its tokens, or None when cancelled."""
    import torch

    from ...core.sampler import finished, iter_steps

    key = photo.cache_key
    memory = cache.get(key, lambda: condition(model, photo)) if cache else condition(model, photo)
    style = torch.tensor(spec.style, dtype=torch.float32)
    last = None
    for last in iter_steps(model, None, style, spec.settings.with_(preview="none"), memory=memory, cancel=cancel):
        yield tick()
    if last is None or not last.done:
        return None
    with torch.inference_mode():
        return np.asarray(tensor_to_image(finished(model, last)[0])), last.tokens


class BatchJob:
    """Sketch every photo in a list into `out_dir/STEM.png`, with metadata (svg: and STEM.svg)."""

    def __init__(self, model: SketchModel, model_id: str, spec: SketchSpec, photos: list[Path], out_dir: Path,
                 svg: bool = False):
        self.model, self.model_id, self.spec = model, model_id, replace(spec, redraws=())
        self.photos, self.out_dir, self.svg = list(photos), Path(out_dir), svg

    def run(self, cancel: CancelToken):
        steps = self.spec.settings.steps
        total = len(self.photos) * steps
        report, used = BatchReport(), set()
        for i, path in enumerate(self.photos):
            done = [i * steps]
            yield Progress(done[0], total, path.name)
            try:
                photo = Photo.from_image(load_image(path), str(path))
            except ImageLoadError as exc:
                report.failures.append(str(exc))
                continue

            def tick(name=path.name):
                done[0] += 1
                return Progress(done[0], total, name)

            out = yield from _decode(self.model, photo, self.spec, None, cancel, tick)
            if out is None:
                return None  # cancelled: the files written so far stay
            sketch, tokens = out
            name = _unique(path.stem, used)
            target = self.out_dir / f"{name}.png"
            result = SketchResult(photo, self.spec, tokens, sketch)
            for target in [target] + ([target.with_suffix(".svg")] if self.svg else []):
                try:
                    if target.suffix == ".svg":
                        save_sketch_svg(target, result)
                    else:
                        save_sketch(target, result, self.model.styles, self.model_id)
                    report.written.append(target)
                except OSError as exc:
                    report.failures.append(f"{target}: cannot write ({exc.strerror or exc})")
        yield Progress(total, total, "")
        return report


def _unique(stem: str, used: set[str]) -> str:
    name, n = stem, 2
    while name.lower() in used:
        name, n = f"{stem}-{n}", n + 1
    used.add(name.lower())
    return name


class SweepJob:
    """`count` sketches of one photo from style a to style b, as one sheet (a PIL image)."""

    def __init__(self, model: SketchModel, photo: Photo, spec: SketchSpec, a: int, b: int, count: int,
                 cache: MemoryCache | None = None):
        if count < 2:
            raise ValueError("a style sweep needs at least 2 columns")
        self.model, self.photo, self.spec = model, photo, spec
        self.a, self.b, self.count, self.cache = a, b, count, cache

    def weights(self, i: int) -> tuple[float, ...]:
        t = i / (self.count - 1)
        w = [0.0] * len(self.model.styles)
        w[self.a] += 1.0 - t
        w[self.b] += t
        return tuple(w)

    def run(self, cancel: CancelToken):
        styles, steps = self.model.styles, self.spec.settings.steps
        total = self.count * steps
        sketches, labels, done = [], [], [0]
        for i in range(self.count):
            t = i / (self.count - 1)
            yield Progress(done[0], total, f"column {i + 1} of {self.count}")
            spec = replace(self.spec, style=self.weights(i), redraws=())

            def tick(label=f"column {i + 1} of {self.count}"):
                done[0] += 1
                return Progress(done[0], total, label)

            out = yield from _decode(self.model, self.photo, spec, self.cache, cancel, tick)
            if out is None:
                return None
            sketches.append(out[0])
            labels.append(f"{styles[self.a]} {1 - t:.0%}" if t < 0.5 else f"{styles[self.b]} {t:.0%}")
        yield Progress(total, total, "")
        return sweep_sheet(sketches, labels)


class RenderJob:
    """A finished sketch drawn again at `longer` pixels on its longer side (File > Export at
    1024 or 2048 px): the renderer draws at that size from the sketch's tokens."""

    def __init__(self, model: SketchModel, result: SketchResult, longer: int):
        self.model, self.result, self.longer = model, result, longer

    def run(self, cancel: CancelToken):
        h, w = output_frame(self.result, self.longer)
        yield Progress(0, 1, f"drawing at {w} x {h} px")
        if cancel.cancelled:
            return None
        image = draw_at(self.model, self.result, self.longer)
        yield Progress(1, 1, "done")
        return image
