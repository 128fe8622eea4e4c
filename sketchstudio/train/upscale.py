"""Stage 0c, `upscale`: the texture head that draws the finished sketch at 2x the decoder's size.

The decoder draws 256 px; FS2K's drawings are 250-475 px, and what makes them look
drawn is pixel-scale texture (pencil grain, hatching, crisp line edges). A 256 px
sketch resized up to the drawing's size is smooth there, and SCOOT, which reads
grey-level co-occurrence between neighbouring pixels at the drawing's own
resolution, falls with it: the drawings themselves, shrunk to 256 px and resized
back, score about 0.47 against the originals (docs/BENCHMARKS.md).

This stage trains only `tokenizer.upscaler` (tokenizer.Upscaler) on frozen tokens of
the real drawings, against the same drawings resized from their own pixels to the
output size: L1, a local-contrast loss (the amount of pixel-to-pixel variation of each
16 x 16 window, at SCOOT's four neighbour offsets) and taming's PatchGAN with a hinge
loss and adaptive weight, all on random crops (the head is local, so a crop computes
exactly what the full render draws there). Token ids and the 256 px decode are unchanged,
so a trained transformer stays valid.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from ..core.metrics import scoot, ssim
from ..core.model import SketchModel
from ..data.cache import TrainingData
from .stages import StageOptions, _Base, _f, _grid, _tokenize

CROP = 160  # output pixels per side of a training crop


def add_upscaler(model: SketchModel, factor: int, width: int, clip_weights=None) -> SketchModel:
    """`model` with an untrained texture head (it only resizes until trained); the model itself
    if it has one or `width` is 0."""
    tcfg = model.cfg.tokenizer
    if tcfg.upscale_channels or not width or factor < 2:
        return model
    cfg = dataclasses.replace(model.cfg, tokenizer=dataclasses.replace(tcfg, upscale=factor, upscale_channels=width))
    grown = SketchModel(cfg, clip_weights)
    missing, unexpected = grown.load_state_dict(model.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("tokenizer.upscaler.") for k in missing), (missing, unexpected)
    return grown.train(model.training)


def local_contrast(x: torch.Tensor, window: int = 16) -> torch.Tensor:
    """(B, 1, H, W) -> (B, 4, H/w, W/w): mean squared difference to the neighbour at each of
    SCOOT's offsets (0,1), (-1,1), (-1,0), (-1,-1), per window."""
    a = x[..., 1:, :-1]  # pixel (r, c) for r >= 1, c < W-1
    d = torch.cat([
        x[..., 1:, 1:] - a,  # (0, 1)
        x[..., :-1, 1:] - a,  # (-1, 1)
        x[..., :-1, :-1] - a,  # (-1, 0)
        x[..., :-1, :-1].roll(1, dims=-1) - a,  # (-1, -1): wraps at column 0 only
    ], dim=1)  # (B, 4, H-1, W-1)
    return F.avg_pool2d(d * d, window)


