"""MaskGIT parallel decoding as one generator of steps.

`iter_steps` yields a `StepResult` after every decoding step and stops at the
next step boundary once its `CancelToken` is set. The Qt worker, the CLI and
the tests all consume it; `sample` just drains it.

One step (Chang et al. 2022): predict every position in parallel, sample a
token for each masked position, score it by its probability plus Gumbel noise
annealed towards zero, keep the most confident and re-mask the rest so that the
masked count follows the schedule γ. Known tokens are never re-masked.

Guidance, both optional and combinable on the logits ℓ:
  * self-guidance (Hur et al. 2024): ℓ + s·(ℓ − ℓ_smooth), ℓ_smooth from the
    model's small smoothing head (no extra transformer pass);
  * style-free guidance: ℓ + s·(ℓ − ℓ_null), ℓ_null from a pass with no style
    (doubles the batch). A model that has learnt guidance for its styles (distill stage)
    runs that pass only for styles that have not (`style_guidance_per_row`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch

from .model import SketchModel
# The settings and the cancel token live in a torch-free module (the window uses them before
# PyTorch is imported); they are imported from here as well.
from .sampler_settings import PREVIEWS, RECOMMENDABLE, CancelToken, SamplerSettings, recommended_settings  # noqa: F401
from .schedule import gumbel_noise, lowest_k_mask, mask_counts
from .transformer import Memory


class SamplingCancelled(Exception):
    pass


@dataclass
class StepResult:
    step: int  # 0-based index of the step just done
    total: int
    tokens: torch.Tensor  # (B, N) long; mask id where still masked
    mask: torch.Tensor  # (B, N) bool, True = still masked
    newly_fixed: torch.Tensor  # (B, N) bool, fixed in this step
    predicted: torch.Tensor  # (B, N) long: the model's token for every position (x0 estimate)
    confidence: torch.Tensor  # (B, N) float in [0, 1]: probability of `predicted`
    preview: torch.Tensor | None  # (B, 1, g, g) for "cheap", (B, 1, H, W) for "full", in [0, 1]
    style: torch.Tensor | None = None  # (B, K): the style weights decoded with (model.decode(tokens, style=...))
    photo: torch.Tensor | None = None  # (B, 3, h, w) in [0, 1]: the photo sampled for (model.decode(..., photo=...))

    @property
    def done(self) -> bool:
        return self.step == self.total - 1

    @property
    def grid(self) -> int:
        return int(round(self.tokens.shape[1] ** 0.5))


def style_weights_tensor(weights, batch: int, num_styles: int) -> torch.Tensor:
    w = torch.as_tensor(weights, dtype=torch.float32)
    if w.dim() == 1:
        w = w.unsqueeze(0).expand(batch, -1)
    if w.shape != (batch, num_styles):
        raise ValueError(f"style weights must have shape ({batch}, {num_styles}), got {tuple(w.shape)}")
    return w


def style_guidance_per_row(model: SketchModel, style_w: torch.Tensor, s: SamplerSettings) -> torch.Tensor:
    """(B,) style guidance for each row of style weights (B, K): the settings' guidance, plus,
    on a model that has learnt guidance for some styles (`TransformerConfig.guided_styles`),
    that guidance for the share of the other styles in the row (none for rows with no style)."""
    g = torch.full((style_w.shape[0],), float(s.style_guidance), device=style_w.device)
    t = model.cfg.transformer
    if t.learnt_guidance:
        unlearnt = torch.tensor([name not in t.guided_styles for name in model.styles],
                                dtype=style_w.dtype, device=style_w.device)  # (K,)
        g = g + t.learnt_guidance * (style_w * unlearnt).sum(dim=1)
    return g


def _guided_logits(model: SketchModel, tokens, memory: Memory, style_w, s: SamplerSettings):
    want_smooth = s.self_guidance != 0
    scale = style_guidance_per_row(model, style_w, s)  # (B,)
    if bool((scale != 0).any()):
        B = tokens.shape[0]
        out = model.logits(
            torch.cat([tokens, tokens]), memory.repeat(2),
            torch.cat([style_w, torch.zeros_like(style_w)]), return_smooth=want_smooth,
        )
        logits, smooth = (out if want_smooth else (out, None))
        logits, null = logits[:B], logits[B:]
        smooth = smooth[:B] if smooth is not None else None
        guided = logits + scale.view(-1, 1, 1) * (logits - null)
    else:
        out = model.logits(tokens, memory, style_w, return_smooth=want_smooth)
        logits, smooth = (out if want_smooth else (out, None))
        guided = logits
    if want_smooth:
        guided = guided + s.self_guidance * (logits - smooth)
    return guided  # (B, N, K)


def finished(model: SketchModel, result: StepResult, size: tuple[int, int] | None = None,
             texture: bool = True) -> torch.Tensor:
    """The sketch (B, 1, H, W) in [0, 1] drawn from a step's tokens, with the style weights and
    the photo they were sampled with (see SketchModel.decode for size and texture)."""
    return model.decode(result.tokens, size, texture, style=result.style, photo=result.photo)


def _preview(model: SketchModel, predicted: torch.Tensor, kind: str, final: bool = False, style=None, photo=None):
    if kind == "none":
        return None
    if kind == "full":
        # The last step is the finished sketch; earlier ones skip the renderer (at 512 px
        # it costs several VQ decodes) and are only resized to the same size.
        return model.decode(predicted, texture=final, style=style, photo=photo)  # (B, 1, H, W)
    g = model.cfg.grid
    luma = model.tokenizer.code_luma()[predicted]  # (B, N)
    return luma.view(-1, 1, g, g)


@torch.inference_mode()
def iter_steps(
    model: SketchModel,
    photo: torch.Tensor | None = None,
    style=None,
    settings: SamplerSettings = SamplerSettings(),
    *,
    memory: Memory | None = None,
    init_tokens: torch.Tensor | None = None,
    redraw_mask: torch.Tensor | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[StepResult]:
    """Decode sketch tokens for `photo` (B, 3, S, S) in [0, 1] in `settings.steps` steps.

    style: weights over `model.styles`, shape (K,) or (B, K); default the first style.
    memory: a cached `model.condition(photo)`, to skip the encoder (live style changes).
    init_tokens + redraw_mask (B, N) bool: keep init_tokens where the mask is False and
    decode only the masked positions (re-drawing a region).
    """
    s = settings
    cfg = model.cfg
    if memory is None:
        if photo is None:
            raise ValueError("iter_steps needs a photo or a prepared memory")
        memory = model.condition(photo)
    B, N, mask_id = memory.tokens.shape[0], cfg.num_tokens, cfg.mask_id
    device = memory.tokens.device
    if style is None:
        style = torch.nn.functional.one_hot(torch.tensor(0), len(cfg.styles)).float()
    style_w = style_weights_tensor(style, B, len(cfg.styles)).to(device)

    if init_tokens is None:
        tokens = torch.full((B, N), mask_id, dtype=torch.long, device=device)
    else:
        if redraw_mask is None:
            raise ValueError("init_tokens needs a redraw_mask saying which tokens to re-draw")
        tokens = torch.where(redraw_mask.to(device), mask_id, init_tokens.to(device))
    # Each row follows the schedule from its own number of unknown tokens.
    counts = torch.tensor(
        [mask_counts(int(n), s.steps, s.schedule) for n in (tokens == mask_id).sum(dim=1)]
    )  # (B, steps)
    gen = torch.Generator(device="cpu").manual_seed(s.seed)

    for t in range(s.steps):
        if cancel is not None and cancel.cancelled:
            return
        unknown = tokens == mask_id  # (B, N)
        logits = _guided_logits(model, tokens, memory, style_w, s).float()  # (B, N, K)
        if s.top_k:
            kth = logits.topk(s.top_k, dim=-1).values[..., -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        logp = logits.log_softmax(dim=-1)  # (B, N, K)
        if s.temperature > 0:
            noise = gumbel_noise(logp.shape, gen).to(device)
            sampled = (logp / s.temperature + noise).argmax(dim=-1)  # Gumbel-max sample, (B, N)
        else:
            sampled = logp.argmax(dim=-1)
        predicted = torch.where(unknown, sampled, tokens)  # known tokens are kept
        conf_logp = logp.gather(-1, predicted.unsqueeze(-1)).squeeze(-1)  # (B, N)
        confidence = conf_logp.exp().masked_fill(~unknown, 1.0)

        ratio = (t + 1) / s.steps
        score = conf_logp + s.noise * (1.0 - ratio) * gumbel_noise(conf_logp.shape, gen).to(device)
        score = score.masked_fill(~unknown, float("inf"))  # never re-mask known tokens
        remask = lowest_k_mask(score, counts[:, t])  # (B, N)
        new_tokens = torch.where(remask, mask_id, predicted)
        newly_fixed = unknown & ~remask
        tokens = new_tokens
        yield StepResult(
            step=t, total=s.steps, tokens=tokens.clone(), mask=remask, newly_fixed=newly_fixed,
            predicted=predicted, confidence=confidence,
            preview=_preview(model, predicted, "full" if (t == s.steps - 1 and s.preview != "none") else s.preview,
                             final=t == s.steps - 1, style=style_w, photo=memory.photo),
            style=style_w, photo=memory.photo,
        )


def sample(model: SketchModel, photo=None, style=None, settings: SamplerSettings = SamplerSettings(),
           **kwargs) -> StepResult:
    """Drain `iter_steps`; returns the last step (its `preview` is the decoded sketch)."""
    last = None
    for last in iter_steps(model, photo, style, settings, **kwargs):
        pass
    if last is None or not last.done:
        raise SamplingCancelled("decoding was cancelled")
    return last
