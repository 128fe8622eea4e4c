"""The tokens the finished transformer samples for training photos, as the app samples them.

The render stage trains the renderer on them (so it learns to mend sampling errors) and the
tone stage counts the grey levels of the sketches drawn from them; both sample the same way
(`render_settings`) and hand the renderer the photo as the sampler does (`encoder_photo`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..core.model import SketchModel
from ..core.sampler import SamplerSettings, sample
from .base import StageOptions, to_float
from .device import module_device


def render_settings(model: SketchModel, opts: StageOptions) -> SamplerSettings:
    """How the render and tone stages sample a photo's tokens: as the app does (8 steps), at
    `render_style_guidance`, by default the model's own (0 for one that learnt guidance, else 0.75),
    and at `render_temperature`."""
    guidance = opts.render_style_guidance
    if guidance is None:
        guidance = 0.0 if model.cfg.transformer.learnt_guidance else 0.75
    return SamplerSettings(steps=8, style_guidance=guidance, temperature=opts.render_temperature, seed=opts.seed)


def encoder_photo(model: SketchModel, photos: torch.Tensor) -> torch.Tensor:
    """uint8 photos (n, 3, S, S) -> (n, 3, P, P) in [0, 1] at the encoder's input size: what the
    sampler keeps and hands the renderer at run time."""
    p = model.photo_size
    x = to_float(photos)
    return x if x.shape[-1] == p else F.interpolate(x, size=(p, p), mode="bicubic", align_corners=False).clamp(0, 1)


def sampled_ids(model: SketchModel, photos: torch.Tensor, styles: torch.Tensor, settings: SamplerSettings,
                batch: int = 16) -> torch.Tensor:
    """Token ids the model samples for uint8 photos (M, 3, S, S) in their styles (M,): (M, N).
    Row i is sampled with seed settings.seed + i // batch (rows of one batch share a generator)."""
    model = model.eval()
    device = module_device(model)
    out = []
    for i in range(0, len(photos), batch):
        w = F.one_hot(styles[i:i + batch], len(model.styles)).float()  # (b, K)
        settings_i = settings.with_(seed=settings.seed + i // batch, preview="none")
        res = sample(model, to_float(photos[i:i + batch].to(device)), w, settings_i)
        out.append(res.tokens.cpu())
    return torch.cat(out) if out else torch.zeros(0, model.cfg.num_tokens, dtype=torch.long)
