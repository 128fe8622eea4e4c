"""Small sample sketches of each style of a model, for the studio's styles panel. Qt-free.

`ThumbnailJob.run(cancel)` is a worker job (app/workers/thread.py): it conditions the photo
once (the current photo, else the bundled sample face) and yields one `Thumbnail` per style,
each one short sampler run (a few steps, the model's recommended guidance) drawn by the
stroke renderer at twice the thumbnail's size (a few milliseconds there; since v6 the renderer
draws the eyes and mouth from the photo, so a thumbnail without it would not show the style as
the sketch has it) and shrunk.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import numpy as np
from PIL import Image

from ...core.imaging import load_image, tensor_to_image
from ...core.sampler_settings import CancelToken, SamplerSettings
from ...paths import resources_dir
from .decode_job import condition
from .photo import Photo

if TYPE_CHECKING:
    from ...core.model import SketchModel

THUMB_SIZE = 64  # px, square
THUMB_STEPS = 4
SAMPLE_KEY = ("sample-face",)
_sample: Photo | None = None


def sample_face() -> Photo:
    """The bundled sample face, framed (face detection: call on the worker thread)."""
    global _sample
    if _sample is None:
        path = resources_dir() / "sample_face.png"
        _sample = Photo.from_image(load_image(path), str(path), detect=True)
    return _sample


def photo_key(photo: Photo | None) -> tuple:
    return SAMPLE_KEY if photo is None else photo.cache_key


def thumb_settings(recommended: SamplerSettings) -> SamplerSettings:
    """The model's recommended settings, in at most THUMB_STEPS steps, a fixed seed, no previews."""
    return recommended.with_(steps=min(recommended.steps, THUMB_STEPS), seed=0, preview="none")


@dataclass(frozen=True)
class Thumbnail:
    key: tuple  # (model id, photo key, style)
    style: str
    image: np.ndarray  # (THUMB_SIZE, THUMB_SIZE) uint8


class ThumbnailJob:
    def __init__(self, model: SketchModel, model_id: str, photo: Photo | None, styles, settings: SamplerSettings,
                 size: int = THUMB_SIZE):
        self.model, self.model_id, self.photo = model, model_id, photo
        self.styles, self.settings, self.size = tuple(styles), thumb_settings(settings), size

    def run(self, cancel: CancelToken) -> Iterator[Thumbnail]:
        import torch

        from ...core.sampler import finished, iter_steps

        model = self.model
        photo = self.photo if self.photo is not None else sample_face()
        key = photo_key(self.photo)
        memory = condition(model, photo)
        done = 0
        for style in self.styles:
            w = torch.zeros(len(model.styles))  # (K,)
            w[model.styles.index(style)] = 1.0
            last = None
            for last in iter_steps(model, None, w, self.settings, memory=memory, cancel=cancel):
                pass
            if last is None or not last.done:
                return None  # cancelled: the thumbnails made so far were yielded
            with torch.inference_mode():
                sketch = finished(model, last, (2 * self.size,) * 2)[0]  # (1, 2s, 2s)
            im = tensor_to_image(sketch).resize((self.size, self.size), Image.Resampling.LANCZOS)
            yield Thumbnail((self.model_id, key, style), style, np.asarray(im))
            done += 1
        return done
