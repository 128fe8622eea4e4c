"""U-ViT masked-token transformer (Bao et al. 2023) for sketch tokens.

Each block: adaptive-norm self-attention over sketch tokens, cross-attention to
the photo's patch tokens plus a style token, and an MLP. Long skip connections
join shallow blocks to deep ones. The style vector (weights over K styles, any
convex mix; all-zero means "no style") enters twice, as in the method: through
the adaptive norms (scale, shift, gate; zero-initialised like DiT's adaLN-Zero)
and as an extra cross-attention token.

Cross-attention keys/values of the photo tokens do not depend on the sketch, so
`prepare_memory` computes them once per photo and the sampler reuses them at
every decoding step.

Styles an artist adds (issue 13) may own low-rank adapters (LoRA, Hu et al. 2021) on
every block's attention and MLP projections, gated by that style's weight: a sketch in
any other style never runs them and is computed exactly as without them, so adding a
style cannot change the styles a model had; a mix gets the adapter in proportion.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ModelConfig


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)  # (B, N, C)


class AdaptedLinear(nn.Linear):
    """A linear layer plus `slots` low-rank adapters, each scaled by its style's weight.

    y = W x + b + sum_s gate_s * B_s A_s x. B starts at zero (a new adapter changes
    nothing until trained). gate None (no adapted style in the batch) skips them: the
    layer is then exactly nn.Linear, bit for bit."""

    def __init__(self, in_features: int, out_features: int, slots: int = 0, rank: int = 0):
        super().__init__(in_features, out_features)
        if slots and rank:
            self.lora_a = nn.Parameter(torch.randn(slots, rank, in_features) / in_features ** 0.5)
            self.lora_b = nn.Parameter(torch.zeros(slots, out_features, rank))
        else:
            self.register_parameter("lora_a", None)
            self.register_parameter("lora_b", None)

    def forward(self, x: torch.Tensor, gate: torch.Tensor | None = None) -> torch.Tensor:
        y = super().forward(x)  # (B, N, out)
        if gate is None or self.lora_a is None:
            return y
        t = torch.einsum("bni,sri->bnsr", x, self.lora_a) * gate[:, None, :, None].to(x.dtype)  # (B, N, S, r)
        return y + torch.einsum("bnsr,sor->bno", t, self.lora_b)


class SelfAttention(nn.Module):
    def __init__(self, width: int, heads: int, slots: int = 0, rank: int = 0):
        super().__init__()
        self.heads = heads
        self.qkv = AdaptedLinear(width, 3 * width, slots, rank)
        self.proj = AdaptedLinear(width, width, slots, rank)

    def forward(self, x: torch.Tensor, gate: torch.Tensor | None = None) -> torch.Tensor:
        B, N, C = x.shape
        qkv = self.qkv(x, gate).view(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # (B, h, N, c)
        return self.proj(y.transpose(1, 2).reshape(B, N, C), gate)


class CrossAttention(nn.Module):
    def __init__(self, width: int, heads: int, slots: int = 0, rank: int = 0):
        super().__init__()
        self.heads = heads
        self.q = AdaptedLinear(width, width, slots, rank)
        self.kv = nn.Linear(width, 2 * width)  # the photo's keys/values: computed once per photo, never adapted
        self.proj = AdaptedLinear(width, width, slots, rank)

    def keys_values(self, memory: torch.Tensor) -> torch.Tensor:
        """memory (B, M, C) -> stacked keys/values (2, B, h, M, c)."""
        B, M, C = memory.shape
        return self.kv(memory).view(B, M, 2, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)

    def forward(self, x: torch.Tensor, kv: torch.Tensor, gate: torch.Tensor | None = None) -> torch.Tensor:
        B, N, C = x.shape
        q = self.q(x, gate).view(B, N, self.heads, C // self.heads).transpose(1, 2)  # (B, h, N, c)
        y = F.scaled_dot_product_attention(q, kv[0], kv[1])  # (B, h, N, c)
        return self.proj(y.transpose(1, 2).reshape(B, N, C), gate)


class Block(nn.Module):
    def __init__(self, width: int, heads: int, mlp_ratio: float, dropout: float, skip: bool,
                 slots: int = 0, rank: int = 0):
        super().__init__()
        # U-ViT long skip: concat(deep, shallow) -> linear back to width.
        self.skip = nn.Linear(2 * width, width) if skip else None
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False)
        self.attn = SelfAttention(width, heads, slots, rank)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False)
        self.cross = CrossAttention(width, heads, slots, rank)
        self.norm3 = nn.LayerNorm(width, elementwise_affine=False)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(
            AdaptedLinear(width, hidden, slots, rank), nn.GELU(approximate="tanh"), nn.Dropout(dropout),
            AdaptedLinear(hidden, width, slots, rank),
        )
        # Style -> (shift, scale, gate) for the three sub-layers; zero-init = identity start.
        self.ada = nn.Linear(width, 9 * width)
        nn.init.zeros_(self.ada.weight)
        nn.init.zeros_(self.ada.bias)

    def _mlp(self, x: torch.Tensor, gate: torch.Tensor | None) -> torch.Tensor:
        fc1, act, drop, fc2 = self.mlp
        return fc2(drop(act(fc1(x, gate))), gate)

    def forward(self, x, style, kv, skip=None, gate=None):
        if self.skip is not None:
            x = self.skip(torch.cat([x, skip], dim=-1))  # (B, N, C)
        s1, c1, g1, s2, c2, g2, s3, c3, g3 = self.ada(F.silu(style)).chunk(9, dim=-1)  # 9 x (B, C)
        x = x + (1 + g1.unsqueeze(1)) * self.attn(modulate(self.norm1(x), s1, c1), gate)
        x = x + (1 + g2.unsqueeze(1)) * self.cross(modulate(self.norm2(x), s2, c2), kv, gate)
        x = x + (1 + g3.unsqueeze(1)) * self._mlp(modulate(self.norm3(x), s3, c3), gate)
        return x


@dataclass
class Memory:
    """Per-photo cross-attention state: projected photo tokens and each block's keys/values."""

    tokens: torch.Tensor  # (B, M, C)
    kv: list[torch.Tensor]  # per block (2, B, h, M, c)
    photo: torch.Tensor | None = None  # (B, 3, h, w) in [0, 1]: the photo, for the renderer
    _cast: dict = field(default_factory=dict, repr=False, compare=False)  # dtype -> this memory in it

    def to_dtype(self, dtype: torch.dtype) -> "Memory":
        """The same memory with its tokens and keys/values in `dtype`, made once per memory
        (a decode casts it for every step otherwise); the photo stays as it is."""
        if self.tokens.dtype == dtype:
            return self
        if dtype not in self._cast:
            self._cast[dtype] = Memory(self.tokens.to(dtype), [kv.to(dtype) for kv in self.kv], self.photo)
        return self._cast[dtype]

    def repeat(self, n: int) -> "Memory":
        """The same photo n times along the batch (for guidance passes)."""
        photo = None if self.photo is None else self.photo.repeat(n, 1, 1, 1)
        return Memory(self.tokens.repeat(n, 1, 1), [kv.repeat(1, n, 1, 1, 1) for kv in self.kv], photo)


