"""Nothing tries the network: sketch, train and eval run with every socket connection refused."""
import socket

import pytest

from sketchstudio.cli import main
from datagen import make_fs2k


@pytest.fixture
def no_network(monkeypatch):
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled by test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def test_sketch_train_eval_never_touch_the_network(no_network, tmp_path, tiny_checkpoint, make_photo):
    photo = make_photo("p.png")
    assert main(["sketch", str(photo), "--out", str(tmp_path / "s"), "--model", str(tiny_checkpoint), "-q"]) == 0
    fs2k = make_fs2k(tmp_path / "fs2k", per_style=2, size=40)
    assert main(["train", "all", "--data", str(fs2k), "--out", str(tmp_path / "run"), "--config", "tiny",
                 "--max-steps", "2", "--batch", "2", "-q"]) == 0
    assert main(["eval", "--data", str(fs2k), "--model", str(tmp_path / "run" / "finetune.safetensors"),
                 "--limit", "2", "--no-fsim", "--json"]) == 0
    assert no_network == []
