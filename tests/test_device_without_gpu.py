"""The CUDA path's two risks, checked without a GPU. Device moves: every training stage with its
model, discriminator and batches on another device than the data; the meta device stands in
for a GPU (tests/meta_device.py), so a tensor left on the CPU that meets one on the device fails
here as it would on CUDA. Mixed precision: every stage's forward passes under bf16 autocast
(the CPU's, whose op list differs from CUDA's: the closest check there is here)."""
import math

import pytest
import torch

from sketchstudio.core.config import preset
from sketchstudio.core.model import SketchModel
from sketchstudio.data.cache import Source, build_training_data
from sketchstudio.data.datasets import DataReport
from sketchstudio.train import base
from sketchstudio.train.base import StageOptions
from sketchstudio.train.pipeline import STAGES, build_stage, stage_model
from sketchstudio.train.styles import align_styles
from datagen import make_fs2k
from meta_device import META, StandIns, patch_value_reads


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    fs2k = make_fs2k(tmp_path_factory.mktemp("data") / "fs2k", per_style=3)
    return build_training_data([Source(fs2k)], 32, DataReport(), native=True)[0]


@pytest.fixture
def on_meta(monkeypatch):
    monkeypatch.setattr(base, "resolve_device", lambda name: META)
    patch_value_reads(monkeypatch)


# The v10 render stage: the structure path and the style-aware discriminator, on from step 0.
V10_RENDER = {"structure": True, "render_adversarial": 0.5, "render_disc_start": 0}


def stage_on(name, data, **options):
    opts = StageOptions(batch=2, warmup=1, disc_start=0, device="meta", **options)
    torch.manual_seed(0)
    model = stage_model(name, SketchModel(preset("tiny").with_styles(data.styles)), data, opts)
    return build_stage(name, model, align_styles(data, model.styles), opts, 4)


@pytest.mark.parametrize("name, options", [(s, {}) for s in STAGES] + [("render", V10_RENDER)],
                         ids=[*STAGES, "render-v10"])
def test_a_stage_trains_and_previews_with_everything_it_computes_on_the_device(data, on_meta, name, options):
    with StandIns():
        stage = stage_on(name, data, **options)
        assert {p.device for p in stage.model.parameters()} == {META}
        assert (getattr(stage, "disc", None) is not None) == (name in ("decoder", "upscale") or bool(options))
        if getattr(stage, "disc", None) is not None:
            assert {p.device for p in stage.disc.parameters()} == {META}
        for step in range(2):
            stage.model.train()
            stage.train_step(step)
        stage.model.eval()
        stage.preview()


@pytest.mark.parametrize("name", ["tokenizer", "render"])
def test_a_batch_left_on_the_cpu_is_caught(data, on_meta, monkeypatch, name):
    monkeypatch.setattr(base.StageBase, "to_device", lambda self, x: x)
    with StandIns(), pytest.raises(RuntimeError, match="expected device"):
        stage = stage_on(name, data)
        stage.train_step(0)


@pytest.mark.parametrize("name, options", [(s, {}) for s in STAGES] + [("render", V10_RENDER)],
                         ids=[*STAGES, "render-v10"])
def test_a_stage_steps_under_bf16_autocast(data, monkeypatch, name, options):
    monkeypatch.setattr(base.StageBase, "autocast", lambda self: torch.autocast("cpu", dtype=torch.bfloat16))
    opts = StageOptions(batch=2, warmup=1, disc_start=0, **options)
    torch.manual_seed(0)
    model = stage_model(name, SketchModel(preset("tiny").with_styles(data.styles)), data, opts)
    stage = build_stage(name, model, align_styles(data, model.styles), opts, 4)
    for step in range(2):
        stage.model.train()
        losses = stage.train_step(step)
        assert losses and all(math.isfinite(v) for v in losses.values()), losses
    assert {p.dtype for p in stage.model.parameters()} == {torch.float32}  # autocast leaves the weights alone
    stage.model.eval()
    stage.preview()
