"""Photo encoder: an open_clip vision tower that returns its grid of patch tokens.

`tiny` and `default` use a small ViT described in `clip_configs/` and trained
from scratch, built by open_clip's VisionTransformer without importing the rest of
open_clip (clip_vision.py). `paper` uses open_clip's ViT-L-14 loaded from a local
weights file; a missing file is a clear error and nothing is ever downloaded.
"""
from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from .clip_vision import CONFIG_DIR, build_small_vit, is_small_vit
from .config import EncoderConfig
from .imagenet import ImageNetFeatures, pooled_to_grid

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
            if is_small_vit(cfg.clip_model):  # ours: open_clip's ViT class alone, no open_clip import
                visual = build_small_vit(cfg.clip_model, **vision_cfg)
            else:
                visual = _open_clip_visual(cfg.clip_model, vision_cfg)
        visual.output_tokens = True
        self.visual = visual
        self.edges = EdgeMap() if cfg.edge_patches else None
        if cfg.edge_patches:
            # Zero-initialised so a pretrained CLIP's features are unchanged at the start.
            self.edge_embed = nn.Conv2d(1, cfg.width, cfg.patch_size, stride=cfg.patch_size)
            nn.init.zeros_(self.edge_embed.weight)
            nn.init.zeros_(self.edge_embed.bias)
        self.structure_embed = None
        if cfg.structure_channels:
            # Zero-initialised too: a model grown a structure path draws as before until trained.
            self.structure_embed = nn.Conv2d(cfg.structure_channels, cfg.width, 4, stride=4)
            nn.init.zeros_(self.structure_embed.weight)
            nn.init.zeros_(self.structure_embed.bias)
        self.imagenet = None
        if cfg.imagenet_channels:
            # Frozen ImageNet features (core/imagenet.py), normalised per position, through a
            # zero-initialised projection: a model grown this path draws as before until trained.
            self.imagenet = ImageNetFeatures()
            if cfg.imagenet_channels != self.imagenet.channels:
                raise ValueError(f"imagenet_channels must be {self.imagenet.channels}, got {cfg.imagenet_channels}")
            self.imagenet_embed = nn.Linear(cfg.imagenet_channels, cfg.width)
            nn.init.zeros_(self.imagenet_embed.weight)
            nn.init.zeros_(self.imagenet_embed.bias)
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1), persistent=False)

    @property
    def width(self) -> int:
        return self.cfg.width

    def imagenet_features(self, photo: torch.Tensor) -> torch.Tensor:
        """photo (B, 3, S, S) in [0, 1] -> the frozen ImageNet map at the token grid (B, C, g, g)."""
        return pooled_to_grid(self.imagenet(photo), self.cfg.grid)

    def forward(self, photo: torch.Tensor, structure: torch.Tensor | None = None,
                imagenet: torch.Tensor | None = None) -> torch.Tensor:
        """photo (B, 3, S, S) in [0, 1] -> patch tokens (B, grid*grid, width). structure: the
        face-structure map (B, C, 4 grid, 4 grid) in [0, 1], needed when the config has one.
        imagenet: the photo's `imagenet_features`, if already computed (training caches them)."""
        x = (photo - self.mean) / self.std  # (B, 3, S, S)
        _, tokens = self.visual(x)  # (B, N, C): ln_post'ed patch tokens, class token dropped
        if self.edges is not None:
            e = self.edge_embed(self.edges(photo))  # (B, C, g, g)
            tokens = tokens + e.flatten(2).transpose(1, 2)  # (B, N, C)
        if self.structure_embed is not None:
            if structure is None:
                raise ValueError("this encoder takes a face-structure map")
            s = self.structure_embed(structure.to(tokens.dtype))  # (B, C, g, g)
            tokens = tokens + s.flatten(2).transpose(1, 2)  # (B, N, C)
        if self.imagenet is not None:
            f = self.imagenet_features(photo) if imagenet is None else imagenet  # (B, C', g, g)
            f = f.to(tokens.dtype).flatten(2).transpose(1, 2)  # (B, N, C')
            tokens = tokens + self.imagenet_embed(F.layer_norm(f, f.shape[-1:]))  # (B, N, C)
        return tokens


class EdgeMap(nn.Module):
    """Fixed difference-of-Gaussians line map of a photo, (B, 1, S, S), ~0 on flat areas."""

    def __init__(self, sigma: float = 1.0, k: float = 1.6):
        super().__init__()
        self.register_buffer("g1", _gauss1d(sigma), persistent=False)
        self.register_buffer("g2", _gauss1d(sigma * k), persistent=False)
        self.register_buffer("luma", torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1), persistent=False)

    @staticmethod
    def _blur(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        r = g.numel() // 2
        x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), g.view(1, 1, 1, -1))
        return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), g.view(1, 1, -1, 1))

    def forward(self, photo: torch.Tensor) -> torch.Tensor:
        grey = (photo * self.luma).sum(dim=1, keepdim=True)  # (B, 1, S, S)
        dog = self._blur(grey, self.g2) - self._blur(grey, self.g1)  # > 0 on the dark side of edges
        return torch.tanh(20.0 * dog)


def _gauss1d(sigma: float) -> torch.Tensor:
    r = max(1, int(3 * sigma + 0.5))
    x = torch.arange(-r, r + 1, dtype=torch.float32)
    g = torch.exp(-x * x / (2 * sigma * sigma))
    return g / g.sum()


def _load_pretrained_visual(cfg: EncoderConfig, weights) -> nn.Module:
    if weights is None:
        raise ClipWeightsError(
            f"the {cfg.clip_model} encoder needs a local CLIP weights file "
            "(pass --clip-weights PATH); nothing is downloaded"
        )
    path = Path(weights)
    if not path.is_file():
        raise ClipWeightsError(f"{path}: CLIP weights file not found")
    import open_clip

    try:
        clip = open_clip.create_model(cfg.clip_model, pretrained=str(path), weights_only=True)
    except Exception as exc:  # open_clip raises many kinds; the user needs one line
        raise ClipWeightsError(f"{path}: cannot load {cfg.clip_model} weights: {exc}") from exc
    return clip.visual


def _open_clip_visual(name: str, vision_cfg: dict) -> nn.Module:
    """The vision tower of any open_clip model config, built by open_clip.create_model."""
    import open_clip

    open_clip.add_model_config(CONFIG_DIR)
    # pretrained=None: open_clip builds the architecture only, offline.
    with _quiet_root_logger():  # open_clip warns that no weights were loaded: intended
        return open_clip.create_model(name, pretrained=None, vision_cfg=vision_cfg).visual


@contextlib.contextmanager
def _quiet_root_logger():
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
