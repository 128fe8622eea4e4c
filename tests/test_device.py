"""--device auto|cpu|cuda (train/device.py): auto is the CPU without CUDA, cuda without one is
a one-line error, and the CPU path is what it was (the resume tests check it bit for bit).
Nothing here needs a GPU; the CUDA path itself is not exercised by the tests."""
import json

import pytest
import torch

from sketchstudio.cli import main as cli_main
from sketchstudio.train.device import autocast, resolve_device
from datagen import make_fs2k


def test_auto_is_cuda_only_when_pytorch_sees_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu") and resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="sees no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")


def test_autocast_is_nothing_on_the_cpu():
    with autocast(torch.device("cpu")):
        assert not torch.is_autocast_enabled("cpu")
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


def test_train_device_cuda_without_one_is_one_line_and_trains_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    data = make_fs2k(tmp_path / "fs2k", per_style=2)
    code = cli_main(["train", "all", "--data", str(data), "--out", str(tmp_path / "run"), "--config", "tiny",
                     "--device", "cuda"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "error: --device cuda: PyTorch sees no CUDA GPU" in err
    assert not (tmp_path / "run").exists()


def test_auto_trains_on_the_cpu_here_and_the_run_records_it(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    data = make_fs2k(tmp_path / "fs2k", per_style=2)
    run = tmp_path / "run"
    assert cli_main(["train", "tokenizer", "--data", str(data), "--out", str(run), "--config", "tiny",
                     "--max-steps", "1", "--batch", "2", "-q"]) == 0
    assert json.loads((run / "pipeline.json").read_text())["options"]["stage_options"]["device"] == "cpu"
