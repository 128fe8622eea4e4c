"""MaskGIT sampler invariants, checked on every step `iter_steps` yields."""
import copy
import dataclasses

import pytest
import torch

from sketchstudio.core import CancelToken, SamplerSettings, iter_steps, sample
from sketchstudio.core.sampler import SamplingCancelled
from sketchstudio.core.schedule import SCHEDULES, mask_counts

STEPS = 6


def run(model, photo, settings=SamplerSettings(steps=STEPS), **kwargs):
    return list(iter_steps(model, photo, settings=settings, **kwargs))


def check_invariants(model, steps, start_tokens=None):
    """Masks are consistent, fixed tokens never change, the last step has no masks.

    (Callers check the mask counts against `mask_counts`.)
    """
    cfg = model.cfg
    mask_id, K = cfg.mask_id, cfg.tokenizer.codebook_size
    prev = start_tokens if start_tokens is not None else torch.full_like(steps[0].tokens, mask_id)
    for r in steps:
        masked = r.tokens == mask_id
        assert torch.equal(masked, r.mask)
        fixed_before = prev != mask_id
        assert torch.equal(r.tokens[fixed_before], prev[fixed_before])  # never re-masked or changed
        assert torch.equal(r.newly_fixed, (prev == mask_id) & ~masked)
        assert torch.equal(r.predicted[~masked], r.tokens[~masked])
        assert r.predicted.min() >= 0 and r.predicted.max() < K
        assert r.confidence.min() >= 0 and r.confidence.max() <= 1
        prev = r.tokens
    last = steps[-1]
    assert last.done and not last.mask.any()
    assert last.tokens.min() >= 0 and last.tokens.max() < K


def masked_counts(steps, mask_id):
    return torch.stack([(r.tokens == mask_id).sum(dim=1) for r in steps], dim=1).tolist()  # (B, steps)


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
def test_mask_counts_follow_the_schedule(tiny_model, tiny_photo, schedule):
    cfg = tiny_model.cfg
    steps = run(tiny_model, tiny_photo, SamplerSettings(steps=STEPS, schedule=schedule))
    assert [r.step for r in steps] == list(range(STEPS)) and all(r.total == STEPS for r in steps)
    assert masked_counts(steps, cfg.mask_id) == [mask_counts(cfg.num_tokens, STEPS, schedule)]
    check_invariants(tiny_model, steps)


def test_previews(tiny_model, tiny_photo):
    g, H = tiny_model.cfg.grid, tiny_model.sketch_size
    cheap = run(tiny_model, tiny_photo, SamplerSettings(steps=3, preview="cheap"))
    assert [tuple(r.preview.shape) for r in cheap] == [(1, 1, g, g)] * 2 + [(1, 1, H, H)]
    none = run(tiny_model, tiny_photo, SamplerSettings(steps=3, preview="none"))
    assert all(r.preview is None for r in none)
    with torch.no_grad():
        assert torch.equal(cheap[-1].preview, tiny_model.decode(cheap[-1].tokens))


def test_same_seed_same_tokens_other_seed_other_tokens(tiny_model, tiny_photo):
    a = sample(tiny_model, tiny_photo, settings=SamplerSettings(steps=4, seed=7)).tokens
    b = sample(tiny_model, tiny_photo, settings=SamplerSettings(steps=4, seed=7)).tokens
    c = sample(tiny_model, tiny_photo, settings=SamplerSettings(steps=4, seed=8)).tokens
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_sample_is_the_last_step(tiny_model, tiny_photo):
    s = SamplerSettings(steps=4, seed=3)
    steps = run(tiny_model, tiny_photo, s)
    last = sample(tiny_model, tiny_photo, settings=s)
    assert last.step == steps[-1].step == 3
    assert torch.equal(last.tokens, steps[-1].tokens)
    assert torch.equal(last.preview, steps[-1].preview)


