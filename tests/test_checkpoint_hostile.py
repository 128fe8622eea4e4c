"""Hostile model files: weights in a dtype they cannot have, a header that lies about its
tensors, and pickles offered to the CLI, refused without ever being unpickled."""
import json

import pytest
import torch

from sketchstudio.cli import main as cli_main
from sketchstudio.core.checkpoint import CheckpointError, load_model, read_config

from datagen import make_fs2k, make_photo_folder
from hostile_files import pickles  # noqa: F401  (fixture)
from test_checkpoint import assert_clear_error, metadata, write


# --- dtypes --------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8, torch.int64, torch.bool, torch.float64,
                                   torch.float8_e4m3fn, torch.complex64])
def test_a_weight_in_a_dtype_it_cannot_have(tiny_model, tmp_path, dtype):
    state = dict(tiny_model.state_dict())
    state["transformer.head.weight"] = state["transformer.head.weight"].to(dtype)
    path = write(tmp_path / "m.safetensors", state, metadata(tiny_model.cfg))
    msg = assert_clear_error(path, "transformer.head.weight", str(dtype).removeprefix("torch."), "expected float32")
    assert "Traceback" not in msg


def test_float64_that_would_overflow_float32_is_refused(tiny_model, tmp_path):
    """Was loaded: finiteness was checked before the cast, and 1e300 becomes inf in float32."""
    state = {k: v.double() for k, v in tiny_model.state_dict().items()}
    state["transformer.head.weight"][0, 0] = 1e300
    path = write(tmp_path / "m.safetensors", state, metadata(tiny_model.cfg))
    assert_clear_error(path, "float64")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_storage_dtypes_still_load(tiny_model, tmp_path, dtype):
    state = {k: v.to(dtype) for k, v in tiny_model.state_dict().items()}
    model, _ = load_model(write(tmp_path / "m.safetensors", state, metadata(tiny_model.cfg)))
    assert all(p.dtype == torch.float32 for p in model.parameters())


@pytest.mark.parametrize("info", ["[1, 2]", '"a string"', "3", "null"])
def test_info_that_is_not_an_object(tiny_model, tmp_path, info):
    """Was returned as is: callers expecting a dict (info.get) would crash."""
    path = write(tmp_path / "m.safetensors", tiny_model.state_dict(), metadata(tiny_model.cfg, info=info))
    assert_clear_error(path, "bad info")


@pytest.mark.parametrize("part, field, value", [
    ("transformer", "width", 10**6), ("tokenizer", "upscale_channels", 100000), ("tokenizer", "codebook_size", 10**9),
    ("encoder", "layers", 10**4), ("tokenizer", "ch_mult", [1] * 64), ("transformer", "mlp_ratio", 1e6),
    ("tokenizer", "upscale", -2), ("transformer", "width", True),
])
def test_a_config_that_asks_for_an_absurd_model_is_refused_before_anything_is_built(tiny_model, tmp_path, part,
                                                                                    field, value):
    """A few bytes of config JSON must not make the loader allocate terabytes."""
    cfg = json.loads(tiny_model.cfg.to_json())
    cfg[part][field] = value
    meta = metadata(tiny_model.cfg)
    meta["config"] = json.dumps(cfg)
    path = write(tmp_path / "m.safetensors", tiny_model.state_dict(), meta)
    assert_clear_error(path, "bad config", field)


# --- headers that lie ----------------------------------------------------------------------
def split(path):
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def rebuild(path, header, body, header_len=None):
    hb = json.dumps(header).encode()
    hb += b" " * (-len(hb) % 8)
    path.write_bytes((len(hb) if header_len is None else header_len).to_bytes(8, "little") + hb + body)
    return path


def by_offset(header):
    return sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])


def lie_overlap(h, body):
    a, b = by_offset(h)[:2]
    size = h[b]["data_offsets"][1] - h[b]["data_offsets"][0]
    h[b]["data_offsets"] = [h[a]["data_offsets"][0], h[a]["data_offsets"][0] + size]  # b reuses a's bytes
    return h, body


def lie_past_end(h, body):
    last = by_offset(h)[-1]
    h[last]["data_offsets"][1] += 4096
    return h, body


def lie_past_end_with_consistent_shape(h, body):
    last = by_offset(h)[-1]
    h[last]["shape"] = [h[last]["shape"][0] + 64] + h[last]["shape"][1:]
    h[last]["data_offsets"][1] = h[last]["data_offsets"][0] + 4 * torch.Size(h[last]["shape"]).numel()
    return h, body


