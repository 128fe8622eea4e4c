"""Stage 3, `render`: the stroke renderer that draws the finished sketch (model v4).

The renderer (core/renderer.py) turns a token decode into a drawing at the drawing's own
resolution. Trained only on each drawing's own tokens it would learn to draw what a perfect
transformer gives, and meet something else at run time: tokens the transformer samples,
which are right in the large and wrong in many details. So part of every batch
(`render_sampled`: v4 and v5 a half, v6 three quarters) is rendered from tokens the finished
transformer sampled for the drawing's photo (its recommended
settings, the pair's style), and the renderer learns to mend sampling errors towards the
drawing. The sampled ids are drawn once, when the stage starts, and kept in its training
state, so a resumed run sees the same ones. With `render_draws` > 1 each photo is sampled
that many times (other seeds), and each sampled crop takes one draw at random: one draw per
photo lets the renderer learn that draw's accidents as if they were the photo's.

A renderer that sees the photo (model v6) gets each crop's photo features too: the pair's
photo at the encoder's input size, as the sampler hands it to the renderer, and flipped with
the drawing. Own tokens already hold what the photo adds, so the photo path learns mostly
from the sampled half: where the tokens are wrong and the photo shows the detail.

A renderer that takes the face-structure map (model v10) gets each photo's map from the
training data (made once per photo, 64 px), resized and flipped with the drawing.

Loss: L1 and the local-contrast term of the upscale stage (pixel-to-pixel variation per
16 x 16 window at SCOOT's offsets), optionally a tone term (`render_tone`: L1 of the mean
grey per 8 x 8 block, which keeps a style's darkness where strokes are uncertain), on random
crops at the drawing's own resolution with `StrokeRenderer.MARGIN` pixels of context each
side. v4-v8 trained with no adversarial term (v3's single PatchGAN painted white holes and
halos into dark areas), and L1 paid them to hedge: where a stroke may sit a few pixels either
way, a grey smear costs less than a committed stroke in the wrong place. Model v10 adds one
(`render_adversarial` > 0): a style-aware discriminator at two scales (train/gan.py) with the
hinge loss, weighed against L1 by taming's adaptive weight, and feature matching on its layers,
which ties the committed strokes to the drawing's own (the crops are paired). Optionally
(`render_part_weight`) the L1 counts pixels on the map's face-part lines more: they are a few
per cent of a crop, so plain L1 hardly notices whether the jaw is inked. Optionally
(`render_block_contrast`) each 64 px block's contrast in SCOOT's grey levels is matched to the
drawing's (`block_contrast`): blind to where in the block a stroke sits, so it does not pay for
hedging as L1 does, only for how sharply the strokes step from paper to ink.
Only `tokenizer.renderer` moves: token ids, the decoder and the transformer are unchanged. A
model with tone curves (core/tone.py) gets them fitted again at the end, for the styles the
stage trained: they describe the renderer (train/tone.py).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..core.imagenet import perceptual_distance
from ..core.metrics import SCOOT_LEVELS, scoot
from ..core.model import SketchModel
from ..core.renderer import photo_features
from ..data.cache import TrainingData
from .base import StageBase, StageOptions, image_grid, to_float, to_uint8, tokenize_pair
from .gan import (StyleDiscriminator, adaptive_weight, disc_tensors, generator_then_discriminator, load_disc_tensors,
                  style_generator_losses)
from .masked import imagenet_cache
from .sampled_tokens import encoder_photo, render_settings, sampled_ids
from .tone import refit_tone
from .upscale import CROP, crop_render, decode_all, local_contrast, neighbour_steps, require_native

TONE_BLOCK = 8  # pixels a side of the blocks whose mean grey the tone term matches
LEVEL_BLOCK = 64  # pixels a side of the blocks whose level contrast `block_contrast` measures
LEVEL_SOFTNESS = 0.03  # width (in grey, 0-1) of the soft steps between SCOOT's grey levels


def soft_levels(x: torch.Tensor, levels: int = SCOOT_LEVELS, softness: float = LEVEL_SOFTNESS) -> torch.Tensor:
    """Grey in [0, 1] -> SCOOT's grey level (0 .. levels - 1, the nearest as `_quantize` rounds),
    a staircase whose steps are sigmoids `softness` wide, so that it has a gradient near them."""
    steps = (torch.arange(levels - 1, device=x.device, dtype=x.dtype) + 0.5) / (levels - 1)
    return torch.sigmoid((x.unsqueeze(-1) - steps) / softness).sum(-1)


def block_contrast(x: torch.Tensor, block: int = LEVEL_BLOCK) -> torch.Tensor:
    """(B, 1, H, W) in [0, 1] -> (B, 1, ceil(H/block), ceil(W/block)): SCOOT's GLCM contrast of
    each block, the mean squared step in grey level between neighbours at its four offsets,
    with the levels made soft (`soft_levels`). Blind to where in a block a stroke sits, not to
    how sharply it steps from paper to ink, which is what the sketches' blocks lack against the
    drawings' (charcoal 0.87 against 1.02 for v12)."""
    d = neighbour_steps(soft_levels(x))  # (B, 4, H-1, W-1)
    return F.avg_pool2d(d * d, block, ceil_mode=True).mean(1, keepdim=True)


