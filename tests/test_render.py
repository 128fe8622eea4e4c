"""The stroke renderer (core/renderer.py) and its training stage (train/render.py)."""
import copy
import dataclasses
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from sketchstudio.core.checkpoint import load_model, save_model
from sketchstudio.core.config import preset
from sketchstudio.core.model import SketchModel
from sketchstudio.core.renderer import StrokeRenderer
from sketchstudio.data.cache import Source
from sketchstudio.train.pipeline import PipelineOptions, run_pipeline
from sketchstudio.train.render import RenderStage, block_contrast, sampled_ids, tone_error
from sketchstudio.train.base import StageOptions
from sketchstudio.train.surgery import add_renderer, add_upscaler

from datagen import make_fs2k
from test_sampler import with_learnt_guidance


def tiny_model(styles=None):
    torch.manual_seed(0)
    cfg = preset("tiny")
    return SketchModel(cfg.with_styles(styles) if styles else cfg).eval()


def native_data(tmp_path, per_style=2, size=40):
    from sketchstudio.data.cache import build_training_data
    from sketchstudio.data.datasets import DataReport

    fs2k = make_fs2k(tmp_path / "fs2k", per_style=per_style, size=size)
    data, _ = build_training_data([Source(fs2k)], 32, DataReport(), native=True)
    return fs2k, data


def test_a_new_renderer_only_resizes_and_replaces_the_texture_head(monkeypatch):
    monkeypatch.setenv("SKETCHSTUDIO_BF16", "0")  # fp32: the drawing's decode is then `decode`'s, bit for bit
    model = add_upscaler(tiny_model(), 2, 8).eval()
    grown = add_renderer(model, 4, 8).eval()
    assert grown.tokenizer.upscaler is None and grown.tokenizer.renderer is not None
    assert grown.output_size == model.output_size  # keeps the texture head's output size
    assert add_renderer(grown, 2, 16) is grown and add_renderer(model, 2, 0) is model
    ids = torch.randint(0, grown.cfg.tokenizer.codebook_size, (2, grown.cfg.num_tokens))
    plain = StrokeRenderer.resize(grown.tokenizer.decode(ids), (50, 37)).clamp(0, 1)
    assert torch.allclose(grown.decode(ids, (50, 37)), plain, atol=1e-6)  # zero-initialised output


def test_renderer_draws_any_size_and_depends_on_its_input():
    r = StrokeRenderer(1, 8).eval()
    torch.nn.init.normal_(r.head[-1].weight, std=0.1)
    a, b = torch.rand(1, 1, 32, 32), torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        for size in ((64, 64), (45, 37), (1, 9)):
            assert r(a, size).shape == (1, 1, *size)
        out_a, out_b = r(a, (64, 64)), r(b, (64, 64))
        assert not torch.allclose(out_a, out_b)
        assert torch.equal(out_a, r(a, (64, 64)))  # deterministic: the grain is fixed


def test_renderer_ignoring_its_tokens_is_caught():
    """Two different token maps through a trained-looking renderer give clearly different
    sketches: the renderer adds strokes to the decode, it does not replace it."""
    model = add_renderer(tiny_model(), 2, 8).eval()
    torch.nn.init.normal_(model.tokenizer.renderer.head[-1].weight, std=0.05)
    k, n = model.cfg.tokenizer.codebook_size, model.cfg.num_tokens
    ids = torch.randint(0, k, (2, n), generator=torch.Generator().manual_seed(0))
    a, b = model.decode(ids[:1]), model.decode(ids[1:])
    da, db = model.tokenizer.decode(ids[:1]), model.tokenizer.decode(ids[1:])
    plain_diff = (StrokeRenderer.resize(da, a.shape[-2:]) - StrokeRenderer.resize(db, a.shape[-2:])).abs().mean()
    assert (a - b).abs().mean() > 0.5 * plain_diff


