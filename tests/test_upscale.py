"""The 2x texture head (tokenizer.Upscaler) and the `upscale` stage that trains it, on tiny data."""
import pytest
from PIL import Image
import torch
import torch.nn.functional as F

from sketchstudio.core.checkpoint import load_model, save_model
from sketchstudio.core.config import preset
from sketchstudio.core.model import SketchModel
from sketchstudio.core.sampler import SamplerSettings, sample
from sketchstudio.core.tokenizer import paper_grain
from sketchstudio.data.cache import Source, TrainingData, build_training_data
from sketchstudio.data.datasets import DataReport
from sketchstudio.train.pipeline import PipelineOptions, run_pipeline
from sketchstudio.train.base import StageOptions
from sketchstudio.train.surgery import add_upscaler
from sketchstudio.train.upscale import UpscaleStage, local_contrast
from datagen import make_fs2k

SIZE = 32  # the tiny preset's sketch size


@pytest.fixture(scope="module")
def hr_data(tmp_path_factory):
    fs2k = make_fs2k(tmp_path_factory.mktemp("data") / "fs2k", per_style=3)
    # FS2K's drawings come in several sizes (250x250, 223x318, 475x340): make two here too.
    for i in range(3, 9, 2):
        for sub, name in (("photos", f"image{i:04d}.jpg"), ("sketches", f"sketch{i:04d}.png")):
            path = fs2k / sub / name
            Image.open(path).resize((70, 50), Image.BICUBIC).save(path)
    data, _ = build_training_data([Source(fs2k)], SIZE, DataReport(), native=True)
    return fs2k, data


def tiny_model(styles=None):
    torch.manual_seed(0)
    cfg = preset("tiny")
    return SketchModel(cfg.with_styles(styles) if styles else cfg).eval()


def test_a_new_texture_head_only_resizes_and_survives_a_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("SKETCHSTUDIO_BF16", "0")  # fp32: the drawing's decode is then `decode`'s, bit for bit
    model = tiny_model()
    grown = add_upscaler(model, 2, 8).eval()
    assert add_upscaler(grown, 2, 16) is grown and add_upscaler(model, 2, 0) is model
    assert grown.output_size == 2 * model.sketch_size == 2 * model.output_size
    ids = torch.randint(0, grown.cfg.tokenizer.codebook_size, (2, grown.cfg.num_tokens))
    small = model.decode(ids)  # (2, 1, 32, 32): no head, no size asked: the decode itself
    assert torch.equal(small, model.tokenizer.decode(ids))
    big = grown.decode(ids)  # (2, 1, 64, 64)
    assert big.shape == (2, 1, 64, 64)
    want = F.interpolate(small, size=(64, 64), mode="bicubic", antialias=True).clamp(0, 1)
    assert torch.allclose(big, want, atol=1e-6)
    assert torch.equal(grown.tokenizer.decode(ids), small)  # training's size is unchanged
    assert grown.decode(ids, size=(50, 37)).shape == (2, 1, 50, 37)  # any size
    assert model.decode(ids, size=(50, 37)).shape == (2, 1, 50, 37)  # resized without a head
    torch.nn.init.normal_(grown.tokenizer.upscaler.head[-1].weight, std=0.1)
    save_model(grown, tmp_path / "m.safetensors")
    back, _ = load_model(tmp_path / "m.safetensors")
    assert back.cfg.tokenizer.upscale == 2 and torch.equal(back.decode(ids), grown.decode(ids))


def test_the_stage_crop_equals_the_same_square_of_the_full_render(hr_data):
    _, data = hr_data
    model = add_upscaler(tiny_model(data.styles), 2, 8)
    torch.nn.init.normal_(model.tokenizer.upscaler.head[-1].weight, std=0.2)
    stage = UpscaleStage(model, data, StageOptions(batch=2), 4)
    up = model.tokenizer.upscaler
    for j in range(len(data.real_native)):
        for flip in (False, True):
            g = torch.Generator().manual_seed(j)
            stage.generator = g
            out, target = stage._sample(j, flip)
            g.manual_seed(j)
            h, w = (int(v) for v in data.real_native_size[j])
            top, left = (int(torch.randint(0, n - stage.crop + 1, (1,), generator=g)) for n in (h, w))
            c = stage.crop
            full = up(stage.base[int(flip)][j:j + 1].float(), (h, w))
            assert torch.allclose(out, full[..., top:top + c, left:left + c], atol=1e-5)
            drawing = data.real_native[j:j + 1, :, :h, :w].float() / 255
            drawing = drawing.flip(-1) if flip else drawing
            assert torch.equal(target, drawing[..., top:top + c, left:left + c])


