"""Train → New style from my drawings…: a QWizard over the training pipeline.

Pages: choose the job (or resume an unfinished run) → folders → check the data → name and
length (a timed probe estimates the time) → the run (progress, ETA, loss curve, previews,
pause, stop) → the result. The wizard owns the state the pages fill in and the training
worker thread; training runs while the wizard is open and never blocks the studio.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget, QWizard

from .. import messages
from ..logic.data_check import DataCheck
from ..logic.training_job import ProbeResult, TrainingJob, TrainingResult
from ..logic.training_plan import PRESET_STEPS, RunRecord, TrainingPlan
from ..workers.training import TrainingRunner
from .pages import CHECK, CHOOSE, FINISH, FOLDERS, NAME, RUN, CheckPage, ChoosePage, FoldersPage
from .run import FinishPage, NamePage, RunPage

STOP_QUESTION = ("Stop training? It stops after the current step and keeps the last checkpoint; "
                 "Train → New style from my drawings… offers to resume it later.")


class TrainingWizard(QWizard):
    model_trained = Signal(str, str)  # model path, the new style's name ("" when none)
    training_ended = Signal()  # a run finished, stopped or failed

    def __init__(self, parent: QWidget | None = None, base_model: str | None = None,
                 preset_steps: dict | None = None, batch: int = 8, runs_root=None, models_dir=None,
                 offer_resume: bool = True):
        super().__init__(parent)
        self.setWindowTitle("Train a new style")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage)
        self.base_model = base_model
        self.preset_steps = dict(preset_steps or PRESET_STEPS)
        self.batch = batch
        self.runs_root, self.models_dir = runs_root, models_dir  # None: the user data folders
        self.offer_resume = offer_resume
        self.interactive = True  # False: never ask, answer yes (self-test, screenshots)
        self.job = "new_style"
        self.resume_record: RunRecord | None = None
        self.pairs_dir: str | None = None
        self.photos_dir: str | None = None
        self.check: DataCheck | None = None
        self.plan: TrainingPlan | None = None
        self.probe: ProbeResult | None = None
        self.record: RunRecord | None = None
        self.result: TrainingResult | None = None
        self._after_stop: list = []
        self.runner = TrainingRunner(parent=self)
        self.runner.finished.connect(self._finished)
        self.runner.ended.connect(self._ended)
        for pid, page in ((CHOOSE, ChoosePage()), (FOLDERS, FoldersPage()), (CHECK, CheckPage()),
                          (NAME, NamePage()), (RUN, RunPage()), (FINISH, FinishPage())):
            self.setPage(pid, page)
        self.page(RUN).connect_runner(self.runner)  # after _finished: the studio has the model first
        self.setStartId(CHOOSE)
        self.resize(880, 660)

    # --- training ------------------------------------------------------------------------
    def start_training(self, resume: bool) -> None:
        if self.runner.running:
            return
        if self.record is None and self.resume_record is not None:
            self.record = self.resume_record
        elif self.record is None:
            self.record = RunRecord.create(self.plan, self.runs_root)
        self.plan = self.record.plan
        spp = self.probe.seconds_per_step if self.probe else None
        job = TrainingJob(self.record, resume=resume, gate=self.runner.gate, seconds_per_step=spp,
                          models_dir=self.models_dir)
        self.page(RUN).started(self.plan, self.record.folder)
        self.runner.start(job)

    def training_running(self) -> bool:
        return self.runner.running

    def stop_training(self, then=None) -> None:
        """Cancel at the next step (a checkpoint is written); `then()` once the run has ended."""
        if then is not None:
            self._after_stop.append(then)
        if self.runner.running:
            self.runner.cancel()
        else:
            self._ended()

    def _finished(self, result: TrainingResult) -> None:
        self.result = result
        self.model_trained.emit(result.model_path, result.card.get("new_style") or "")

    def _ended(self) -> None:
        self.training_ended.emit()
        todo, self._after_stop = self._after_stop, []
        for f in todo:
            f()

    # --- closing -------------------------------------------------------------------------
    def reject(self) -> None:
        """Cancel, Esc or the close button: while training, ask, then stop and close once it has."""
        if self.runner.running:
            if self._after_stop:
                return  # already stopping
            if self.interactive and not messages.ask_question(self, "Training is running", STOP_QUESTION):
                return
            self.stop_training(then=lambda: QWizard.reject(self))
            return
        self.page(NAME).prober.cancel()
        super().reject()

    def shutdown(self) -> None:
        """Stop the worker threads (after a checkpoint when training); blocks until they have."""
        self.runner.shutdown()
        self.page(NAME).prober.shutdown()
