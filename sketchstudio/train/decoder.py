"""Stage 0b, `decoder`: the tokenizer's decoder alone, adversarially (the "GAN" of VQ-GAN)."""
from __future__ import annotations

import numpy as np
import torch

from ..core.metrics import scoot, ssim
from ..core.model import SketchModel
from ..data.cache import TrainingData
from .base import StageBase, StageOptions, round_trip, to_float, to_uint8, tokenize_pair
from .gan import (adaptive_weight, disc_tensors, generator_loss, generator_then_discriminator, load_disc_tensors,
                  new_discriminator)


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
        self.disc.to(self.device)  # in place: the optimizer holds the same parameters
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
        x, ids = (self.to_device(t) for t in self._batch())  # (B, 1, S, S), (B, N)
        with self.autocast():
            with torch.no_grad():
                z_q = tok.embed_ids(ids)
                feat_real = tok.features(x)
            rec = tok.decode_latent(z_q)
            l1 = (rec - x).abs().mean()
            feat = (tok.features(rec) - feat_real).abs().mean()
            nll = l1 + o.feature_weight * feat
            gan_on = step >= o.disc_start
            g_loss = generator_loss(self.disc, rec) if gan_on else None
        out = {"l1": l1.item(), "feature": feat.item()}
        if gan_on:
            last = (tok.refine[-1] if tok.refine is not None else tok.decoder.conv_out).weight
            adaptive = adaptive_weight(nll, g_loss, last)
            loss = nll + o.disc_weight * adaptive * g_loss
            out.update(g_loss=g_loss.item(), adaptive=adaptive.item())
        else:
            loss = nll
            out.update(g_loss=0.0, adaptive=0.0)  # same columns at every step (the losses CSV)
        # Then the discriminator: hinge loss on real sketches vs the (detached) reconstructions.
        d_loss = generator_then_discriminator(self.optimizer, loss, self.disc, x, rec, self.autocast)
        out.update(d_loss=d_loss.item(), loss=loss.item())
        return out

    @torch.no_grad()
    def preview(self):
        grid, x, _, rec = round_trip(self.model.tokenizer, self.check, self.opts.preview_count)
        return grid, {"val_ssim": ssim(rec, x).mean().item(),
                      "val_scoot": float(np.mean([scoot(to_uint8(a), to_uint8(b)) for a, b in zip(x, rec)]))}
