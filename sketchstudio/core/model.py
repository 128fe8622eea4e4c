"""SketchModel: photo encoder + sketch tokenizer + masked-token transformer."""
from __future__ import annotations

import copy
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ModelConfig
from .encoder import PhotoEncoder
from .precision import inference_bf16
from .tokenizer import SketchTokenizer
from .transformer import MaskedTokenTransformer, Memory


class SketchModel(nn.Module):
    def __init__(self, cfg: ModelConfig, clip_weights: str | os.PathLike | None = None):
        super().__init__()
        self.cfg = cfg
        self.encoder = PhotoEncoder(cfg.encoder, clip_weights)
        self.tokenizer = SketchTokenizer(cfg.tokenizer)
        self.transformer = MaskedTokenTransformer(cfg)
        if self.encoder.imagenet is not None and cfg.tokenizer.renderer_imagenet:
            self.encoder.imagenet.keep_recent()  # the renderer asks for the encoder's maps again

    @property
    def styles(self) -> tuple[str, ...]:
        return self.cfg.styles

    @property
    def photo_size(self) -> int:
        return self.cfg.encoder.image_size

    @property
    def sketch_size(self) -> int:
        return self.cfg.tokenizer.image_size

    @property
    def output_size(self) -> int:
        """Side of the finished sketch (decode()); sketch_size is what training compares."""
        return self.cfg.tokenizer.output_size

    @property
    def uses_structure(self) -> bool:
        return bool(self.cfg.encoder.structure_channels)

    @property
    def uses_imagenet(self) -> bool:
        return bool(self.cfg.encoder.imagenet_channels)

    def condition(self, photo: torch.Tensor, structure: torch.Tensor | None = None,
                  imagenet: torch.Tensor | None = None) -> Memory:
        """photo (B, 3, S, S) in [0, 1] -> cross-attention memory for the transformer; it keeps
        the photo, for a renderer that sees it. structure: the photo's face-structure maps
        (`structure_maps`), computed here when the model takes them and none are given.
        imagenet: the photo's frozen ImageNet map (`encoder.imagenet_features`), likewise."""
        memory = self.transformer.prepare_memory(self.photo_tokens(photo, structure, imagenet))
        memory.photo = photo
        return memory

    def photo_tokens(self, photo: torch.Tensor, structure: torch.Tensor | None = None,
                     imagenet: torch.Tensor | None = None) -> torch.Tensor:
        """photo (B, 3, h, w) in [0, 1] -> the encoder's patch tokens (B, M, encoder width), the
        photo resized to the encoder's input size first."""
        photo = self.at_photo_size(photo)
        if self.uses_structure and structure is None:
            structure = self.structure_maps(photo)
        return self.encoder(photo, structure, imagenet)

    def structure_maps(self, photo: torch.Tensor) -> torch.Tensor:
        """photo (B, 3, S, S) in [0, 1] -> its face-structure maps (B, C, s, s) in [0, 1] at the
        encoder's structure size (zero lines where no face is found)."""
        from .face_structure import structure_maps

        return structure_maps(photo, self.cfg.encoder.structure_size).to(photo.device)

    def logits(self, tokens, memory: Memory, style_weights, return_smooth: bool = False):
        """The transformer's logits (B, N, K) in fp32 [, the smoothing head's]. Inference runs in
        bf16 where the CPU has native bf16 arithmetic (core/precision.py); training never does."""
        if not inference_bf16(tokens.device):
            return self.transformer(tokens, memory, style_weights, return_smooth=return_smooth)
        out = self.bf16_transformer()(tokens, memory.to_dtype(torch.bfloat16), style_weights,
                                      return_smooth=return_smooth)
        return tuple(o.float() for o in out) if return_smooth else out.float()

    def bf16_transformer(self) -> MaskedTokenTransformer:
        """A bf16 copy of the transformer, for inference on CPUs with native bf16 arithmetic.

        Weights and activations both in bf16: autocast (what v7-v10 shipped with) cast every
        activation between fp32 and bf16 at each layer, a sixth of a decoding step; the copy
        picks the same tokens as autocast about as often as autocast picks fp32's
        (docs/BENCHMARKS.md, "Model v10, leg 4"). Made on first use and again whenever a
        weight of the transformer has changed (a training step, a loaded state), so it always
        draws what the fp32 weights say. It is not a submodule: it is never saved or trained."""
        key = tuple((id(p), _version(p)) for p in self.transformer.parameters())
        cached = self.__dict__.get("_bf16_copy")
        if cached is None or cached[0] != key:
            with torch.no_grad():
                twin = copy.deepcopy(self.transformer).to(torch.bfloat16).eval()
            twin.requires_grad_(False)
            cached = (key, twin)
            self.__dict__["_bf16_copy"] = cached  # bypasses nn.Module: no submodule, no state_dict key
        return cached[1]

    def decode(self, ids: torch.Tensor, size: tuple[int, int] | None = None, texture: bool = True,
               style: torch.Tensor | None = None, photo: torch.Tensor | None = None,
               window: tuple[int, int, int, int] | None = None) -> torch.Tensor:
        """ids (B, N) -> the finished sketch (B, 1, H, W) in [0, 1]; (H, W) = size, by default
        output_size square; window (top, left, height, width): only that part of it, drawn as the whole
        sketch draws it there (a live frame's changed part, core/live.py). texture=False: without the
        renderer (or texture head), only resized (a cheap preview). style: the weights (K,) or (B, K)
        the tokens were sampled with; a style-aware renderer draws that style's strokes (None: its
        style-blind strokes). photo: the photo (B or 1, 3, h, w) in [0, 1] they were sampled for; a
        renderer that sees the photo draws its details from it (None: from the tokens alone)."""
        maps = self.renderer_imagenet(photo) if texture and photo is not None else None
        return self.tokenizer.render(ids, size, texture, style, photo, maps, window=window)

    def renderer_imagenet(self, photo: torch.Tensor) -> torch.Tensor | None:
        """photo (B, 3, h, w) in [0, 1] -> its ImageNet maps for the renderer (B, C, g, g), from
        the encoder's frozen trunk at the encoder's input size (the trunk keeps the last few
        photos' maps, so a decode's second ask costs nothing); None when the renderer takes none."""
        r = self.tokenizer.renderer
        if r is None or not r.imagenet_channels or self.encoder.imagenet is None:
            return None
        return self.encoder.imagenet.renderer_maps(self.at_photo_size(photo))

    def at_photo_size(self, photo: torch.Tensor) -> torch.Tensor:
        """photo (B, 3, h, w) in [0, 1] -> (B, 3, S, S) at the encoder's input size (bicubic)."""
        if photo.shape[-1] != self.photo_size or photo.shape[-2] != self.photo_size:
            photo = F.interpolate(photo, size=(self.photo_size,) * 2, mode="bicubic", align_corners=False).clamp(0, 1)
        return photo


def _version(t: torch.Tensor) -> int:
    """How often `t` was changed in place; -1 for a tensor made under inference mode (those
    keep no count, and cannot be changed outside it)."""
    try:
        return t._version
    except RuntimeError:
        return -1


def build_model(cfg: ModelConfig, clip_weights=None) -> SketchModel:
    return SketchModel(cfg, clip_weights).eval()
