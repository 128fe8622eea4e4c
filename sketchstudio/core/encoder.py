"""Photo encoder: an open_clip vision tower that returns its grid of patch tokens.

`tiny` and `default` use a small ViT registered with open_clip from
`clip_configs/` and trained from scratch. `paper` uses open_clip's ViT-L-14
loaded from a local weights file; a missing file is a clear error and nothing
is ever downloaded.
"""
from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import open_clip
import torch
import torch.nn as nn

from .config import EncoderConfig

_CONFIG_DIR = Path(__file__).with_name("clip_configs")
open_clip.add_model_config(_CONFIG_DIR)

# CLIP's published normalisation; the encoder applies it so callers pass [0, 1] RGB.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ClipWeightsError(RuntimeError):
    """The CLIP weights file the user named is missing or unusable."""


class PhotoEncoder(nn.Module):
    def __init__(self, cfg: EncoderConfig, weights: str | os.PathLike | None = None):
        super().__init__()
        self.cfg = cfg
        if cfg.pretrained:
            visual = _load_pretrained_visual(cfg, weights)
        else:
            vision_cfg = dict(
                image_size=cfg.image_size, patch_size=cfg.patch_size, width=cfg.width,
                layers=cfg.layers, head_width=cfg.head_width,
            )
            # pretrained=None: open_clip builds the architecture only, offline.
            with _quiet_root_logger():  # open_clip warns that no weights were loaded: intended
                clip = open_clip.create_model(cfg.clip_model, pretrained=None, vision_cfg=vision_cfg)
            visual = clip.visual
        visual.output_tokens = True
        self.visual = visual
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1), persistent=False)

    @property
    def width(self) -> int:
        return self.cfg.width

    def forward(self, photo: torch.Tensor) -> torch.Tensor:
        """photo (B, 3, S, S) in [0, 1] -> patch tokens (B, grid*grid, width)."""
        x = (photo - self.mean) / self.std  # (B, 3, S, S)
        _, tokens = self.visual(x)  # (B, N, C): ln_post'ed patch tokens, class token dropped
        return tokens


def _load_pretrained_visual(cfg: EncoderConfig, weights) -> nn.Module:
    if weights is None:
        raise ClipWeightsError(
            f"the {cfg.clip_model} encoder needs a local CLIP weights file "
            "(pass --clip-weights PATH); nothing is downloaded"
        )
    path = Path(weights)
    if not path.is_file():
        raise ClipWeightsError(f"{path}: CLIP weights file not found")
    try:
        clip = open_clip.create_model(cfg.clip_model, pretrained=str(path), weights_only=True)
    except Exception as exc:  # open_clip raises many kinds; the user needs one line
        raise ClipWeightsError(f"{path}: cannot load {cfg.clip_model} weights: {exc}") from exc
    return clip.visual


@contextlib.contextmanager
def _quiet_root_logger():
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
