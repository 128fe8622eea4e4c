"""Run a training stage as a generator of events.

The runner knows nothing about models: a `Stage` does one optimisation step at
a time and can render a preview. The runner owns the loop: resume, cancel at a
step boundary, atomic checkpoints every N steps and on cancel, a loss CSV, ETA
and preview PNGs. The CLI shows the events with a tqdm bar; the app will show
them in its training wizard.
"""
from __future__ import annotations

import csv
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Protocol

import numpy as np
import torch
from PIL import Image

from ..core.sampler import CancelToken
from ..core.checkpoint import atomic_write
from . import distributed
from .state import load_state, save_state


@dataclass
class TrainEvent:
    stage: str
    kind: str  # "start", "step", "preview", "checkpoint", "cancelled", "done"
    step: int  # steps completed
    total: int
    losses: dict[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0
    eta_s: float | None = None
    preview: np.ndarray | None = None  # (H, W) or (H, W, 3) uint8
    path: str | None = None  # checkpoint or preview file
    message: str = ""
    # The module being trained (start events only): a caller may evaluate it between steps,
    # while the generator is suspended, e.g. a benchmark that samples from it.
    model: torch.nn.Module | None = None


class Stage(Protocol):
    name: str
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    generator: torch.Generator

    def train_step(self, step: int) -> dict[str, float]: ...

    def preview(self) -> tuple[np.ndarray, dict[str, float]]: ...

    def finish(self, out_dir: Path) -> Path: ...

    def stage_tensors(self) -> dict[str, torch.Tensor]: ...

    def load_stage_tensors(self, tensors: dict[str, torch.Tensor]) -> None: ...


@dataclass(frozen=True)
class RunOptions:
    total_steps: int
    checkpoint_every: int = 200
    preview_every: int = 200
    resume: bool = False


def run_stage(stage: Stage, out_dir, opts: RunOptions, cancel: CancelToken | None = None) -> Iterator[TrainEvent]:
    """On more than one device (train/distributed.py) every rank runs this loop; rank 0 alone
    writes the loss log, previews, checkpoints and the model, and the others wait for it."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / f"{stage.name}.state.safetensors"
    csv_path = out / f"{stage.name}.losses.csv"
    main = distributed.is_main()
    start = 0
    if opts.resume and state_path.exists():
        start, _, tensors = load_state(state_path, stage.model, stage.optimizer, stage.generator)
        stage.load_stage_tensors(tensors)
        if main:
            _truncate_csv(csv_path, start)
    elif csv_path.exists() and main:
        csv_path.unlink()
    distributed.barrier()  # no rank opens the log before rank 0 has trimmed it
    distributed.prepare_stage(stage, start)
    total = opts.total_steps
    if not main:  # the other ranks log nowhere
        csv_path = Path(os.devnull)

    def checkpoint(step: int) -> TrainEvent:
        if main:
            save_state(state_path, stage.model, stage.optimizer, stage.generator, step,
                       stage_tensors=stage.stage_tensors())
        distributed.barrier()
        return TrainEvent(stage.name, "checkpoint", step, total, path=str(state_path))

    yield TrainEvent(stage.name, "start", start, total, message=f"{'resuming' if start else 'starting'} at step {start}",
                     model=stage.model)
    t0, done_here = time.perf_counter(), 0
    step = start
    with open(csv_path, "a", newline="") as fcsv:
        writer = None
        while step < total:
            if distributed.any_rank(cancel is not None and cancel.cancelled):
                yield checkpoint(step)
                yield TrainEvent(stage.name, "cancelled", step, total, elapsed_s=time.perf_counter() - t0,
                                 path=str(state_path), message="cancelled; resume with --resume")
                return
            stage.model.train()
            losses = stage.train_step(step)
            step += 1
            done_here += 1
            elapsed = time.perf_counter() - t0
            eta = elapsed / done_here * (total - step)
            if writer is None:
                # Columns: the resumed file's header, else the first step's keys. A key that a
                # later step adds is left out rather than stopping a long run over its log.
                fields = _csv_header(csv_path) or ["step", "wall_s", *losses]
                writer = csv.DictWriter(fcsv, fieldnames=fields, extrasaction="ignore")
                if fcsv.tell() == 0:
                    writer.writeheader()
            writer.writerow({"step": step, "wall_s": f"{time.time():.1f}", **{k: f"{v:.6g}" for k, v in losses.items()}})
            fcsv.flush()  # the CSV is the live record of a run; a crash keeps every finished step
            yield TrainEvent(stage.name, "step", step, total, losses, elapsed, eta)
            if main and (step % opts.preview_every == 0 or step == total):
                stage.model.eval()
                grid, metrics = stage.preview()
                png = out / f"{stage.name}.preview.png"
                atomic_write(png, lambda tmp: Image.fromarray(grid).save(tmp, format="PNG"))
                yield TrainEvent(stage.name, "preview", step, total, metrics, elapsed, eta, preview=grid, path=str(png))
            if step % opts.checkpoint_every == 0 and step < total:
                yield checkpoint(step)
    yield checkpoint(step)
    stage.model.eval()
    final = stage.finish(out) if main else out / f"{stage.name}.safetensors"
    distributed.barrier()  # the next stage starts from this file, on every rank
    yield TrainEvent(stage.name, "done", step, total, elapsed_s=time.perf_counter() - t0, path=str(final))


def _csv_header(path: Path) -> list[str] | None:
    with open(path, newline="") as f:
        return next(csv.reader(f), None)


def _truncate_csv(path: Path, step: int) -> None:
    """Drop loss rows past the resumed step, so the CSV matches the restored state."""
    if not path.exists():
        return
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    keep = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= step]
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(keep)
