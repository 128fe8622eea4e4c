"""Stage 0c, `upscale`: the texture head that draws the finished sketch at any size.

The decoder draws 256 px; FS2K's drawings are 250-475 px, and what makes them look
drawn is pixel-scale texture (pencil grain, hatching, crisp line edges). A 256 px
sketch resized to the drawing's size is smooth there, and SCOOT, which reads grey-level
co-occurrence between neighbouring pixels at the drawing's own resolution, falls with
it: the drawings themselves, shrunk to 256 px and resized back, score only 0.46 against
the originals (tools/bench/texture_ceiling.py, docs/BENCHMARKS.md). Rendering at 2x and
shrinking afterwards does not help either (0.59): the shrinking averages the grain away.

So the head draws at the size wanted, and this stage trains it at the drawings' own
resolution: each sample's 256 px decode (of the drawing's own tokens, frozen) is resized
to the drawing's size and a random crop of the head's output there is compared with the
same crop of the drawing: L1, a local-contrast loss (the amount of pixel-to-pixel
variation of each 16 x 16 window, at SCOOT's four neighbour offsets) and taming's
PatchGAN with a hinge loss and adaptive weight. The head is local, so a crop computes
exactly what the full render draws there. Only `tokenizer.upscaler` moves: token ids and
the 256 px decode are unchanged, so a trained transformer stays valid.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..core.metrics import scoot, ssim
from ..core.model import SketchModel
from ..core.tokenizer import Upscaler, paper_grain
from ..data.cache import TrainingData
from .base import StageBase, StageOptions, image_grid, to_float, to_uint8, tokenize_pair
from .device import module_device
from .gan import (adaptive_weight, disc_tensors, generator_loss, generator_then_discriminator, load_disc_tensors,
                  new_discriminator)

CROP = 128  # drawing pixels per side of a training crop


def neighbour_steps(x: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) -> (B, 4, H-1, W-1): each pixel's difference to its neighbour at each of
    SCOOT's offsets (0,1), (-1,1), (-1,0), (-1,-1)."""
    a = x[..., 1:, :-1]  # pixel (r, c) for r >= 1, c < W-1
    return torch.cat([
        x[..., 1:, 1:] - a,  # (0, 1)
        x[..., :-1, 1:] - a,  # (-1, 1)
        x[..., :-1, :-1] - a,  # (-1, 0)
        x[..., :-1, :-1].roll(1, dims=-1) - a,  # (-1, -1): wraps at column 0 only
    ], dim=1)


def local_contrast(x: torch.Tensor, window: int = 16) -> torch.Tensor:
    """(B, 1, H, W) -> (B, 4, H/w, W/w): mean squared difference to the neighbour at each of
    SCOOT's offsets, per window."""
    d = neighbour_steps(x)
    return F.avg_pool2d(d * d, window)


@torch.no_grad()
def decode_all(tok, ids: torch.Tensor) -> torch.Tensor:
    """Token ids (M, N) -> their 256 px decodes (M, 1, S, S) in fp16, 32 at a time (a frozen
    decoder's output, computed once per stage), where the tokenizer is."""
    tok = tok.eval()
    device = module_device(tok)
    return torch.cat([tok.decode(ids[i:i + 32].to(device)).half() for i in range(0, len(ids), 32)])


def require_native(data: TrainingData, stage: str) -> None:
    """The upscale and render stages learn from the drawings at their own resolution."""
    if len(data.real_native) == 0:
        raise ValueError(f"the {stage} stage needs real drawings at their own resolution "
                         "(a data cache built for it: run without --resume to rebuild it)")


