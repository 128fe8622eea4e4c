"""Frozen configuration dataclasses: the one source of truth for a model's shape.

A `ModelConfig` is stored as JSON inside every checkpoint, so a checkpoint
rebuilds exactly the architecture that wrote it. Presets are plain functions
in `PRESETS`; no class names travel in strings.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

# Names the three FS2K drawing styles get in the CLI, the app and the model card.
FS2K_STYLES = ("contour", "charcoal", "pencil")


@dataclass(frozen=True)
class EncoderConfig:
    """Photo feature encoder: an open_clip vision tower returning patch tokens."""

    clip_model: str = "SketchStudio-ViT"  # open_clip model name; "ViT-L-14" for the paper preset
    image_size: int = 256
    patch_size: int = 16
    width: int = 192
    layers: int = 4
    head_width: int = 48
    pretrained: bool = False  # True: weights come from a local CLIP file the user names; False: trained from scratch
    # A patch embedding of the photo's difference-of-Gaussians edge map, added to the patch
    # tokens: hands the transformer line positions cheaply (False: the tower's tokens alone).
    edge_patches: bool = True
    # A patch embedding of the photo's face-structure map (core/face_structure.py: the jaw,
    # brows, eyes, nose and lips as lines, and the person mask; 6: the map, 0: none), drawn
    # at `structure_size`: what an encoder trained on ~1,000 photos cannot learn itself.
    structure_channels: int = 0
    # Frozen ImageNet features (core/imagenet.py: MobileNetV2's stride-16 map, 96 channels; 0:
    # none) added to the patch tokens through a zero-initialised projection.
    imagenet_channels: int = 0

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size

    @property
    def structure_size(self) -> int:
        """Side of the structure map the encoder takes: 4 pixels a patch."""
        return self.grid * 4

    @property
    def num_tokens(self) -> int:
        return self.grid * self.grid


@dataclass(frozen=True)
class TokenizerConfig:
    """VQ sketch tokenizer: pixel-unshuffle stem + taming Encoder/Decoder + VectorQuantizer2.

    The unshuffle stem moves the 256 px convolutions down to 64 px, where they are
    cheap on a CPU; the factorised, l2-normalised codebook keeps codes alive
    (both measured in shared/ENVIRONMENT.md, recipe B).
    """

    image_size: int = 256
    channels: int = 1  # greyscale sketches
    unshuffle: int = 4
    ch: int = 32  # 64 measured 10x slower per training step on 2 cores (docs/BENCHMARKS.md)
    ch_mult: tuple[int, ...] = (1, 2, 4)
    num_res_blocks: int = 1
    z_channels: int = 64
    codebook_size: int = 512
    code_dim: int = 16
    beta: float = 0.25
    # Width of a small full-resolution conv head after the pixel shuffle (0: none), trained
    # by the adversarial decoder stage: without it a GAN-trained decoder paints the
    # shuffle's 4x4 period as a dot grid instead of paper grain.
    refine_channels: int = 0
    # The finished sketch at any size: `upscale` x the decoder's size when none is asked for
    # (it counts only with a texture head or a renderer; 1: the decoder's size). A texture
    # head of `upscale_channels` (0: none; the finished sketch is the decoder's, resized)
    # draws it, trained by the `upscale` stage on drawings at their own resolution: resizing
    # the decoder's 256 px to a drawing's 250-475 px smooths away the pencil grain.
    upscale: int = 1
    upscale_channels: int = 0
    # The stroke renderer (core/renderer.py): a small U-Net of this base width that draws the
    # finished sketch in place of the texture head, with the context (about 40 px each side)
    # that turns token decodes into strokes (0: none).
    renderer_channels: int = 0
    # The renderer takes the style weights and modulates its features by them (FiLM, one
    # column per style): this many styles, which must be the model's own number (0: it draws
    # one stroke texture for every style).
    renderer_styles: int = 0
    # The renderer also sees the photo the tokens were sampled for, as edge features (the
    # luma minus its local mean at two scales; core/renderer.py). False: no photo features,
    # the tokens (and the structure map, if it takes one) decide what is drawn.
    renderer_photo: bool = False
    # The renderer takes the face-structure map, this many channels (core/renderer.py): the
    # parts' lines into its first level, and the photo's edges only where the map's person
    # mask is (0: no map; the photo's edges, if it sees them, everywhere).
    renderer_structure: int = 0
    # The renderer takes the photo's frozen ImageNet maps, this many channels (core/imagenet.py's
    # RENDERER_CHANNELS; the model's encoder must hold the ImageNet trunk), into its coarsest
    # level (0: none).
    renderer_imagenet: int = 0
    # Tone curves on the finished sketch, one per style (core/tone.py), fitted by `train
    # tone`: this many styles, which must be the model's own number (0: no curves).
    tone_styles: int = 0

    @property
    def grid(self) -> int:
        return self.image_size // self.unshuffle // 2 ** (len(self.ch_mult) - 1)

    @property
    def output_size(self) -> int:
        return self.image_size * (self.upscale if self.upscale_channels or self.renderer_channels else 1)


@dataclass(frozen=True)
class TransformerConfig:
    """U-ViT masked-token transformer with cross-attention and adaptive norms."""

    width: int = 256
    depth: int = 7  # odd: depth//2 in-blocks, one mid-block, depth//2 out-blocks with long skips
    heads: int = 4
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    smooth_hidden: int = 128  # width of the self-guidance smoothing head
    # Add each photo patch token to the sketch token at the same grid position (needs equal
    # grids): a direct local path from photo to sketch besides cross-attention.
    aligned_condition: bool = True
    # Styles an artist added (the wizard's new style), each owning low-rank adapters of rank
    # `adapter_rank`: only a sketch in one of them runs its adapter, so the other styles are
    # untouched (0 and (): no adapters).
    adapter_rank: int = 0
    adapter_styles: tuple[str, ...] = ()
    # Styles whose predictions already include style guidance `learnt_guidance` (taught by
    # the distill stage): the sampler gives every other style (one an artist adds later, the
    # synthetic ones) that guidance itself, so they draw as they would without it learnt
    # (0.0: no guidance learnt, the sampler's `style_guidance` alone for every style).
    guided_styles: tuple[str, ...] = ()
    learnt_guidance: float = 0.0


@dataclass(frozen=True)
class ModelConfig:
    name: str = "default"
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    transformer: TransformerConfig = field(default_factory=TransformerConfig)
    styles: tuple[str, ...] = FS2K_STYLES

    def __post_init__(self) -> None:
        _check_limits(self)
        if self.transformer.depth % 2 != 1:
            raise ValueError("transformer.depth must be odd (in-blocks, mid-block, out-blocks)")
        if self.encoder.image_size % self.encoder.patch_size:
            raise ValueError("encoder.image_size must be a multiple of encoder.patch_size")
        if self.transformer.aligned_condition and self.encoder.grid != self.tokenizer.grid:
            raise ValueError("aligned_condition needs encoder and tokenizer grids of equal size")
        if not self.styles:
            raise ValueError("a model needs at least one style")
        if len(set(self.styles)) != len(self.styles):
            raise ValueError(f"duplicate style names: {self.styles}")
        t = self.transformer
        if t.adapter_styles and (not t.adapter_rank or not set(t.adapter_styles) <= set(self.styles)
                                 or len(set(t.adapter_styles)) != len(t.adapter_styles)):
            raise ValueError(f"adapter styles {t.adapter_styles} must be distinct styles of the model "
                             f"{self.styles}, with adapter_rank > 0")
        if self.tokenizer.renderer_styles not in (0, len(self.styles)):
            raise ValueError(f"a style-aware renderer needs one column per style: renderer_styles "
                             f"{self.tokenizer.renderer_styles}, styles {len(self.styles)}")
        if self.tokenizer.tone_styles not in (0, len(self.styles)):
            raise ValueError(f"tone curves need one per style: tone_styles {self.tokenizer.tone_styles}, "
                             f"styles {len(self.styles)}")

    @property
    def grid(self) -> int:
        return self.tokenizer.grid

    @property
    def num_tokens(self) -> int:
        return self.grid * self.grid

    @property
    def mask_id(self) -> int:
        # The mask token sits just past the codebook.
        return self.tokenizer.codebook_size

    # --- serialisation -------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        def build(klass, values):
            names = {f.name for f in dataclasses.fields(klass)}
            unknown = set(values) - names
            if unknown:
                raise ValueError(f"unknown {klass.__name__} fields: {sorted(unknown)}")
            kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
            return klass(**kwargs)

        d = dict(d)
        tok = dict(d.pop("tokenizer"))
        # Files written while the renderer's person gate existed (2026-12-03, never shipped):
        # off, it changed nothing; on, it was the person mask alone, now part of the structure path.
        if tok.pop("renderer_person_gate", False):
            raise ValueError("this file's renderer gates the photo by a person mask alone (an unshipped "
                             "experiment): no longer supported")
        return cls(
            name=d.pop("name"),
            encoder=build(EncoderConfig, d.pop("encoder")),
            tokenizer=build(TokenizerConfig, tok),
            transformer=build(TransformerConfig, d.pop("transformer")),
            styles=tuple(d.pop("styles")),
            **({} if not d else _raise_unknown(d)),
        )

    @classmethod
    def from_json(cls, text: str) -> "ModelConfig":
        return cls.from_dict(json.loads(text))

    def with_styles(self, styles: tuple[str, ...]) -> "ModelConfig":
        """The same model with other styles (a style-aware renderer and the tone curves follow their number)."""
        tok = self.tokenizer
        if tok.renderer_styles:
            tok = dataclasses.replace(tok, renderer_styles=len(styles))
        if tok.tone_styles:
            tok = dataclasses.replace(tok, tone_styles=len(styles))
        return dataclasses.replace(self, styles=tuple(styles), tokenizer=tok)


# Upper bounds on every size a config may ask for: a model file's config is built before its
# weights are read, so without them a few bytes of JSON could ask for terabytes. The paper
# preset (ViT-L/14, width 1024, 24 layers) sits well inside.
_LIMITS = {
    "EncoderConfig": {"image_size": 1024, "patch_size": 64, "width": 4096, "layers": 96, "head_width": 512,
                      "structure_channels": 16, "imagenet_channels": 96},
    "TokenizerConfig": {"image_size": 1024, "channels": 4, "unshuffle": 16, "ch": 512, "num_res_blocks": 8,
                        "z_channels": 1024, "codebook_size": 65536, "code_dim": 1024, "refine_channels": 256,
                        "upscale": 8, "upscale_channels": 256, "renderer_channels": 128,
                        "renderer_styles": 1024, "tone_styles": 1024},
    "TransformerConfig": {"width": 4096, "depth": 97, "heads": 64, "smooth_hidden": 4096, "adapter_rank": 256},
}


def _check_limits(cfg: "ModelConfig") -> None:
    for part in (cfg.encoder, cfg.tokenizer, cfg.transformer):
        for name, top in _LIMITS[type(part).__name__].items():
            v = getattr(part, name)
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= top:
                raise ValueError(f"{type(part).__name__}.{name} must be an integer in 0..{top}, got {v!r}")
    mult = cfg.tokenizer.ch_mult
    if not 1 <= len(mult) <= 8 or not all(isinstance(m, int) and 1 <= m <= 16 for m in mult):
        raise ValueError(f"TokenizerConfig.ch_mult must be 1-8 integers in 1..16, got {mult!r}")
    if not 0 < cfg.transformer.mlp_ratio <= 16:
        raise ValueError(f"TransformerConfig.mlp_ratio must be in (0, 16], got {cfg.transformer.mlp_ratio!r}")
    if len(cfg.styles) > 1024 or len(cfg.transformer.adapter_styles) > 1024:
        raise ValueError(f"at most 1024 styles, got {len(cfg.styles)}")


def _raise_unknown(d: dict) -> dict:
    raise ValueError(f"unknown ModelConfig fields: {sorted(d)}")


def tiny() -> ModelConfig:
    """For tests: builds in milliseconds, 8x8 tokens over 32x32 sketches.

    (taming's GroupNorm needs multiples of 32 channels, hence ch=32.)
    """
    return ModelConfig(
        name="tiny",
        encoder=EncoderConfig(image_size=32, patch_size=4, width=32, layers=1, head_width=16),
        tokenizer=TokenizerConfig(
            image_size=32, unshuffle=2, ch=32, ch_mult=(1, 1), num_res_blocks=1,
            z_channels=8, codebook_size=32, code_dim=4,
        ),
        transformer=TransformerConfig(width=32, depth=3, heads=2, mlp_ratio=2.0, smooth_hidden=16),
    )


def default() -> ModelConfig:
    """The CPU model we ship: 256x256 sketches, 16x16 tokens, 512 codes."""
    return ModelConfig(name="default")


def paper() -> ModelConfig:
    """Paper scale: CLIP ViT-L/14 (local weights file) at 224 px -> 16x16 patch tokens, 1024 codes."""
    return ModelConfig(
        name="paper",
        encoder=EncoderConfig(
            clip_model="ViT-L-14", image_size=224, patch_size=14, width=1024, layers=24,
            head_width=64, pretrained=True,
        ),
        tokenizer=TokenizerConfig(codebook_size=1024, ch=128, code_dim=32),
        transformer=TransformerConfig(width=768, depth=13, heads=12, smooth_hidden=256),
    )


PRESETS = {"tiny": tiny, "default": default, "paper": paper}


def preset(name: str) -> ModelConfig:
    try:
        return PRESETS[name]()
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None
