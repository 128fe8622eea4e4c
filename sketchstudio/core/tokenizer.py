"""Sketch tokenizer: greyscale sketch <-> grid of VQ token ids.

taming-transformers' `Encoder`/`Decoder` run behind a pixel-unshuffle stem, so
the convolutions work at 1/4 resolution with 16x more channels. Codes are
low-dimensional and l2-normalised (cosine nearest code) and quantised by taming's
`VectorQuantizer2`; dead codes are restarted by the trainer with
`restart_dead_codes`. Both keep a 512-code book alive on a CPU budget.
"""
from __future__ import annotations

import contextlib
import io

import torch
import torch.nn as nn
import torch.nn.functional as F
from taming.modules.diffusionmodules.model import Decoder, Encoder
from taming.modules.vqvae.quantize import VectorQuantizer2

from .config import TokenizerConfig
from .precision import bf16_autocast
from .renderer import StrokeRenderer, paper_grain, resize_sketch
from .tone import ToneCurves


def refiner(channels: int, width: int) -> nn.Sequential:
    """Three 3x3 convs at full resolution; the last starts at zero, so adding it changes nothing."""
    head = nn.Sequential(
        nn.Conv2d(channels, width, 3, padding=1), nn.SiLU(),
        nn.Conv2d(width, width, 3, padding=1), nn.SiLU(),
        nn.Conv2d(width, channels, 3, padding=1),
    )
    nn.init.zeros_(head[-1].weight)
    nn.init.zeros_(head[-1].bias)
    return head


# The texture head draws a sketch at a photo's own size up to this many pixels on the longer
# side (its activations are about 200 bytes a pixel); a larger photo's sketch is drawn at
# this size and resized by the caller.
RENDER_MAX = 2048


def render_size(photo_size: tuple[int, int], longer: int | None = None) -> tuple[int, int]:
    """(W, H) of a photo -> (H, W) to draw its sketch at: the photo's own size within
    RENDER_MAX, or with `longer` pixels on its longer side (capped at RENDER_MAX)."""
    w, h = photo_size
    k = min(1.0, RENDER_MAX / max(w, h)) if longer is None else min(longer, RENDER_MAX) / max(w, h)
    return max(1, round(h * k)), max(1, round(w * k))


class Upscaler(nn.Module):
    """Draws a sketch at any size: bicubic resize plus a residual conv head over paper grain.

    The head sees a fixed paper-grain field (`paper_grain`, one value per output pixel)
    beside the resized sketch. A conv of a smooth image can only sharpen it; the grain of
    pencil on paper needs a noise source, and a fixed one (like the paper's own texture)
    keeps every decode deterministic. Trained at the drawings' own resolution (the upscale
    stage), it draws pixel-scale texture at whatever size the sketch is wanted, so nothing
    is resized after it. The last conv starts at zero: a new head only resizes.
    """

    # Pixels each side a crop needs so its interior equals the full render (4 convs of 3x3).
    MARGIN = 4

    def __init__(self, channels: int, width: int):
        super().__init__()
        self.head = nn.Sequential(
            nn.Conv2d(channels + 1, width, 3, padding=1), nn.SiLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.SiLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.SiLU(),
            nn.Conv2d(width, channels, 3, padding=1),
        )
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    resize = staticmethod(resize_sketch)

    def draw(self, up: torch.Tensor, grain: torch.Tensor) -> torch.Tensor:
        """The head on an already resized sketch (B, C, H, W) and its grain (B or 1, 1, H, W)."""
        g = grain.expand(up.shape[0], -1, -1, -1)
        return up + self.head(torch.cat([up * 2 - 1, g * 2 - 1], dim=1)) / 2  # (B, C, H, W)

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """x (B, C, h, w) in [0, 1] -> (B, C, *size) in [0, 1] (unclamped)."""
        return self.draw(self.resize(x, size), paper_grain(*size).to(x.device))