def test_prepared_memory_gives_the_same_result(tiny_model, tiny_photo):
    s = SamplerSettings(steps=4, seed=3)
    with torch.inference_mode():
        memory = tiny_model.condition(tiny_photo)
    a = sample(tiny_model, tiny_photo, settings=s).tokens
    b = sample(tiny_model, settings=s, memory=memory).tokens
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="photo"):
        next(iter_steps(tiny_model))


def test_cancel_stops_at_the_next_step_boundary(tiny_model, tiny_photo):
    cancel = CancelToken()
    seen = []
    for r in iter_steps(tiny_model, tiny_photo, settings=SamplerSettings(steps=STEPS), cancel=cancel):
        seen.append(r.step)
        if r.step == 1:
            cancel.cancel()
    assert seen == [0, 1]
    assert cancel.cancelled


class CancelAfter(CancelToken):
    """Cancels itself once it has been asked `n` times (i.e. mid-way through decoding)."""

    def __init__(self, n):
        super().__init__()
        self.n = n

    @property
    def cancelled(self):
        self.n -= 1
        if self.n < 0:
            self.cancel()
        return super().cancelled


def test_sample_raises_when_cancelled(tiny_model, tiny_photo):
    with pytest.raises(SamplingCancelled):
        sample(tiny_model, tiny_photo, settings=SamplerSettings(steps=STEPS), cancel=CancelAfter(2))
    done = CancelToken()
    done.cancel()
    assert run(tiny_model, tiny_photo, cancel=done) == []


def test_redraw_keeps_the_unmasked_tokens(tiny_model, tiny_photo):
    cfg = tiny_model.cfg
    init = sample(tiny_model, tiny_photo, settings=SamplerSettings(steps=4, seed=1)).tokens
    redraw = torch.zeros(1, cfg.num_tokens, dtype=torch.bool)
    redraw[0, 10:30] = True
    steps = run(tiny_model, tiny_photo, SamplerSettings(steps=STEPS, seed=2),
                init_tokens=init, redraw_mask=redraw)
    start = torch.where(redraw, cfg.mask_id, init)
    check_invariants(tiny_model, steps, start_tokens=start)
    assert masked_counts(steps, cfg.mask_id) == [mask_counts(20, STEPS)]
    final = steps[-1].tokens
    assert torch.equal(final[~redraw], init[~redraw])
    with pytest.raises(ValueError, match="redraw_mask"):
        next(iter_steps(tiny_model, tiny_photo, init_tokens=init))


def test_batch_of_two_with_per_row_styles(tiny_model):
    cfg = tiny_model.cfg
    photos = torch.rand(2, 3, tiny_model.photo_size, tiny_model.photo_size, generator=torch.Generator().manual_seed(5))
    style = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    steps = run(tiny_model, photos, style=style)
    assert steps[-1].tokens.shape == (2, cfg.num_tokens)
    assert masked_counts(steps, cfg.mask_id) == [mask_counts(cfg.num_tokens, STEPS)] * 2
    check_invariants(tiny_model, steps)
    assert not torch.equal(steps[-1].tokens[0], steps[-1].tokens[1])


def test_guidance_runs_and_gives_valid_tokens(tiny_model, tiny_photo):
    for s in (SamplerSettings(steps=4, style_guidance=2.0), SamplerSettings(steps=4, self_guidance=1.5),
              SamplerSettings(steps=4, style_guidance=1.0, self_guidance=1.0, top_k=5, temperature=0.7)):
        steps = run(tiny_model, tiny_photo, s)
        check_invariants(tiny_model, steps)


def test_untrained_smoothing_head_makes_self_guidance_a_no_op(tiny_model, tiny_photo):
    """The head is zero-initialised: guidance must not add noise before it is trained."""
    plain = sample(tiny_model, tiny_photo, settings=SamplerSettings(steps=4)).tokens
    guided = sample(tiny_model, tiny_photo, settings=SamplerSettings(steps=4, self_guidance=3.0)).tokens
    assert torch.equal(plain, guided)


