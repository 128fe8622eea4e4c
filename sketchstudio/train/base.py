"""What every training stage shares: StageOptions, the `StageBase` class `runner.run_stage`
drives, the learning-rate schedule and the batch and preview helpers.

The stages, each a `StageBase` subclass in its own module (`pipeline.STAGE_CLASSES` maps
their names to them):

  tokenizer  stage 0 (train/tokenizer.py): the VQ tokenizer on real and synthetic sketches;
  decoder    stage 0b (train/decoder.py): the tokenizer's decoder alone, adversarially (the
             "GAN" of VQ-GAN): encoder and codebook frozen, so token ids do not change and a
             trained transformer stays valid;
  upscale    stage 0c (train/upscale.py): v3's texture head, superseded by `render`;
  pretrain   stage 1 (train/masked.py): masked-token modelling on synthetic photo->sketch pairs;
  finetune   stage 2 (train/finetune.py): real pairs with their styles, plus pixel and feature
             losses on a differentiable (soft-codebook) decode, style dropout, and the
             self-guidance smoothing head;
  distill    stage 2b (train/distill.py), optional: the transformer learns in one pass what
             its starting model predicts with style guidance (half the passes a decode needs);
  render     stage 3 (train/render.py): the stroke renderer, on the drawings' own
             tokens and on tokens the finished transformer samples;
  tone       stage 4 (train/tone.py): each style's tone curve, fitted so the finished
             sketches' grey levels fall where the drawings' do (counting, no gradients).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..core.checkpoint import save_model
from ..core.model import SketchModel
from ..data.cache import TrainingData
from .device import autocast, module_device, resolve_device


@dataclass(frozen=True)
class StageOptions:
    batch: int = 8
    lr: float = 4e-4
    warmup: int = 100
    weight_decay: float = 0.01
    label_smoothing: float = 0.1
    style_dropout: float = 0.1  # fraction trained with no style (style-free guidance)
    pixel_weight: float = 1.0  # finetune: L1 of the soft decode
    feature_weight: float = 0.5  # finetune: L1 of tokenizer-encoder features of the soft decode
    pixel_batch: int = 2  # samples per step that go through the (costly) soft decode
    smooth_tau: float = 0.1  # temperature of the semantic smoothing targets
    seed: int = 0
    preview_count: int = 4
    decoder_lr: float = 1e-4  # decoder stage (generator and discriminator)
    disc_weight: float = 0.5  # decoder stage: adversarial term, times taming's adaptive weight
    disc_start: int = 200  # decoder stage: steps that train only the discriminator first
    disc_channels: int = 32  # PatchGAN width (taming's default 64 is ~4x slower on CPU)
    refine_channels: int = 16  # decoder stage: full-resolution head it adds when a model has none
    upscale: int = 2  # upscale stage: output size / decoder size, for a model without a texture head
    upscale_channels: int = 16  # upscale stage: width of the texture head it adds
    upscale_lr: float = 1e-3  # upscale stage: the new head's learning rate (its discriminator's is decoder_lr)
    renderer_channels: int = 32  # render stage: base width of the stroke renderer it adds
    render_lr: float = 5e-4  # render stage
    render_sampled: float = 0.75  # render stage: fraction of crops drawn from the transformer's sampled tokens (v6)
    # render stage: the style guidance those tokens are sampled with; None: as the model is
    # sampled by default (0.75 for a model that sampled with guidance, v3-v6; 0 for one that
    # learnt it, v8: its guidance is in its one pass already)
    render_style_guidance: float | None = None
    # render and tone stages: the token sampling temperature of those tokens, which should be
    # the one the model will be sampled at (its recommended setting, if it gets one)
    render_temperature: float = 1.0
    # render stage: weight of a tone term, L1 between the render and the drawing averaged over
    # 8 x 8 pixel blocks. Plain L1 lets the renderer lighten strokes it is unsure of (the
    # per-pixel median of a stroke that may sit a few pixels either way is paper), which
    # moves charcoal's shading towards pencil; the block mean keeps the drawing's darkness
    # where the exact stroke position is uncertain. 0: off (v4-v8 trained without it).
    render_tone: float = 0.0
    # render stage: weight of an adversarial term (model v10): a style-aware two-scale patch
    # discriminator with the hinge loss, times taming's adaptive weight, plus feature matching
    # on its layers, so the renderer commits to a stroke instead of the grey smear L1 pays for
    # where a stroke's exact place is uncertain. 0: off (v4-v8 trained without it).
    render_adversarial: float = 0.0
    # render stage: extra weight of the L1 term near the face's part lines (the face-structure
    # map's jaw, brows, eyes, nose and lips, for a renderer that takes the map). Those lines
    # are a few per cent of a crop's pixels, so plain L1 barely notices whether a jaw is
    # inked; with weight W a pixel on a line counts 1 + W times (the mean weight is divided
    # out, so the loss keeps its scale). 0: off (v10 trained without it).
    render_part_weight: float = 0.0
    # render stage: weight of a term on each 64 px block's contrast in SCOOT's grey levels
    # (|difference| of the mean squared level step between neighbours, levels made soft):
    # where a drawing steps from paper to ink in one pixel, the renderer steps through the
    # greys. Blind to where in a block a stroke sits. It is part of the loss that taming's
    # adaptive weight balances the adversarial term against, whose gradient is steep (the
    # soft level steps), so it raises that weight too: at 0.5 about 1.4x, at 2 about 100x
    # (docs/BENCHMARKS.md, leg 6). 0: off (v12 trained without it).
    render_block_contrast: float = 0.0
    # render stage: token draws sampled per training photo (different seeds; draw 0 is the one a
    # single-draw run samples). A crop from sampled tokens takes one draw at random, so the
    # renderer learns the spread of what the transformer draws for a photo, not one draw of it,
    # and cannot learn that draw's accidents by heart. 1: one draw (v12 trained so).
    render_draws: int = 1
    render_feature_match: float = 1.0  # render stage: weight of the discriminator-feature matching
    render_disc_start: int = 100  # render stage: steps the discriminator trains alone first
    render_styled: bool = True  # render stage: a style-aware renderer (a v4 renderer gets a style table)
    render_photo: bool = True  # render stage: a renderer that sees the photo's edges (model v6; v5's gets them)
    # render stage: a renderer that also takes the photo's frozen ImageNet maps (the model's
    # encoder must hold the ImageNet trunk, model v13), zero at first (issue 32, item 3).
    render_imagenet: bool = False
    # render stage: weight of a perceptual term, the distance between the rendered crop's and
    # the drawing's unit-normalised stride-4 and stride-8 MobileNetV2 maps (LPIPS's form without
    # its learnt weights; core/imagenet.py). Part of the loss the adversarial term is weighed
    # against, as taming weighs LPIPS. 0: off.
    render_perceptual: float = 0.0
    distill_guidance: float = 0.75  # distill stage: the style guidance whose predictions the transformer learns
    distill_mix: float = 0.2  # distill stage: fraction of samples in a random mix of two styles (the slider)
    keep_weight: float = 1.0  # finetune: distil the starting model's styles this data does not train
    # finetune: train only the style-embedding rows of the styles in this data (the other
    # styles then draw exactly as before), at new_style_lr, without weight decay.
    only_new_styles: bool = False
    new_style_lr: float = 5e-3
    # finetune and render: a style this data trains that the starting model lacks gets a
    # low-rank adapter of this rank (0: none), and only what it owns trains: its embedding row
    # and adapter, its renderer column. Every other style then draws bit for bit as before.
    adapter_rank: int = 0
    adapter_lr: float = 2e-3
    # Where the stage trains: "cpu", "cuda" or "auto" (train/device.py); batches are still
    # drawn on the CPU, so the device changes no random draw.
    device: str = "cpu"
    # pretrain, finetune, distill: grow the photo encoder a face-structure path (zero-initialised,
    # so the model starts drawing as before) when the model has none (model v10); render: the
    # renderer too (the map's lines at zero; its person mask gates the photo's edges).
    structure: bool = False
    # pretrain, finetune, distill: torchvision's ImageNet MobileNetV2 checkpoint file; a model
    # without ImageNet features gets them from it (frozen, zero-initialised projection; model v13).
    # None: the model stays as it is. The weights then travel inside the model file.
    imagenet_weights: str | None = None
    # pretrain, finetune, distill: the fraction of training photos drawn with a change a user's
    # photo brings (data/photo_changes.py: a new background behind the person, a colour cast,
    # greyscale, heavy JPEG, few pixels), the drawing kept; from `photo_change_variants` changed
    # copies of each photo made when the stage starts. 0: off (v12 trained without it).
    photo_changes: float = 0.0
    photo_change_variants: int = 2
    # Forward passes under bf16 autocast on the CPU too (CUDA always has it); off: fp32, bit for bit as before.
    cpu_bf16: bool = False


def lr_schedule(total: int, warmup: int):
    """step -> learning-rate factor: linear warm-up, then a cosine from 1 down to 0.1 at `total`."""
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        p = (step - warmup) / max(1, total - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))
    return f


def resize_maps(maps: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 structure maps (P, C, s, s) -> (P, C, size, size) uint8 (area-averaged or stretched)."""
    if maps.shape[-1] == size:
        return maps
    mode = "area" if maps.shape[-1] > size else "bilinear"
    return F.interpolate(maps.float(), size=(size, size), mode=mode).round().clamp(0, 255).to(torch.uint8)


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float in [0, 1]."""
    return x.float() / 255.0


def to_uint8(t: torch.Tensor) -> np.ndarray:
    """A (1, H, W) grey image in [0, 1] -> (H, W) uint8 (what SCOOT reads)."""
    return t[0].float().mul(255).round().byte().cpu().numpy()


def image_grid(rows: list[list[torch.Tensor]]) -> np.ndarray:
    """Rows of (C, H, W) images in [0, 1] -> one uint8 RGB grid."""
    def rgb(t):
        t = t.detach().cpu().float().clamp(0, 1)
        return t.expand(3, -1, -1) if t.shape[0] == 1 else t
    img = torch.cat([torch.cat([rgb(t) for t in row], dim=2) for row in rows], dim=1)  # (3, H, W)
    return (img.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


@torch.no_grad()
def tokenize_pair(tok, sketches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 sketches (M, 1, S, S) -> token ids of them and of their mirror images, (M, N) each,
    on the CPU (batches are drawn there) wherever the tokenizer is."""
    tok = tok.eval()
    if len(sketches) == 0:
        empty = torch.zeros(0, tok.cfg.grid ** 2, dtype=torch.long)
        return empty, empty
    device = module_device(tok)
    ids, ids_flip = [], []
    for i in range(0, len(sketches), 64):
        x = to_float(sketches[i:i + 64].to(device))
        ids.append(tok.encode(x).cpu())
        ids_flip.append(tok.encode(x.flip(-1)).cpu())
    return torch.cat(ids), torch.cat(ids_flip)


