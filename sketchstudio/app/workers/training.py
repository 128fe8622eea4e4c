"""Training on its own worker thread, as signals: a WorkerThread (thread.py) plus pause.

One job at a time (a training run or a timing probe). `cancel` stops a run at its next step
boundary after a checkpoint; `ended` follows every job's finished / cancelled / failed, so
whoever waits for the run to stop (closing the window) listens to one signal.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ...core.sampler_settings import CancelToken
from ..logic.training_job import PauseGate
from .thread import WorkerThread


class TrainingRunner(QObject):
    yielded = Signal(object)  # whatever the job yields (JobProgress for a run)
    finished = Signal(object)  # the job's result
    cancelled = Signal()
    failed = Signal(str)
    ended = Signal()  # after any of the three above
    paused_changed = Signal(bool)

    def __init__(self, name: str = "sketchstudio-training", parent: QObject | None = None):
        super().__init__(parent)
        self.gate = PauseGate()
        self.cancel_token: CancelToken | None = None
        self._thread = WorkerThread(name, self)
        self._thread.hook_up(yielded=self.yielded, finished=self._finished, failed=self._failed,
                             cancelled=self._cancelled)

    @property
    def running(self) -> bool:
        return self.cancel_token is not None

    @property
    def paused(self) -> bool:
        return self.gate.paused

    def start(self, job) -> None:
        if self.running:
            raise RuntimeError("a job is already running")
        self.gate.resume()
        self.cancel_token = CancelToken()
        self._thread.submit(job, self.cancel_token)

    def pause(self) -> None:
        if self.running and not self.gate.paused:
            self.gate.pause()
            self.paused_changed.emit(True)

    def resume(self) -> None:
        if self.gate.paused:
            self.gate.resume()
            self.paused_changed.emit(False)

    def cancel(self) -> None:
        """Stop at the next step boundary; a paused run wakes up to write its checkpoint."""
        if self.cancel_token is not None:
            self.cancel_token.cancel()

    def shutdown(self, timeout_ms: int = 120000) -> bool:
        self.cancel()
        return self._thread.stop(timeout_ms)

    def _end(self) -> None:
        self.cancel_token = None
        if self.gate.paused:
            self.resume()
        self.ended.emit()

    def _finished(self, result) -> None:
        self.cancel_token = None
        self.finished.emit(result)
        self._end()

    def _cancelled(self) -> None:
        self.cancel_token = None
        self.cancelled.emit()
        self._end()

    def _failed(self, message: str) -> None:
        self.cancel_token = None
        self.failed.emit(message)
        self._end()
