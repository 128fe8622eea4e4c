"""`sketchstudio train all` SIGKILLed at random moments, resumed each time: every file on disk
stays loadable, a resume loses at most one checkpoint interval, nothing temporary is left."""
import os
import random
import re
import subprocess
import sys
import time

import pytest

from sketchstudio.cli import main as cli_main
from sketchstudio.core.checkpoint import TEMP_SUFFIX, load_model
from sketchstudio.data.cache import TrainingData
from sketchstudio.train.pipeline import ALL_STAGES as STAGES, PipelineOptions, _model_for, build_stage
from sketchstudio.train.stages import StageOptions
from sketchstudio.train.state import load_state
from sketchstudio.train.styles import align_styles

from datagen import make_fs2k

STEPS, EVERY, BATCH, KILLS = 16, 2, 2, 5


def train(data, out, resume: bool, log):
    cmd = [sys.executable, "-m", "sketchstudio", "train", "all", "--data", str(data), "--out", str(out),
           "--config", "tiny", "--max-steps", str(STEPS), "--batch", str(BATCH), "--checkpoint-every", str(EVERY),
           "--preview-every", "5", "-q"] + (["--resume"] if resume else [])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(log, "w"), env=env)


def wait_for(cond, proc, timeout=120.0):
    """Poll until cond() or the process exits; True when cond() held."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        if proc.poll() is not None:
            return cond()
        time.sleep(0.02)
    raise AssertionError("training made no progress")


def last_step(out):
    """(stage, steps completed) of the stage that ran last, from the loss logs (flushed every step)."""
    for stage in reversed(STAGES):
        csv = out / f"{stage}.losses.csv"
        if csv.exists():
            rows = [r.split(",", 1)[0] for r in csv.read_text().splitlines()[1:]]
            return stage, max((int(r) for r in rows if r.isdigit()), default=0)
    return None, 0


def restore_state(path, out):
    """load_state into the stage the pipeline would build for it; returns the saved step."""
    name = path.name.split(".")[0]
    data = TrainingData.load(out / "data.safetensors")
    opts = PipelineOptions(config="tiny", stage_options=StageOptions(batch=BATCH))
    model = _model_for(name, out, data, opts, first=name == STAGES[0])
    stage_data = align_styles(data, model.styles)
    stage = build_stage(name, model, stage_data, opts.stage_options, STEPS)
    step, _, tensors = load_state(path, stage.model, stage.optimizer, stage.generator)
    stage.load_stage_tensors(tensors)
    return step


def load_every_file(out) -> int:
    files = sorted(out.glob("*.safetensors"))
    for f in files:
        if f.name == "data.safetensors":
            TrainingData.load(f)
        elif f.name.endswith(".state.safetensors"):
            assert 0 <= restore_state(f, out) <= STEPS
        else:
            load_model(f)
    return len(files)


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume(tmp_path):
    data = make_fs2k(tmp_path / "fs2k", per_style=2, size=40)
    out = tmp_path / "run"
    rng = random.Random(7)
    record = []  # (stage, step at kill, step the resume started that stage at, files loaded, temporaries left)
    proc = train(data, out, False, tmp_path / "log0.txt")
    assert wait_for(lambda: any(out.glob("*.state.safetensors")), proc), "no checkpoint before the end"
    for k in range(KILLS):
        time.sleep(rng.uniform(0.0, 2.5))
        if proc.poll() is not None:
            break  # finished before this kill
        proc.kill()  # SIGKILL: no handler, no cleanup, possibly mid-write
        proc.wait()
        stage, killed_at = last_step(out)
        checked = load_every_file(out)  # right after the kill, before anything tidies up
        temps = len(list(out.glob(f".*{TEMP_SUFFIX}")))
        if k == 0:  # as a kill inside atomic_write leaves it, whether or not a random kill lands there
            (out / f".{stage}.state.safetensors.k1ll3d{TEMP_SUFFIX}").write_bytes(b"\0" * 1000)
        log = tmp_path / f"log{k + 1}.txt"
        proc = train(data, out, True, log)
        pattern = re.compile(rf"\[{stage}\] (?:start step (\d+)/|done step \d+/\d+ .*already finished)")
        assert wait_for(lambda: pattern.search(log.read_text()), proc), log.read_text()
        m = pattern.search(log.read_text())
        resumed_at = int(m[1]) if m[1] is not None else killed_at  # a finished stage is skipped
        record.append((stage, killed_at, resumed_at, checked, temps))
        assert resumed_at >= killed_at - EVERY, record
    assert proc.wait(timeout=300) == 0, log.read_text()
    print("kills (stage, step at kill, resumed at, files loaded, temporaries left):", record)
    assert len(record) >= 3, f"too few kills landed before training finished: {record}"

    assert "[render] done" in log.read_text()
    assert not [p.name for p in out.rglob(f"*{TEMP_SUFFIX}")]  # the killed writes' temporaries are gone
    assert not list(out.glob("*.state.safetensors"))
    assert load_every_file(out) == 1 + len(STAGES)  # data + one model per stage
    final = out / "render.safetensors"
    photo = next((data / "photos").iterdir())
    assert cli_main(["sketch", str(photo), "--out", str(tmp_path / "sketch"), "--model", str(final),
                     "--steps", "4", "-q"]) == 0
    assert (tmp_path / "sketch" / f"{photo.stem}.png").stat().st_size > 0
