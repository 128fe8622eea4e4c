"""Training on more than one device (train/distributed.py): two CPU processes joined by gloo
through Lightning Fabric average their gradients before each step, keep None where no rank has
one, stay equal, and `train --devices 2` writes one run folder as a one-device run does."""
import csv

import torch
import torch.distributed as dist

from sketchstudio.cli import main
from sketchstudio.core.checkpoint import load_model
from sketchstudio.train import distributed
from datagen import make_fs2k


def _averaging():
    r = distributed.rank()
    torch.manual_seed(0)  # the same start on both ranks
    net = torch.nn.Linear(3, 2)
    idle = torch.nn.Parameter(torch.ones(2))  # no rank gives it a gradient
    half = torch.nn.Parameter(torch.ones(2))  # only rank 1 does
    opt = torch.optim.SGD([*net.parameters(), idle, half], lr=1.0)
    opt.register_step_pre_hook(distributed._step_pre_hook)
    opt.register_step_post_hook(distributed._step_post_hook)
    x = torch.full((1, 3), float(r + 1))
    loss = net(x).sum() + (half.sum() * 2 if r == 1 else 0)
    loss.backward()
    opt.step()
    weights = torch.cat([p.detach().flatten() for p in [*net.parameters(), half]])
    everyone = [torch.zeros_like(weights) for _ in range(distributed.world_size())]
    dist.all_gather(everyone, weights)
    return (distributed.world_size(), [w.tolist() for w in everyone], idle.grad is None,
            net.weight.grad.tolist(), half.grad.tolist())


def test_gradients_are_averaged_over_two_processes_and_none_stays_none():
    n, weights, idle_none, weight_grad, half_grad = distributed.launch(2, "cpu", _averaging)
    assert n == 2 and weights[0] == weights[1]  # both ranks took the same step
    assert idle_none  # no rank had a gradient: the optimizer skipped it, as on one device
    assert weight_grad == [[1.5, 1.5, 1.5]] * 2  # the mean of x = 1 and x = 2
    assert half_grad == [1.0, 1.0]  # rank 1's 2, rank 0's nothing (0): mean 1


def test_train_on_two_cpu_processes_writes_one_run(tmp_path, tiny_checkpoint, capfd):
    fs2k = make_fs2k(tmp_path / "fs2k", per_style=2, size=40)
    out = tmp_path / "run"
    code = main(["train", "finetune", "--data", str(fs2k), "--out", str(out), "--init", str(tiny_checkpoint),
                 "--device", "cpu", "--devices", "2", "--max-steps", "3", "--batch", "2", "--checkpoint-every", "2",
                 "--preview-every", "3", "--keep-weight", "0"])
    assert code == 0
    err = capfd.readouterr().err  # the processes' own stderr, not Python's sys.stderr
    assert err.count("[finetune] done") == 1  # rank 0 reports, the other is quiet
    with open(out / "finetune.losses.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [1, 2, 3]
    model, _ = load_model(out / "finetune.safetensors")
    assert model.cfg.name == "tiny"


def test_devices_below_one_is_a_one_line_error(tmp_path, capsys):
    code = main(["train", "finetune", "--data", str(tmp_path), "--out", str(tmp_path / "r"), "--config", "tiny",
                 "--devices", "0"])
    assert code == 2 and "--devices 0" in capsys.readouterr().err
