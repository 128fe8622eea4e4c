"""tools/train/gpu_train.py on the CPU with the tiny preset: the whole pipeline from a training pack,
the model written in parts no larger than asked, joined back bit for bit; a spent time budget
checkpoints and stops (exit 3), and --resume finishes the run."""
import json

import pytest

from sketchstudio.cli import main as cli_main
from sketchstudio.core.checkpoint import load_model
from sketchstudio.core.parts import PartsError, join_parts, write_parts
from datagen import make_fs2k
from tools_loader import TOOLS as TOOLS_ROOT
from tools_loader import load_tool as _load

TOOLS = TOOLS_ROOT / "train"
STEPS = ["tokenizer=3", "decoder=2", "pretrain=3", "finetune=2", "render=2", "tone=2"]


def load_tool(name):
    return _load(f"train/{name}.py")


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    path = root / "tiny.pack"
    assert cli_main(["pack", "--data", str(make_fs2k(root / "fs2k", per_style=3)), "--out", str(path),
                     "--config", "tiny", "-q"]) == 0
    return path


def run_tool(pack, run, parts, *extra):
    return load_tool("gpu_train").main(["--data", str(pack), "--out", str(run), "--parts", str(parts), "--config",
                                        "tiny", "--batch", "2", "--device", "cpu", "--steps", *STEPS,
                                        "--checkpoint-every", "2", "--preview-every", "2", *extra])


def test_the_whole_pipeline_from_a_pack_writes_the_model_in_parts(pack, tmp_path, capsys):
    run, parts = tmp_path / "run", tmp_path / "out"
    limit = 40_000
    assert run_tool(pack, run, parts, "--part-mb", str(limit / 1e6)) == 0
    record = json.loads((parts / "gpu_train.json").read_text())
    assert record["device"] == "cpu" and record["model_stage"] == "tone" and not record["stopped_by_budget"]
    assert set(record["stages"]) == {"tokenizer", "decoder", "pretrain", "finetune", "render", "tone"}
    assert all(r["steps_done"] == r["total"] and r["s_per_step"] > 0 and r["setup_s"] >= 0
               for r in record["stages"].values())
    assert record["steps"] == {"tokenizer": 3, "decoder": 2, "pretrain": 3, "finetune": 2, "render": 2, "tone": 2}
    files = sorted(parts.glob("model.safetensors.part*"))
    assert len(files) >= 3 and all(f.stat().st_size <= limit for f in files)
    joined = join_parts(parts / "model.safetensors.parts.json", tmp_path / "joined.safetensors")
    assert joined.read_bytes() == (run / "model.safetensors").read_bytes()
    model, info = load_model(joined)
    assert model.tokenizer.renderer is not None and info["stage"] == "tone" and info["device"] == "cpu"
    assert model.tokenizer.tone is not None
    assert "finished" in capsys.readouterr().out
    # The join tool says what it wrote; a damaged part is one line and exit 1.
    join = load_tool("join_parts")
    assert join.main([str(parts / "model.safetensors.parts.json"), "--out", str(tmp_path / "j2.safetensors")]) == 0
    files[1].write_bytes(files[1].read_bytes()[:-1] + b"x")
    assert join.main([str(parts / "model.safetensors.parts.json"), "--out", str(tmp_path / "j3.safetensors")]) == 1
    assert "part damaged" in capsys.readouterr().err and not (tmp_path / "j3.safetensors").exists()


def test_a_spent_budget_checkpoints_and_stops_and_resume_finishes(pack, tmp_path):
    run, parts = tmp_path / "run", tmp_path / "out"
    assert run_tool(pack, run, parts, "--time-budget", "0") == 3  # spent before the first step
    record = json.loads((parts / "gpu_train.json").read_text())
    assert record["stopped_by_budget"]["stage"] == "tokenizer" and "manifest" not in record
    assert (run / "tokenizer.state.safetensors").exists() and not list(parts.glob("*.part*"))
    assert run_tool(pack, run, parts, "--resume") == 0
    record = json.loads((parts / "gpu_train.json").read_text())
    assert record["model_stage"] == "tone" and record["stages"]["tokenizer"]["start_step"] == 0
    assert load_model(join_parts(parts / "model.safetensors.parts.json", tmp_path / "m.safetensors"))[0]


def test_parts_of_any_size_join_back_and_a_missing_one_is_named(tmp_path):
    src = tmp_path / "blob.bin"
    src.write_bytes(bytes(range(256)) * 10)
    for size in (1000, 2560, 9999):
        manifest = write_parts(src, tmp_path / str(size), size)
        assert join_parts(manifest).read_bytes() == src.read_bytes()
    (tmp_path / "1000" / "blob.bin.part001").unlink()
    with pytest.raises(PartsError, match="blob.bin.part001: part missing"):
        join_parts(tmp_path / "1000" / "blob.bin.parts.json", tmp_path / "x.bin")


def test_structure_grows_the_face_structure_path_through_the_pipeline(pack, tmp_path):
    run, parts = tmp_path / "run", tmp_path / "out"
    assert run_tool(pack, run, parts, "--structure") == 0
    model, _ = load_model(run / "model.safetensors")
    assert model.uses_structure and model.encoder.structure_embed.weight.abs().sum() > 0  # grown and trained


def test_two_processes_train_through_the_same_path_as_the_cli(pack, tmp_path, monkeypatch, capfd):
    """--devices 2: the tool's run on two gloo ranks (train/distributed.py), rank 0 writing the record."""
    monkeypatch.syspath_prepend(str(TOOLS))  # the spawned ranks import the tool by name
    import gpu_train

    run, parts = tmp_path / "run", tmp_path / "out"
    assert gpu_train.main(["--data", str(pack), "--out", str(run), "--parts", str(parts), "--config", "tiny",
                           "--batch", "2", "--device", "cpu", "--devices", "2", "--steps", "tokenizer=2",
                           "decoder=1", "pretrain=2", "finetune=2", "render=1", "tone=1"]) == 0
    record = json.loads((parts / "gpu_train.json").read_text())
    assert record["model_stage"] == "tone" and all(r["steps_done"] == r["total"] for r in record["stages"].values())
    assert capfd.readouterr().out.count("gpu_train: finished") == 1