class SmoothingHead(nn.Module):
    """Self-guidance auxiliary head (Hur et al. 2024).

    A small residual MLP on the final hidden state, fine-tuned to predict a
    semantically smoothed token distribution; it shares the output projection.
    Zero-initialised, so before fine-tuning it reproduces the main logits and
    guidance is a no-op rather than noise.
    """

    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.net(h)  # (B, N, C)


class MaskedTokenTransformer(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        t = cfg.transformer
        self.cfg = cfg
        C = t.width
        self.num_styles = len(cfg.styles)
        self.tok_emb = nn.Embedding(cfg.tokenizer.codebook_size + 1, C)  # +1: the mask token
        self.pos_emb = nn.Parameter(torch.zeros(1, cfg.num_tokens, C))
        self.mem_proj = nn.Sequential(nn.Linear(cfg.encoder.width, C), nn.LayerNorm(C))
        self.mem_pos = nn.Parameter(torch.zeros(1, cfg.encoder.num_tokens, C))
        self.align = nn.Linear(C, C) if t.aligned_condition else None
        self.style_emb = nn.Parameter(torch.randn(self.num_styles, C) * 0.02)
        self.null_style = nn.Parameter(torch.zeros(C))
        half = t.depth // 2
        # Styles with adapters, as indices into the style weights (their gates).
        self.adapter_index = [cfg.styles.index(s) for s in t.adapter_styles]
        ad = (len(self.adapter_index), t.adapter_rank)
        self.in_blocks = nn.ModuleList(Block(C, t.heads, t.mlp_ratio, t.dropout, False, *ad) for _ in range(half))
        self.mid_block = Block(C, t.heads, t.mlp_ratio, t.dropout, False, *ad)
        self.out_blocks = nn.ModuleList(Block(C, t.heads, t.mlp_ratio, t.dropout, True, *ad) for _ in range(half))
        self.norm_out = nn.LayerNorm(C, elementwise_affine=False)
        self.ada_out = nn.Linear(C, 2 * C)
        nn.init.zeros_(self.ada_out.weight)
        nn.init.zeros_(self.ada_out.bias)
        self.head = nn.Linear(C, cfg.tokenizer.codebook_size)
        self.smooth = SmoothingHead(C, t.smooth_hidden)
        nn.init.normal_(self.pos_emb, std=0.02)
        nn.init.normal_(self.mem_pos, std=0.02)

    @property
    def blocks(self) -> list[Block]:
        return [*self.in_blocks, self.mid_block, *self.out_blocks]

    def style_vector(self, weights: torch.Tensor) -> torch.Tensor:
        """weights (B, K), each row a convex mix or all zeros (no style) -> (B, C).

        Missing mass (1 - sum w) goes to the learned null style, so style-free
        guidance and style dropout use the same parameters.
        """
        w = weights.to(self.style_emb.dtype)
        return w @ self.style_emb + (1 - w.sum(dim=1, keepdim=True)) * self.null_style

    def adapter_gate(self, weights: torch.Tensor) -> torch.Tensor | None:
        """weights (B, K) -> each adapter's gate (B, S): its style's weight; None when no
        sketch in the batch uses an adapted style (then no adapter runs)."""
        if not self.adapter_index:
            return None
        gate = weights[:, self.adapter_index]  # (B, S)
        return gate if bool(gate.any()) else None

    def prepare_memory(self, photo_tokens: torch.Tensor) -> Memory:
        """photo_tokens (B, M, encoder width) -> cached cross-attention state."""
        m = self.mem_proj(photo_tokens) + self.mem_pos  # (B, M, C)
        return Memory(m, [b.cross.keys_values(m) for b in self.blocks])

    def _with_style_token(self, memory: Memory, block_index: int, block: Block, style: torch.Tensor):
        kv = memory.kv[block_index]  # (2, B, h, M, c)
        style_kv = block.cross.keys_values(style.unsqueeze(1))  # (2, B, h, 1, c)
        return torch.cat([kv, style_kv], dim=3)  # (2, B, h, M+1, c)

    def forward(self, tokens: torch.Tensor, memory: Memory, style_weights: torch.Tensor,
                return_smooth: bool = False):
        """tokens (B, N) ids (mask id where masked) -> logits (B, N, K) [, smoothed logits]."""
        style = self.style_vector(style_weights)  # (B, C)
        gate = self.adapter_gate(style_weights)
        x = self.tok_emb(tokens) + self.pos_emb  # (B, N, C)
        if self.align is not None:
            x = x + self.align(memory.tokens)  # photo patch at the same grid position
        skips = []
        blocks = self.blocks
        half = len(self.in_blocks)
        for i, block in enumerate(blocks):
            kv = self._with_style_token(memory, i, block, style)
            if i < half:
                x = block(x, style, kv, gate=gate)
                skips.append(x)
            elif i == half:
                x = block(x, style, kv, gate=gate)
            else:
                x = block(x, style, kv, skips.pop(), gate=gate)
        shift, scale = self.ada_out(F.silu(style)).chunk(2, dim=-1)  # (B, C) each
        h = modulate(self.norm_out(x), shift, scale)  # (B, N, C)
        logits = self.head(h)  # (B, N, K)
        if not return_smooth:
            return logits
        # The smoothing head is auxiliary: it learns on a detached trunk and a detached
        # output projection, so training it never changes the main prediction.
        smooth = F.linear(self.smooth(h.detach()), self.head.weight.detach(), self.head.bias.detach())
        return logits, smooth