def test_argmax_decoding_ignores_the_token_seed(tiny_model, tiny_photo):
    s = SamplerSettings(steps=4, temperature=0.0, noise=0.0)
    a = sample(tiny_model, tiny_photo, settings=s.with_(seed=1)).tokens
    b = sample(tiny_model, tiny_photo, settings=s.with_(seed=2)).tokens
    assert torch.equal(a, b)


@pytest.mark.parametrize("bad", [dict(steps=0), dict(schedule="nope"), dict(preview="huge"), dict(temperature=-1)])
def test_settings_validation(bad):
    with pytest.raises(ValueError):
        SamplerSettings(**bad)


# Regenerate after an intended change to the tiny architecture, its initialisation or the
# sampler (and only then) with:
#   SKETCHSTUDIO_BF16=0 .venv/bin/python -c "from tests.test_sampler import golden_tokens; print(golden_tokens())"
GOLDEN_TOKENS = [20, 29, 11, 18, 1, 20, 29, 31]


def golden_tokens():
    torch.manual_seed(0)
    from sketchstudio.core import build_model, preset

    model = build_model(preset("tiny"))
    photo = torch.rand(1, 3, model.photo_size, model.photo_size)
    return sample(model, photo, settings=SamplerSettings(steps=8, seed=0)).tokens[0, :8].tolist()


def test_fixed_seed_golden_slice(monkeypatch):
    # The fp32 reference: bf16 inference (core/precision.py) rounds differently on CPUs with
    # and without native bf16, so it would make the golden slice depend on the machine.
    monkeypatch.setenv("SKETCHSTUDIO_BF16", "0")
    assert golden_tokens() == GOLDEN_TOKENS


def test_the_transformer_infers_in_bf16_where_switched_on_and_trains_in_fp32(tiny_model, tiny_photo, monkeypatch):
    """model.logits runs in bf16 for inference only (core/precision.py, a bf16 copy): logits
    come back as fp32 and close to fp32's; with gradients on (training) nothing changes."""
    cfg = tiny_model.cfg
    g = torch.Generator().manual_seed(2)
    tokens = torch.randint(0, cfg.tokenizer.codebook_size, (2, cfg.num_tokens), generator=g)
    tokens[:, ::3] = cfg.mask_id
    w = torch.eye(len(cfg.styles))[:2]
    with torch.no_grad():
        memory = tiny_model.condition(tiny_photo).repeat(2)
    monkeypatch.setenv("SKETCHSTUDIO_BF16", "0")
    with torch.no_grad():
        exact, exact_smooth = tiny_model.logits(tokens, memory, w, return_smooth=True)
        assert torch.equal(exact, tiny_model.transformer(tokens, memory, w))
    monkeypatch.setenv("SKETCHSTUDIO_BF16", "1")
    with torch.no_grad():
        fast, fast_smooth = tiny_model.logits(tokens, memory, w, return_smooth=True)
    assert fast.dtype == fast_smooth.dtype == torch.float32
    assert not torch.equal(fast, exact)  # it did run in bf16
    scale = exact.abs().max()
    assert (fast - exact).abs().max() < 0.05 * scale and (fast_smooth - exact_smooth).abs().max() < 0.05 * scale
    trained = tiny_model.logits(tokens, memory, w)  # gradients on: the fp32 path, bit for bit
    assert trained.requires_grad and torch.equal(trained.detach(), exact)


