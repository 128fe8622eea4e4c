"""Checkpoints: exact round trip, half storage, and one clear CheckpointError per broken file."""
import json
import zipfile

import pytest
import torch
from safetensors.torch import save_file

from sketchstudio.core.checkpoint import (
    FORMAT, FORMAT_VERSION, CheckpointError, load_model, read_config, save_model,
)
from sketchstudio.core.sampler import style_weights_tensor

from conftest import make_tiny


def logits_of(model):
    cfg = model.cfg
    torch.manual_seed(0)
    photo = torch.rand(1, 3, model.photo_size, model.photo_size)
    tokens = torch.randint(0, cfg.mask_id + 1, (1, cfg.num_tokens))
    with torch.no_grad():
        return model.logits(tokens, model.condition(photo), style_weights_tensor([0, 1, 0], 1, 3))


def test_round_trip_gives_identical_logits(tiny_model, tmp_path):
    path = tmp_path / "m.safetensors"
    save_model(tiny_model, path, info={"steps": 12, "note": "x"})
    loaded, info = load_model(path)
    assert info == {"steps": 12, "note": "x"}
    assert loaded.cfg == tiny_model.cfg and not loaded.training
    assert torch.equal(logits_of(loaded), logits_of(tiny_model))
    cfg, info2 = read_config(path)
    assert cfg == tiny_model.cfg and info2 == info
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write left nothing behind


def test_half_storage_loads_as_float32(tiny_model, tmp_path):
    full, half = tmp_path / "full.safetensors", tmp_path / "half.safetensors"
    save_model(tiny_model, full)
    save_model(tiny_model, half, half=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    loaded, _ = load_model(half)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    assert torch.allclose(logits_of(loaded), logits_of(tiny_model), atol=0.05)


def test_header_length_starting_with_0x80_is_not_a_pickle(tiny_model, tmp_path):
    """A valid file whose 8-byte header length begins 0x80 looks like a pickle's first byte."""
    path = tmp_path / "m.safetensors"
    save_model(tiny_model, path, info={"pad": ""})
    # The header grows one byte per padding character (then is padded to a multiple of 8).
    start = max(0, (0x80 - path.read_bytes()[0]) % 256 - 8)
    for pad in range(start, start + 24):
        save_model(tiny_model, path, info={"pad": "x" * pad})
        if path.read_bytes()[0] == 0x80:
            break
    else:
        pytest.fail("never produced a header length with low byte 0x80")
    assert read_config(path)[1] == {"pad": "x" * pad}


# --- broken files -------------------------------------------------------------------------
def assert_clear_error(path, *fragments):
    with pytest.raises(CheckpointError) as err:
        load_model(path)
    msg = str(err.value)
    assert str(path) in msg and "\n" not in msg, msg
    for f in fragments:
        assert f in msg, msg
    return msg


def metadata(cfg, **changes):
    meta = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "config": cfg.to_json(), "info": "{}"}
    meta.update(changes)
    return {k: v for k, v in meta.items() if v is not None}


def write(path, state, meta):
    save_file({k: v.contiguous() for k, v in state.items()}, str(path), metadata=meta)
    return path


def test_missing_file(tmp_path):
    assert_clear_error(tmp_path / "nope.safetensors", "not found")


def test_a_folder(tmp_path):
    assert_clear_error(tmp_path, "not a file")


@pytest.mark.parametrize("keep", [0, 5, 100, -1000])
def test_truncated_file(tiny_checkpoint, tmp_path, keep):
    data = tiny_checkpoint.read_bytes()
    path = tmp_path / "cut.safetensors"
    path.write_bytes(data[:keep] if keep >= 0 else data[:keep])
    assert_clear_error(path)


def test_torch_save_pickles_are_refused(tiny_model, tmp_path):
    zipped = tmp_path / "m.pt"
    torch.save(tiny_model.state_dict(), zipped)
    assert_clear_error(zipped, "pickle")
    legacy = tmp_path / "legacy.safetensors"  # renamed to look harmless
    torch.save({"w": torch.zeros(2)}, legacy, _use_new_zipfile_serialization=False)
    assert_clear_error(legacy, "pickle")


def test_a_zip_renamed_safetensors(tmp_path):
    path = tmp_path / "m.safetensors"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("data.pkl", b"\x80\x04N.")
    assert_clear_error(path, "pickle")


def test_text_file(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_text("hello, this is not a model at all\n")
    assert_clear_error(path)


def test_not_a_sketchstudio_file(tiny_model, tmp_path):
    path = write(tmp_path / "m.safetensors", tiny_model.state_dict(), {"format": "pt"})
    assert_clear_error(path, "not a SketchStudio model")


def test_wrong_format_version(tiny_model, tmp_path):
    path = write(tmp_path / "m.safetensors", tiny_model.state_dict(), metadata(tiny_model.cfg, format_version="99"))
    assert_clear_error(path, "'99'", "not supported")


@pytest.mark.parametrize("config", ["{not json", "[]", json.dumps({"name": "x", "encoder": [], "tokenizer": {},
                                                                    "transformer": {}, "styles": ["a"]})])
def test_bad_config_metadata(tiny_model, tmp_path, config):
    path = write(tmp_path / "m.safetensors", tiny_model.state_dict(), metadata(tiny_model.cfg, config=config))
    assert_clear_error(path, "bad config")


def test_missing_and_extra_keys(tiny_model, tmp_path):
    state = dict(tiny_model.state_dict())
    dropped = state.pop("transformer.head.weight")
    path = write(tmp_path / "missing.safetensors", state, metadata(tiny_model.cfg))
    assert_clear_error(path, "1 missing keys", "transformer.head.weight")
    state["transformer.head.weight"] = dropped
    state["transformer.surprise"] = torch.zeros(3)
    path = write(tmp_path / "extra.safetensors", state, metadata(tiny_model.cfg))
    assert_clear_error(path, "1 unexpected keys", "transformer.surprise")


def test_wrong_shape(tiny_model, tmp_path):
    state = dict(tiny_model.state_dict())
    state["transformer.head.bias"] = torch.zeros(7)
    path = write(tmp_path / "m.safetensors", state, metadata(tiny_model.cfg))
    assert_clear_error(path, "transformer.head.bias", "(7,)")


def test_config_that_does_not_match_the_weights(tmp_path):
    other = make_tiny(0).cfg.with_styles(("a", "b", "c", "d"))  # one more style embedding row
    path = write(tmp_path / "m.safetensors", make_tiny(0).state_dict(), metadata(other))
    assert_clear_error(path, "does not match")


def test_nan_weights(tiny_model, tmp_path):
    state = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    state["transformer.head.weight"][0, 0] = float("nan")
    path = write(tmp_path / "m.safetensors", state, metadata(tiny_model.cfg))
    assert_clear_error(path, "transformer.head.weight", "NaN")


def test_config_that_cannot_be_built(tiny_model, tmp_path):
    d = tiny_model.cfg.to_dict()
    d["tokenizer"]["ch"] = 33  # taming's GroupNorm needs multiples of 32 channels
    path = write(tmp_path / "m.safetensors", tiny_model.state_dict(), metadata(tiny_model.cfg, config=json.dumps(d)))
    assert_clear_error(path, "cannot build")
