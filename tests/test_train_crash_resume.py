"""`sketchstudio train all` SIGKILLed once in each of its five training stages, at a seeded step, and resumed
each time: every file on disk stays loadable, a resume loses at most one checkpoint interval, the
temporary files a kill leaves are gone once the resumed run starts. The kills wait for steps in the
loss logs, never for a time, so they land where planned on a slow or a busy machine alike."""
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
from sketchstudio.train.base import StageOptions
from sketchstudio.train.state import load_state
from sketchstudio.train.styles import align_styles

from datagen import make_fs2k

STEPS, EVERY, BATCH, KILLS = 16, 2, 2, 5
# The tone stage draws this data's few training pairs in two batches: too short to aim a kill at
# (tests/test_tone.py cancels and resumes it); it runs last and its model is the run's result.
KILLED = tuple(s for s in STAGES if s != "tone")


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


def kill_plan(rng) -> list[tuple[str, int]]:
    """One kill in each stage, at a seeded step in its first half (the stage cannot finish
    between the poll that sees the step and the kill)."""
    return [(stage, rng.randint(1, STEPS // 2)) for stage in KILLED]


@pytest.mark.slow
def test_sigkill_in_every_stage_then_resume(tmp_path):
    data = make_fs2k(tmp_path / "fs2k", per_style=2, size=40)
    out = tmp_path / "run"
    plan = kill_plan(random.Random(7))
    assert len(plan) == KILLS
    record = []  # (stage, step at kill, step the resume started that stage at, files loaded, temporaries left)
    proc = train(data, out, False, tmp_path / "log0.txt")
    log = tmp_path / "log0.txt"
    for k, (stage, at) in enumerate(plan):
        # Wait for the planned moment: `stage` has logged at least `at` steps (counted, not timed).
        assert wait_for(lambda: last_step(out)[0] == stage and last_step(out)[1] >= at, proc), \
            f"training never reached {stage} step {at} alive: {last_step(out)}, {record}\n{log.read_text()}"
        proc.kill()  # SIGKILL: no handler, no cleanup, possibly mid-write
        proc.wait()
        killed_stage, killed_at = last_step(out)
        assert killed_stage == stage and killed_at < STEPS, (killed_stage, killed_at)
        checked = load_every_file(out)  # right after the kill, before anything tidies up
        temps = sorted(out.glob(f".*{TEMP_SUFFIX}"))
        assert len(temps) <= 1, temps  # at most the one write the kill interrupted
        if k == 0:  # as a kill inside atomic_write leaves it, whether or not a kill lands there
            planted = out / f".{stage}.state.safetensors.k1ll3d{TEMP_SUFFIX}"
            planted.write_bytes(b"\0" * 1000)
            temps.append(planted)
        log = tmp_path / f"log{k + 1}.txt"
        proc = train(data, out, True, log)
        pattern = re.compile(rf"\[{stage}\] start step (\d+)/")
        assert wait_for(lambda: pattern.search(log.read_text()), proc), log.read_text()
        resumed_at = int(pattern.search(log.read_text())[1])
        assert not [t for t in temps if t.exists()]  # the resumed run cleared what the kill left
        record.append((stage, killed_at, resumed_at, checked, len(temps)))
        assert killed_at - EVERY <= resumed_at <= killed_at, record  # at most one checkpoint interval lost
    assert proc.wait(timeout=300) == 0, log.read_text()
    print("kills (stage, step at kill, resumed at, files loaded, temporaries left):", record)
    assert [r[0] for r in record] == list(KILLED)

    assert "[render] done" in log.read_text() and "[tone] done" in log.read_text()
    assert not [p.name for p in out.rglob(f"*{TEMP_SUFFIX}")]  # the killed writes' temporaries are gone
    assert not list(out.glob("*.state.safetensors"))
    assert load_every_file(out) == 1 + len(STAGES)  # data + one model per stage
    final = out / "tone.safetensors"
    photo = next((data / "photos").iterdir())
    assert cli_main(["sketch", str(photo), "--out", str(tmp_path / "sketch"), "--model", str(final),
                     "--steps", "4", "-q"]) == 0
    assert (tmp_path / "sketch" / f"{photo.stem}.png").stat().st_size > 0