def tone_error(rec: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean |difference| of the mean grey of each TONE_BLOCK x TONE_BLOCK block of two (B, 1, H, W)
    images: blind to where a stroke sits inside a block, not to how dark the block is."""
    return (F.avg_pool2d(rec, TONE_BLOCK) - F.avg_pool2d(target, TONE_BLOCK)).abs().mean()


def part_weighted_l1(rec: torch.Tensor, target: torch.Tensor, lines: torch.Tensor, weight: float) -> torch.Tensor:
    """L1 of two (B, 1, H, W) images where a pixel on the face's part lines (`lines`, (B, 1, H, W)
    in [0, 1]: the structure map's line channels) counts 1 + weight times; divided by the mean
    weight, so it is plain L1 wherever there are no lines and keeps L1's scale where there are."""
    w = 1 + weight * lines.to(rec.dtype)
    return ((rec - target).abs() * w).sum() / w.sum()


class RenderStage(StageBase):
    name = "render"
    # taming's adaptive weight costs two extra backward passes; it moves slowly, so it is
    # measured every this many steps and reused in between (as the upscale stage does).
    adaptive_every = 10

    def __init__(self, model: SketchModel, data: TrainingData, opts: StageOptions, total: int):
        tok = model.tokenizer
        if tok.renderer is None:
            raise ValueError("the render stage needs a model with a stroke renderer (add_renderer)")
        require_native(data, self.name)
        if opts.render_draws < 1:
            raise ValueError("render_draws must be at least 1")
        model.requires_grad_(False)
        trained = {model.styles[i] for i in data.real_style.unique().tolist()}
        kept = [i for i, s in enumerate(model.styles) if s not in trained]
        # Styles added with adapters (the wizard's new style): only their own columns of the
        # renderer's style table train, so every other style renders bit for bit as before.
        film = tok.renderer.style_film
        self.columns_only = (film is not None and len(kept) > 0
                             and trained <= set(model.cfg.transformer.adapter_styles))
        if self.columns_only:
            film.weight.requires_grad_(True)
            keep = torch.zeros(1, len(model.styles))
            keep[0, kept] = 1.0
            film.weight.register_hook(lambda g: g * (1 - keep.to(g.device)))
            params = [{"params": [film.weight], "weight_decay": 0.0, "lr_scale": opts.adapter_lr / opts.render_lr}]
        else:
            params = list(tok.renderer.parameters())
            for p in params:
                p.requires_grad_(True)
        self.disc = None
        betas = (0.9, 0.99)
        if opts.render_adversarial > 0:
            self.disc = StyleDiscriminator(opts.seed, opts.disc_channels, len(model.styles))
            # Adam betas (0.5, 0.9) and the decoder stage's rate for the discriminator, as in taming.
            params = [*(params if isinstance(params[0], dict) else [{"params": params}]),
                      {"params": list(self.disc.parameters()), "weight_decay": 0.0,
                       "lr_scale": opts.decoder_lr / opts.render_lr}]
            betas = (0.5, 0.9)
        self.adaptive = torch.zeros(())
        super().__init__(model, data, opts, total, params, lr=opts.render_lr, betas=betas)
        if self.disc is not None:
            self.disc.to(self.device)  # in place: the optimizer holds the same parameters
        self.structure = None  # (P, C, s, s) uint8: each photo's face-structure map
        if tok.renderer.takes_structure:
            data.ensure_structure()
            self.structure = data.photo_structure
        self.native, self.sizes = data.real_native, data.real_native_size  # (R, 1, Hm, Wm) uint8, (R, 2)
        self.crop = int(min(CROP, self.sizes.min()))
        self.own = [decode_all(tok, ids) for ids in tokenize_pair(tok, data.real_sketch)]  # 2 x (R, 1, S, S)
        self.sampled: torch.Tensor | None = None  # (D * R, 1, S, S) fp16, decodes of sampled ids
        self.sampled_ids: torch.Tensor | None = None  # (D * R, N): D draws of the R pairs, draw by draw
        self.settings = render_settings(model, opts)
        self.sees_photo = tok.renderer.sees_photo
        # Each training photo's ImageNet maps and its mirror image's (a mirrored crop's photo is
        # the mirrored photo, whose features are not the features mirrored), computed once.
        self.imagenet = None  # 2 x (P, C', g, g) fp16
        if tok.renderer.imagenet_channels:
            self.imagenet = imagenet_cache(model, data.photos, features=model.encoder.imagenet.renderer_maps)
        if opts.render_perceptual > 0 and model.encoder.imagenet is None:
            raise ValueError("the perceptual term needs a model whose encoder holds the ImageNet trunk")
        n = opts.preview_count
        if len(data.val_native):
            self.check = data.val_photo[:n], data.val_sketch[:n], data.val_style[:n], data.val_native[:n], \
                data.val_native_size[:n]
        else:
            self.check = data.photos[data.real_photo[:n]], data.real_sketch[:n], data.real_style[:n], \
                self.native[:n], self.sizes[:n]

    def _ensure_sampled(self) -> None:
        """Sample the transformer's tokens for every training photo, `render_draws` times, once
        (minutes a draw on a CPU). Draws a resumed run already holds are kept."""
        if self.sampled is not None:
            return
        d = self.data
        if self.opts.render_sampled <= 0:  # trained on own tokens only: nothing to sample
            self.sampled = self.own[0]
            return
        r = len(d.real_photo)
        have = [] if self.sampled_ids is None else list(self.sampled_ids[:self.opts.render_draws * r].split(r))
        for k in range(len(have), self.opts.render_draws):
            # Draw k's seeds lie past every seed draw 0 uses (one per batch of 16 pairs).
            settings = self.settings.with_(seed=self.settings.seed + k * (r + 1))
            have.append(sampled_ids(self.model, d.photos[d.real_photo], d.real_style, settings))
        self.sampled_ids = torch.cat(have)
        self.sampled = decode_all(self.model.tokenizer, self.sampled_ids)

    def stage_tensors(self) -> dict[str, torch.Tensor]:
        out = {} if self.sampled_ids is None else {"sampled_ids": self.sampled_ids}
        if self.disc is not None:
            out.update(adaptive=self.adaptive.clone(), **disc_tensors(self.disc))
        return out

    def load_stage_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        if "sampled_ids" in tensors:
            self.sampled_ids, self.sampled = tensors["sampled_ids"].clone(), None
        if self.disc is not None:
            load_disc_tensors(self.disc, tensors)
            if "adaptive" in tensors:
                self.adaptive = tensors["adaptive"].clone()

    @property
    def weighs_parts(self) -> bool:
        return self.opts.render_part_weight > 0 and self.structure is not None

    def _sample(self, j: int, flip: bool, use_sampled: bool, draw: int = 0) -> tuple[torch.Tensor, ...]:
        """One training crop: (renderer output (1, 1, c, c), the drawing's crop (1, 1, c, c)[, the
        structure map's crop (1, C, c, c) when the L1 weighs the face's parts]); sampled tokens
        from draw `draw`."""
        h, w = (int(v) for v in self.sizes[j])
        if use_sampled:
            row = draw * len(self.native) + j
            base = self.sampled[row:row + 1].float()  # (1, 1, S, S)
            base = base.flip(-1) if flip else base
        else:
            base = self.own[1 if flip else 0][j:j + 1].float()
        drawing = to_float(self.to_device(self.native[j:j + 1, :, :h, :w]))  # (1, 1, h, w)
        if flip:
            drawing = drawing.flip(-1)
        style = self.to_device(F.one_hot(self.data.real_style[j:j + 1], len(self.model.styles)).float())  # (1, K)
        photo = maps = None
        i = self.data.real_photo[j:j + 1]
        if self.sees_photo:
            photo = photo_features(encoder_photo(self.model, self.to_device(self.data.photos[i])), (h, w))  # (1, P, h, w)
            photo = photo.flip(-1) if flip else photo
        if self.structure is not None:
            maps = F.interpolate(to_float(self.to_device(self.structure[i])), size=(h, w), mode="bilinear",
                                 align_corners=False)  # (1, C, h, w)
            maps = maps.flip(-1) if flip else maps
        net = None
        if self.imagenet is not None:
            net = self.to_device(self.imagenet[1 if flip else 0][i].float())  # (1, C', g, g)
        return crop_render(self.model.tokenizer.renderer, base, drawing, self.crop, self.generator, style, photo, maps,
                           with_structure=self.weighs_parts, imagenet=net)

    def train_step(self, step: int) -> dict[str, float]:
        self._set_lr(step)
        self._ensure_sampled()
        j = self._pick(len(self.native))
        flip = self._flip()
        use = torch.rand(self.opts.batch, generator=self.generator) < self.opts.render_sampled
        o = self.opts
        # Which draw each crop's sampled tokens come from. One draw asks the generator for
        # nothing, so a single-draw run's crops are those it always had.
        draws = (torch.randint(0, o.render_draws, (o.batch,), generator=self.generator)
                 if o.render_draws > 1 and o.render_sampled > 0 else torch.zeros(o.batch, dtype=torch.long))
        with self.autocast():
            pairs = [self._sample(int(a), bool(b), bool(s), int(k)) for a, b, s, k in zip(j, flip, use, draws)]
            rec = torch.cat([p[0] for p in pairs])  # (B, 1, c, c)
            target = torch.cat([p[1] for p in pairs])  # (B, 1, c, c)
            if self.weighs_parts:
                lines = torch.cat([p[2] for p in pairs])[:, :-1].amax(dim=1, keepdim=True)  # (B, 1, c, c)
                l1 = part_weighted_l1(rec, target, lines, o.render_part_weight)
            else:
                l1 = (rec - target).abs().mean()
            # Contrast maps are small numbers (squared grey differences): scaled to weigh like L1.
            tex = 10 * (local_contrast(rec) - local_contrast(target)).abs().mean()
            tone = tone_error(rec, target)
            loss = l1 + tex + o.render_tone * tone
            if o.render_block_contrast > 0:
                levels = (block_contrast(rec.float()) - block_contrast(target.float())).abs().mean()
                loss = loss + o.render_block_contrast * levels
            if o.render_perceptual > 0:
                perceptual = perceptual_distance(self.model.encoder.imagenet, rec, target)
                loss = loss + o.render_perceptual * perceptual
        out = {"l1": l1.item(), "contrast": tex.item(), "tone": tone.item()}
        if o.render_perceptual > 0:
            out["perceptual"] = perceptual.item()
        if o.render_block_contrast > 0:
            out["level_contrast"] = levels.item()
        if self.disc is None:
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            return {**out, "loss": loss.item()}
        self.disc.train()
        style = self.to_device(F.one_hot(self.data.real_style[j], len(self.model.styles)).float())  # (B, K)
        if step >= o.render_disc_start:
            with self.autocast():
                g_loss, fm = style_generator_losses(self.disc, rec, target, style)
            if (step - o.render_disc_start) % self.adaptive_every == 0:
                self.adaptive = adaptive_weight(loss, g_loss, self.model.tokenizer.renderer.head[-1].weight)
            loss = loss + o.render_feature_match * fm + o.render_adversarial * self.adaptive * g_loss
            out.update(g_loss=g_loss.item(), feature_match=fm.item(), adaptive=self.adaptive.item())
        else:  # the discriminator learns first; same columns at every step (the losses CSV)
            out.update(g_loss=0.0, feature_match=0.0, adaptive=0.0)
        d_loss = generator_then_discriminator(self.optimizer, loss, self.disc, target, rec, self.autocast, style)
        return {**out, "d_loss": d_loss.item(), "loss": loss.item()}

    def finish(self, out_dir):
        if self.model.tokenizer.tone is not None:
            # The tone curves describe the renderer: fitted again for the styles this stage
            # trained (drawing each training pair once).
            self.model.eval()
            refit_tone(self.model, self.data, self.opts)
        return super().finish(out_dir)

    @torch.no_grad()
    def preview(self):
        """Check pairs at the drawing's size: rows of (drawing, own tokens rendered, sampled
        tokens rendered) centre crops, and SCOOT of both renders."""
        m = self.model
        photos, low, styles, native, sizes = self.check
        own = m.tokenizer.encode(to_float(low.to(self.device)))  # (n, N)
        samp = sampled_ids(m, photos, styles, self.settings).to(self.device)
        rows, own_scores, samp_scores = [], [], []
        c = int(min(192, sizes.min()))
        for i in range(len(low)):
            h, w = (int(v) for v in sizes[i])
            drawing = to_float(native[i, :, :h, :w].to(self.device))  # (1, h, w)
            style = F.one_hot(styles[i:i + 1], len(m.styles)).float().to(self.device)  # (1, K)
            photo = encoder_photo(m, photos[i:i + 1].to(self.device))
            a = m.decode(own[i:i + 1], (h, w), style=style, photo=photo)[0]
            b = m.decode(samp[i:i + 1], (h, w), style=style, photo=photo)[0]
            own_scores.append(scoot(to_uint8(drawing), to_uint8(a)))
            samp_scores.append(scoot(to_uint8(drawing), to_uint8(b)))
            t, left = (h - c) // 2, (w - c) // 2
            rows.append([x[:, t:t + c, left:left + c] for x in (drawing, a, b)])
        return image_grid(rows), {"val_scoot_own": float(np.mean(own_scores)),
                                  "val_scoot_sampled": float(np.mean(samp_scores))}