def test_render_stage_trains_only_the_renderer_and_resumes_bit_for_bit(tmp_path):
    fs2k, data = native_data(tmp_path)
    base = add_upscaler(tiny_model(data.styles), 2, 8)
    save_model(base, tmp_path / "base.safetensors")
    opts = dict(stages=("render",), config="tiny", init=str(tmp_path / "base.safetensors"),
                checkpoint_every=2, preview_every=3, stage_options=StageOptions(batch=2, render_sampled=0.5))

    straight = list(run_pipeline([Source(fs2k)], tmp_path / "a", PipelineOptions(steps={"render": 6}, **opts)))
    assert [e.stage for e in straight if e.kind == "done"] == ["data", "render"]
    previews = [e for e in straight if e.kind == "preview"]
    assert previews and {"val_scoot_own", "val_scoot_sampled"} <= set(previews[0].losses)
    trained, info = load_model(tmp_path / "a" / "render.safetensors")
    assert info["stage"] == "render"
    before = base.state_dict()
    moved = [k for k, v in trained.state_dict().items() if k in before and not torch.equal(v, before[k])]
    assert moved == []  # everything but the renderer is as it was
    assert any(v.abs().sum() > 0 for v in trained.tokenizer.renderer.head[-1].parameters())

    # Interrupted after 4 of 6 steps (cancel), then resumed: the same weights as straight through.
    assert_resumed_as_straight(fs2k, tmp_path / "b", opts, trained)


def assert_resumed_as_straight(fs2k, folder, opts, trained):
    """A 6-step render run cancelled at its step-4 checkpoint and resumed in `folder` ends with
    `trained`'s weights (those of the same run straight through)."""
    from sketchstudio.core.sampler import CancelToken

    cancel = CancelToken()
    for e in run_pipeline([Source(fs2k)], folder, PipelineOptions(steps={"render": 6}, **opts), cancel):
        if e.kind == "checkpoint" and e.step == 4:
            cancel.cancel()
    list(run_pipeline([Source(fs2k)], folder, PipelineOptions(steps={"render": 6}, resume=True, **opts)))
    resumed, _ = load_model(folder / "render.safetensors")
    for k, v in trained.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k


def test_sampled_ids_follow_the_photo_and_seed():
    model = tiny_model().eval()
    photos = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    styles = torch.tensor([0, 1, 2])
    from sketchstudio.core.sampler import SamplerSettings

    s = SamplerSettings(steps=2)
    a = sampled_ids(model, photos, styles, s, batch=2)
    assert a.shape == (3, model.cfg.num_tokens) and (a < model.cfg.tokenizer.codebook_size).all()
    assert torch.equal(a, sampled_ids(model, photos, styles, s, batch=2))


def test_render_stage_needs_native_drawings(tmp_path):
    _, data = native_data(tmp_path)
    data = dataclasses.replace(data, real_native=torch.zeros(0, 1, 0, 0, dtype=torch.uint8))
    with pytest.raises(ValueError, match="own resolution"):
        RenderStage(add_renderer(tiny_model(data.styles), 2, 8), data, StageOptions(batch=2), 2)


def test_render_stage_samples_tokens_as_the_model_is_sampled_by_default(tmp_path):
    """A model that samples with style guidance (v6) is sampled at 0.75 for the renderer's
    training tokens; one that learnt it (v8, distill) at 0, where its one pass already holds it."""
    _, data = native_data(tmp_path)
    plain = add_renderer(tiny_model(data.styles), 2, 8)
    learnt = with_learnt_guidance(plain, plain.styles, 0.75)
    assert RenderStage(plain, data, StageOptions(batch=2), 2).settings.style_guidance == 0.75
    assert RenderStage(learnt, data, StageOptions(batch=2), 2).settings.style_guidance == 0.0
    told = StageOptions(batch=2, render_style_guidance=0.3)
    assert RenderStage(learnt, data, told, 2).settings.style_guidance == 0.3
    assert RenderStage(learnt, data, told, 2).settings.temperature == 1.0
    hotter = StageOptions(batch=2, render_temperature=1.3)
    assert RenderStage(learnt, data, hotter, 2).settings.temperature == 1.3


def test_tone_error_sees_darkness_not_where_a_stroke_sits():
    paper = torch.ones(1, 1, 16, 16)
    stroke = paper.clone()
    stroke[..., 2, 1:7] = 0.0  # a 6-pixel stroke inside the first 8 x 8 block
    moved = paper.clone()
    moved[..., 5, 0:6] = 0.0  # the same stroke three rows down, one pixel left: same block
    assert (stroke - moved).abs().mean() > 0  # plain L1 punishes the shift...
    assert tone_error(stroke, moved) == 0  # ...the tone term does not
    assert tone_error(stroke, paper) == pytest.approx(6 / 64 / 4)  # a missing stroke costs its ink
    assert tone_error(paper * 0.9, paper) == pytest.approx(0.1, rel=1e-5)


