"""The finetune stage resumed bit for bit, as the wizard runs it: `--init` a finished model, one new
style from a "my drawings" folder, a frozen teacher that keeps the old styles (learning without
forgetting) and the old styles' embedding rows frozen. A run stopped at a checkpoint and resumed
must end with exactly the weights of a run that was never stopped."""
import csv

import torch

from datagen import make_drawings
from sketchstudio.core import build_model, preset
from sketchstudio.core.checkpoint import load_model, save_model
from sketchstudio.core.sampler import CancelToken
from sketchstudio.data.cache import Source
from sketchstudio.train.pipeline import PipelineOptions, run_pipeline
from sketchstudio.train.base import StageOptions


def make_tiny(seed: int):
    """The tiny preset with weights drawn under `seed` (as conftest's tiny_model)."""
    torch.manual_seed(seed)
    return build_model(preset("tiny")).eval()


STEPS = 6


def finetune(folder, init, out, resume=False, cancel_after=None):
    """The wizard's "add a new style" job (TrainingPlan.pipeline_options), at test size."""
    opts = PipelineOptions(stages=("finetune",), steps={"finetune": STEPS}, resume=resume, init=str(init),
                           checkpoint_every=2, preview_every=3, stage_options=StageOptions(batch=2, warmup=1))
    cancel = CancelToken()
    events = []
    for ev in run_pipeline([Source(folder, "ink")], out, opts, cancel):
        events.append(ev)
        if cancel_after is not None and (ev.stage, ev.kind, ev.step) == ("finetune", "step", cancel_after):
            cancel.cancel()
    return [e for e in events if e.stage == "finetune"]


def test_a_resumed_finetune_matches_an_uninterrupted_one(tmp_path):
    init = tmp_path / "start.safetensors"
    save_model(make_tiny(3), init)
    start, _ = load_model(init)
    folder = make_drawings(tmp_path / "ink", n=4, strays=False)

    finetune(folder, init, tmp_path / "a")
    first = finetune(folder, init, tmp_path / "b", cancel_after=3)
    assert [e.kind for e in first][-2:] == ["checkpoint", "cancelled"] and first[-1].step == 3
    assert (tmp_path / "b" / "finetune.state.safetensors").exists()
    second = finetune(folder, init, tmp_path / "b", resume=True)
    assert second[0].kind == "start" and second[0].step == 3
    assert [e.step for e in second if e.kind == "step"] == [4, 5, 6]

    straight, _ = load_model(tmp_path / "a" / "finetune.safetensors")
    resumed, _ = load_model(tmp_path / "b" / "finetune.safetensors")
    assert straight.styles == resumed.styles == (*start.styles, "ink")
    a, b = straight.state_dict(), resumed.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert any(not torch.equal(v, start.state_dict()[k]) for k, v in a.items() if k in start.state_dict())  # it trained
    with open(tmp_path / "b" / "finetune.losses.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == list(range(1, STEPS + 1))
    assert "keep_kl" in rows[0]  # the teacher took part, in both halves
