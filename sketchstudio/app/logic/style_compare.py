"""The wizard's side-by-side preview: the check photo in the new style and in one old style.

Qt-free. While a new style trains, the pipeline's own previews show only the style being
trained; a user also wants to see at once whether an old style drifts. The pipeline's start
event carries the model being trained (train/runner.py TrainEvent.model) and a caller may
sample from it while the generator is suspended, so after each preview the training job
draws the check photo in both styles here: one short sampler run and one decode per style.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ...core.imaging import tensor_to_image
from ...core.model import SketchModel
from ...core.sampler import SamplerSettings, finished, iter_steps
from ...data.cache import TrainingData

COMPARE_SETTINGS = SamplerSettings(steps=4, seed=0, preview="none")
COMPARE_SIZE = 192  # px, what the wizard shows


@dataclass(frozen=True)
class StyleSketch:
    label: str  # e.g. "inkwash (new)", "contour (old)"
    style: str
    image: np.ndarray  # (COMPARE_SIZE, COMPARE_SIZE) uint8


def check_photo(run_folder) -> torch.Tensor | None:
    """The first check photo of the run's data as the fine-tuning preview picks it (a held-out
    pair's photo, else the first training pair's), (1, 3, S, S) in [0, 1]; None without data."""
    path = Path(run_folder) / "data.safetensors"
    if not path.exists():
        return None
    d = TrainingData.load(path)
    if len(d.val_photo):
        photo = d.val_photo[:1]
    elif len(d.real_photo):
        photo = d.photos[d.real_photo[:1]]
    else:
        return None
    return photo.float() / 255.0  # (1, 3, S, S)


def old_style(model: SketchModel, new_style: str) -> str | None:
    """The old style shown beside the new one: the model's first other style."""
    return next((s for s in model.styles if s != new_style), None)


@torch.no_grad()
def compare_styles(model: SketchModel, photo: torch.Tensor, new_style: str, texture: bool = False,
                   size: int = COMPARE_SIZE) -> tuple[StyleSketch, ...]:
    """`photo` (1, 3, S, S) drawn by `model` in `new_style` and in one old style (empty when the
    model has no such pair yet, e.g. during pre-training). texture: with the stroke renderer
    (the render stage trains it; elsewhere a cheap decode shows the same tokens)."""
    old = old_style(model, new_style)
    if new_style not in model.styles or old is None:
        return ()
    memory = model.condition(photo)
    out = []
    for style, label in ((new_style, f"{new_style} (new)"), (old, f"{old} (old)")):
        w = torch.zeros(len(model.styles))  # (K,)
        w[model.styles.index(style)] = 1.0
        last = None
        for last in iter_steps(model, None, w, COMPARE_SETTINGS, memory=memory):
            pass
        sketch = finished(model, last, texture=texture)[0]  # (1, H, W)
        im = tensor_to_image(sketch).resize((size, size), Image.Resampling.LANCZOS)
        out.append(StyleSketch(label, style, np.asarray(im)))
    return tuple(out)
