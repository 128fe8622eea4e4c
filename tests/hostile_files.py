"""Hostile files for the tests: pickle-based model files whose payload, if anything ever
unpickled them, would create a marker file (the `pickles` fixture fails the test if it appears)."""
from __future__ import annotations

import pickle

import pytest
import torch


class Payload:
    """Unpickling this creates `marker`: the proof that something unpickled the file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'a').close()",)


def pickle_files(folder, marker):
    """Paths of pickle-based model files in `folder` whose payload creates `marker` (each checked to work)."""
    files = {
        "raw-protocol2.pt": pickle.dumps({"w": Payload(marker)}, protocol=2),
        "raw-protocol5.ckpt": pickle.dumps({"state_dict": Payload(marker)}, protocol=5),
        "text-protocol0.pt": pickle.dumps(Payload(marker), protocol=0),  # starts "c", not 0x80
        "renamed.safetensors": pickle.dumps(Payload(marker), protocol=4),
    }
    for name, data in files.items():  # the payload is real: plain unpickling runs it
        pickle.loads(data)
        assert marker.exists(), name
        marker.unlink()
    zipped = folder / "zipped.pt"  # torch.save's zip archive, as .pt and Lightning .ckpt files are
    torch.save({"state_dict": {"w": torch.zeros(2)}, "hook": Payload(marker)}, zipped)
    torch.load(zipped, weights_only=False)
    assert marker.exists()
    marker.unlink()
    files["zipped.pt"] = zipped.read_bytes()
    files["zipped.ckpt"] = files["zipped.pt"]
    paths = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    return paths


@pytest.fixture
def pickles(tmp_path):
    marker = tmp_path / "UNPICKLED"
    folder = tmp_path / "pickles"
    folder.mkdir()
    paths = pickle_files(folder, marker)
    yield paths, marker
    assert not marker.exists(), "a model file was unpickled"