def test_render_stage_adds_the_tone_term_at_its_weight(tmp_path):
    _, data = native_data(tmp_path)
    losses = {}
    for w in (0.0, 2.0):
        model = add_renderer(tiny_model(data.styles), 2, 8)
        torch.nn.init.normal_(model.tokenizer.renderer.head[-1].weight, std=0.1)
        stage = RenderStage(model, data, StageOptions(batch=2, render_sampled=0.0, render_tone=w), 2)
        losses[w] = stage.train_step(0)
    for w, got in losses.items():
        assert got["tone"] > 0
        assert got["loss"] == pytest.approx(got["l1"] + got["contrast"] + w * got["tone"], rel=1e-5)
    assert losses[0.0]["tone"] == pytest.approx(losses[2.0]["tone"])  # same seed, same first batch


SHIPPED = Path(__file__).resolve().parents[1] / "models" / "sketchstudio-default.safetensors"
SAMPLE_FACE = Path(__file__).resolve().parents[1] / "resources" / "sample_face.png"


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model")
def test_shipped_model_draws_what_its_tokens_say():
    """The same photo, tokens sampled for two styles: the finished sketches differ clearly,
    by more than half as much as the plain decodes of those tokens do (the head draws the
    tokens, it does not draw the photo)."""
    from PIL import Image

    from sketchstudio.core.sampler import recommended_settings, sample
    from sketchstudio.data.prepare import prepare_image

    model, info = load_model(SHIPPED)
    photo = prepare_image(Image.open(SAMPLE_FACE).convert("RGB"), model.photo_size).tensor
    settings = recommended_settings(info).with_(seed=0, preview="none")
    w = torch.eye(len(model.styles))
    a = sample(model, photo, w[model.styles.index("contour")], settings).tokens
    b = sample(model, photo, w[model.styles.index("charcoal")], settings).tokens
    size = (model.output_size, model.output_size)
    # Both drawn with the same style weights and the same photo: only the tokens differ.
    same = w[model.styles.index("contour")]
    ra, rb = model.decode(a, size, style=same, photo=photo), model.decode(b, size, style=same, photo=photo)
    pa, pb = model.decode(a, size, texture=False), model.decode(b, size, texture=False)
    assert (ra - rb).abs().mean() > 0.5 * (pa - pb).abs().mean() > 0.02
    assert rb.mean() < ra.mean() - 0.03  # charcoal is the darker style


def photo_renderer_model():
    """A tiny model whose style-aware renderer sees the photo, every weight perturbed so the
    photo path draws something."""
    torch.manual_seed(1)
    model = add_renderer(tiny_model(), 2, 8, photo=True).eval()
    with torch.no_grad():
        for p in model.tokenizer.renderer.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model


def test_adding_the_photo_path_changes_nothing_until_trained(tmp_path):
    styled = add_renderer(tiny_model(), 2, 8).eval()
    with torch.no_grad():
        for p in styled.tokenizer.renderer.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    grown = add_renderer(styled, 2, 8, photo=True).eval()
    assert grown.cfg.tokenizer.renderer_photo and not styled.tokenizer.renderer.sees_photo
    assert add_renderer(grown, 2, 8, photo=True) is grown and add_renderer(grown, 2, 8) is grown
    ids = torch.randint(0, grown.cfg.tokenizer.codebook_size, (2, grown.cfg.num_tokens))
    w, photo = torch.eye(3)[:2], torch.rand(2, 3, 32, 32)
    assert torch.equal(grown.decode(ids, (40, 30), style=w, photo=photo), styled.decode(ids, (40, 30), style=w))
    save_model(grown, tmp_path / "p.safetensors")
    back, _ = load_model(tmp_path / "p.safetensors")
    assert back.tokenizer.renderer.sees_photo
    assert torch.equal(back.decode(ids, style=w, photo=photo), grown.decode(ids, style=w, photo=photo))


