"""Masked-token modelling, what stages 1 and 2 share, and stage 1, `pretrain`, on synthetic
photo->sketch pairs. Stage 2, `finetune` (real pairs with their styles), is train/finetune.py."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from ..core.metrics import ssim
from ..core.model import SketchModel
from ..core.sampler import SamplerSettings, sample
from ..core.schedule import random_training_mask
from ..data.cache import TrainingData
from .base import StageBase, StageOptions, image_grid, resize_maps, to_float, tokenize_pair
from .device import module_device
from .distributed import average_gradients
from .sampled_tokens import encoder_photo


class Draw(NamedTuple):
    """A drawn batch, on the CPU."""
    j: torch.Tensor  # (B,) indices into the stage's pairs
    flip: torch.Tensor  # (B,) bool: mirrored
    photo: torch.Tensor  # (B, 3, S, S) in [0, 1]
    target: torch.Tensor  # (B, N) token ids
    mask: torch.Tensor  # (B, N) bool: masked on the cosine schedule
    inputs: torch.Tensor  # (B, N) ids, the masked ones the mask id
    structure: torch.Tensor | None  # (B, C, s, s) face-structure maps in [0, 1]; None: the model takes none
    imagenet: torch.Tensor | None  # (B, C', g, g) cached ImageNet maps; None: the model takes none


@torch.no_grad()
def imagenet_cache(model: SketchModel, photos: torch.Tensor, batch: int = 32,
                   features=None) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 photos (P, 3, S, S) -> their frozen ImageNet maps and their mirror images' (P, C', g, g)
    each, fp16 on the CPU, from the photos at the encoder's input size. features: photo -> maps
    (default the encoder's `imagenet_features`; the render stage asks for `renderer_maps`)."""
    features = features or model.encoder.imagenet_features
    plain, mirrored = [], []
    for i in range(0, len(photos), batch):
        x = encoder_photo(model, photos[i:i + batch].to(module_device(model)))
        plain.append(features(x).half().cpu())
        mirrored.append(features(x.flip(-1)).half().cpu())
    return torch.cat(plain), torch.cat(mirrored)