def crop_render(head, base: torch.Tensor, drawing: torch.Tensor, crop: int, generator,
                style: torch.Tensor | None = None, photo: torch.Tensor | None = None,
                structure: torch.Tensor | None = None, with_structure: bool = False,
                imagenet: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
    """A random training crop of a head drawing `base` (1, C, S, S) at `drawing`'s size (1, C, h, w):
    (head output (1, C, c, c), the drawing's crop (1, C, c, c)). The head draws a window
    `head.MARGIN` larger where the drawing has room, so the crop sees the context the full
    render gives it. style (1, K): the drawing's style, for a style-aware renderer; photo:
    its photo's features at the drawing's size (1, P, h, w), for a renderer that sees them;
    structure: its face-structure map at the drawing's size (1, C, h, w), for one that takes it;
    with_structure: also return the map's crop (1, C, c, c), the third item; imagenet: its
    photo's ImageNet maps over the whole drawing (1, C', g, g), for one that takes them."""
    h, w = drawing.shape[-2:]
    c, m = crop, head.MARGIN
    top, left = (int(torch.randint(0, n - c + 1, (1,), generator=generator)) for n in (h, w))
    t0, l0 = max(0, top - m), max(0, left - m)
    t1, l1 = min(h, top + c + m), min(w, left + c + m)
    resized = Upscaler.resize(base, (h, w))[..., t0:t1, l0:l1]  # (1, C, h', w')
    grain = paper_grain(h, w)[..., t0:t1, l0:l1].to(base.device)
    if structure is not None or imagenet is not None:
        drawn = head.draw(resized, grain, style, None if photo is None else photo[..., t0:t1, l0:l1],
                          None if structure is None else structure[..., t0:t1, l0:l1],
                          imagenet=imagenet, origin=(t0, l0), full=(h, w))
    elif photo is not None:
        drawn = head.draw(resized, grain, style, photo[..., t0:t1, l0:l1])
    else:
        drawn = head.draw(resized, grain) if style is None else head.draw(resized, grain, style)
    out = drawn[..., top - t0:top - t0 + c, left - l0:left - l0 + c]
    if with_structure:
        return out, drawing[..., top:top + c, left:left + c], structure[..., top:top + c, left:left + c]
    return out, drawing[..., top:top + c, left:left + c]


class UpscaleStage(StageBase):
    name = "upscale"
    # taming's adaptive weight costs two extra backward passes; it moves slowly, so it is
    # measured every this many steps and reused in between.
    adaptive_every = 10

    def __init__(self, model: SketchModel, data: TrainingData, opts: StageOptions, total: int):
        tok = model.tokenizer
        if tok.upscaler is None:
            raise ValueError("the upscale stage needs a model with a texture head (add_upscaler)")
        require_native(data, self.name)
        model.requires_grad_(False)
        head = list(tok.upscaler.parameters())
        for p in head:
            p.requires_grad_(True)
        self.disc = new_discriminator(opts.seed, opts.disc_channels)
        # A new head learns from zero (its last conv starts at 0): faster than the discriminator.
        groups = [{"params": head, "lr_scale": opts.upscale_lr / opts.decoder_lr},
                  {"params": list(self.disc.parameters()), "weight_decay": 0.0}]
        super().__init__(model, data, opts, total, groups, lr=opts.decoder_lr, betas=(0.5, 0.9))
        self.disc.to(self.device)  # in place: the optimizer holds the same parameters
        self.native, self.sizes = data.real_native, data.real_native_size  # (R, 1, Hm, Wm) uint8, (R, 2)
        self.crop = int(min(CROP, self.sizes.min()))
        # The decoder is frozen: decode every drawing's tokens (and its mirror image's) once.
        self.base = [decode_all(tok, ids) for ids in tokenize_pair(tok, data.real_sketch)]  # 2 x (R, 1, S, S) fp16
        self.adaptive = torch.zeros(())
        n = opts.preview_count
        if len(data.val_native):
            self.check = data.val_sketch[:n], data.val_native[:n], data.val_native_size[:n]
        else:
            self.check = data.real_sketch[:n], self.native[:n], self.sizes[:n]

    def stage_tensors(self) -> dict[str, torch.Tensor]:
        return {"adaptive": self.adaptive.clone(), **disc_tensors(self.disc)}

    def load_stage_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        load_disc_tensors(self.disc, tensors)
        if "adaptive" in tensors:
            self.adaptive = tensors["adaptive"].clone()

    def _sample(self, j: int, flip: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """One drawing's training crop: (head output (1, 1, c, c), the drawing's crop (1, 1, c, c))."""
        h, w = (int(v) for v in self.sizes[j])
        base = self.base[1 if flip else 0][j:j + 1].float()  # (1, 1, S, S)
        drawing = to_float(self.to_device(self.native[j:j + 1, :, :h, :w]))  # (1, 1, h, w)
        if flip:
            drawing = drawing.flip(-1)
        return crop_render(self.model.tokenizer.upscaler, base, drawing, self.crop, self.generator)

    def train_step(self, step: int) -> dict[str, float]:
        self._set_lr(step)
        o = self.opts
        j = self._pick(len(self.native))
        flip = self._flip()
        with self.autocast():
            pairs = [self._sample(int(a), bool(b)) for a, b in zip(j, flip)]
            rec = torch.cat([p[0] for p in pairs])  # (B, 1, c, c)
            target = torch.cat([p[1] for p in pairs])  # (B, 1, c, c)
            l1 = (rec - target).abs().mean()
            # Contrast maps are small numbers (squared grey differences): scaled to weigh like L1.
            tex = 10 * (local_contrast(rec) - local_contrast(target)).abs().mean()
            nll = l1 + tex
            g_loss = generator_loss(self.disc, rec) if step >= o.disc_start else None
        out = {"l1": l1.item(), "contrast": tex.item()}
        if step >= o.disc_start:
            if (step - o.disc_start) % self.adaptive_every == 0:
                self.adaptive = adaptive_weight(nll, g_loss, self.model.tokenizer.upscaler.head[-1].weight)
            loss = nll + o.disc_weight * self.adaptive * g_loss
            out.update(g_loss=g_loss.item(), adaptive=self.adaptive.item())
        else:
            loss = nll
            out.update(g_loss=0.0, adaptive=0.0)  # same columns at every step (the losses CSV)
        d_loss = generator_then_discriminator(self.optimizer, loss, self.disc, target, rec, self.autocast)
        out.update(d_loss=d_loss.item(), loss=loss.item())
        return out

    @torch.no_grad()
    def preview(self):
        """Check drawings' own tokens rendered at their size: rows of (drawing, bicubic, head) crops."""
        tok = self.model.tokenizer
        low, native, sizes = self.check
        base = tok.decode(tok.encode(to_float(low.to(self.device))))  # (n, 1, S, S)
        rows, head_scores, plain_scores = [], [], []
        c = int(min(192, sizes.min()))
        for i in range(len(base)):
            h, w = (int(v) for v in sizes[i])
            drawing = to_float(native[i, :, :h, :w].to(self.device))  # (1, h, w)
            plain = Upscaler.resize(base[i:i + 1], (h, w)).clamp(0, 1)[0]
            head = tok.upscaler(base[i:i + 1], (h, w)).clamp(0, 1)[0]
            head_scores.append(scoot(to_uint8(drawing), to_uint8(head)))
            plain_scores.append(scoot(to_uint8(drawing), to_uint8(plain)))
            t, l = (h - c) // 2, (w - c) // 2
            rows.append([a[:, t:t + c, l:l + c] for a in (drawing, plain, head)])
        return image_grid(rows), {"val_scoot": float(np.mean(head_scores)),
                                  "val_scoot_bicubic": float(np.mean(plain_scores)),
                                  "val_ssim": float(np.mean([ssim(r[2][None], r[0][None]).item() for r in rows]))}
