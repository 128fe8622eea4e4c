"""Configs: JSON round trip, validation, presets (paper needs a local CLIP file, never the network)."""
import dataclasses
import json
import socket

import pytest

from sketchstudio.core import ModelConfig, build_model, preset
from sketchstudio.core.config import PRESETS, TransformerConfig
from sketchstudio.core.encoder import ClipWeightsError


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_json_round_trip(name):
    cfg = preset(name)
    back = ModelConfig.from_json(cfg.to_json())
    assert back == cfg
    assert isinstance(back.tokenizer.ch_mult, tuple) and isinstance(back.styles, tuple)
    assert back.to_json() == cfg.to_json()


def test_unknown_fields_are_rejected():
    d = preset("tiny").to_dict()
    d["encoder"]["colour"] = 1
    with pytest.raises(ValueError, match="colour"):
        ModelConfig.from_dict(d)
    d = preset("tiny").to_dict()
    d["extra"] = 1
    with pytest.raises(ValueError, match="extra"):
        ModelConfig.from_json(json.dumps(d))


def test_files_from_the_person_gate_experiment_still_load():
    """Run folders written while TokenizerConfig had `renderer_person_gate` (2026-12-03): off
    loads as the same model; on, a clear error rather than a silently different renderer."""
    d = preset("tiny").to_dict()
    d["tokenizer"]["renderer_person_gate"] = False
    assert ModelConfig.from_dict(d) == preset("tiny")
    d["tokenizer"]["renderer_person_gate"] = True
    with pytest.raises(ValueError, match="person mask alone"):
        ModelConfig.from_dict(d)


def test_validation():
    cfg = preset("tiny")
    with pytest.raises(ValueError, match="odd"):
        dataclasses.replace(cfg, transformer=TransformerConfig(depth=4))
    with pytest.raises(ValueError, match="duplicate"):
        cfg.with_styles(("a", "a"))
    with pytest.raises(ValueError, match="at least one style"):
        cfg.with_styles(())
    with pytest.raises(ValueError, match="unknown preset"):
        preset("huge")
    assert cfg.with_styles(("ink",)).styles == ("ink",)


def test_token_geometry():
    cfg = preset("tiny")
    assert cfg.grid == 8 and cfg.num_tokens == 64
    assert cfg.mask_id == cfg.tokenizer.codebook_size  # mask token just past the codebook
    assert preset("default").grid == 16


def test_tiny_and_default_build():
    tiny = build_model(preset("tiny"))
    assert not tiny.training
    assert tiny.styles == ("contour", "charcoal", "pencil")
    default = build_model(preset("default"))
    assert default.photo_size == 256 and default.sketch_size == 256


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_paper_preset_without_weights_is_a_clear_error(no_network):
    with pytest.raises(ClipWeightsError) as err:
        build_model(preset("paper"))
    msg = str(err.value)
    assert "ViT-L-14" in msg and "--clip-weights" in msg and "nothing is downloaded" in msg
    assert "\n" not in msg


def test_paper_preset_with_missing_weights_file(no_network, tmp_path):
    missing = tmp_path / "clip.safetensors"
    with pytest.raises(ClipWeightsError, match="not found") as err:
        build_model(preset("paper"), clip_weights=missing)
    assert str(missing) in str(err.value)
