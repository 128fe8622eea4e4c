"""The two-stage pipeline on tiny data the tests make: every stage, resume, cancel, reports."""
import csv
import dataclasses

import pytest
import torch

from sketchstudio.core.checkpoint import load_model, save_model
from sketchstudio.core.config import preset
from sketchstudio.core.model import SketchModel
from sketchstudio.core.sampler import CancelToken, sample
from sketchstudio.core.face_structure import CHANNELS, STRUCTURE_VERSION
from sketchstudio.data.cache import STRUCTURE_SIZE, Source, TrainingData, build_training_data
from sketchstudio.data.datasets import DataReport
from sketchstudio.train.pipeline import PipelineOptions, run_pipeline
from sketchstudio.train.runner import RunOptions, run_stage
from sketchstudio.train.base import StageOptions
from sketchstudio.train.decoder import DecoderStage
from sketchstudio.train.finetune import FinetuneStage
from sketchstudio.train.masked import PretrainStage
from sketchstudio.train.surgery import add_refiner, add_structure
from sketchstudio.train.tokenizer import TokenizerStage
from datagen import make_fs2k, make_photo_folder

SIZE = 32  # the tiny preset's sketch size


@pytest.fixture(scope="module")
def data_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    fs2k = make_fs2k(root / "fs2k", per_style=4)
    (fs2k / "photos" / "image0000.jpg").write_text("this is not a jpeg")  # unreadable, must be reported
    return fs2k, make_photo_folder(root / "photos", n=3)


@pytest.fixture(scope="module")
def tiny_data(data_dirs):
    report = DataReport()
    data, val = build_training_data([Source(p) for p in data_dirs], SIZE, report)
    return data, val, report


def tiny_model(styles):
    torch.manual_seed(0)
    return SketchModel(preset("tiny").with_styles(styles))


def test_training_data_and_bad_file_report(tiny_data):
    data, val, report = tiny_data
    assert data.styles[:3] == ("contour", "charcoal", "pencil")
    assert len(val) == len(data.val_style) >= 2  # one held out per style, less the unreadable one
    assert len(data.real_style) + len(data.val_style) == 12 - 1  # every readable pair is used
    assert len(data.synth_style) == 3 * (len(data.real_style) + 3)  # 3 styles x (train photos + photo folder)
    assert any("image0000.jpg" in line for line in report.lines())


def test_training_data_round_trips_through_its_cache(tiny_data, tmp_path):
    data = tiny_data[0]
    data.save(tmp_path / "d.safetensors")
    back = TrainingData.load(tmp_path / "d.safetensors")
    assert back.styles == data.styles and torch.equal(back.synth_sketch, data.synth_sketch)
    # The face-structure maps are made once with the data and kept by the cache.
    assert data.structure_current and back.structure_current and not back.ensure_structure()
    assert torch.equal(back.photo_structure, data.photo_structure) and len(back.photo_structure) == len(data.photos)
    assert back.photo_structure.shape[1:] == (len(CHANNELS), STRUCTURE_SIZE, STRUCTURE_SIZE)


def test_a_cache_with_stale_or_no_maps_has_them_made_again(tiny_data, tmp_path):
    data = tiny_data[0]
    old = dataclasses.replace(data, structure_version=0)  # made by an earlier map
    old.save(tmp_path / "d.safetensors")
    back = TrainingData.load(tmp_path / "d.safetensors")
    assert not back.structure_current and back.ensure_structure() and back.structure_current
    assert torch.equal(back.photo_structure, data.photo_structure)
    bare = dataclasses.replace(data, photo_structure=data.photo_structure[:0], structure_version=STRUCTURE_VERSION)
    assert bare.ensure_structure() and torch.equal(bare.photo_structure, data.photo_structure)


def test_finetuning_a_distilled_model_drops_the_guidance_claim_of_the_styles_it_trains(tiny_data):
    from test_sampler import with_learnt_guidance

    data = tiny_data[0]
    model = with_learnt_guidance(tiny_model(data.styles), data.styles, 0.75)  # every style distilled
    stage = FinetuneStage(model, data, StageOptions(batch=4, keep_weight=0.0), 5)
    trained = {data.styles[i] for i in data.real_style.tolist()}
    t = stage.model.cfg.transformer
    assert trained and not trained & set(t.guided_styles) and t.learnt_guidance == 0.75  # the rest keep it
    assert set(t.guided_styles) == set(data.styles) - trained and stage.model.transformer.cfg is stage.model.cfg


def test_the_structure_path_starts_at_zero_and_learns(tiny_data):
    data = tiny_data[0]
    model = tiny_model(data.styles).eval()
    grown = add_structure(model, len(CHANNELS)).eval()
    assert grown.uses_structure and not model.uses_structure
    photo = data.photos[:2].float() / 255
    with torch.no_grad():  # zero-initialised: the same condition as before, maps or not
        assert torch.equal(grown.condition(photo).tokens, model.condition(photo).tokens)
    stage = FinetuneStage(grown.train(), data, StageOptions(batch=4, lr=3e-3, warmup=1), 5)
    assert stage.structure is not None and stage.structure.shape[-1] == grown.cfg.encoder.structure_size
    for i in range(3):
        stage.train_step(i)
    assert stage.model.encoder.structure_embed.weight.abs().sum() > 0  # the maps reach the loss