def lie_shape(h, body):
    k = by_offset(h)[3]
    h[k]["shape"] = [2 * d for d in h[k]["shape"]]  # 4x the elements in the same bytes
    return h, body


def lie_dtype_size(h, body):
    h[by_offset(h)[3]]["dtype"] = "F64"  # 8 bytes an element in a span of 4-byte floats
    return h, body


def lie_unknown_dtype(h, body):
    h[by_offset(h)[0]]["dtype"] = "X99"
    return h, body


def lie_negative_offsets(h, body):
    k = by_offset(h)[0]
    h[k]["data_offsets"] = [-8, h[k]["data_offsets"][1]]
    return h, body


def lie_reversed_offsets(h, body):
    k = by_offset(h)[1]
    s, e = h[k]["data_offsets"]
    h[k]["data_offsets"] = [e, s]
    return h, body


def lie_gap_at_end(h, body):
    return h, body + b"\0" * 64  # bytes no tensor claims


def lie_metadata_not_strings(h, body):
    h["__metadata__"]["format_version"] = 1
    return h, body


def lie_header_is_a_list(h, body):
    return [1, 2, 3], body


def lie_missing_offsets(h, body):
    del h[by_offset(h)[0]]["data_offsets"]
    return h, body


LIES = [lie_overlap, lie_past_end, lie_past_end_with_consistent_shape, lie_shape, lie_dtype_size,
        lie_unknown_dtype, lie_negative_offsets, lie_reversed_offsets, lie_gap_at_end,
        lie_metadata_not_strings, lie_header_is_a_list, lie_missing_offsets]


@pytest.mark.parametrize("lie", LIES, ids=[f.__name__ for f in LIES])
def test_a_header_that_lies(tiny_checkpoint, tmp_path, lie):
    header, body = lie(*split(tiny_checkpoint))
    path = rebuild(tmp_path / "lying.safetensors", header, body)
    assert_clear_error(path)


@pytest.mark.parametrize("claim", ["one byte too many", "4 GiB", "2**63", "2**64-1"])
def test_a_header_length_bigger_than_the_file(tiny_checkpoint, tmp_path, claim):
    path = tmp_path / "long.safetensors"
    data = bytearray(tiny_checkpoint.read_bytes())
    lie = {"one byte too many": len(data) - 8 + 1, "4 GiB": 2**32, "2**63": 2**63, "2**64-1": 2**64 - 1}[claim]
    data[:8] = lie.to_bytes(8, "little")
    path.write_bytes(bytes(data))
    msg = assert_clear_error(path, "header runs past the end")
    with pytest.raises(CheckpointError):
        read_config(path)  # the cheap header read refuses it too
    assert len(msg) < 300


def test_a_header_length_shorter_than_its_json(tiny_checkpoint, tmp_path):
    header, body = split(tiny_checkpoint)
    hb = json.dumps(header).encode()
    path = rebuild(tmp_path / "short.safetensors", header, body, header_len=len(hb) // 2)
    assert_clear_error(path)


# --- pickles: refused, never unpickled -------------------------------------------------------
def test_load_model_refuses_pickles_without_unpickling(pickles):
    paths, marker = pickles
    for path in paths:
        with pytest.raises(CheckpointError) as err:
            load_model(path)
        msg = str(err.value)
        assert str(path) in msg and "\n" not in msg, msg
        if "text-protocol0" not in path.name:  # protocol 0 has no magic bytes: "not a safetensors file"
            assert "pickle" in msg, msg
        assert not marker.exists(), path


def test_cli_refuses_pickles_without_unpickling(pickles, make_photo, tmp_path, capsys):
    paths, marker = pickles
    photo = make_photo("face.png")
    fs2k = make_fs2k(tmp_path / "fs2k", per_style=1, size=32)
    photos = make_photo_folder(tmp_path / "photos", n=1, size=32)
    for path in paths:
        for args in (["sketch", str(photo), "--out", str(tmp_path / "out"), "--model", str(path), "-q"],
                     ["eval", "--data", str(fs2k), "--model", str(path), "--no-fsim"],
                     ["bench", "--model", str(path), "--repeats", "1"],
                     ["train", "pretrain", "--data", str(photos), "--out", str(tmp_path / "run"), "--config", "tiny",
                      "--init", str(path), "--max-steps", "1", "-q"]):
            assert cli_main(args) == 2, args
            err = capsys.readouterr().err.strip()
            assert err.startswith("sketchstudio: error:") and "\n" not in err, err
            assert str(path) in err and "Traceback" not in err
            assert not marker.exists(), args
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