def test_the_bf16_copy_follows_the_weights_and_is_never_saved(tiny_model, tiny_photo, monkeypatch):
    """bf16 inference runs a bf16 copy of the transformer (SketchModel.bf16_transformer): it is
    made once, kept across decoding steps, made again after any change to a weight (a training
    step, a loaded state) and is not part of the model's state."""
    model = copy.deepcopy(tiny_model)
    cfg = model.cfg
    tokens = torch.full((1, cfg.num_tokens), cfg.mask_id)
    w = torch.eye(len(cfg.styles))[:1]
    monkeypatch.setenv("SKETCHSTUDIO_BF16", "1")
    with torch.inference_mode():
        memory = model.condition(tiny_photo)
        before = model.logits(tokens, memory, w)
        twin = model.bf16_transformer()
        assert model.bf16_transformer() is twin  # kept between steps
        assert memory.to_dtype(torch.bfloat16) is memory.to_dtype(torch.bfloat16)  # cast once
    assert next(twin.parameters()).dtype == torch.bfloat16
    assert not any(k.startswith("_bf16") for k in model.state_dict())
    assert all(m is not twin for m in model.modules())
    with torch.no_grad():  # a training step's kind of change: in place
        model.transformer.head.bias.add_(torch.linspace(-3, 3, cfg.tokenizer.codebook_size))
    with torch.inference_mode():
        after = model.logits(tokens, memory, w)
        assert model.bf16_transformer() is not twin
        monkeypatch.setenv("SKETCHSTUDIO_BF16", "0")
        exact = model.logits(tokens, memory, w)
    assert not torch.allclose(after, before, atol=0.5)
    assert (after - exact).abs().max() < 0.05 * exact.abs().max()  # the copy has the new weights
    model.load_state_dict(tiny_model.state_dict())  # a loaded state: back to the first weights
    monkeypatch.setenv("SKETCHSTUDIO_BF16", "1")
    with torch.inference_mode():
        assert torch.allclose(model.logits(tokens, memory, w), before, atol=1e-6)


def with_learnt_guidance(model, styles, guidance):
    """A copy of `model` whose config says `styles` have learnt `guidance` (the distill stage)."""
    m = copy.deepcopy(model)
    t = dataclasses.replace(m.cfg.transformer, guided_styles=tuple(styles), learnt_guidance=guidance)
    m.cfg = dataclasses.replace(m.cfg, transformer=t)
    m.transformer.cfg = m.cfg
    return m


def test_styles_that_have_not_learnt_guidance_get_it_from_the_sampler(tiny_model, tiny_photo, monkeypatch):
    plain = copy.deepcopy(tiny_model)
    with torch.no_grad():  # styles that change the tiny model's predictions clearly, so guidance does too
        plain.transformer.style_emb.mul_(100)
        torch.manual_seed(0)
        for block in plain.transformer.blocks:
            block.ada.weight.normal_(0, 0.05)
    learnt = with_learnt_guidance(plain, plain.styles[:1], 0.75)
    k = len(plain.styles)
    a, b = torch.eye(k)[0], torch.eye(k)[1]
    mix = 0.5 * (a + b)
    s = SamplerSettings(steps=4)

    def tokens(model, style, settings=s):
        return sample(model, tiny_photo, style, settings).tokens

    batches = []
    real_logits = learnt.logits
    monkeypatch.setattr(learnt, "logits", lambda tok, *args, **kw: batches.append(len(tok)) or real_logits(tok, *args, **kw))
    # A style that has learnt it: one pass a step, drawn as by the model unguided.
    assert torch.equal(tokens(learnt, a), tokens(plain, a))
    assert batches == [1] * 4
    # A style that has not: two passes a step, drawn as by the model at the learnt guidance
    # (which changes the tiny model's tokens, so the check means something).
    batches.clear()
    assert torch.equal(tokens(learnt, b), tokens(plain, b, s.with_(style_guidance=0.75)))
    assert batches == [2] * 4
    assert not torch.equal(tokens(plain, b), tokens(plain, b, s.with_(style_guidance=0.75)))
    # A mix gets it for its share; guidance the user sets adds to every row; no style gets none.
    assert torch.equal(tokens(learnt, mix), tokens(plain, mix, s.with_(style_guidance=0.375)))
    assert torch.equal(tokens(learnt, b, s.with_(style_guidance=0.25)),
                       tokens(plain, b, s.with_(style_guidance=1.0)))
    batches.clear()
    tokens(learnt, torch.zeros(k))
    assert batches == [1] * 4
