"""The training runner's own contract, on a stage with no model maths in it."""
import csv

import numpy as np
import torch

from sketchstudio.core.sampler import CancelToken
from sketchstudio.train.runner import RunOptions, run_stage


class CountingStage:
    """Adds a loss column at step 3, as the decoder stage's adversarial term once did."""
    name = "counting"

    def __init__(self):
        self.model = torch.nn.Linear(2, 1)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        self.generator = torch.Generator().manual_seed(0)

    def train_step(self, step):
        self.optimizer.zero_grad()
        loss = self.model(torch.ones(1, 2)).pow(2).sum()
        loss.backward()
        self.optimizer.step()
        out = {"loss": loss.item()}
        if step >= 3:
            out["late"] = 1.0
        return out

    def preview(self):
        return np.zeros((2, 2), np.uint8), {}

    def finish(self, out_dir):
        return out_dir / "counting.done"

    def stage_tensors(self):
        return {}

    def load_stage_tensors(self, tensors):
        pass


def rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_a_late_loss_key_does_not_stop_the_run_and_resumed_rows_keep_the_header(tmp_path):
    cancel = CancelToken()
    for ev in run_stage(CountingStage(), tmp_path, RunOptions(6, checkpoint_every=2, preview_every=10), cancel):
        if ev.kind == "step" and ev.step == 4:
            cancel.cancel()
    assert ev.kind == "cancelled" and ev.step == 4
    events = list(run_stage(CountingStage(), tmp_path, RunOptions(6, checkpoint_every=2, preview_every=10, resume=True)))
    assert events[-1].kind == "done" and events[-1].step == 6
    table = rows(tmp_path / "counting.losses.csv")
    assert table[0] == ["step", "wall_s", "loss"]
    assert [r[0] for r in table[1:]] == ["1", "2", "3", "4", "5", "6"]
    assert all(len(r) == 3 for r in table)