def test_the_render_is_deterministic_and_the_grain_is_fixed():
    a = paper_grain(40, 30)
    paper_grain.cache_clear()
    assert torch.equal(a, paper_grain(40, 30)) and a.shape == (1, 1, 40, 30)
    assert a.std() > 0.2  # uniform noise, not a constant


def test_local_contrast_reads_pixel_to_pixel_variation():
    flat = torch.full((1, 1, 32, 32), 0.5)
    assert local_contrast(flat).abs().max() == 0
    checker = (torch.arange(32)[:, None] + torch.arange(32)[None, :]) % 2  # (32, 32)
    c = local_contrast(checker.float().view(1, 1, 32, 32))  # (1, 4, 1, 1)
    # Horizontal and vertical neighbours always differ by 1; diagonal ones never.
    assert torch.allclose(c[:, 0], torch.ones(1, 1, 1)) and torch.allclose(c[:, 2], torch.ones(1, 1, 1))
    assert c[:, 1].max() == 0


def test_the_cache_keeps_the_drawings_at_their_own_resolution(hr_data, tmp_path):
    fs2k, data = hr_data
    assert len(data.real_native) == len(data.real_sketch) and len(data.val_native) == len(data.val_sketch)
    sizes = {tuple(s.tolist()) for s in data.real_native_size}
    assert len(sizes) > 1  # the generated FS2K folder has drawings of several sizes
    h, w = data.real_native_size[0].tolist()
    assert data.real_native.shape[-2:] == tuple(data.real_native_size.max(0).values.tolist())
    assert (data.real_native[0, 0, h:, :] == 255).all() and (data.real_native[0, 0, :, w:] == 255).all()
    # Same drawing: shrunk to 32 px it looks like the 32 px copy.
    small = F.interpolate(data.real_native[:1, :, :h, :w].float(), size=(SIZE, SIZE), mode="area")
    assert (small - data.real_sketch[:1].float()).abs().mean() < 3
    data.save(tmp_path / "d.safetensors")
    back = TrainingData.load(tmp_path / "d.safetensors")
    assert torch.equal(back.real_native, data.real_native) and torch.equal(back.val_native_size, data.val_native_size)


