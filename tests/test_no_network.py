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
    assert main(["eval", "--data", str(fs2k), "--model", str(tmp_path / "run" / "render.safetensors"),
                 "--limit", "2", "--no-fsim", "--json"]) == 0
    assert no_network == []


SITECUSTOMIZE = '''
import os, socket
_log = os.environ["NO_NETWORK_LOG"]

def _refuse(*args, **kwargs):
    with open(_log, "a") as f:
        f.write(repr(args)[:200] + "\\n")
    raise OSError("network disabled by test")

socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
'''


@pytest.mark.slow
def test_the_apps_self_test_never_touches_the_network(tmp_path, tiny_checkpoint):
    """The window's self-test in its own process, with sockets refused from interpreter start."""
    import os
    import subprocess
    import sys

    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    log = tmp_path / "attempts.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
           "NO_NETWORK_LOG": str(log), "QT_QPA_PLATFORM": "offscreen"}
    # The guard is live: a connection attempt in such a process is refused and logged.
    probe = subprocess.run([sys.executable, "-c", "import socket; socket.create_connection(('example.org', 80))"],
                           capture_output=True, text=True, env=env, timeout=60)
    assert probe.returncode != 0 and "network disabled by test" in probe.stderr and log.exists()
    log.unlink()
    proc = subprocess.run([sys.executable, "-m", "sketchstudio.cli", "--self-test", "--model", str(tiny_checkpoint)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "self-test passed" in proc.stdout
    assert not log.exists(), log.read_text()
