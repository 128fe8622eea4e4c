"""Adding a style to a trained model: extend style_emb, keep every other weight, fine-tune on pairs."""
import pytest
import torch

from sketchstudio.core.checkpoint import load_model, save_model
from sketchstudio.core.config import FS2K_STYLES
from sketchstudio.core.sampler import CancelToken
from sketchstudio.data.cache import Source, build_training_data
from sketchstudio.data.datasets import DataReport
from sketchstudio.data.synthetic import SYNTHETIC_STYLES
from sketchstudio.train.pipeline import PipelineOptions, run_pipeline
from sketchstudio.train.base import StageOptions
from sketchstudio.train.styles import add_styles, align_styles, stage_styles
from conftest import make_tiny
from datagen import make_drawings, make_photo_folder


@pytest.fixture(scope="module")
def drawings(tmp_path_factory):
    return make_drawings(tmp_path_factory.mktemp("mine") / "inkwash", n=5)


def charcoal_logits(model):
    """The model's logits in the charcoal style (FS2K's second) for a fixed photo and tokens."""
    g = torch.Generator().manual_seed(0)
    photo = torch.rand(1, 3, model.photo_size, model.photo_size, generator=g)
    tokens = torch.randint(0, 32, (1, model.cfg.num_tokens), generator=g)
    w = torch.zeros(1, len(model.styles))
    w[0, model.styles.index("charcoal")] = 1.0
    with torch.no_grad():
        return model.logits(tokens, model.condition(photo), w)


def test_add_styles_appends_mean_rows_and_keeps_everything_else():
    base = make_tiny(0)
    grown = add_styles(base, ("pencil", "inkwash", "inkwash"))
    assert grown.styles == FS2K_STYLES + ("inkwash",)
    old, new = base.state_dict(), grown.state_dict()
    emb = new["transformer.style_emb"]  # (4, C)
    assert torch.equal(emb[:3], old["transformer.style_emb"])
    assert torch.allclose(emb[3], old["transformer.style_emb"].mean(0))
    assert all(torch.equal(old[k], new[k]) for k in old if k != "transformer.style_emb")
    # The old styles draw exactly as before.
    assert torch.allclose(charcoal_logits(base), charcoal_logits(grown), atol=1e-6)
    assert add_styles(base, ("contour",)) is base


def test_stage_styles_and_align_renumber_by_name(drawings):
    data, _ = build_training_data([Source(drawings, "inkwash")], 32, DataReport())
    assert data.styles == ("inkwash",) + SYNTHETIC_STYLES
    assert stage_styles("finetune", data) == ("inkwash",)
    assert stage_styles("pretrain", data) == SYNTHETIC_STYLES
    assert stage_styles("tokenizer", data) == ()
    model_styles = FS2K_STYLES + ("inkwash",)
    aligned = align_styles(data, model_styles)
    assert aligned.styles == model_styles
    assert set(aligned.real_style.tolist()) == {3} and set(aligned.val_style.tolist()) == {3}
    assert set(aligned.synth_style.tolist()) == {-1}  # not in the model: finetune never reads them
    assert align_styles(data, data.styles) is data


def finetune_opts(steps=3, resume=False, init=None):
    return PipelineOptions(stages=("finetune",), config="tiny", steps={"finetune": steps}, resume=resume, init=init,
                           checkpoint_every=1, preview_every=2, stage_options=StageOptions(batch=2, warmup=1))


def test_finetune_from_a_trained_model_adds_the_drawings_style(drawings, tmp_path):
    base_path = tmp_path / "base.safetensors"
    save_model(make_tiny(0), base_path)
    out = tmp_path / "run"
    cancel = CancelToken()
    events = []
    for ev in run_pipeline([Source(drawings, "inkwash")], out, finetune_opts(4, init=str(base_path)), cancel):
        events.append(ev)
        if ev.stage == "finetune" and ev.kind == "step" and ev.step == 2:
            cancel.cancel()
    assert events[-1].kind == "cancelled" and events[-1].step == 2
    # Resuming rebuilds the grown model, so the saved state fits it.
    events = list(run_pipeline([Source(drawings, "inkwash")], out, finetune_opts(4, True, str(base_path))))
    assert [e.step for e in events if e.kind == "step"] == [3, 4]
    assert any(e.kind == "preview" and e.preview.std() > 0 for e in events)
    model, info = load_model(out / "finetune.safetensors")
    base, _ = load_model(base_path)
    assert model.styles == FS2K_STYLES + ("inkwash",) and info["stage"] == "finetune"
    old, new = base.state_dict(), model.state_dict()
    assert all(torch.equal(old[k], new[k]) for k in old if k.startswith("tokenizer."))  # frozen in stage 2
    assert not torch.equal(old["transformer.head.weight"], new["transformer.head.weight"])  # trained
    # Only the new row learns; the rows of the other styles stay exactly (no weight decay on them).
    emb = new["transformer.style_emb"]
    assert torch.equal(emb[:3], old["transformer.style_emb"])
    assert not torch.allclose(emb[3], old["transformer.style_emb"].mean(0), atol=1e-6)


def test_pretrain_from_a_model_without_synthetic_styles_adds_them(tmp_path):
    base_path = tmp_path / "base.safetensors"
    save_model(make_tiny(0), base_path)
    photos = make_photo_folder(tmp_path / "photos", n=3)
    opts = PipelineOptions(stages=("pretrain",), config="tiny", steps={"pretrain": 2}, init=str(base_path),
                           preview_every=2, stage_options=StageOptions(batch=2, warmup=1))
    list(run_pipeline([Source(photos)], tmp_path / "run", opts))
    model, _ = load_model(tmp_path / "run" / "pretrain.safetensors")
    assert model.styles == FS2K_STYLES + SYNTHETIC_STYLES


def test_embedding_only_finetune_learns_the_new_row_and_leaves_the_old_styles_exactly(drawings, tmp_path):
    base_path = tmp_path / "base.safetensors"
    save_model(make_tiny(0), base_path)
    opts = PipelineOptions(stages=("finetune",), config="tiny", steps={"finetune": 4}, init=str(base_path),
                           checkpoint_every=2, preview_every=4,
                           stage_options=StageOptions(batch=2, warmup=1, only_new_styles=True))
    list(run_pipeline([Source(drawings, "inkwash")], tmp_path / "run", opts))
    model, _ = load_model(tmp_path / "run" / "finetune.safetensors")
    base, _ = load_model(base_path)
    old, new = base.state_dict(), model.state_dict()
    moved = {k for k in old if not torch.equal(old[k], new[k])}
    assert moved == {"transformer.style_emb"}  # (it grew a row) every shared weight is bit for bit the same
    emb = new["transformer.style_emb"]
    assert torch.equal(emb[:3], old["transformer.style_emb"])
    assert not torch.allclose(emb[3], old["transformer.style_emb"].mean(0), atol=1e-4)  # the new row learned
    assert torch.equal(charcoal_logits(base), charcoal_logits(model))  # the old styles draw exactly as before