def test_upscale_stage_moves_only_the_head_keeps_every_token_and_fits_a_repeated_batch(hr_data):
    _, data = hr_data
    model = add_upscaler(tiny_model(data.styles), 2, 8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = data.val_sketch.float() / 255
    ids_before = model.tokenizer.encode(x)
    stage = UpscaleStage(model, data, StageOptions(batch=4, warmup=1, decoder_lr=3e-3, disc_start=3), 40)
    losses = [stage.train_step(i) for i in range(40)]
    assert losses[0]["g_loss"] == 0 and losses[-1]["g_loss"] != 0 and losses[-1]["adaptive"] > 0
    after = model.state_dict()
    moved = {k for k in after if not torch.equal(after[k], before[k])}
    assert moved and all(k.startswith("tokenizer.upscaler.") for k in moved), moved
    assert torch.equal(model.tokenizer.encode(x), ids_before)
    first = sum(loss["l1"] for loss in losses[:5]) / 5
    last = sum(loss["l1"] for loss in losses[-5:]) / 5
    assert last < first, (first, last)
    grid, metrics = stage.preview()
    assert grid.std() > 0 and 0 <= metrics["val_scoot"] <= 1 and 0 <= metrics["val_scoot_bicubic"] <= 1


def test_upscale_stage_without_high_resolution_drawings_is_a_clear_error(hr_data):
    import dataclasses

    _, data = hr_data
    model = add_upscaler(tiny_model(data.styles), 2, 8)
    with pytest.raises(ValueError, match="at their own resolution"):
        UpscaleStage(model, dataclasses.replace(data, real_native=torch.zeros(0, 1, 0, 0, dtype=torch.uint8)),
                     StageOptions(), 2)
    with pytest.raises(ValueError, match="texture head"):
        UpscaleStage(tiny_model(data.styles), data, StageOptions(), 2)


def test_upscale_stage_on_a_finished_model_through_the_pipeline(hr_data, tmp_path):
    fs2k, data = hr_data
    base = tiny_model(data.styles)
    save_model(base, tmp_path / "base.safetensors")
    opts = PipelineOptions(stages=("upscale",), config="tiny", steps={"upscale": 3}, init=str(tmp_path / "base.safetensors"),
                           checkpoint_every=2, preview_every=2, stage_options=StageOptions(batch=2))
    events = list(run_pipeline([Source(fs2k)], tmp_path / "run", opts))
    assert [e.stage for e in events if e.kind == "done"] == ["data", "upscale"]
    model, info = load_model(tmp_path / "run" / "upscale.safetensors")
    assert info["stage"] == "upscale" and model.output_size == 64
    res = sample(model, torch.rand(1, 3, 32, 32), settings=SamplerSettings(steps=4, preview="full"))
    assert res.preview.shape == (1, 1, 64, 64) and not res.mask.any()


def test_the_pipeline_skips_the_upscale_stage_on_photos_alone(tmp_path):
    from datagen import make_photo_folder

    photos = make_photo_folder(tmp_path / "photos", n=3)
    opts = PipelineOptions(stages=("tokenizer", "decoder", "upscale", "pretrain"), config="tiny",
                           steps={"tokenizer": 2, "decoder": 2, "upscale": 2, "pretrain": 2},
                           checkpoint_every=2, preview_every=2, stage_options=StageOptions(batch=2))
    events = list(run_pipeline([Source(photos)], tmp_path / "run", opts))
    skipped = [e for e in events if e.stage == "upscale"]
    assert [e.kind for e in skipped] == ["done"] and "skipped" in skipped[0].message
    assert not (tmp_path / "run" / "upscale.safetensors").exists()
    model, _ = load_model(tmp_path / "run" / "pretrain.safetensors")  # started from the decoder stage
    assert model.output_size == model.sketch_size


def test_intermediate_previews_skip_the_texture_head_and_the_last_one_is_the_finished_sketch():
    from sketchstudio.core.sampler import iter_steps

    model = add_upscaler(tiny_model(), 2, 8).eval()
    torch.nn.init.normal_(model.tokenizer.upscaler.head[-1].weight, std=0.2)
    steps = list(iter_steps(model, torch.rand(1, 3, 32, 32), settings=SamplerSettings(steps=4, preview="full")))
    assert all(s.preview.shape == (1, 1, 64, 64) for s in steps)
    for s in steps[:-1]:
        assert torch.allclose(s.preview, model.decode(s.predicted, texture=False))
    last = steps[-1]
    assert torch.equal(last.preview, model.decode(last.tokens))
    assert not torch.allclose(last.preview, model.decode(last.tokens, texture=False))


def test_a_resumed_upscale_run_matches_an_uninterrupted_one(hr_data, tmp_path):
    from test_training import run_to_end

    _, data = hr_data
    opts = StageOptions(batch=2, warmup=2, disc_start=2)

    def make():
        stage = UpscaleStage(add_upscaler(tiny_model(data.styles), 2, 8), data, opts, 6)
        stage.adaptive_every = 2  # measured at steps 2 and 4: the resumed half must restore it
        return stage

    straight, _ = run_to_end(make, tmp_path / "a", 6)
    _, first = run_to_end(make, tmp_path / "b", 6, cancel_after=3)
    assert first[-1].kind == "cancelled" and first[-1].step == 3
    resumed, second = run_to_end(make, tmp_path / "b", 6, resume=True)
    assert [e.step for e in second if e.kind == "step"] == [4, 5, 6]
    a = {**straight.model.state_dict(), **{f"disc.{k}": v for k, v in straight.disc.state_dict().items()}}
    b = {**resumed.model.state_dict(), **{f"disc.{k}": v for k, v in resumed.disc.state_dict().items()}}
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_the_cli_draws_crop_none_sketches_at_the_photos_size_within_a_pixel_budget(tmp_path, monkeypatch):
    import sketchstudio.cli as cli_mod
    import sketchstudio.core.tokenizer as tokenizer_mod

    model = add_upscaler(tiny_model(), 2, 8)
    path = tmp_path / "m.safetensors"
    save_model(model, path)
    photo = tmp_path / "wide.png"
    Image.new("RGB", (300, 120), (200, 180, 160)).save(photo)
    drawn = []
    real_decode = SketchModel.decode

    def spy(self, ids, size=None, texture=True, style=None, photo=None):
        drawn.append(size)
        return real_decode(self, ids, size, texture, style, photo)

    monkeypatch.setattr(SketchModel, "decode", spy)
    for budget, want in ((4096, (120, 300)), (100, (40, 100))):
        monkeypatch.setattr(tokenizer_mod, "RENDER_MAX", budget)
        out = tmp_path / f"out{budget}"
        assert cli_mod.main(["sketch", str(photo), "--out", str(out), "--model", str(path), "--crop", "none", "-q"]) == 0
        assert drawn[-1] == want  # drawn by the head at the photo's size, or within the budget
        assert Image.open(out / "wide.png").size == (300, 120)  # and always returned at the photo's size
