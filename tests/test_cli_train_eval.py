"""`sketchstudio train` and `sketchstudio eval` end to end on tiny generated data."""
import json

import numpy as np
import pytest
from PIL import Image

from sketchstudio.cli import main
from datagen import make_fs2k, make_photo_folder


def test_train_all_then_eval(tmp_path, capsys):
    fs2k = make_fs2k(tmp_path / "fs2k", per_style=3, size=40)
    photos = make_photo_folder(tmp_path / "photos", n=2, size=40)
    out = tmp_path / "run"
    code = main(["train", "all", "--data", str(fs2k), str(photos), "--out", str(out), "--config", "tiny",
                 "--max-steps", "3", "--batch", "2", "--checkpoint-every", "2", "--preview-every", "3", "-q"])
    assert code == 0
    err = capsys.readouterr().err
    assert "[render] done" in err and "held out" in err
    model = out / "render.safetensors"
    assert model.exists()

    # Resume of a finished run does no work and still succeeds.
    assert main(["train", "all", "--data", str(fs2k), "--out", str(out), "--config", "tiny", "--resume", "-q"]) == 0
    assert "already finished" in capsys.readouterr().err

    code = main(["eval", "--data", str(out / "val"), "--model", str(model), "--no-fsim", "--json"])
    assert code == 0
    res = json.loads(capsys.readouterr().out)
    assert res["pairs"] == 3
    for name in ("model", "blank", "opencv-pencil", "xdog"):
        assert 0 < res["scores"][name]["all/scoot"] <= 1
        assert -1 <= res["scores"][name]["all/ssim"] <= 1
    assert res["scores"]["blank"]["all/ssim"] != res["scores"]["model"]["all/ssim"]


def test_eval_with_fsim_reports_it(tmp_path, tiny_checkpoint, capsys):
    fs2k = make_fs2k(tmp_path / "fs2k", per_style=1, size=40)
    assert main(["eval", "--data", str(fs2k), "--model", str(tiny_checkpoint), "--limit", "1", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert "all/fsim" in res["scores"]["model"] and "fsim" not in res["not_computed"]


def test_eval_seed_draws_the_same_pairs_again_independently(tmp_path, tiny_checkpoint, capsys):
    fs2k = make_fs2k(tmp_path / "fs2k", per_style=1, size=40)
    drawn = {}
    for seed in (0, 0, 1000):
        out = tmp_path / f"s{seed}-{len(drawn)}"
        assert main(["eval", "--data", str(fs2k), "--model", str(tiny_checkpoint), "--limit", "2", "--no-fsim",
                     "--seed", str(seed), "--save", str(out), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["settings"]["seed"] == seed
        drawn[len(drawn)] = [np.asarray(Image.open(f)) for f in sorted(out.iterdir())]
    assert all(np.array_equal(a, b) for a, b in zip(drawn[0], drawn[1]))  # the same seed: the same sketches
    assert not all(np.array_equal(a, b) for a, b in zip(drawn[0], drawn[2]))


def test_train_errors_are_one_line(tmp_path, capsys):
    code = main(["train", "pretrain", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r"),
                 "--config", "tiny", "-q"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sketchstudio: error:") and "\n" not in err
    assert "no usable training data" in err and "not found" in err


def test_eval_needs_pairs_csv(tmp_path, capsys):
    assert main(["eval", "--data", str(tmp_path), "--baselines-only"]) == 2
    assert "pairs.csv" in capsys.readouterr().err


def test_ctrl_c_during_training_checkpoints_then_resumes(tmp_path, capsys, monkeypatch):
    import os
    import signal

    from sketchstudio.train import runner

    photos = make_photo_folder(tmp_path / "photos", n=2, size=40)
    out = tmp_path / "run"
    real_run_stage = runner.run_stage

    def interrupting(stage, out_dir, opts, cancel=None):
        for ev in real_run_stage(stage, out_dir, opts, cancel):
            if ev.kind == "step" and ev.step == 2:
                os.kill(os.getpid(), signal.SIGINT)  # what Ctrl+C sends
            yield ev

    monkeypatch.setattr("sketchstudio.train.pipeline.run_stage", interrupting)
    args = ["train", "tokenizer", "--data", str(photos), "--out", str(out), "--config", "tiny",
            "--max-steps", "6", "--batch", "2", "--checkpoint-every", "100", "-q"]
    assert main(args) == 130
    assert "cancelled" in capsys.readouterr().err
    assert (out / "tokenizer.state.safetensors").exists() and not (out / "tokenizer.safetensors").exists()
    monkeypatch.setattr("sketchstudio.train.pipeline.run_stage", real_run_stage)
    assert main(args + ["--resume"]) == 0
    assert (out / "tokenizer.safetensors").exists()


@pytest.fixture
def stage_options_seen(monkeypatch):
    """The StageOptions each `train` call hands the pipeline (which does not run)."""
    import sketchstudio.train.pipeline as pipeline

    seen = []

    def fake_run(sources, out, opts, cancel=None):
        seen.append(opts.stage_options)
        return iter(())

    monkeypatch.setattr(pipeline, "run_pipeline", fake_run)
    return seen


def test_train_passes_keep_weight_to_the_stage(tmp_path, stage_options_seen):
    """--keep-weight reaches StageOptions (0 turns distillation of untrained styles off)."""
    seen = stage_options_seen
    fs2k = make_fs2k(tmp_path / "fs2k", per_style=1, size=40)
    base = ["train", "finetune", "--data", str(fs2k), "--out", str(tmp_path / "run"), "--config", "tiny", "-q"]
    assert main(base + ["--keep-weight", "0"]) == 0
    assert main(base) == 0
    assert [o.keep_weight for o in seen] == [0.0, 1.0]


def test_train_passes_the_render_options_to_the_stage(tmp_path, stage_options_seen):
    """--render-tone, --render-style-guidance, --render-part-weight, --render-block-contrast and --render-draws reach
    StageOptions; left out, the stage's defaults stand (no tone term; tokens sampled as the model is
    by default, one draw; plain L1)."""
    seen = stage_options_seen
    fs2k = make_fs2k(tmp_path / "fs2k", per_style=1, size=40)
    base = ["train", "render", "--data", str(fs2k), "--out", str(tmp_path / "run"), "--config", "tiny", "-q"]
    assert main(base + ["--render-tone", "1.5", "--render-style-guidance", "0.25", "--render-part-weight", "3",
                        "--render-block-contrast", "0.5", "--render-draws", "3",
                        "--render-temperature", "1.3"]) == 0
    assert main(base) == 0
    assert [(o.render_tone, o.render_style_guidance, o.render_part_weight, o.render_block_contrast, o.render_draws,
             o.render_temperature) for o in seen] == [(1.5, 0.25, 3.0, 0.5, 3, 1.3), (0.0, None, 0.0, 0.0, 1, 1.0)]
