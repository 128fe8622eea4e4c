"""Run a longer job (batch, style sweep) on its own worker thread behind a progress dialog."""
from __future__ import annotations

from PySide6.QtCore import QEventLoop, QObject, Qt
from PySide6.QtWidgets import QProgressDialog, QWidget

from ...core.sampler_settings import CancelToken
from ..logic.batch_jobs import Progress
from .thread import WorkerThread


class ProgressRun(QObject):
    """`exec()` runs `job` and returns ("finished", result), ("cancelled", None) or ("failed", message);
    the window stays responsive meanwhile and Cancel stops the job at its next sampler step."""

    def __init__(self, parent: QWidget | None, job, title: str, label: str):
        super().__init__(parent)
        self.job = job
        self.cancel = CancelToken()
        self.outcome: tuple[str, object] = ("cancelled", None)
        self.dialog = QProgressDialog(label, "Cancel", 0, 100, parent)
        self.dialog.setWindowTitle(title)
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setMinimumDuration(0)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.canceled.connect(self.cancel.cancel)
        self._loop = QEventLoop(self)
        self._thread = WorkerThread("sketchstudio-batch", self)
        self._thread.hook_up(yielded=self._progress, finished=self._finished, failed=self._failed,
                             cancelled=self._cancelled)

    def exec(self) -> tuple[str, object]:
        self._thread.submit(self.job, self.cancel)
        self.dialog.show()
        self._loop.exec()
        self.dialog.close()
        self._thread.stop()
        self.deleteLater()
        return self.outcome

    def _progress(self, p) -> None:
        if isinstance(p, Progress):
            self.dialog.setMaximum(max(1, p.total))
            self.dialog.setValue(p.done)
            if p.label:
                self.dialog.setLabelText(p.label)

    def _finished(self, result) -> None:
        self._end("finished", result)

    def _failed(self, message: str) -> None:
        self._end("failed", message)

    def _cancelled(self) -> None:
        self._end("cancelled", None)

    def _end(self, status: str, value) -> None:
        self.outcome = (status, value)
        self._loop.quit()