def test_photo_renderer_draws_the_photo_s_details_but_the_tokens_stay_in_charge():
    from sketchstudio.core.renderer import photo_features

    model = photo_renderer_model()
    k, n = model.cfg.tokenizer.codebook_size, model.cfg.num_tokens
    ids = torch.randint(0, k, (2, n), generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(2)
    p1, p2 = torch.rand(1, 3, 32, 32, generator=gen), torch.rand(1, 3, 32, 32, generator=gen)
    w = torch.eye(3)[:1]
    a1, a2 = model.decode(ids[:1], style=w, photo=p1), model.decode(ids[:1], style=w, photo=p2)
    assert (a1 - a2).abs().mean() > 1e-3  # the photo matters
    assert not torch.equal(model.decode(ids[:1], style=w), a1)  # no photo: tokens alone
    b1 = model.decode(ids[1:], style=w, photo=p1)
    assert (a1 - b1).abs().mean() > 2 * (a1 - a2).abs().mean()  # other tokens, same photo: far apart
    # Features, not pixels: a flat photo of any grey has none, and they are flipped with the photo.
    flat = photo_features(torch.full((1, 3, 32, 32), 0.3), (64, 48))
    assert flat.shape == (1, 2, 64, 48) and flat.abs().max() < 1e-6
    f = photo_features(p1, (32, 32))
    assert torch.allclose(photo_features(p1.flip(-1), (32, 32)), f.flip(-1), atol=1e-6)


def test_the_sampler_hands_the_renderer_the_photo_it_sampled_for():
    from sketchstudio.core.sampler import SamplerSettings, finished, iter_steps, sample

    model = photo_renderer_model()
    photo = torch.rand(1, 3, model.photo_size, model.photo_size, generator=torch.Generator().manual_seed(3))
    res = sample(model, photo, torch.eye(3)[1], SamplerSettings(steps=3, preview="full"))
    assert torch.equal(res.photo, photo)
    drawn = finished(model, res)
    assert torch.equal(res.preview, drawn)  # the last step's preview is the finished sketch
    assert torch.equal(drawn, model.decode(res.tokens, style=res.style, photo=photo))
    assert not torch.equal(drawn, model.decode(res.tokens, style=res.style))
    # With a cached memory (the window's style changes) the photo travels in the memory.
    memory = model.condition(photo)
    last = list(iter_steps(model, None, torch.eye(3)[1], SamplerSettings(steps=3), memory=memory))[-1]
    assert torch.equal(last.tokens, res.tokens) and torch.equal(finished(model, last), drawn)


def test_render_stage_trains_the_photo_path(tmp_path):
    fs2k, data = native_data(tmp_path)
    base = add_renderer(tiny_model(data.styles), 2, 8)
    save_model(base, tmp_path / "base.safetensors")
    opts = PipelineOptions(stages=("render",), config="tiny", init=str(tmp_path / "base.safetensors"),
                           steps={"render": 4}, checkpoint_every=2, preview_every=4,
                           stage_options=StageOptions(batch=2, render_sampled=1.0, render_photo=True))
    events = list(run_pipeline([Source(fs2k)], tmp_path / "a", opts))
    assert [e.stage for e in events if e.kind == "done"] == ["data", "render"]
    trained, _ = load_model(tmp_path / "a" / "render.safetensors")
    r = trained.tokenizer.renderer
    assert r.sees_photo and r.photo_head.weight.abs().sum() > 0 and r.photo_down.weight.abs().sum() > 0


@pytest.mark.parametrize("k", [1, 5, 17])
def test_box_mean_is_the_replicate_padded_average_pool(k):
    """photo_features' local mean by running sums equals the k x k average pool it replaced."""
    from sketchstudio.core.renderer import box_mean

    x = torch.rand(2, 1, 37, 30, generator=torch.Generator().manual_seed(k))
    pooled = F.avg_pool2d(F.pad(x, (k // 2,) * 4, mode="replicate"), k, stride=1)
    got = box_mean(x, k)
    assert got.shape == x.shape and got.dtype == x.dtype
    assert torch.allclose(got, pooled, atol=1e-6)


def test_bf16_drawing_is_switchable_and_stays_close_to_fp32(monkeypatch):
    from sketchstudio.core import precision, renderer as renderer_mod

    model = photo_renderer_model()
    ids = torch.randint(0, model.cfg.tokenizer.codebook_size, (1, model.cfg.num_tokens),
                        generator=torch.Generator().manual_seed(4))
    photo, w = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(5)), torch.eye(3)[:1]
    monkeypatch.setenv("SKETCHSTUDIO_BF16", "0")
    assert not precision.fast_bf16()
    exact = model.decode(ids, (48, 40), style=w, photo=photo)
    with torch.no_grad():  # the same drawing computed by hand in fp32
        r = model.tokenizer.renderer
        feats = renderer_mod.photo_features(photo, (48, 40))
        by_hand = r.draw(r.resize(model.tokenizer.decode(ids), (48, 40)), renderer_mod.paper_grain(48, 40), w, feats)
    assert torch.equal(exact, by_hand.clamp(0, 1))
    monkeypatch.setenv("SKETCHSTUDIO_BF16", "1")
    assert precision.fast_bf16()
    fast = model.decode(ids, (48, 40), style=w, photo=photo)
    assert fast.dtype == torch.float32 and not torch.equal(fast, exact)  # it did run in bf16
    assert (fast - exact).abs().max() < 0.03  # a few grey levels at most
    # The decode under the drawing runs in bf16 too (tokenizer.render); `decode`, which
    # training's caches use, stays fp32 either way.
    monkeypatch.setenv("SKETCHSTUDIO_BF16", "0")
    plain_exact, decode_exact = model.decode(ids, (48, 40), texture=False), model.tokenizer.decode(ids)
    monkeypatch.setenv("SKETCHSTUDIO_BF16", "1")
    plain_fast = model.decode(ids, (48, 40), texture=False)
    assert not torch.equal(plain_fast, plain_exact) and (plain_fast - plain_exact).abs().max() < 0.03
    assert torch.equal(model.tokenizer.decode(ids), decode_exact)


def structure_renderer_model():
    """photo_renderer_model with the face-structure path (model v10), its weights perturbed too."""
    model = add_renderer(photo_renderer_model(), 2, 8, photo=True, structure=6).eval()
    with torch.no_grad():
        weight = model.tokenizer.renderer.structure_down.weight
        weight.add_(torch.randn_like(weight) * 0.05)
    return model


def test_adding_the_structure_path_keeps_the_weights_and_the_person_mask_gates_the_photo(tmp_path):
    base = photo_renderer_model()
    grown = add_renderer(base, 2, 8, photo=True, structure=6).eval()
    r = grown.tokenizer.renderer
    assert r.takes_structure and grown.cfg.tokenizer.renderer_structure == 6 and not r.structure_down.weight.any()
    assert add_renderer(grown, 2, 8, photo=True, structure=6) is grown
    k, n = base.cfg.tokenizer.codebook_size, base.cfg.num_tokens
    ids = torch.randint(0, k, (1, n), generator=torch.Generator().manual_seed(0))
    photo = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    w = torch.eye(3)[:1]
    everyone, nobody = torch.zeros(1, 6, 64, 64), torch.zeros(1, 6, 64, 64)
    everyone[:, -1] = 1.0
    with torch.no_grad():  # a new path: the person everywhere is v8's drawing, nobody is the tokens alone
        assert torch.equal(grown.tokenizer.renderer(grown.tokenizer.decode(ids), (64, 64), w, photo, everyone),
                                      base.tokenizer.renderer(base.tokenizer.decode(ids), (64, 64), w, photo))
        assert torch.equal(grown.tokenizer.renderer(grown.tokenizer.decode(ids), (64, 64), w, photo, nobody),
                           base.tokenizer.renderer(base.tokenizer.decode(ids), (64, 64), w))
    save_model(grown, tmp_path / "s.safetensors")
    back, _ = load_model(tmp_path / "s.safetensors")
    assert back.tokenizer.renderer.takes_structure


def test_structure_renderer_draws_the_face_lines_and_makes_the_map_once_per_photo(monkeypatch):
    import sketchstudio.core.face_structure as fs

    monkeypatch.setenv("SKETCHSTUDIO_BF16", "0")  # fp32, so the drawing is compared bit for bit below
    model = structure_renderer_model()
    r, tok = model.tokenizer.renderer, model.tokenizer
    ids = torch.randint(0, model.cfg.tokenizer.codebook_size, (1, model.cfg.num_tokens),
                        generator=torch.Generator().manual_seed(0))
    photo = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    w = torch.eye(3)[:1]
    person = torch.zeros(1, 6, 64, 64)
    person[:, -1] = 1.0
    jaw = person.clone()
    jaw[:, 0, 40:44, 10:54] = 1.0
    with torch.no_grad():
        a = r(tok.decode(ids), (64, 64), w, photo, person)
        b = r(tok.decode(ids), (64, 64), w, photo, jaw)
    near, far = (a - b)[..., 36:48, :].abs().mean(), (a - b)[..., :8, :].abs().mean()
    assert near > 1e-4 and near > 5 * far  # the lines matter, where they are
    # No map given: the renderer makes it from the photo, and the encoder's request for the same
    # photo's map is answered from the ones kept (the face is analysed once).
    calls = []
    real = fs.square_structure
    monkeypatch.setattr(fs, "square_structure", lambda rgb, size, models=None: calls.append(size) or real(rgb, size))
    fresh = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        drawn = model.decode(ids, style=w, photo=fresh)
        again = model.decode(ids, style=w, photo=fresh)
    maps = fs.structure_maps(fresh, 64)
    assert calls == [64] and torch.equal(drawn, again)
    with torch.no_grad():
        assert torch.equal(drawn, r(tok.decode(ids), tuple(drawn.shape[-2:]), w, fresh, maps).clamp(0, 1))
    fs.structure_maps(torch.rand(1, 3, 32, 32), 64)
    assert len(calls) == 2  # another photo is analysed


def test_render_stage_trains_the_structure_path_against_a_style_aware_discriminator(tmp_path):
    fs2k, data = native_data(tmp_path)
    base = add_renderer(tiny_model(data.styles), 2, 8, photo=True)
    save_model(base, tmp_path / "base.safetensors")
    opts = dict(stages=("render",), config="tiny", init=str(tmp_path / "base.safetensors"), checkpoint_every=2,
                preview_every=6, stage_options=StageOptions(batch=2, render_sampled=0.5, structure=True,
                                                            render_adversarial=0.5, render_disc_start=2))
    events = list(run_pipeline([Source(fs2k)], tmp_path / "a", PipelineOptions(steps={"render": 6}, **opts)))
    losses = [e.losses for e in events if e.kind == "step" and e.stage == "render"]
    assert {"g_loss", "feature_match", "adaptive", "d_loss"} <= set(losses[0])
    assert losses[0]["g_loss"] == 0.0 and losses[-1]["feature_match"] > 0 and losses[-1]["adaptive"] > 0
    trained, _ = load_model(tmp_path / "a" / "render.safetensors")
    r = trained.tokenizer.renderer
    assert r.takes_structure and r.structure_down.weight.abs().sum() > 0
    before = base.state_dict()
    assert [k for k, v in trained.state_dict().items() if k in before and not torch.equal(v, before[k])
            and not k.startswith("tokenizer.renderer.")] == []
    # Interrupted after 4 of 6 steps, then resumed: the discriminator and the adaptive weight
    # come back with the renderer, so the weights are those of the straight run.
    assert_resumed_as_straight(fs2k, tmp_path / "b", opts, trained)


def test_part_weighted_l1_counts_the_face_lines_more_and_keeps_l1_scale():
    from sketchstudio.train.render import part_weighted_l1

    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 1, 16, 16, generator=g)
    lines = torch.zeros(2, 1, 16, 16)
    lines[:, :, 5:7, :] = 1.0  # a jaw line across the crop
    on_line = target.clone()
    on_line[:, :, 5:7, :] += 0.5  # an error on the line only
    plain = (on_line - target).abs().mean()
    assert part_weighted_l1(on_line, target, torch.zeros_like(lines), 4.0) == pytest.approx(plain.item())
    assert part_weighted_l1(on_line, target, lines, 4.0) > 2 * plain  # the line's error counts more
    off_line = target.clone()
    off_line[:, :, 10:12, :] += 0.5  # the same error beside the line counts less
    assert part_weighted_l1(off_line, target, lines, 4.0) < plain
    uniform = target + 0.1  # the same error everywhere: L1's own scale, whatever the lines
    assert part_weighted_l1(uniform, target, lines, 4.0) == pytest.approx(0.1, rel=1e-5)


def test_render_stage_weighs_the_face_parts_of_the_structure_map(tmp_path):
    _, data = native_data(tmp_path)
    model = add_renderer(tiny_model(data.styles), 2, 8, photo=True, structure=6)
    torch.nn.init.normal_(model.tokenizer.renderer.head[-1].weight, std=0.1)
    plain_model = add_renderer(tiny_model(data.styles), 2, 8, photo=True)
    assert not RenderStage(plain_model, data, StageOptions(batch=2, render_part_weight=4.0), 2).weighs_parts
    first = {}
    for w in (0.0, 4.0):
        stage = RenderStage(copy.deepcopy(model), data, StageOptions(batch=2, render_sampled=0.0, render_part_weight=w), 2)
        assert stage.weighs_parts == (w > 0)
        lines = torch.zeros_like(stage.structure)
        lines[:, 0, 20:40, :] = 255  # every photo's "jaw" a band across the map; the person everywhere
        lines[:, -1] = 255
        stage.structure = lines
        first[w] = stage.train_step(0)
    assert first[0.0]["contrast"] == pytest.approx(first[4.0]["contrast"])  # same seed, same crops
    assert first[0.0]["l1"] != pytest.approx(first[4.0]["l1"])  # the band's pixels weigh more


def test_the_style_discriminator_is_told_the_style_and_matches_features():
    from sketchstudio.train.gan import StyleDiscriminator, style_generator_losses, style_hinge_d_loss

    disc = StyleDiscriminator(0, 8, 3)
    x = torch.rand(2, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    out = disc(x, torch.eye(3)[:2])
    assert len(out) == 2 and out[0][0].shape[-1] > out[1][0].shape[-1] and len(out[0][1]) == 4
    other = disc(x, torch.eye(3)[1:])
    assert not torch.equal(out[0][0], other[0][0])  # the style is seen
    fake = x.clone().requires_grad_(True)
    g, fm = style_generator_losses(disc, fake, x, torch.eye(3)[:2])
    assert fm.item() == 0.0  # a perfect copy has matching features
    (g + fm).backward()
    assert fake.grad is not None and all(p.grad is None for p in disc.parameters())
    assert all(p.requires_grad for p in disc.parameters())
    d = style_hinge_d_loss(disc, x, torch.rand(2, 1, 64, 64), torch.eye(3)[:2])
    d.backward()
    assert all(p.grad is not None for p in disc.parameters())


def test_block_contrast_is_scoots_block_contrast_and_asks_for_a_sharper_step():
    """On an image at SCOOT's grey levels, `block_contrast` is the metric's own GLCM contrast of
    each block (the soft levels round as SCOOT does); a stroke whose edge steps through the greys
    scores lower than the same stroke stepping from paper to ink in one pixel, and the gradient
    of matching the sharp one's contrast steepens the soft edge."""
    import numpy as np

    from sketchstudio.core.metrics import SCOOT_LEVELS, _contrast_energy, _quantize

    g = torch.Generator().manual_seed(0)
    img = torch.randint(0, 6, (1, 1, 64, 64), generator=g).float() / 5  # random levels
    img[..., :24, :] = 1.0  # the top plain paper
    hard = _contrast_energy(_quantize(np.rint(img[0, 0].numpy() * 255), SCOOT_LEVELS))[0]
    assert block_contrast(img).item() == pytest.approx(hard, rel=0.03)  # one block; the (-1,-1) wrap aside
    assert block_contrast(img, block=16)[0, 0, 0].abs().max() < 1e-3  # the paper blocks

    sharp = torch.ones(1, 1, 64, 64)
    sharp[..., 28:36] = 0.0  # a vertical stroke, paper to ink in one pixel
    soft = sharp.clone()
    soft[..., 24:28] = torch.linspace(0.8, 0.2, 4)  # the same stroke with graded edges
    soft[..., 36:40] = torch.linspace(0.2, 0.8, 4)
    soft.requires_grad_(True)
    assert block_contrast(soft).item() < block_contrast(sharp).item()
    (block_contrast(soft) - block_contrast(sharp)).abs().sum().backward()
    step = -soft.grad[0, 0, 0]  # descent direction along a row
    assert step[25] > 0 and step[26] < 0  # lighter above the mid-grey, darker below: a sharper edge


def test_render_stage_adds_the_block_contrast_term_only_when_asked(tmp_path):
    _, data = native_data(tmp_path)
    model = add_renderer(tiny_model(data.styles), 2, 8, photo=True)
    torch.nn.init.normal_(model.tokenizer.renderer.head[-1].weight, std=0.1)
    first = {}
    for w in (0.0, 0.5):
        stage = RenderStage(copy.deepcopy(model), data, StageOptions(batch=2, render_sampled=0.0,
                                                                     render_block_contrast=w), 2)
        first[w] = stage.train_step(0)
    assert "level_contrast" not in first[0.0] and first[0.5]["level_contrast"] > 0
    assert first[0.0]["l1"] == pytest.approx(first[0.5]["l1"])  # same seed, same crops
    assert first[0.5]["loss"] == pytest.approx(first[0.0]["loss"] + 0.5 * first[0.5]["level_contrast"], rel=1e-4)


def test_render_stage_learns_from_several_token_draws_and_keeps_the_first(tmp_path, monkeypatch):
    """--render-draws 2: each photo's tokens are sampled twice with different seeds, draw 0 as a
    one-draw run samples it; sampled crops come from both draws; a run resumed with one draw
    samples only the one it lacks."""
    _, data = native_data(tmp_path)
    model = add_renderer(tiny_model(data.styles), 2, 8, photo=True)
    r = len(data.real_photo)

    one = RenderStage(copy.deepcopy(model), data, StageOptions(batch=2, render_sampled=1.0), 2)
    one._ensure_sampled()
    two = RenderStage(copy.deepcopy(model), data, StageOptions(batch=2, render_sampled=1.0, render_draws=2), 2)
    two._ensure_sampled()
    assert two.sampled_ids.shape == (2 * r, model.cfg.num_tokens) and len(two.sampled) == 2 * r
    assert torch.equal(two.sampled_ids[:r], one.sampled_ids)
    assert not torch.equal(two.sampled_ids[r:], one.sampled_ids)  # another draw, not a copy

    used = []
    real = RenderStage._sample
    monkeypatch.setattr(RenderStage, "_sample", lambda self, j, flip, s, draw=0: used.append(draw) or
                        real(self, j, flip, s, draw))
    two.opts = dataclasses.replace(two.opts, batch=8)
    for step in range(3):
        two.train_step(step)
    assert set(used) == {0, 1}

    # A one-draw run's tokens handed to a two-draw stage (a resume): draw 0 kept, draw 1 sampled.
    calls = []
    import sketchstudio.train.render as render_mod
    real_sampled_ids = render_mod.sampled_ids
    monkeypatch.setattr(render_mod, "sampled_ids", lambda *a, **k: calls.append(1) or real_sampled_ids(*a, **k))
    again = RenderStage(copy.deepcopy(model), data, StageOptions(batch=2, render_sampled=1.0, render_draws=2), 2)
    again.load_stage_tensors({"sampled_ids": one.sampled_ids})
    again._ensure_sampled()
    assert len(calls) == 1 and torch.equal(again.sampled_ids, two.sampled_ids)

    with pytest.raises(ValueError, match="render_draws"):
        RenderStage(copy.deepcopy(model), data, StageOptions(render_draws=0), 2)


@pytest.mark.parametrize("size,window", [((96, 80), (30, 20, 17, 25)), ((96, 80), (0, 0, 96, 80)),
                                         ((96, 80), (70, 51, 26, 29)), ((45, 37), (3, 5, 9, 30))])
def test_a_window_of_the_sketch_is_what_the_whole_sketch_draws_there(monkeypatch, size, window):
    """A live frame draws only the part it changed (SketchModel.decode(window=)): the renderer on
    that part and its margin draws the same pixels as on the whole output (origin on the pooling
    grid, the ImageNet-free model's photo and face-structure paths included)."""
    monkeypatch.setenv("SKETCHSTUDIO_BF16", "0")
    model = structure_renderer_model()
    with torch.no_grad():
        for p in model.tokenizer.renderer.parameters():  # every path drawing, not the zero start
            p.add_(torch.randn_like(p) * 0.05)
    ids = torch.randint(0, model.cfg.tokenizer.codebook_size, (1, model.cfg.num_tokens),
                        generator=torch.Generator().manual_seed(4))
    photo, w = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(5)), torch.eye(3)[:1]
    whole = model.decode(ids, size, style=w, photo=photo)
    top, left, h, wd = window
    part = model.decode(ids, size, style=w, photo=photo, window=window)
    assert part.shape == (1, 1, h, wd)
    assert (part - whole[..., top:top + h, left:left + wd]).abs().max() < 1e-5
    assert (whole - whole.mean()).abs().max() > 0.05  # a drawing, not a flat field
    with pytest.raises(ValueError):
        model.decode(ids, size, style=w, photo=photo, window=(size[0] - 4, 0, 8, 8))  # past the bottom
