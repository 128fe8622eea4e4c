"""Runs Qt-free job generators on a QThread and reports through signals (after superqt's
GeneratorWorker). No widget code here, and the jobs know nothing about Qt.

A job is any object with `run(cancel) -> generator` (a decode, a batch, a training run):
everything it yields becomes `yielded`; its return value becomes `finished`, or `cancelled`
when it returned nothing after its CancelToken was set; an exception becomes `failed` with a
one-line message (the traceback goes to the log, never to the user). Each job ends with
exactly one of finished / cancelled / failed, and signals arrive in the order they were sent.

Torch threads. PyTorch's CPU kernels run on an OpenMP team, and GNU OpenMP keeps one team per
thread that ever ran a parallel kernel. Once the teams together hold more threads than the
machine has cores, every team stops spinning between kernels and sleeps instead, and each
of the thousands of small kernels in a decode pays a wake-up: on 2 cores a webcam frame took
600 ms in the window against 370 ms for the same decode alone (docs/BENCHMARKS.md). So the
app (`reserve_gui_thread`, called once torch is loaded and before any decode) gives the GUI
thread one torch thread and the background workers (style thumbnails) one, and only the
threads that compute what the user waits for (the sketch, a batch, a training run) the full
team. The same call flushes denormal floats on every computing thread (see cli.py).

Torch is imported by the jobs, not here: the window is up before PyTorch is loaded (issue 25).
"""
from __future__ import annotations

import logging
import sys

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ...core.imaging import ImageLoadError
from ...core.sampler_settings import CancelToken

log = logging.getLogger(__name__)

_compute_threads: int | None = None  # set by reserve_gui_thread: the full team's size


def reserve_gui_thread() -> int:
    """Run on the GUI thread once torch is imported, before any decode computes: from now on
    its own torch work (editing a model's styles) runs on one thread, so it never holds an
    OpenMP team of its own. Returns the team size the compute workers get (what torch would
    have used)."""
    import torch

    global _compute_threads
    if _compute_threads is None:
        _compute_threads = torch.get_num_threads()
    # Per thread (the CPU's MXCSR): threads this one starts later inherit it; workers set their own.
    torch.set_flush_denormal(True)
    torch.set_num_threads(1)
    torch.ones(1 << 18).add_(1)  # a parallel kernel: this thread's torch takes its 1 thread now
    return _compute_threads


def release_gui_thread() -> None:
    """Undo `reserve_gui_thread` (tools that open the window inside another process)."""
    import torch

    global _compute_threads
    if _compute_threads is not None:
        torch.set_num_threads(_compute_threads)
        _compute_threads = None


def worker_threads(compute: bool) -> int | None:
    """The torch threads of a worker: None (torch's default) unless the GUI thread was reserved."""
    if _compute_threads is None:
        return None
    return _compute_threads if compute else 1


def user_message(exc: BaseException) -> str:
    """One plain line for a message box."""
    plain = (ImageLoadError, ValueError, OSError)
    checkpoint = sys.modules.get("sketchstudio.core.checkpoint")  # no CheckpointError before it is imported
    if checkpoint is not None:
        plain += (checkpoint.CheckpointError,)
    if isinstance(exc, plain):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split()) or type(exc).__name__


class JobWorker(QObject):
    """Lives on the worker thread; `run_job` is invoked there through a queued signal."""

    yielded = Signal(object)  # whatever the job yields
    finished = Signal(object)  # the job's return value
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, compute: bool = True):
        super().__init__()
        self.compute = compute  # the full torch team (True) or one thread, once the GUI thread is reserved
        self._configured = False

    @Slot(object, object)
    def run_job(self, job, cancel: CancelToken) -> None:
        if not self._configured:  # on the worker's own thread, at its first job after the reservation
            threads = worker_threads(self.compute)
            if threads is not None:
                import torch

                torch.set_flush_denormal(True)
                torch.set_num_threads(threads)
                self._configured = True
        try:
            gen = job.run(cancel)
            result = None
            while True:
                try:
                    event = next(gen)
                except StopIteration as stop:
                    result = stop.value
                    break
                self.yielded.emit(event)
        except Exception as exc:  # reported, not raised: the thread must survive a bad job
            log.exception("job %r failed", job)
            self.failed.emit(user_message(exc))
            return
        if result is None and cancel.cancelled:
            self.cancelled.emit()
        else:
            self.finished.emit(result)


class WorkerThread(QObject):
    """Owns the thread and its JobWorker; `submit` queues a job (one runs at a time).

    Its own signals repeat the worker's on the thread that owns this object (the GUI thread),
    so whatever `hook_up` connects runs there, a lambda included.
    """

    yielded = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    _submit = Signal(object, object)

    def __init__(self, name: str = "sketchstudio-worker", parent: QObject | None = None, compute: bool = True):
        """compute: the work the user waits for (full torch team); False: background work (one
        torch thread once the GUI thread is reserved, see the module docstring)."""
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName(name)
        self.worker = JobWorker(compute)
        self.worker.moveToThread(self.thread)
        self._submit.connect(self.worker.run_job)  # receiver on another thread: queued
        w = self.worker
        # Receiver (self) on this thread: each hop from the worker thread is queued.
        w.yielded.connect(self.yielded)
        w.finished.connect(self.finished)
        w.failed.connect(self.failed)
        w.cancelled.connect(self.cancelled)
        self.thread.start()

    def hook_up(self, yielded=None, finished=None, failed=None, cancelled=None) -> None:
        """Hook up the receivers of a job's events (None: not wanted)."""
        for signal, slot in ((self.yielded, yielded), (self.finished, finished),
                             (self.failed, failed), (self.cancelled, cancelled)):
            if slot is not None:
                signal.connect(slot)

    def submit(self, job, cancel: CancelToken) -> None:
        self._submit.emit(job, cancel)

    def stop(self, timeout_ms: int = 30000) -> bool:
        """Quit the thread after the current job (cancel it first); True if it ended in time."""
        if not self.thread.isRunning():
            return True
        self.thread.quit()
        return self.thread.wait(timeout_ms)