def repeated(data: TrainingData) -> TrainingData:
    """The same single pair everywhere, so every batch is identical."""
    one = lambda t: t[:1].repeat(len(t), *([1] * (t.dim() - 1)))  # noqa: E731
    return TrainingData(data.styles, data.photos, data.real_photo[:1].repeat(8), one(data.real_sketch[:8]),
                        data.real_style[:1].repeat(8), data.synth_photo[:1].repeat(8), one(data.synth_sketch[:8]),
                        data.synth_style[:1].repeat(8), data.val_photo, data.val_sketch, data.val_style)


def losses_of(stage, steps, key):
    return [stage.train_step(i)[key] for i in range(steps)]


def test_tokenizer_loss_falls_on_a_repeated_batch(tiny_data):
    data = repeated(tiny_data[0])
    stage = TokenizerStage(tiny_model(data.styles), data, StageOptions(batch=4, lr=2e-3, warmup=1), 40)
    loss = losses_of(stage, 40, "l1")
    assert sum(loss[-5:]) / 5 < 0.7 * sum(loss[:5]) / 5


@pytest.mark.parametrize("name", ["pretrain", "finetune"])
def test_masked_loss_falls_on_a_repeated_batch(tiny_data, name):
    data = repeated(tiny_data[0])
    masked = PretrainStage if name == "pretrain" else FinetuneStage
    stage = masked(tiny_model(data.styles), data, StageOptions(batch=4, lr=3e-3, warmup=1), 40)
    loss = losses_of(stage, 40, "ce")
    assert sum(loss[-5:]) / 5 < 0.8 * sum(loss[:5]) / 5
    if name == "finetune":
        assert "pixel" in stage.train_step(40) and "feature" in stage.train_step(41)


def test_finetuning_keeps_the_styles_it_does_not_train(tiny_data):
    """Learning without forgetting: the styles a fine-tune lacks data for drift far less."""
    data = repeated(tiny_data[0])
    start = tiny_model(data.styles)
    photo = data.photos[data.real_photo[:2]].float() / 255
    kept = [i for i in range(len(data.styles)) if i not in set(data.real_style.tolist())]
    assert kept  # the synthetic styles: in this data, not in its real pairs
    inputs = torch.full((2, start.cfg.num_tokens), start.cfg.mask_id)

    def drift(keep_weight):
        model = tiny_model(data.styles)
        stage = FinetuneStage(model, data, StageOptions(batch=4, lr=3e-3, warmup=1, keep_weight=keep_weight), 30)
        assert (stage.teacher is not None) == (keep_weight > 0)
        losses = [stage.train_step(i) for i in range(30)]
        model.eval()
        total = 0.0
        with torch.no_grad():
            for k in kept:
                w = torch.nn.functional.one_hot(torch.tensor([k, k]), len(data.styles)).float()
                a = start.logits(inputs, start.condition(photo), w).log_softmax(-1)
                b = model.logits(inputs, model.condition(photo), w).log_softmax(-1)
                total += torch.nn.functional.kl_div(b, a, log_target=True, reduction="batchmean").item()
        return total, losses

    free, _ = drift(0.0)
    kept_drift, losses = drift(1.0)
    assert "keep_kl" in losses[-1]
    assert kept_drift < 0.5 * free, (kept_drift, free)


