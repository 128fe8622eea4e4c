"""The stroke renderer: turns a token decode into a drawing at any size.

The VQ decoder draws 256 px from 16x16 tokens: every stroke it draws is the blurred mean of
what its token may stand for. The texture head of model v3 (`tokenizer.Upscaler`, four 3x3
convs) sees 9 px around each pixel, too little to tell a stroke from a smudge, so it sharpens
smudges. The renderer probe (shared/ENVIRONMENT.md) found that context is what turns token
decodes into strokes: a small U-Net over the resized decode draws crisp, continuous lines.

This one is sized to the speed budget on a 2-core CPU. Its U-Net runs at 1/2, 1/4 and 1/8 of
the output size (context of about 45 output pixels each side), and a thin head at full size
draws the residual from the U-Net's features (upsampled bilinearly), the resized decode and
the fixed paper-grain field. A first version drew its residual through a pixel shuffle from
the half-size level: within 500 training steps it painted a regular dot screen over every
sketch (the cheapest way to add pixel-scale contrast), so the grain now enters only at full
size. The last conv starts at zero: a new renderer only resizes, like a new texture head.

It is trained at the drawings' own resolution on the drawings' own tokens *and* on tokens
the transformer samples for their photos (train/render.py), so it learns to mend sampling
errors. The renderers of v4 and v5 never see the photo: the tokens decide what is drawn.

Style (model v5): the v4 renderer drew one stroke texture for every style, so charcoal read
as pencil a third of the time although its tokens said charcoal. A style-aware renderer
(`styles` > 0) also takes the style weights (B, K) and modulates every level's features
(FiLM: h * (1 + scale) + shift) by a table that is linear in the weights, one column per
style: a mix of styles gets the same mix of modulations, so the style slider stays gradual,
and an all-zero vector (or no style) is the style-blind renderer. The table starts at zero,
so turning a v4 renderer style-aware changes nothing until it trains.

Photo (model v6): sampled tokens are right in the large and wrong in the details the
transformer cannot place from 16 x 16 tokens (eyes, mouth corners, glasses). A renderer with
`photo=True` also sees the photo the tokens were sampled for, as features rather than pixels:
the photo's luma minus its local mean at two scales (edges and small shapes; no shading, no
colour), resized to the output. They enter twice, through convolutions that start at zero
and have no bias: into the first U-Net level, where the network can weigh them against what
the tokens draw around them, and into the full-size head behind a gate computed from the
U-Net's features (what the tokens draw there), so paper the tokens leave blank can stay
blank. Without a photo the features are zero and contribute nothing.

Face structure (model v10): v8's renderer copied the photo's edges wherever they were (poster
lettering behind the sitter) and left the jaw undrawn where the tokens were unsure. A renderer
with `structure=True` also takes the photo's face-structure map (core/face_structure.py: the
jaw, brows, eyes, nose and lips as lines, and the person mask), at the encoder's map size,
into its first level through a convolution that starts at zero, and multiplies the photo's
features by the map's person mask, so nothing behind the person reaches the paper. The map
is made once per photo: the encoder asks for the same one (face_structure keeps the last few).

ImageNet features (issue 32, item 3): the photo's edges tell the renderer where a line is, not
what it is drawing: hair, skin, a beard, a collar. A renderer with `imagenet` channels also
takes the frozen MobileNetV2 maps of the photo the encoder already computes (core/imagenet.py:
the stride-8 map and the stride-16 map stretched onto it, normalised per position), sampled at
the centre of each 8 x 8 block of the output, gated by the person mask, into the U-Net's
coarsest level through a 1 x 1 convolution that starts at zero. The maps come at the photo's
own grid with the output's size and the window's origin, so a training crop sees exactly what
the full render sees there (`imagenet_blocks`).
"""
from __future__ import annotations

import functools

import torch
import torch.nn as nn
import torch.nn.functional as F

from .precision import bf16_autocast


def resize_sketch(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, C, h, w) -> (B, C, H, W): bicubic, antialiased where it shrinks."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=True)


