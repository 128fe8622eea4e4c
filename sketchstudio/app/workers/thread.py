"""Runs Qt-free job generators on a QThread and reports through signals (after superqt's
GeneratorWorker). No widget code here, and the jobs know nothing about Qt.

A job is any object with `run(cancel) -> generator` (a decode, a batch, a training run):
everything it yields becomes `yielded`; its return value becomes `finished`, or `cancelled`
when it returned nothing after its CancelToken was set; an exception becomes `failed` with a
one-line message (the traceback goes to the log, never to the user). Each job ends with
exactly one of finished / cancelled / failed, and signals arrive in the order they were sent.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ...core.checkpoint import CheckpointError
from ...core.imaging import ImageLoadError
from ...core.sampler import CancelToken

log = logging.getLogger(__name__)


def user_message(exc: BaseException) -> str:
    """One plain line for a message box."""
    if isinstance(exc, (ImageLoadError, CheckpointError, ValueError, OSError)):
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

    @Slot(object, object)
    def run_job(self, job, cancel: CancelToken) -> None:
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

    def __init__(self, name: str = "sketchstudio-worker", parent: QObject | None = None):
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName(name)
        self.worker = JobWorker()
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