def test_decoder_stage_moves_only_the_decoder_and_keeps_every_token(tiny_data):
    data = tiny_data[0]
    model = add_refiner(tiny_model(data.styles), 4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = data.val_sketch.float() / 255
    ids_before = model.tokenizer.encode(x)
    stage = DecoderStage(model, data, StageOptions(batch=4, warmup=1, decoder_lr=1e-3, disc_start=2), 6)
    disc_before = {k: v.clone() for k, v in stage.disc.state_dict().items()}
    losses = [stage.train_step(i) for i in range(6)]
    assert losses[0]["g_loss"] == 0 and losses[-1]["g_loss"] != 0 and all("d_loss" in loss for loss in losses)
    after = model.state_dict()
    moved = {k for k in after if not torch.equal(after[k], before[k])}
    assert moved and all(k.startswith(("tokenizer.decoder.", "tokenizer.post_quant_conv.", "tokenizer.refine."))
                         for k in moved), moved
    assert any(k.startswith("tokenizer.refine.") for k in moved)
    assert torch.equal(model.tokenizer.encode(x), ids_before)  # the transformer's vocabulary is unchanged
    assert any(not torch.equal(v, disc_before[k]) for k, v in stage.disc.state_dict().items())
    grid, metrics = stage.preview()
    assert grid.std() > 0 and 0 <= metrics["val_scoot"] <= 1


def test_adding_the_refinement_head_changes_no_pixel_and_survives_a_checkpoint(tiny_data, tmp_path):
    model = tiny_model(tiny_data[0].styles).eval()
    grown = add_refiner(model, 4).eval()
    assert add_refiner(grown, 8) is grown and grown.cfg.tokenizer.refine_channels == 4
    ids = torch.randint(0, grown.cfg.tokenizer.codebook_size, (2, grown.cfg.num_tokens))
    assert torch.equal(model.decode(ids), grown.decode(ids))
    save_model(grown, tmp_path / "m.safetensors")
    back, _ = load_model(tmp_path / "m.safetensors")
    assert back.cfg.tokenizer.refine_channels == 4 and torch.equal(back.decode(ids), grown.decode(ids))


def run_to_end(make_stage, out, total, cancel_after=None, resume=False):
    stage = make_stage()
    cancel = CancelToken()
    events = []
    for ev in run_stage(stage, out, RunOptions(total, checkpoint_every=2, preview_every=3, resume=resume), cancel):
        events.append(ev)
        if cancel_after is not None and ev.kind == "step" and ev.step == cancel_after:
            cancel.cancel()
    return stage, events


@pytest.mark.parametrize("kind", ["tokenizer", "decoder", "pretrain"])
def test_resumed_run_matches_uninterrupted_run(tiny_data, tmp_path, kind):
    data = tiny_data[0]
    opts = StageOptions(batch=2, warmup=2, disc_start=2)

    def make():
        m = tiny_model(data.styles)
        if kind == "tokenizer":
            return TokenizerStage(m, data, opts, 6)
        return DecoderStage(add_refiner(m, 4), data, opts, 6) if kind == "decoder" else PretrainStage(m, data, opts, 6)

    straight, _ = run_to_end(make, tmp_path / "a", 6)
    _, first = run_to_end(make, tmp_path / "b", 6, cancel_after=3)
    assert [e.kind for e in first][-2:] == ["checkpoint", "cancelled"] and first[-1].step == 3
    resumed, second = run_to_end(make, tmp_path / "b", 6, resume=True)
    assert second[0].kind == "start" and second[0].step == 3
    assert [e.step for e in second if e.kind == "step"] == [4, 5, 6]
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    if kind == "decoder":  # the discriminator is part of the state too
        a.update({f"disc.{k}": v for k, v in straight.disc.state_dict().items()})
        b.update({f"disc.{k}": v for k, v in resumed.disc.state_dict().items()})
    for k in a:
        assert torch.equal(a[k], b[k]), k
    with open(tmp_path / "b" / f"{kind}.losses.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [1, 2, 3, 4, 5, 6]


def test_whole_pipeline_on_tiny_data(data_dirs, tmp_path):
    opts = PipelineOptions(config="tiny", steps={"tokenizer": 4, "decoder": 2, "pretrain": 4, "finetune": 4, "render": 2,
                                                 "tone": 2},
                           checkpoint_every=2, preview_every=2, stage_options=StageOptions(batch=2))
    events = list(run_pipeline([Source(p) for p in data_dirs], tmp_path, opts))
    done = [e for e in events if e.kind == "done"]
    assert [e.stage for e in done] == ["data", "tokenizer", "decoder", "pretrain", "finetune", "render", "tone"]
    previews = [e for e in events if e.kind == "preview"]
    assert {e.stage for e in previews} == {"tokenizer", "decoder", "pretrain", "finetune", "render", "tone"}
    assert all(e.preview.ndim == 3 and e.preview.std() > 0 for e in previews)
    for name in ("tokenizer", "decoder", "pretrain", "finetune", "render", "tone"):
        assert (tmp_path / f"{name}.safetensors").exists()
        assert not (tmp_path / f"{name}.state.safetensors").exists()  # finished stages clean up
        assert (tmp_path / f"{name}.preview.png").exists()
    assert "image0000.jpg" in (tmp_path / "data_report.txt").read_text()
    assert (tmp_path / "val" / "pairs.csv").read_text().count("\n") >= 3  # header + held-out pairs
    model, info = load_model(tmp_path / "tone.safetensors")
    assert info["stage"] == "tone" and "contour" in model.styles and model.tokenizer.tone is not None
    assert model.tokenizer.renderer is not None and model.tokenizer.upscaler is None
    assert model.output_size == 2 * model.sketch_size
    photo = torch.rand(1, 3, model.photo_size, model.photo_size)
    assert not sample(model, photo).mask.any()
    # Resuming a finished pipeline skips every stage.
    again = list(run_pipeline([Source(p) for p in data_dirs], tmp_path,
                              PipelineOptions(**{**opts.__dict__, "resume": True})))
    assert all(e.message in ("already finished",) or e.stage == "data" for e in again)


def test_pretrain_without_a_tokenizer_is_a_clear_error(data_dirs, tmp_path):
    opts = PipelineOptions(stages=("pretrain",), config="tiny", steps={"pretrain": 2})
    with pytest.raises(FileNotFoundError, match="run the tokenizer stage first"):
        list(run_pipeline([Source(data_dirs[1])], tmp_path, opts))
