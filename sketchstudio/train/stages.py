"""The three training stages of the method, each a `Stage` for `runner.run_stage`.

  tokenizer  stage 0: the VQ tokenizer on real and synthetic sketches;
  pretrain   stage 1: masked-token modelling on synthetic photo->sketch pairs;
  finetune   stage 2: real pairs with their styles, plus pixel and feature losses
             on a differentiable (soft-codebook) decode, style dropout, and the
             self-guidance smoothing head.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..core.checkpoint import save_model
from ..core.metrics import ssim
from ..core.model import SketchModel
from ..core.sampler import SamplerSettings, sample
from ..core.schedule import random_training_mask
from ..data.cache import TrainingData


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


def _lr_lambda(total: int, warmup: int):
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        p = (step - warmup) / max(1, total - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))
    return f


def _f(x: torch.Tensor) -> torch.Tensor:
    return x.float() / 255.0


def _grid(rows: list[list[torch.Tensor]]) -> np.ndarray:
    """Rows of (C, H, W) images in [0, 1] -> one uint8 RGB grid."""
    def rgb(t):
        t = t.detach().float().clamp(0, 1)
        return t.expand(3, -1, -1) if t.shape[0] == 1 else t
    img = torch.cat([torch.cat([rgb(t) for t in row], dim=2) for row in rows], dim=1)  # (3, H, W)
    return (img.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


class _Base:
    name = "base"

    def __init__(self, model: SketchModel, data: TrainingData, opts: StageOptions, total: int, params):
        self.model, self.data, self.opts, self.total = model, data, opts, total
        self.generator = torch.Generator().manual_seed(opts.seed)
        self.optimizer = torch.optim.AdamW(params, lr=opts.lr, weight_decay=opts.weight_decay, betas=(0.9, 0.99))
        self._lr = _lr_lambda(total, opts.warmup)

    def _set_lr(self, step: int) -> None:
        # The schedule is a pure function of the step, so resuming needs no scheduler state.
        for g in self.optimizer.param_groups:
            g["lr"] = self.opts.lr * self._lr(step)

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


class TokenizerStage(_Base):
    name = "tokenizer"
    restart_every = 50

    def __init__(self, model: SketchModel, data: TrainingData, opts: StageOptions, total: int):
        super().__init__(model, data, opts, total, model.tokenizer.parameters())
        self.sketches = torch.cat([data.real_sketch, data.synth_sketch])  # (M, 1, S, S) uint8
        if len(self.sketches) == 0:
            raise ValueError("the tokenizer stage needs sketches (real pairs or photos for synthetic ones)")
        k = model.cfg.tokenizer.codebook_size
        self.usage = torch.zeros(k, dtype=torch.long)
        self.check = (data.val_sketch if len(data.val_sketch) else self.sketches)[: opts.preview_count * 2]

    def stage_tensors(self) -> dict[str, torch.Tensor]:
        return {"code_usage": self.usage}

    def load_stage_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        if "code_usage" in tensors:
            self.usage = tensors["code_usage"].clone()

    def train_step(self, step: int) -> dict[str, float]:
        self._set_lr(step)
        tok = self.model.tokenizer
        x = _f(self.sketches[self._pick(len(self.sketches))])  # (B, 1, S, S)
        x = torch.where(self._flip().view(-1, 1, 1, 1), x.flip(-1), x)
        rec, vq_loss, ids = tok(x)
        l1 = (rec - x).abs().mean()
        loss = l1 + vq_loss
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        tok.renormalize_codebook_()
        self.usage += torch.bincount(ids.flatten(), minlength=len(self.usage))
        restarted = 0
        if (step + 1) % self.restart_every == 0:
            with torch.no_grad():
                z = tok.encode_latent(x).permute(0, 2, 3, 1).reshape(-1, tok.cfg.code_dim)
            restarted = tok.restart_dead_codes(self.usage, z)
            self.usage.zero_()
        return {"loss": loss.item(), "l1": l1.item(), "vq": vq_loss.item(), "codes_restarted": float(restarted)}

    @torch.no_grad()
    def preview(self):
        x = _f(self.check)
        ids = self.model.tokenizer.encode(x)
        rec = self.model.tokenizer.decode(ids)
        used = ids.unique().numel()
        n = self.opts.preview_count
        grid = _grid([[x[i], rec[i], x[n + i] if n + i < len(x) else x[i], rec[n + i] if n + i < len(x) else rec[i]]
                      for i in range(min(n, len(x)))])
        return grid, {"val_ssim": ssim(rec, x).mean().item(), "codes_in_check": float(used)}


class MaskedStage(_Base):
    """Stage 1 (`pretrain`, synthetic pairs) and stage 2 (`finetune`, real pairs)."""

    def __init__(self, name: str, model: SketchModel, data: TrainingData, opts: StageOptions, total: int):
        if name not in ("pretrain", "finetune"):
            raise ValueError(name)
        self.name = name
        for p in model.tokenizer.parameters():
            p.requires_grad_(False)
        params = [*model.encoder.parameters(), *model.transformer.parameters()]
        super().__init__(model, data, opts, total, params)
        if name == "pretrain":
            self.photo_idx, sketches, self.style = data.synth_photo, data.synth_sketch, data.synth_style
        else:
            self.photo_idx, sketches, self.style = data.real_photo, data.real_sketch, data.real_style
        if len(self.photo_idx) == 0:
            raise ValueError(f"the {name} stage has no training pairs in this data")
        self.sketches = sketches
        self.ids, self.ids_flip = self._tokenize(sketches)
        cb = model.tokenizer.codebook().detach()  # (K, d) unit vectors
        # Semantic smoothing targets: code k's target spreads over codes near it.
        self.smooth_targets = torch.softmax(cb @ cb.T / opts.smooth_tau, dim=1)  # (K, K)
        self.check = self._check_set()

    @torch.no_grad()
    def _tokenize(self, sketches: torch.Tensor):
        tok = self.model.tokenizer.eval()
        ids, ids_flip = [], []
        for i in range(0, len(sketches), 64):
            x = _f(sketches[i:i + 64])
            ids.append(tok.encode(x))
            ids_flip.append(tok.encode(x.flip(-1)))
        return torch.cat(ids), torch.cat(ids_flip)  # (M, N) each

    def _check_set(self):
        d, n = self.data, self.opts.preview_count
        if self.name == "finetune" and len(d.val_photo):
            # Spread the check photos over the styles present.
            order = torch.argsort(d.val_style, stable=True)
            pick = order[torch.linspace(0, len(order) - 1, min(n, len(order))).long()]
            return d.val_photo[pick], d.val_sketch[pick], d.val_style[pick]
        pick = torch.arange(min(n, len(self.photo_idx)))
        return d.photos[self.photo_idx[pick]], self.sketches[pick], self.style[pick]

    def train_step(self, step: int) -> dict[str, float]:
        self._set_lr(step)
        m, o = self.model, self.opts
        cfg = m.cfg
        j = self._pick(len(self.photo_idx))
        flip = self._flip()
        photo = _f(self.data.photos[self.photo_idx[j]])  # (B, 3, S, S)
        photo = torch.where(flip.view(-1, 1, 1, 1), photo.flip(-1), photo)
        target = torch.where(flip.view(-1, 1), self.ids_flip[j], self.ids[j])  # (B, N)
        B = target.shape[0]
        mask = random_training_mask(B, cfg.num_tokens, "cosine", self.generator)  # (B, N)
        inputs = torch.where(mask, cfg.mask_id, target)
        style = F.one_hot(self.style[j], len(cfg.styles)).float()  # (B, K)
        drop = torch.rand(B, generator=self.generator) < o.style_dropout
        style = style.masked_fill(drop.view(-1, 1), 0.0)

        memory = m.condition(photo)
        logits, smooth = m.logits(inputs, memory, style, return_smooth=True)  # (B, N, K) each
        ce = F.cross_entropy(logits[mask], target[mask], label_smoothing=o.label_smoothing)
        smooth_ce = -(self.smooth_targets[target[mask]] * smooth[mask].log_softmax(-1)).sum(-1).mean()
        loss = ce + smooth_ce
        out = {"ce": ce.item(), "smooth_ce": smooth_ce.item()}
        if self.name == "finetune" and (o.pixel_weight or o.feature_weight):
            p = o.pixel_batch
            probs = logits[:p].float().softmax(-1)  # (p, N, K)
            known = F.one_hot(target[:p], probs.shape[-1]).float()
            probs = torch.where(mask[:p, :, None], probs, known)
            rec = m.tokenizer.decode_soft(probs)  # (p, 1, S, S)
            real = _f(self.sketches[j[:p]])
            real = torch.where(flip[:p].view(-1, 1, 1, 1), real.flip(-1), real)
            pix = (rec - real).abs().mean()
            tok = m.tokenizer
            feat = (tok.encoder(tok.unshuffle(rec * 2 - 1)) - tok.encoder(tok.unshuffle(real * 2 - 1))).abs().mean()
            loss = loss + o.pixel_weight * pix + o.feature_weight * feat
            out.update(pixel=pix.item(), feature=feat.item())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for g in self.optimizer.param_groups for p in g["params"]], 1.0)
        self.optimizer.step()
        out["loss"] = loss.item()
        return out

    @torch.no_grad()
    def preview(self):
        m = self.model
        photos, sketches, styles = self.check
        photo = _f(photos)
        rows, scores = [], []
        for i in range(len(photo)):
            w = F.one_hot(styles[i], len(m.styles)).float()
            res = sample(m, photo[i:i + 1], w, SamplerSettings(steps=8, seed=i, preview="none"))
            gen = m.decode(res.tokens)[0]
            real = _f(sketches[i])
            scores.append(ssim(gen[None], real[None]).item())
            rows.append([photo[i], real, gen])
        return _grid(rows), {"check_ssim": float(np.mean(scores))}
