"""The training stages of the method, each a `StageBase` (train/base.py) for `runner.run_stage`.

  tokenizer  stage 0: the VQ tokenizer on real and synthetic sketches;
  decoder    stage 0b: the tokenizer's decoder alone, adversarially (the "GAN" of
             VQ-GAN): encoder and codebook frozen, so token ids do not change and a
             trained transformer stays valid;
  upscale    stage 0c (train/upscale.py): v3's texture head, superseded by `render`;
  pretrain   stage 1: masked-token modelling on synthetic photo->sketch pairs;
  finetune   stage 2: real pairs with their styles, plus pixel and feature losses
             on a differentiable (soft-codebook) decode, style dropout, and the
             self-guidance smoothing head;
  render     stage 3 (train/render.py): the stroke renderer, on the drawings' own
             tokens and on tokens the finished transformer samples.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F

from ..core.metrics import scoot, ssim
from ..core.model import SketchModel
from ..core.sampler import SamplerSettings, sample
from ..core.schedule import random_training_mask
from ..data.cache import TrainingData
from .base import StageBase, StageOptions, image_grid, round_trip, to_float, to_uint8, tokenize_pair
from .gan import (adaptive_weight, disc_tensors, generator_loss, generator_then_discriminator, load_disc_tensors,
                  new_discriminator)


class TokenizerStage(StageBase):
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
        x = to_float(self.sketches[self._pick(len(self.sketches))])  # (B, 1, S, S)
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
        grid, x, ids, rec = round_trip(self.model.tokenizer, self.check, self.opts.preview_count)
        return grid, {"val_ssim": ssim(rec, x).mean().item(), "codes_in_check": float(ids.unique().numel())}


class DecoderStage(StageBase):
    """Adversarial fine-tuning of the tokenizer's decoder on fixed tokens.

    An L1-trained decoder draws the mean of what a token may stand for: soft, blurred
    strokes with none of the paper grain and hatching that make a sketch look drawn.
    Here the decoder (its post-quantisation conv, and a small full-resolution head that
    `surgery.add_refiner` gives it) learns against taming's PatchGAN
    discriminator with a hinge loss, L1 and an L1 on the frozen encoder's features keep
    it faithful, and taming's adaptive weight balances the two gradients at the last
    layer. Encoder and codebook are frozen: every token id stays what it was, so this
    stage can run on a finished model and its transformer needs no retraining.
    """
    name = "decoder"

    def __init__(self, model: SketchModel, data: TrainingData, opts: StageOptions, total: int):
        tok = model.tokenizer
        for p in model.parameters():
            p.requires_grad_(False)
        gen_params = [*tok.decoder.parameters(), *tok.post_quant_conv.parameters(),
                      *(tok.refine.parameters() if tok.refine is not None else ())]
        for p in gen_params:
            p.requires_grad_(True)
        self.disc = new_discriminator(opts.seed, opts.disc_channels)
        groups = [{"params": gen_params}, {"params": list(self.disc.parameters()), "weight_decay": 0.0}]
        # Adam betas (0.5, 0.9) as in taming's VQ-GAN training.
        super().__init__(model, data, opts, total, groups, lr=opts.decoder_lr, betas=(0.5, 0.9))
        # Real drawings are what users compare with: half of every batch, when there are any.
        self.real, self.synth = data.real_sketch, data.synth_sketch
        if len(self.real) + len(self.synth) == 0:
            raise ValueError("the decoder stage needs sketches (real pairs or photos for synthetic ones)")
        self.real_ids = tokenize_pair(tok, self.real)
        self.synth_ids = tokenize_pair(tok, self.synth)
        self.check = (data.val_sketch if len(data.val_sketch) else torch.cat([self.real, self.synth]))[
            : opts.preview_count * 2]

    def stage_tensors(self) -> dict[str, torch.Tensor]:
        return disc_tensors(self.disc)

    def load_stage_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        load_disc_tensors(self.disc, tensors)

    def _batch(self):
        b = self.opts.batch
        n_real = b // 2 if len(self.real) and len(self.synth) else (b if len(self.real) else 0)
        parts, ids = [], []
        for source, (fwd, flip_ids), n in ((self.real, self.real_ids, n_real), (self.synth, self.synth_ids, b - n_real)):
            if n == 0:
                continue
            j = torch.randint(0, len(source), (n,), generator=self.generator)
            flip = torch.rand(n, generator=self.generator) < 0.5
            x = to_float(source[j])
            parts.append(torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x))
            ids.append(torch.where(flip.view(-1, 1), flip_ids[j], fwd[j]))
        return torch.cat(parts), torch.cat(ids)

    def train_step(self, step: int) -> dict[str, float]:
        self._set_lr(step)
        tok, o = self.model.tokenizer, self.opts
        self.disc.train()
        x, ids = self._batch()  # (B, 1, S, S), (B, N)
        with torch.no_grad():
            z_q = tok.embed_ids(ids)
            feat_real = tok.features(x)
        rec = tok.decode_latent(z_q)
        l1 = (rec - x).abs().mean()
        feat = (tok.features(rec) - feat_real).abs().mean()
        nll = l1 + o.feature_weight * feat
        out = {"l1": l1.item(), "feature": feat.item()}
        gan_on = step >= o.disc_start
        if gan_on:
            g_loss = generator_loss(self.disc, rec)
            last = (tok.refine[-1] if tok.refine is not None else tok.decoder.conv_out).weight
            adaptive = adaptive_weight(nll, g_loss, last)
            loss = nll + o.disc_weight * adaptive * g_loss
            out.update(g_loss=g_loss.item(), adaptive=adaptive.item())
        else:
            loss = nll
            out.update(g_loss=0.0, adaptive=0.0)  # same columns at every step (the losses CSV)
        # Then the discriminator: hinge loss on real sketches vs the (detached) reconstructions.
        d_loss = generator_then_discriminator(self.optimizer, loss, self.disc, x, rec)
        out.update(d_loss=d_loss.item(), loss=loss.item())
        return out

    @torch.no_grad()
    def preview(self):
        grid, x, _, rec = round_trip(self.model.tokenizer, self.check, self.opts.preview_count)
        return grid, {"val_ssim": ssim(rec, x).mean().item(),
                      "val_scoot": float(np.mean([scoot(to_uint8(a), to_uint8(b)) for a, b in zip(x, rec)]))}


class MaskedStage(StageBase):
    """Stage 1 (`pretrain`, synthetic pairs) and stage 2 (`finetune`, real pairs)."""

    def __init__(self, name: str, model: SketchModel, data: TrainingData, opts: StageOptions, total: int):
        if name not in ("pretrain", "finetune"):
            raise ValueError(name)
        self.name = name
        if name == "pretrain":
            self.photo_idx, sketches, self.style = data.synth_photo, data.synth_sketch, data.synth_style
        else:
            self.photo_idx, sketches, self.style = data.real_photo, data.real_sketch, data.real_style
        if len(self.photo_idx) == 0:
            raise ValueError(f"the {name} stage has no training pairs in this data")
        self.sketches = sketches
        trained = set(self.style.tolist())
        self.kept = torch.tensor([i for i in range(len(model.styles)) if i not in trained], dtype=torch.long)
        for p in model.tokenizer.parameters():
            p.requires_grad_(False)
        # Only the new styles' embedding rows: every shared weight stays, so the other styles draw
        # exactly as before (textual-inversion-like); fine-tuning everything redraws them.
        self.embedding_only = name == "finetune" and opts.only_new_styles and len(self.kept) > 0
        # Adapter mode: every trained style owns an adapter (train/styles.py add_adapters).
        adapted = set(model.cfg.transformer.adapter_styles)
        self.adapter_only = (name == "finetune" and len(self.kept) > 0 and bool(adapted)
                             and {model.styles[i] for i in trained} <= adapted and not self.embedding_only)
        if self.adapter_only:
            model.requires_grad_(False)
            lora = [p for n, p in model.transformer.named_parameters() if n.endswith((".lora_a", ".lora_b"))]
            for p in [model.transformer.style_emb, *lora]:
                p.requires_grad_(True)
            # No weight decay: other adapters' slots share these tensors and get no gradient.
            groups = [{"params": [model.transformer.style_emb], "weight_decay": 0.0,
                       "lr_scale": opts.new_style_lr / opts.lr},
                      {"params": lora, "weight_decay": 0.0, "lr_scale": opts.adapter_lr / opts.lr}]
        elif self.embedding_only:
            model.requires_grad_(False)
            model.transformer.style_emb.requires_grad_(True)
            groups = [{"params": [model.transformer.style_emb], "weight_decay": 0.0,
                       "lr_scale": opts.new_style_lr / opts.lr}]
        else:
            emb = model.transformer.style_emb
            rest = [p for p in [*model.encoder.parameters(), *model.transformer.parameters()] if p is not emb]
            # No weight decay on the style rows: AdamW decays every parameter that has a
            # gradient, so the rows of kept styles (gradient zeroed below) would still shrink.
            groups = [{"params": rest}, {"params": [emb], "weight_decay": 0.0}]
        super().__init__(model, data, opts, total, groups)
        # Styles the model has but this data does not train (the FS2K styles when an artist adds
        # one, the synthetic ones in the full pipeline): without a teacher, fine-tuning on one new
        # style redraws every old style in it within 25 steps (measured, docs/BENCHMARKS.md). The
        # starting model, frozen, keeps them: learning without forgetting (Li & Hoiem 2016).
        self.teacher = None
        if name == "finetune" and opts.keep_weight > 0 and len(self.kept) and not (self.embedding_only or self.adapter_only):
            self.teacher = copy.deepcopy(model).eval().requires_grad_(False)
        if name == "finetune" and len(self.kept):
            # The kept styles' own embedding rows stay as they were: distillation keeps their
            # look through the shared weights; a row is only ever trained by its own data.
            kept_rows = torch.zeros(len(model.styles), 1)
            kept_rows[self.kept] = 1.0
            model.transformer.style_emb.register_hook(lambda g: g * (1 - kept_rows))
        if self.adapter_only:
            # Adapter slots of styles this data does not train (an earlier added style) stay too.
            t = model.cfg.transformer
            kept_slots = torch.tensor([float(model.styles.index(s) in self.kept.tolist()) for s in t.adapter_styles])
            for p in lora:
                p.register_hook(lambda g, k=kept_slots: g * (1 - k).view(-1, *([1] * (g.dim() - 1))))
        self.ids, self.ids_flip = tokenize_pair(model.tokenizer, sketches)
        cb = model.tokenizer.codebook().detach()  # (K, d) unit vectors
        # Semantic smoothing targets: code k's target spreads over codes near it.
        self.smooth_targets = torch.softmax(cb @ cb.T / opts.smooth_tau, dim=1)  # (K, K)
        self.check = self._check_set()

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
        photo = to_float(self.data.photos[self.photo_idx[j]])  # (B, 3, S, S)
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
        if self.teacher is not None:
            old = self.kept[torch.randint(0, len(self.kept), (B,), generator=self.generator)]
            old_style = F.one_hot(old, len(cfg.styles)).float()  # (B, K)
            with torch.no_grad():
                t = self.teacher.logits(inputs, self.teacher.condition(photo), old_style)  # (B, N, V)
            s_old = m.logits(inputs, memory, old_style)  # (B, N, V)
            keep = F.kl_div(s_old[mask].log_softmax(-1), t[mask].log_softmax(-1), log_target=True,
                            reduction="batchmean")
            loss = loss + o.keep_weight * keep
            out["keep_kl"] = keep.item()
        if self.name == "finetune" and (o.pixel_weight or o.feature_weight):
            p = o.pixel_batch
            probs = logits[:p].float().softmax(-1)  # (p, N, K)
            known = F.one_hot(target[:p], probs.shape[-1]).float()
            probs = torch.where(mask[:p, :, None], probs, known)
            rec = m.tokenizer.decode_soft(probs)  # (p, 1, S, S)
            real = to_float(self.sketches[j[:p]])
            real = torch.where(flip[:p].view(-1, 1, 1, 1), real.flip(-1), real)
            pix = (rec - real).abs().mean()
            tok = m.tokenizer
            feat = (tok.features(rec) - tok.features(real)).abs().mean()
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
        photo = to_float(photos)
        rows, scores = [], []
        for i in range(len(photo)):
            w = F.one_hot(styles[i], len(m.styles)).float()
            res = sample(m, photo[i:i + 1], w, SamplerSettings(steps=8, seed=i, preview="none"))
            gen = m.tokenizer.decode(res.tokens)[0]  # at the training sketches' size
            real = to_float(sketches[i])
            scores.append(ssim(gen[None], real[None]).item())
            rows.append([photo[i], real, gen])
        return image_grid(rows), {"check_ssim": float(np.mean(scores))}