class UpscaleStage(_Base):
    name = "upscale"
    # taming's adaptive weight costs two extra backward passes; it moves slowly, so it is
    # measured every this many steps and reused in between.
    adaptive_every = 10

    def __init__(self, model: SketchModel, data: TrainingData, opts: StageOptions, total: int):
        from taming.modules.discriminator.model import NLayerDiscriminator, weights_init

        tok = model.tokenizer
        if tok.upscaler is None:
            raise ValueError("the upscale stage needs a model with a texture head (add_upscaler)")
        if len(data.real_sketch_hr) == 0:
            raise ValueError("the upscale stage needs real drawings at the output size "
                             "(a data cache built for it: run without --resume to rebuild it)")
        out = model.output_size
        if data.real_sketch_hr.shape[-1] != out:
            raise ValueError(f"high-resolution drawings are {data.real_sketch_hr.shape[-1]} px, the model draws {out} px")
        model.requires_grad_(False)
        head = list(tok.upscaler.parameters())
        for p in head:
            p.requires_grad_(True)
        torch.manual_seed(opts.seed)
        self.disc = NLayerDiscriminator(input_nc=1, ndf=opts.disc_channels, n_layers=3)
        self.disc.apply(weights_init)
        groups = [{"params": head}, {"params": list(self.disc.parameters()), "weight_decay": 0.0}]
        super().__init__(model, data, opts, total, groups, lr=opts.decoder_lr, betas=(0.5, 0.9))
        self.hr = data.real_sketch_hr  # (R, 1, S', S') uint8
        # The decoder is frozen: decode every drawing's tokens (and its mirror image's) once.
        self.base = [self._decode_all(ids) for ids in _tokenize(tok, data.real_sketch)]  # 2 x (R, 1, S, S) fp16
        self.adaptive = torch.zeros(())
        n = opts.preview_count
        if len(data.val_sketch_hr):
            self.check = data.val_sketch[:n], data.val_sketch_hr[:n]
        else:
            self.check = data.real_sketch[:n], self.hr[:n]

    @torch.no_grad()
    def _decode_all(self, ids: torch.Tensor) -> torch.Tensor:
        tok = self.model.tokenizer.eval()
        return torch.cat([tok.decode(ids[i:i + 32]).half() for i in range(0, len(ids), 32)])

    def stage_tensors(self) -> dict[str, torch.Tensor]:
        return {"adaptive": self.adaptive.clone(), **{f"disc.{k}": v for k, v in self.disc.state_dict().items()}}

    def load_stage_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        disc = {k[len("disc."):]: v for k, v in tensors.items() if k.startswith("disc.")}
        if disc:
            self.disc.load_state_dict(disc)
        if "adaptive" in tensors:
            self.adaptive = tensors["adaptive"].clone()

    def train_step(self, step: int) -> dict[str, float]:
        self._set_lr(step)
        tok, o = self.model.tokenizer, self.opts
        up = tok.upscaler
        j = self._pick(len(self.hr))
        flip = self._flip()
        fwd, mirrored = self.base
        base = torch.where(flip.view(-1, 1, 1, 1), mirrored[j], fwd[j]).float()  # (B, 1, S, S) decoder's drawing
        x = _f(self.hr[j])
        x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)  # (B, 1, S', S')
        size = x.shape[-1]
        crop = min(CROP, size)
        top, left = (int(v) for v in torch.randint(0, size - crop + 1, (2,), generator=self.generator))
        target = x[..., top:top + crop, left:left + crop]  # (B, 1, c, c)
        rec = up(base, crop=(top, left, crop))  # (B, 1, c, c)
        l1 = (rec - target).abs().mean()
        # Contrast maps are small numbers (squared grey differences): scaled to weigh like L1.
        tex = 10 * (local_contrast(rec) - local_contrast(target)).abs().mean()
        nll = l1 + tex
        out = {"l1": l1.item(), "contrast": tex.item()}
        if step >= o.disc_start:
            self.disc.requires_grad_(False)
            g_loss = -self.disc(rec * 2 - 1).mean()
            self.disc.requires_grad_(True)
            if (step - o.disc_start) % self.adaptive_every == 0:
                last = up.head[-1].weight
                nll_grad = torch.autograd.grad(nll, last, retain_graph=True)[0]
                g_grad = torch.autograd.grad(g_loss, last, retain_graph=True)[0]
                self.adaptive = (nll_grad.norm() / (g_grad.norm() + 1e-4)).clamp(0, 1e4).detach()
            loss = nll + o.disc_weight * self.adaptive * g_loss
            out.update(g_loss=g_loss.item(), adaptive=self.adaptive.item())
        else:
            loss = nll
            out.update(g_loss=0.0, adaptive=0.0)  # same columns at every step (the losses CSV)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()  # only the head has gradients here
        self.optimizer.zero_grad(set_to_none=True)
        logits_real = self.disc(target * 2 - 1)
        logits_fake = self.disc(rec.detach() * 2 - 1)
        d_loss = 0.5 * (F.relu(1 - logits_real).mean() + F.relu(1 + logits_fake).mean())
        d_loss.backward()
        self.optimizer.step()  # only the discriminator has gradients now
        out.update(d_loss=d_loss.item(), loss=loss.item())
        return out

    @torch.no_grad()
    def preview(self):
        tok = self.model.tokenizer
        low, high = self.check
        x_hr = _f(high)  # (n, 1, S', S')
        base = tok.decode(tok.encode(_f(low)))  # (n, 1, S, S)
        rec = tok.upscaler(base).clamp(0, 1)  # (n, 1, S', S')
        plain = F.interpolate(base, size=x_hr.shape[-2:], mode="bicubic", align_corners=False).clamp(0, 1)
        u8 = lambda t: t[0].mul(255).round().byte().numpy()  # noqa: E731
        grid = _grid([[x_hr[i], plain[i], rec[i]] for i in range(len(rec))])
        return grid, {
            "val_ssim": ssim(rec, x_hr).mean().item(),
            "val_scoot": float(np.mean([scoot(u8(a), u8(b)) for a, b in zip(x_hr, rec)])),
            "val_scoot_bicubic": float(np.mean([scoot(u8(a), u8(b)) for a, b in zip(x_hr, plain)])),
        }