class SketchTokenizer(nn.Module):
    def __init__(self, cfg: TokenizerConfig):
        super().__init__()
        self.cfg = cfg
        r = cfg.unshuffle
        stem_ch = cfg.channels * r * r
        res = cfg.image_size // r
        conv = dict(
            ch=cfg.ch, out_ch=stem_ch, ch_mult=tuple(cfg.ch_mult), num_res_blocks=cfg.num_res_blocks,
            attn_resolutions=(), in_channels=stem_ch, resolution=res, z_channels=cfg.z_channels,
        )
        self.unshuffle = nn.PixelUnshuffle(r)
        self.encoder = Encoder(double_z=False, **conv)
        self.quant_conv = nn.Conv2d(cfg.z_channels, cfg.code_dim, 1)
        # legacy=False: beta weighs the commitment term, as in the VQ-VAE paper.
        self.quantize = VectorQuantizer2(cfg.codebook_size, cfg.code_dim, cfg.beta, legacy=False)
        with torch.no_grad():
            self.quantize.embedding.weight.copy_(
                F.normalize(torch.randn(cfg.codebook_size, cfg.code_dim), dim=1)
            )
        self.post_quant_conv = nn.Conv2d(cfg.code_dim, cfg.z_channels, 1)
        with contextlib.redirect_stdout(io.StringIO()):  # taming's Decoder prints its z shape
            self.decoder = Decoder(**conv)
        self.shuffle = nn.PixelShuffle(r)
        self.refine = refiner(cfg.channels, cfg.refine_channels) if cfg.refine_channels else None
        self.upscaler = Upscaler(cfg.channels, cfg.upscale_channels) if cfg.upscale_channels else None
        self.renderer = (StrokeRenderer(cfg.channels, cfg.renderer_channels, cfg.renderer_styles, cfg.renderer_photo,
                                         cfg.renderer_structure, cfg.renderer_imagenet)
                         if cfg.renderer_channels else None)
        # Per-style tone curves on the finished sketch (core/tone.py).
        self.tone = ToneCurves(cfg.tone_styles) if cfg.tone_styles else None
        # Mean brightness of each code, for the sampler's cheap previews; filled lazily.
        self.register_buffer("_code_luma", torch.empty(0), persistent=False)

    # --- pixels <-> latents ----------------------------------------------------
    def features(self, sketch: torch.Tensor) -> torch.Tensor:
        """sketch (B, 1, H, W) in [0, 1] -> encoder features (B, z, g, g), before quantisation
        (the training stages' feature loss compares these)."""
        return self.encoder(self.unshuffle(sketch * 2 - 1))

    def encode_latent(self, sketch: torch.Tensor) -> torch.Tensor:
        """sketch (B, 1, H, W) in [0, 1] -> unit-norm latents (B, code_dim, g, g)."""
        return F.normalize(self.quant_conv(self.features(sketch)), dim=1)  # (B, d, g, g)

    def decode_latent(self, z_q: torch.Tensor) -> torch.Tensor:
        """(B, code_dim, g, g) -> sketch (B, 1, H, W) in [0, 1] (unclamped during training)."""
        x = self.shuffle(self.decoder(self.post_quant_conv(z_q)))  # (B, 1, H, W) in ~[-1, 1]
        if self.refine is not None:
            x = x + self.refine(x)  # (B, 1, H, W): residual, mixes pixels across shuffle blocks
        return (x + 1) / 2

    def forward(self, sketch: torch.Tensor):
        """Training path: returns (reconstruction, vq loss, ids (B, g, g))."""
        z = self.encode_latent(sketch)
        # The nearest-code search in float32 even under CUDA training's bf16 autocast, whose
        # distances cannot tell close codes apart.
        with torch.autocast("cuda", enabled=False) if z.is_cuda else contextlib.nullcontext():
            z_q, vq_loss, (_, _, ids) = self.quantize(z.float())
        return self.decode_latent(z_q), vq_loss, ids.view(z.shape[0], *z.shape[2:])

    # --- ids ----------------------------------------------------------------------
    def codebook(self) -> torch.Tensor:
        return F.normalize(self.quantize.embedding.weight, dim=1)  # (K, d)

    @torch.no_grad()
    def encode(self, sketch: torch.Tensor) -> torch.Tensor:
        """sketch (B, 1, H, W) in [0, 1] -> token ids (B, g*g) long."""
        z = self.encode_latent(sketch)  # (B, d, g, g)
        flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])  # (B*g*g, d)
        ids = (flat @ self.codebook().T).argmax(dim=1)  # cosine nearest code
        return ids.view(z.shape[0], -1)

    def embed_ids(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, g*g) -> latents (B, d, g, g)."""
        g = self.cfg.grid
        z = self.codebook()[ids]  # (B, g*g, d)
        return z.view(ids.shape[0], g, g, -1).permute(0, 3, 1, 2)

    @torch.no_grad()
    def decode(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, g*g) -> sketch (B, 1, H, W) clamped to [0, 1], at the decoder's own size
        (what training compares with its sketches)."""
        return self.decode_latent(self.embed_ids(ids)).clamp(0, 1)

    @property
    def head(self) -> nn.Module | None:
        """What draws the finished sketch from the decode: the stroke renderer, else the
        texture head (models before v4), else None (the decode is only resized)."""
        return self.renderer if self.renderer is not None else self.upscaler

    @torch.no_grad()
    def render(self, ids: torch.Tensor, size: tuple[int, int] | None = None, texture: bool = True,
               style: torch.Tensor | None = None, photo: torch.Tensor | None = None,
               imagenet: torch.Tensor | None = None, window: tuple[int, int, int, int] | None = None) -> torch.Tensor:
        """ids (B, g*g) -> the finished sketch (B, 1, *size) in [0, 1]; size (H, W) defaults to
        cfg.output_size square; window (top, left, height, width): only that part of it, as the whole
        sketch draws it there (`SketchRenderer.forward`; the decode is still whole). Without a head (or
        with texture=False) the decode is resized (bicubic). style: weights (B, K) or (K,) for a
        style-aware renderer (else ignored); photo: (B or 1, 3, h, w) in [0, 1], for a renderer that
        sees it (else ignored); imagenet: the photo's ImageNet maps, for a renderer that takes them
        (else ignored).

        The decode runs in bf16 where the renderer does (core/precision.py): 40 % of the
        decoder's time at 256 px, a mean change of 0.3 grey levels; training's decodes
        (`decode`) stay fp32. A model with tone curves puts the finished sketch's greys through
        the style's curve (not the cheap previews: the curves are fitted to the finished ones)."""
        with bf16_autocast(ids.device):
            x = self.decode(ids).float()  # (B, 1, S, S)
        size = tuple(size) if size is not None else (self.cfg.output_size,) * 2
        if self.renderer is not None and texture:
            out = self.renderer(x, size, style, photo, imagenet=imagenet, window=window).clamp(0, 1)
        else:
            out = Upscaler.resize(x, size) if self.head is None or not texture else self.head(x, size)
            if window is not None:
                top, left, h, w = window
                out = out[..., top:top + h, left:left + w]
            out = out.clamp(0, 1)
            if self.head is None or not texture:
                return out
        return out if self.tone is None else self.tone(out, style)

    def decode_soft(self, probs: torch.Tensor) -> torch.Tensor:
        """Differentiable decode of code probabilities (B, g*g, K) -> (B, 1, H, W)."""
        g = self.cfg.grid
        z = probs @ self.codebook()  # (B, g*g, d): expected code
        z = z.view(probs.shape[0], g, g, -1).permute(0, 3, 1, 2)
        return self.decode_latent(z)

    # --- maintenance --------------------------------------------------------------
    @torch.no_grad()
    def renormalize_codebook_(self) -> None:
        """Keep codes on the unit sphere (the trainer calls this after each step)."""
        w = self.quantize.embedding.weight
        w.copy_(F.normalize(w, dim=1))
        self._code_luma = torch.empty(0)

    @torch.no_grad()
    def restart_dead_codes(self, usage: torch.Tensor, latents: torch.Tensor) -> int:
        """Move codes with zero usage onto random current encoder outputs.

        usage (K,) counts since the last restart; latents (M, d) recent encodings.
        Returns the number of codes restarted.
        """
        dead = (usage == 0).nonzero().flatten()
        if dead.numel() == 0 or latents.numel() == 0:
            return 0
        pick = torch.randint(0, latents.shape[0], (dead.numel(),), device=latents.device)
        self.quantize.embedding.weight[dead] = F.normalize(latents[pick], dim=1)
        self._code_luma = torch.empty(0)
        return int(dead.numel())

    @torch.no_grad()
    def code_luma(self) -> torch.Tensor:
        """(K,) mean brightness of a patch made of one code, computed once per codebook."""
        if self._code_luma.numel() == 0:
            k = self.cfg.codebook_size
            ids = torch.arange(k, device=self.codebook().device)
            z = self.codebook()[ids].view(k, -1, 1, 1).expand(-1, -1, 2, 2)  # (K, d, 2, 2)
            img = self.decode_latent(z).clamp(0, 1)  # (K, 1, h, w)
            self._code_luma = img.mean(dim=(1, 2, 3))
        return self._code_luma
