"""The wizard's jobs for the worker thread (Qt-free): a training run and a short timing probe.

Both follow the worker's job contract (`run(cancel) -> generator`, see worker.py). A
training run holds its generator between events while paused (the pipeline never sees the
pause, so a pause costs nothing but time) and reports progress over all of its stages with
an ETA that leaves paused time out.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from typing import Iterator

import torch

from ...core.checkpoint import load_model
from ...core.sampler import CancelToken
from ...data.cache import TrainingData
from ...data.synthetic import SYNTHETIC_STYLES
from ...train.pipeline import build_stage, run_pipeline, stage_model
from ...train.runner import TrainEvent
from ...train.styles import align_styles
from .style_compare import StyleSketch, check_photo, compare_styles
from .training_plan import RunRecord, TrainingPlan, publish


class PauseGate:
    """Set by the GUI thread, waited on by the worker between training events."""

    def __init__(self):
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()  # the worker resumes too (on cancel)
        self._since: float | None = None
        self.paused_s = 0.0  # total time spent paused

    @property
    def paused(self) -> bool:
        return not self._open.is_set()

    def pause(self) -> None:
        with self._lock:
            if not self.paused:
                self._since = time.monotonic()
                self._open.clear()

    def resume(self) -> None:
        with self._lock:
            if self.paused:
                self.paused_s += time.monotonic() - self._since
                self._since = None
                self._open.set()

    def wait(self, cancel: CancelToken) -> None:
        """Block while paused; a cancel lets the run go on to its checkpoint."""
        while not self._open.wait(0.05):
            if cancel.cancelled:
                self.resume()


@dataclass
class JobProgress:
    event: TrainEvent
    stage_index: int  # into plan.stages; -1 while the data is prepared
    done: int  # steps over every stage
    total: int
    eta_s: float | None  # None until a step has been timed
    # With a preview of a stage that has the new style: the check photo in the new style and
    # in one old style, side by side (style_compare.py).
    styles: tuple[StyleSketch, ...] = ()


@dataclass
class TrainingResult:
    model_path: str
    card: dict


class TrainingJob:
    def __init__(self, record: RunRecord, resume: bool = False, gate: PauseGate | None = None,
                 seconds_per_step: dict | None = None, models_dir=None):
        self.record, self.resume = record, resume
        self.gate = gate or PauseGate()
        self.seconds_per_step = seconds_per_step or {}  # from the probe: the ETA of later stages
        self.models_dir = models_dir
        self._check = None  # the check photo of the side-by-side preview, once loaded

    def run(self, cancel: CancelToken) -> Iterator[JobProgress]:
        rec, plan = self.record, self.record.plan
        rec.status, rec.message = "running", ""
        rec.save()
        started, paused0 = time.monotonic(), self.gate.paused_s
        losses: dict = {}
        stage_start: tuple[float, float, int] | None = None  # (wall, paused_s, step) at the stage's start
        outcome = "failed"
        model = None  # the model the current stage trains (its start event carries it)
        try:
            for ev in run_pipeline(plan.sources(), rec.folder, plan.pipeline_options(self.resume), cancel):
                i = plan.stages.index(ev.stage) if ev.stage in plan.stages else -1
                if ev.kind == "start":
                    stage_start = (time.monotonic(), self.gate.paused_s, ev.step)
                    model = ev.model
                if ev.kind == "step":
                    losses = ev.losses
                done = plan.steps * i + ev.step if i >= 0 else 0
                eta = self._eta(plan, i, ev, stage_start) if ev.kind == "step" else None
                styles = self._compare(ev, model) if ev.kind == "preview" else ()
                yield JobProgress(ev, i, done, plan.total_steps, eta, styles)
                if ev.kind == "cancelled":
                    outcome = "cancelled"
                    return None
                self.gate.wait(cancel)
            outcome = "finished"
        except Exception as exc:
            rec.message = " ".join(str(exc).split())
            raise
        finally:
            rec.elapsed_s += time.monotonic() - started - (self.gate.paused_s - paused0)
            if outcome != "finished":  # finished: `publish` marks it once the model is saved
                rec.status = outcome
            rec.save()
        path, card = publish(rec, losses, self.models_dir)
        return TrainingResult(str(path), card)

    def _compare(self, ev: TrainEvent, model) -> tuple[StyleSketch, ...]:
        """The new style beside an old one, drawn by the model in training while the pipeline
        waits between steps (one short decode each; runs only at previews)."""
        new = self.record.plan.new_style
        if model is None or not new or new not in getattr(model, "styles", ()):
            return ()
        if self._check is None:
            self._check = check_photo(self.record.folder)
            if self._check is None:
                return ()
        return compare_styles(model, self._check, new, texture=ev.stage == "render")

    def _eta(self, plan: TrainingPlan, i: int, ev: TrainEvent, start) -> float | None:
        if start is None or ev.step <= start[2]:
            return None
        active = time.monotonic() - start[0] - (self.gate.paused_s - start[1])
        per_step = active / (ev.step - start[2])
        later = plan.stages[i + 1:]
        return per_step * (ev.total - ev.step) + sum(self.seconds_per_step.get(s, per_step) * plan.steps
                                                     for s in later)


@dataclass
class ProbeResult:
    seconds_per_step: dict  # stage -> seconds

    def estimate_s(self, steps: int) -> float:
        return sum(s * steps for s in self.seconds_per_step.values())


def _random_data(model, style: str, n: int = 4) -> TrainingData:
    """Stand-in data of the model's shapes, every pair in `style`: a step costs the same
    whatever the pixels are. Drawings at their own size too (the render stage's), as large as
    the finished sketch."""
    g = torch.Generator().manual_seed(0)

    def img(c, size):
        return torch.randint(0, 256, (n, c, size, size), generator=g, dtype=torch.uint8)  # (n, c, S, S)

    styles = tuple(dict.fromkeys(model.styles + (style,)))
    idx, labels = torch.arange(n), torch.full((n,), styles.index(style), dtype=torch.long)
    photos, sketches, native = img(3, model.photo_size), img(1, model.sketch_size), img(1, model.output_size)
    sizes = torch.full((n, 2), model.output_size, dtype=torch.long)
    real = (idx, sketches, labels) if style not in SYNTHETIC_STYLES else (idx[:0], sketches[:0], labels[:0])
    synth = (idx, sketches, labels) if style in SYNTHETIC_STYLES else (idx[:0], sketches[:0], labels[:0])
    return TrainingData(styles, photos, *real, *synth, photos[:0], sketches[:0], labels[:0],
                        real_native=native, real_native_size=sizes)


class ProbeJob:
    """Time a couple of steps of each stage of a plan on this machine (after one warm-up step)."""

    def __init__(self, plan: TrainingPlan, steps: int = 2):
        self.plan, self.steps = plan, steps

    def run(self, cancel: CancelToken):
        # Denormals are flushed for the whole process (cli.main), as in the pipeline the probe times.
        model, _ = load_model(self.plan.base_model)
        so = dataclasses.replace(self.plan.stage_options(), warmup=1)
        out = {}
        for stage_name in self.plan.stages:
            # The stage as the pipeline builds it (a new style's adapters included); the render
            # stage times the model fine-tuning made.
            style = SYNTHETIC_STYLES[0] if stage_name == "pretrain" else "(new style)"
            data = _random_data(model, style)
            model = stage_model(stage_name, model, data, so)
            stage = build_stage(stage_name, model, align_styles(data, model.styles), so, self.steps + 1)
            model.train()
            times = []
            for step in range(self.steps + 1):
                if cancel.cancelled:
                    return None
                t0 = time.perf_counter()
                stage.train_step(step)
                times.append(time.perf_counter() - t0)
                yield (stage_name, step)
            out[stage_name] = sum(times[1:]) / self.steps
        return ProbeResult(out)