@functools.lru_cache(maxsize=32)
def paper_grain(h: int, w: int) -> torch.Tensor:
    """(1, 1, h, w) uniform noise in [0, 1], the same for every call with this size (seed 0):
    the fixed texture of the paper, so every decode stays deterministic."""
    return torch.rand(1, 1, h, w, generator=torch.Generator().manual_seed(0))


PHOTO_FEATURES = 2  # channels of `photo_features`
_PHOTO_BLURS = (5, 17)  # box-blur widths at 256 px, for the fine and the coarse band
_PHOTO_GAINS = (4.0, 2.0)  # bring both bands to about the decode's range


def photo_features(photo: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """photo (B, 3, h, w) in [0, 1] -> (B, PHOTO_FEATURES, *size): the luma minus its local mean
    at a fine and a coarse scale (widths relative to the photo's size), resized to `size`."""
    luma = (photo * photo.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)  # (B, 1, h, w)
    bands = []
    for width, gain in zip(_PHOTO_BLURS, _PHOTO_GAINS):
        k = max(1, round(width * photo.shape[-1] / 256)) | 1  # odd
        bands.append((luma - box_mean(luma, k)) * gain)
    feats = torch.cat(bands, dim=1)  # (B, 2, h, w)
    if tuple(feats.shape[-2:]) != tuple(size):
        feats = F.interpolate(feats, size=size, mode="bilinear", align_corners=False)
    return feats


def box_mean(x: torch.Tensor, k: int) -> torch.Tensor:
    """The mean over each pixel's k x k neighbourhood (odd k, edges replicated), (B, C, H, W):
    what `avg_pool2d(pad(x, k // 2, "replicate"), k, stride=1)` computes, by running sums
    (float64), so a wide box costs what a narrow one does (avg_pool2d adds k² values a pixel)."""
    p = F.pad(x, (k // 2,) * 4, mode="replicate").double()
    c = F.pad(p.cumsum(-1), (1, 0))
    rows = c[..., k:] - c[..., :-k]  # (B, C, H + k - 1, W): sums along each row
    c = F.pad(rows.cumsum(-2), (0, 0, 1, 0))
    return ((c[..., k:, :] - c[..., :-k, :]) / (k * k)).to(x.dtype)


def imagenet_blocks(maps: torch.Tensor, full: tuple[int, int], origin: tuple[int, int],
                    blocks: tuple[int, int], block: int = 8) -> torch.Tensor:
    """maps (B, C, g, g') over a whole output of size `full` (H, W) -> (B, C, *blocks): bilinear
    samples at the centres of the `block`-pixel blocks of a window whose top-left pixel is
    `origin` in that output (the edges extended past the output)."""
    (H, W), (t, l), (bh, bw) = full, origin, blocks
    ys = (t + block * torch.arange(bh, dtype=torch.float32) + block / 2) * 2 / H - 1  # (bh,)
    xs = (l + block * torch.arange(bw, dtype=torch.float32) + block / 2) * 2 / W - 1  # (bw,)
    grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1], dim=-1)  # (bh, bw, 2): (x, y)
    grid = grid.to(maps.device, maps.dtype).expand(maps.shape[0], -1, -1, -1)
    return F.grid_sample(maps, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _film(h: torch.Tensor, film) -> torch.Tensor:
    """FiLM, h * (1 + scale) + shift, as one fused op: in bf16 on channels-last features the
    two broadcast ops cost about four times this one (docs/BENCHMARKS.md, leg 4)."""
    return h if film is None else torch.addcmul(film[1], h, 1 + film[0])


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.SiLU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.SiLU())


class StrokeRenderer(nn.Module):
    """A three-level U-Net of widths (w, 2w, 4w) at 1/2, 1/4 and 1/8 of the output size, and
    a thin full-resolution head over its features, the resized decode and the paper grain."""

    # Context a training crop gets each side: about the receptive field (46 output pixels),
    # rounded up to the 8 px the levels divide by. A crop's interior then draws what the
    # full render draws there, up to the pooling grid's phase.
    MARGIN = 48
    # Sides must be multiples of this (three halvings); other sizes are padded.
    MULTIPLE = 8
    HEAD = 16  # width of the full-resolution head
    LIFT = 8  # feature channels the U-Net hands the head

    def __init__(self, channels: int, width: int, styles: int = 0, photo: bool = False, structure: int = 0,
                 imagenet: int = 0):
        super().__init__()
        w1, w2, w3 = width, 2 * width, 4 * width
        # Channels each FiLM site modulates: down1, down2, mid, up2, the head's hidden layer.
        self.film_sizes = (w1, w2, w3, w2, self.HEAD)
        self.down1 = _block(channels, w1)  # (B, w1, H/2, W/2)
        self.down2 = _block(w1, w2)  # (B, w2, H/4, W/4)
        self.mid = _block(w2, w3)  # (B, w3, H/8, W/8)
        self.up2 = nn.Sequential(nn.Conv2d(w3 + w2, w2, 3, padding=1), nn.SiLU())
        self.up1 = nn.Sequential(nn.Conv2d(w2 + w1, w1, 3, padding=1), nn.SiLU(), nn.Conv2d(w1, self.LIFT, 1))
        # Full resolution: the U-Net's features (bilinear, so no block or shuffle pattern), the
        # decode and the grain. The grain enters only here, where a pixel is a pixel.
        self.head = nn.Sequential(
            nn.Conv2d(self.LIFT + channels + 1, self.HEAD, 3, padding=1), nn.SiLU(),
            nn.Conv2d(self.HEAD, channels, 3, padding=1),
        )
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)
        # Style weights (B, K) -> (scale, shift) for every FiLM site; linear and bias-free, so
        # column k is style k's modulation and no style is no modulation.
        self.style_film = nn.Linear(styles, 2 * sum(self.film_sizes), bias=False) if styles else None
        if self.style_film is not None:
            nn.init.zeros_(self.style_film.weight)
        # The photo's features: into the first level and, gated, into the head (zero at first).
        self.photo_down = self.photo_head = self.photo_gate = None
        if photo:
            self.photo_down = nn.Conv2d(PHOTO_FEATURES, w1, 3, padding=1, bias=False)
            self.photo_head = nn.Conv2d(PHOTO_FEATURES, self.HEAD, 3, padding=1, bias=False)
            self.photo_gate = nn.Conv2d(self.LIFT, 1, 1)
            for conv in (self.photo_down, self.photo_head, self.photo_gate):
                nn.init.zeros_(conv.weight)
            nn.init.zeros_(self.photo_gate.bias)
        # The face-structure map (`structure` channels, the last the person mask) into the first
        # level, zero at first; the person mask also gates the photo's features (model v10).
        self.structure_down = None
        if structure:
            self.structure_down = nn.Conv2d(structure, w1, 3, padding=1, bias=False)
            nn.init.zeros_(self.structure_down.weight)
        # The photo's ImageNet maps (`imagenet` channels) into the coarsest level, zero at first.
        self.imagenet_mid = None
        if imagenet:
            self.imagenet_mid = nn.Conv2d(imagenet, w3, 1, bias=False)
            nn.init.zeros_(self.imagenet_mid.weight)
        # Channels-last weights: oneDNN's fast convolution layout on CPUs (no effect on values).
        self.to(memory_format=torch.channels_last)

    @property
    def sees_photo(self) -> bool:
        return self.photo_down is not None

    @property
    def takes_structure(self) -> bool:
        return self.structure_down is not None

    @property
    def imagenet_channels(self) -> int:
        return 0 if self.imagenet_mid is None else self.imagenet_mid.in_channels

    @property
    def styles(self) -> int:
        return 0 if self.style_film is None else self.style_film.in_features

    def _films(self, style: torch.Tensor | None, batch: int) -> list[tuple[torch.Tensor, torch.Tensor] | None]:
        """Per FiLM site (scale, shift), each (B, c, 1, 1); None everywhere when style-blind."""
        if self.style_film is None or style is None:
            return [None] * len(self.film_sizes)
        w = torch.as_tensor(style, dtype=self.style_film.weight.dtype, device=self.style_film.weight.device)
        w = w.unsqueeze(0) if w.dim() == 1 else w
        if w.shape[-1] != self.styles:
            raise ValueError(f"style weights must have {self.styles} entries, got {tuple(w.shape)}")
        params = self.style_film(w.expand(batch, -1))  # (B, 2 * sum(film_sizes))
        out, i = [], 0
        for c in self.film_sizes:
            scale, shift = params[:, i:i + c], params[:, i + c:i + 2 * c]
            out.append((scale[..., None, None], shift[..., None, None]))
            i += 2 * c
        return out

    resize = staticmethod(resize_sketch)

    def draw(self, up: torch.Tensor, grain: torch.Tensor, style: torch.Tensor | None = None,
             photo: torch.Tensor | None = None, structure: torch.Tensor | None = None,
             imagenet: torch.Tensor | None = None, origin: tuple[int, int] = (0, 0),
             full: tuple[int, int] | None = None) -> torch.Tensor:
        """The renderer on an already resized decode (B, C, H, W) and its grain (B or 1, 1, H, W);
        style: weights (B, K) or (K,) over the model's styles (ignored by a style-blind renderer);
        photo: `photo_features` at the same size (B, PHOTO_FEATURES, H, W), or None (ignored by
        a renderer that does not see the photo); structure: the face-structure map resized to
        the same size (B, C, H, W) in [0, 1], or None (ignored by a renderer that takes none);
        imagenet: the photo's ImageNet maps over the whole output (B, C, g, g), or None (ignored
        by a renderer that takes none), with `full`, the whole output's size (default: this
        window's), and `origin`, this window's top-left pixel in it."""
        H, W = up.shape[-2:]
        if imagenet is not None and self.imagenet_mid is None:
            imagenet = None
        if structure is not None and self.takes_structure:
            if photo is not None:
                photo = photo * structure[:, -1:].to(photo.dtype)  # only where the person is
        else:
            structure = None
        f = self._films(style, up.shape[0])
        m = self.MULTIPLE
        x = up * 2 - 1  # (B, C, H, W)
        ph, pw = -H % m, -W % m
        xp = F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x
        h1 = self.down1(F.avg_pool2d(xp, 2))  # (B, w1, H/2, W/2)
        if photo is not None and self.sees_photo:
            pp = F.pad(photo, (0, pw, 0, ph), mode="replicate") if ph or pw else photo
            h1 = h1 + self.photo_down(F.avg_pool2d(pp, 2))
        if structure is not None:
            sp = F.pad(structure, (0, pw, 0, ph), mode="replicate") if ph or pw else structure
            h1 = h1 + self.structure_down(F.avg_pool2d(sp.to(xp.dtype), 2) * 2 - 1)
        h1 = _film(h1, f[0])
        h2 = _film(self.down2(F.avg_pool2d(h1, 2)), f[1])  # (B, w2, H/4, W/4)
        h3 = self.mid(F.avg_pool2d(h2, 2))  # (B, w3, H/8, W/8)
        if imagenet is not None:
            maps = imagenet_blocks(imagenet.float(), full or (H, W), origin, h3.shape[-2:]).to(h3.dtype)
            if structure is not None:  # only where the person is, as the photo's edges
                maps = maps * F.avg_pool2d(sp[:, -1:].to(h3.dtype), 8)
            h3 = h3 + self.imagenet_mid(maps.contiguous(memory_format=torch.channels_last))
        h3 = _film(h3, f[2])
        u2 = _film(self.up2(torch.cat([F.interpolate(h3, scale_factor=2.0, mode="bilinear"), h2], dim=1)), f[3])
        u1 = self.up1(torch.cat([F.interpolate(u2, scale_factor=2.0, mode="bilinear"), h1], dim=1))
        feat = F.interpolate(u1, scale_factor=2.0, mode="bilinear")[..., :H, :W]  # (B, LIFT, H, W)
        g = grain.expand(up.shape[0], -1, -1, -1) * 2 - 1
        # The decode and the grain in the features' precision before the concatenation: the
        # convolution casts them so anyway, and a mixed cat would make all ten channels fp32.
        pre = self.head[0](torch.cat([feat, x.to(feat.dtype), g.to(feat.dtype)], dim=1))  # (B, HEAD, H, W)
        if photo is not None and self.sees_photo:
            drawn = self.photo_head(photo)  # (B, HEAD, H, W)
            # The gate spread over the head's channels first: broadcasting one channel across
            # channels-last bf16 features is several times slower than a plain product.
            gate = torch.sigmoid(self.photo_gate(feat)).expand_as(drawn).contiguous(memory_format=torch.channels_last)
            pre = torch.addcmul(pre, gate, drawn)
        hidden = _film(self.head[1](pre), f[4])  # (B, HEAD, H, W)
        return up + self.head[2](hidden) / 2  # (B, C, H, W)

    def forward(self, x: torch.Tensor, size: tuple[int, int], style: torch.Tensor | None = None,
                photo: torch.Tensor | None = None, structure: torch.Tensor | None = None,
                imagenet: torch.Tensor | None = None, window: tuple[int, int, int, int] | None = None) -> torch.Tensor:
        """x (B, C, h, w) in [0, 1] -> (B, C, *size) in [0, 1] (unclamped). photo: the photo the
        tokens were sampled for, (B or 1, 3, h', w') in [0, 1] at any size, or None. structure:
        its face-structure map (B or 1, C, s, s) in [0, 1] at any size; made from the photo when
        the renderer takes one and none is given. imagenet: the photo's ImageNet maps (B or 1,
        C, g, g) (`ImageNetFeatures.renderer_maps`), for a renderer that takes them.

        window: (top, left, height, width), a part of the output to draw alone: returns (B, C,
        height, width), what the full render draws there. The network runs only on that part
        and MARGIN pixels around it (the window's origin put on the pooling grid), whose cost
        grows with the pixels drawn: a live frame that changed a mouth redraws the mouth."""
        feats = maps = None
        if photo is not None and self.sees_photo:
            feats = photo_features(photo, size).expand(x.shape[0], -1, -1, -1)
        if self.takes_structure and (structure is not None or photo is not None):
            if structure is None:
                from .face_structure import STRUCTURE_SIZE, structure_maps

                structure = structure_maps(photo, STRUCTURE_SIZE).to(x.device)
            maps = F.interpolate(structure.float(), size=size, mode="bilinear", align_corners=False)
            maps = maps.expand(x.shape[0], -1, -1, -1)
        up, grain = self.resize(x, size), paper_grain(*size).to(x.device)
        origin, inner = (0, 0), None
        if window is not None:
            (t0, l0, b0, r0), inner = self.window_input(window, size)
            up, grain = up[..., t0:b0, l0:r0], grain[..., t0:b0, l0:r0]
            feats = None if feats is None else feats[..., t0:b0, l0:r0]
            maps = None if maps is None else maps[..., t0:b0, l0:r0]
            origin = (t0, l0)
        with bf16_autocast(up.device):
            if imagenet is not None:
                imagenet = imagenet.expand(x.shape[0], -1, -1, -1)
            drawn = self.draw(up, grain, style, feats, maps, imagenet, origin=origin, full=tuple(size))
        if inner is not None:
            drawn = drawn[..., inner[0]:inner[0] + window[2], inner[1]:inner[1] + window[3]]
        return drawn.float()

    @classmethod
    def window_input(cls, window: tuple[int, int, int, int], size: tuple[int, int]):
        """An output window (top, left, height, width) of an output `size` (H, W) -> the input box
        (top, left, bottom, right) the renderer must see to draw it as the full render does
        (MARGIN around it, its origin on the MULTIPLE grid, within the output) and the window's
        (top, left) inside that box."""
        top, left, h, w = window
        H, W = size
        if h <= 0 or w <= 0 or top < 0 or left < 0 or top + h > H or left + w > W:
            raise ValueError(f"window {window} is not inside an output of {tuple(size)}")
        m = cls.MULTIPLE
        t0, l0 = max(0, top - cls.MARGIN) // m * m, max(0, left - cls.MARGIN) // m * m
        b0, r0 = min(H, top + h + cls.MARGIN), min(W, left + w + cls.MARGIN)
        return (t0, l0, b0, r0), (top - t0, left - l0)