def pick_mirrored(maps: tuple[torch.Tensor, torch.Tensor], rows: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """(plain, mirrored) maps (P, C', g, g) -> the maps of `rows` (B,), the mirrored ones where flip, float."""
    plain, mirrored = maps
    return torch.where(flip.view(-1, 1, 1, 1), mirrored[rows], plain[rows]).float()


class ChangedPhotos:
    """`variants` changed copies of each training photo (uint8), made once with a seeded
    generator, and their ImageNet maps (plain and mirrored) for a model that takes them."""

    def __init__(self, model: SketchModel, data: TrainingData, photo_idx: torch.Tensor, variants: int, seed: int):
        from ..core.face_structure import CHANNELS
        from ..data.photo_changes import random_change

        if variants < 1:
            raise ValueError(f"photo_change_variants must be at least 1, got {variants}")
        data.ensure_structure()
        self.variants = variants
        used = torch.unique(photo_idx)
        self.row = torch.full((len(data.photos),), -1, dtype=torch.long)  # photo index -> first bank row
        self.row[used] = torch.arange(len(used)) * variants
        rng = np.random.default_rng(seed)
        size = data.photos.shape[-1]
        person = F.interpolate(data.photo_structure[used, CHANNELS.index("person")][:, None].float() / 255,
                               size=(size, size), mode="bilinear", align_corners=False)[:, 0].numpy()  # (U, S, S)
        bank = []
        for u, p in enumerate(used.tolist()):
            rgb = data.photos[p].permute(1, 2, 0).numpy()  # (S, S, 3)
            bank += [torch.from_numpy(random_change(rgb, person[u], rng)).permute(2, 0, 1) for _ in range(variants)]
        self.photos = torch.stack(bank)  # (U * variants, 3, S, S) uint8
        self.imagenet = imagenet_cache(model, self.photos) if model.uses_imagenet else None

    def swap(self, k: torch.Tensor, flip: torch.Tensor, photo: torch.Tensor, imagenet: torch.Tensor | None,
             rate: float, generator: torch.Generator):
        """photo (B, 3, S, S) floats of photos `k` (mirrored where flip) with a fraction `rate` swapped
        for a changed copy, and their ImageNet maps (B, C', g, g) likewise."""
        B = len(k)
        swap = torch.rand(B, generator=generator) < rate
        rows = self.row[k] + torch.randint(0, self.variants, (B,), generator=generator)  # (B,)
        changed = to_float(self.photos[rows])
        changed = torch.where(flip.view(-1, 1, 1, 1), changed.flip(-1), changed)
        photo = torch.where(swap.view(-1, 1, 1, 1), changed, photo)
        if imagenet is not None:
            imagenet = torch.where(swap.view(-1, 1, 1, 1), pick_mirrored(self.imagenet, rows, flip), imagenet)
        return photo, imagenet


@dataclass
class MaskedBatch:
    """One training step's batch and the student's forward pass, for a subclass's extra losses."""
    j: torch.Tensor  # (B,) indices into the stage's pairs (on the CPU, like the data)
    flip: torch.Tensor  # (B,) bool: mirrored (on the CPU)
    photo: torch.Tensor  # (B, 3, S, S) in [0, 1], mirrored where flip; this and the rest on the model's device
    target: torch.Tensor  # (B, N) token ids
    mask: torch.Tensor  # (B, N) bool: masked tokens
    inputs: torch.Tensor  # (B, N) ids with the masked ones replaced by the mask id
    memory: torch.Tensor  # the photo condition
    logits: torch.Tensor  # (B, N, K)
    structure: torch.Tensor | None = None  # (B, C, s, s) the photos' face-structure maps, mirrored with them
    imagenet: torch.Tensor | None = None  # (B, C', g, g) their cached frozen ImageNet maps, likewise


class MaskedTokenStage(StageBase):
    """The transformer (and photo encoder) learns to predict masked sketch tokens from the photo
    and the pair's style: cross-entropy with label smoothing on the masked tokens, a
    semantic-smoothing head, style dropout. The tokenizer is frozen.

    A subclass names its pairs (`training_pairs`) and may choose what trains
    (`param_groups`), set up more after the optimizer exists (`after_optimizer`), add loss
    terms (`extra_losses`) and pick its own check set (`check_set`)."""

    def __init__(self, model: SketchModel, data: TrainingData, opts: StageOptions, total: int):
        self.photo_idx, self.sketches, self.style = self.training_pairs(data)
        if len(self.photo_idx) == 0:
            raise ValueError(f"the {self.name} stage has no training pairs in this data")
        trained = set(self.style.tolist())
        self.kept = torch.tensor([i for i in range(len(model.styles)) if i not in trained], dtype=torch.long)
        for p in model.tokenizer.parameters():
            p.requires_grad_(False)
        super().__init__(model, data, opts, total, self.param_groups(model, opts, trained))
        self.after_optimizer(model, opts)
        self.ids, self.ids_flip = tokenize_pair(model.tokenizer, self.sketches)
        # The photos' face-structure maps, computed once (stored with the data) for a model that takes them.
        self.structure = None
        if model.uses_structure:
            data.ensure_structure()
            self.structure = resize_maps(data.photo_structure, model.cfg.encoder.structure_size)
        # The frozen ImageNet maps of every photo and of its mirror image, computed once: a step
        # then trains only what learns (the backbone would be most of a step's forward pass).
        self.imagenet = None
        if model.uses_imagenet:
            self.imagenet = imagenet_cache(model, data.photos)
        # Changed copies of the training photos (data/photo_changes.py: other backgrounds, colour
        # casts, JPEG, few pixels), drawn in place of a photo at the rate `photo_changes`; the
        # drawing, the tokens and the structure map stay the photo's own.
        self.changed = None
        if opts.photo_changes > 0:
            self.changed = ChangedPhotos(model, data, self.photo_idx, opts.photo_change_variants, opts.seed)
        cb = model.tokenizer.codebook().detach()  # (K, d) unit vectors
        # Semantic smoothing targets: code k's target spreads over codes near it.
        self.smooth_targets = torch.softmax(cb @ cb.T / opts.smooth_tau, dim=1)  # (K, K)
        self.check = self.check_set()

    def training_pairs(self, data: TrainingData) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(photo indices (M,), uint8 sketches (M, 1, S, S), style indices (M,)) this stage trains on."""
        raise NotImplementedError

    def param_groups(self, model: SketchModel, opts: StageOptions, trained: set[int]) -> list[dict]:
        """The optimizer's param groups: photo encoder and transformer."""
        emb = model.transformer.style_emb
        rest = [p for p in [*model.encoder.parameters(), *model.transformer.parameters()] if p is not emb]
        # No weight decay on the style rows: AdamW decays every parameter that has a
        # gradient, so the rows of kept styles (gradient zeroed by a fine-tune) would still shrink.
        return [{"params": rest}, {"params": [emb], "weight_decay": 0.0}]

    def after_optimizer(self, model: SketchModel, opts: StageOptions) -> None:
        """Set-up once the optimizer exists (before the sketches are tokenized)."""

    def check_set(self):
        """(photos, sketches, styles) that `preview` draws: the first training pairs."""
        d, n = self.data, self.opts.preview_count
        pick = torch.arange(min(n, len(self.photo_idx)))
        return d.photos[self.photo_idx[pick]], self.sketches[pick], self.style[pick]

    def extra_losses(self, loss: torch.Tensor, b: MaskedBatch, out: dict[str, float]) -> torch.Tensor:
        """`loss` plus a subclass's further terms (each also reported in `out`)."""
        return loss

    def draw_batch(self) -> "Draw":
        """A batch of pairs, mirrored at random, their drawings' tokens masked on the cosine
        schedule, on the CPU (see `Draw`)."""
        cfg = self.model.cfg
        j = self._pick(len(self.photo_idx))
        flip = self._flip()
        photo = to_float(self.data.photos[self.photo_idx[j]])  # (B, 3, S, S)
        photo = torch.where(flip.view(-1, 1, 1, 1), photo.flip(-1), photo)
        target = torch.where(flip.view(-1, 1), self.ids_flip[j], self.ids[j])  # (B, N)
        mask = random_training_mask(target.shape[0], cfg.num_tokens, "cosine", self.generator)  # (B, N)
        inputs = torch.where(mask, cfg.mask_id, target)
        structure = None
        if self.structure is not None:
            structure = to_float(self.structure[self.photo_idx[j]])  # (B, C, s, s)
            structure = torch.where(flip.view(-1, 1, 1, 1), structure.flip(-1), structure)
        imagenet = None if self.imagenet is None else pick_mirrored(self.imagenet, self.photo_idx[j], flip)
        if self.changed is not None:  # its own draws, after the others: a run without it draws as before
            photo, imagenet = self.changed.swap(self.photo_idx[j], flip, photo, imagenet, self.opts.photo_changes,
                                                self.generator)
        return Draw(j, flip, photo, target, mask, inputs, structure, imagenet)

    def train_step(self, step: int) -> dict[str, float]:
        self._set_lr(step)
        m, o = self.model, self.opts
        cfg = m.cfg
        j, flip, photo, target, mask, inputs, structure, imagenet = self.draw_batch()
        B = target.shape[0]
        style = F.one_hot(self.style[j], len(cfg.styles)).float()  # (B, K)
        drop = torch.rand(B, generator=self.generator) < o.style_dropout
        style = style.masked_fill(drop.view(-1, 1), 0.0)
        photo, target, mask, inputs, style = (self.to_device(t) for t in (photo, target, mask, inputs, style))
        structure, imagenet = (None if t is None else self.to_device(t) for t in (structure, imagenet))

        with self.autocast():
            memory = m.condition(photo, structure, imagenet)
            logits, smooth = m.logits(inputs, memory, style, return_smooth=True)  # (B, N, K) each
            ce = F.cross_entropy(logits[mask], target[mask], label_smoothing=o.label_smoothing)
            smooth_ce = -(self.smooth_targets[target[mask]] * smooth[mask].log_softmax(-1)).sum(-1).mean()
            loss = ce + smooth_ce
            out = {"ce": ce.item(), "smooth_ce": smooth_ce.item()}
            loss = self.extra_losses(loss, MaskedBatch(j, flip, photo, target, mask, inputs, memory, logits,
                                                               structure, imagenet), out)
        self.optimise(loss)
        out["loss"] = loss.item()
        return out

    def optimise(self, loss: torch.Tensor) -> None:
        """One optimizer step on `loss`, every trained parameter's gradient clipped to norm 1."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        average_gradients(self.optimizer)  # on more than one device: before clipping, as DDP does
        torch.nn.utils.clip_grad_norm_([p for g in self.optimizer.param_groups for p in g["params"]], 1.0)
        self.optimizer.step()

    @torch.no_grad()
    def preview(self):
        m = self.model
        photos, sketches, styles = self.check
        photo = to_float(photos.to(self.device))
        rows, scores = [], []
        for i in range(len(photo)):
            w = F.one_hot(styles[i], len(m.styles)).float()
            res = sample(m, photo[i:i + 1], w, SamplerSettings(steps=8, seed=i, preview="none"))
            gen = m.tokenizer.decode(res.tokens)[0]  # at the training sketches' size
            real = to_float(sketches[i].to(self.device))
            scores.append(ssim(gen[None], real[None]).item())
            rows.append([photo[i], real, gen])
        return image_grid(rows), {"check_ssim": float(np.mean(scores))}


class PretrainStage(MaskedTokenStage):
    """Stage 1: masked-token modelling on synthetic photo->sketch pairs."""
    name = "pretrain"

    def training_pairs(self, data: TrainingData):
        return data.synth_photo, data.synth_sketch, data.synth_style