@torch.no_grad()
def round_trip(tok, check: torch.Tensor, n: int):
    """Check sketches through the tokenizer: (grid of 2 x n originals beside their decodes, x, ids, rec)."""
    x = to_float(check.to(module_device(tok)))
    ids = tok.encode(x)
    rec = tok.decode(ids)
    grid = image_grid([[x[i], rec[i], x[n + i] if n + i < len(x) else x[i], rec[n + i] if n + i < len(x) else rec[i]]
                       for i in range(min(n, len(x)))])
    return grid, x, ids, rec


class StageBase:
    """A stage for `runner.run_stage`: a model, its data, an AdamW optimizer over `params` (a
    list of parameters or of param groups; a group's `lr_scale` scales its learning rate), and
    the generator every random draw of training comes from (seeded with `opts.seed`; a CPU
    generator on any device). The model moves to `opts.device` before the optimizer exists;
    a step moves the batch it drew there (`to_device`) and runs its forward pass in
    `autocast()` (bf16 on CUDA, nothing on the CPU).

    A subclass sets `name` and gives `train_step(step) -> {loss name: value}` and
    `preview() -> (uint8 RGB grid, {metric: value})`; `stage_tensors` / `load_stage_tensors`
    carry what else its training state needs (a discriminator, counters)."""
    name = "base"

    def __init__(self, model: SketchModel, data: TrainingData, opts: StageOptions, total: int, params,
                 lr: float | None = None, betas=(0.9, 0.99)):
        self.model, self.data, self.opts, self.total = model, data, opts, total
        self.device = resolve_device(opts.device)
        model.to(self.device)  # in place: `params` (already gathered) are still its parameters
        self.base_lr = opts.lr if lr is None else lr
        self.generator = torch.Generator().manual_seed(opts.seed)
        self.optimizer = torch.optim.AdamW(params, lr=self.base_lr, weight_decay=opts.weight_decay, betas=betas)
        self._lr = lr_schedule(total, opts.warmup)

    def _set_lr(self, step: int) -> None:
        # The schedule is a pure function of the step, so resuming needs no scheduler state.
        for g in self.optimizer.param_groups:
            g["lr"] = self.base_lr * g.get("lr_scale", 1.0) * self._lr(step)

    def to_device(self, x: torch.Tensor) -> torch.Tensor:
        """A batch drawn on the CPU, where the model is (the same tensor on the CPU)."""
        return x.to(self.device)

    def autocast(self):
        return autocast(self.device, self.opts.cpu_bf16)

    def _pick(self, n: int) -> torch.Tensor:
        return torch.randint(0, n, (self.opts.batch,), generator=self.generator)

    def _flip(self) -> torch.Tensor:
        return torch.rand(self.opts.batch, generator=self.generator) < 0.5

    def stage_tensors(self) -> dict[str, torch.Tensor]:
        return {}

    def load_stage_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        pass

    def finish(self, out_dir: Path) -> Path:
        path = Path(out_dir) / f"{self.name}.safetensors"
        save_model(self.model, path, info={"stage": self.name, "steps": self.total})
        return path
