"""The training wizard's last pages: name and length, the run itself, the result."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QButtonGroup, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit,
                               QProgressBar, QPushButton, QRadioButton, QVBoxLayout, QWidget, QWizard, QWizardPage)

from ...core.checkpoint import read_config
from ..logic.training_job import JobProgress, ProbeJob, ProbeResult, TrainingResult
from ..logic.training_plan import (JOB_STAGES, PRESETS, STAGE_TITLES, TrainingPlan, card_markdown, duration,
                            name_problem)
from ..qt_images import qimage_from_array
from ..workers.training import TrainingRunner
from .loss_plot import LossPlot
from .pages import _label
from .style_compare import StyleCompare


class NamePage(QWizardPage):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle("Name it and choose how long to train")
        self.setSubTitle("The name is what the Style box will show; longer training follows your drawings more "
                         "closely.")
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "Start training")
        self.name_label = _label("", False)
        self.name = QLineEdit()
        self.name.setAccessibleName("Name")
        self.problem = _label()
        self.problem.setStyleSheet("color: #a01010;")
        self.group = QButtonGroup(self)
        self.radios: dict[str, QRadioButton] = {}
        box = QGroupBox("Length")
        bl = QVBoxLayout(box)
        for name in PRESETS:
            r = QRadioButton()
            self.group.addButton(r)
            self.radios[name] = r
            bl.addWidget(r)
        self.radios["standard"].setChecked(True)
        self.probe_note = _label()
        bl.addWidget(self.probe_note)
        lay = QVBoxLayout(self)
        lay.addWidget(self.name_label)
        lay.addWidget(self.name)
        lay.addWidget(self.problem)
        lay.addSpacing(8)
        lay.addWidget(box)
        lay.addStretch(1)
        self.probe: ProbeResult | None = None
        self._probe_key = None
        self.prober = TrainingRunner("sketchstudio-probe", self)
        self.prober.finished.connect(self._probed)
        self.prober.ended.connect(self._probe_ended)
        self.prober.failed.connect(lambda msg: self.probe_note.setText(f"Could not time training here: {msg}"))
        self.name.textChanged.connect(self._validate)

    def initializePage(self) -> None:
        w = self.wizard()
        pretrain = w.job == "pretrain"
        self.name_label.setText("Name of the new model:" if pretrain else "Name of the new style:")
        self.setSubTitle("The model is saved under this name in your models folder." if pretrain else
                         "The name is what the Style box will show; longer training follows your drawings "
                         "more closely.")
        if not self.name.text():
            folder = w.pairs_dir or w.photos_dir or ""
            self.name.setText(Path(folder).name if not pretrain else f"{Path(folder).name}-photos")
        self._validate()
        self._want_probe()

    def _key(self) -> tuple:
        w = self.wizard()
        return (w.base_model, w.job, w.batch)

    def _want_probe(self) -> None:
        """Time the current job unless that is known; a probe of an older choice is stopped first."""
        if self._key() == self._probe_key:
            self._show_presets()
            return
        if self.prober.running:
            self.prober.cancel()  # `ended` comes back here
            return
        w = self.wizard()
        self._probe_key, self.probe = self._key(), None
        self.probe_note.setText("Timing a few training steps on this computer…")
        self._show_presets()
        self.prober.start(ProbeJob(TrainingPlan(w.job, "probe", w.base_model, batch=w.batch)))

    def _probe_ended(self) -> None:
        if self.wizard() is not None and self.wizard().currentPage() is self:
            self._want_probe()

    def _taken_styles(self) -> tuple[str, ...]:
        try:
            return read_config(self.wizard().base_model)[0].styles
        except Exception:  # a broken model file: the run page reports it
            return ()

    def _validate(self) -> None:
        problem = name_problem(self.name.text(), self.wizard().job, self._taken_styles())
        self.problem.setText(problem or "")
        self.completeChanged.emit()

    def _probed(self, result: ProbeResult | None) -> None:
        if self._probe_key != self._key():
            self._probe_key = None  # timed an earlier choice: `ended` starts the right probe
            return
        self.probe = result
        if result is not None:
            per = ", ".join(f"{STAGE_TITLES[s].split(' ')[0]} {t:.2f} s" for s, t in result.seconds_per_step.items())
            self.probe_note.setText(f"Measured on this computer: {per} per step (plus preparing the data).")
        self._show_presets()

    def _show_presets(self) -> None:
        w = self.wizard()
        stages = len(JOB_STAGES[w.job])
        for name, r in self.radios.items():
            steps = w.preset_steps[name]
            est = f", about {duration(self.probe.estimate_s(steps))}" if self.probe else ""
            per = " per stage" if stages > 1 else ""
            r.setText(f"{name.capitalize()}: {steps} steps{per}{est}")

    def preset(self) -> str:
        return next(n for n, r in self.radios.items() if r.isChecked())

    def isComplete(self) -> bool:
        return name_problem(self.name.text(), self.wizard().job, self._taken_styles()) is None

    def validatePage(self) -> bool:
        w = self.wizard()
        self.prober.cancel()
        preset = self.preset()
        w.plan = TrainingPlan(w.job, self.name.text().strip(), w.base_model, w.pairs_dir, w.photos_dir, preset,
                              w.preset_steps[preset], w.batch)
        w.probe = self.probe
        return True


class RunPage(QWizardPage):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle("Training")
        self.setCommitPage(True)  # a finished run has no way back
        self.setButtonText(QWizard.WizardButton.CommitButton, "Next >")
        self.result: TrainingResult | None = None
        self.stage = _label("Preparing the data…")
        self.stage.setStyleSheet("font-weight: bold;")
        self.bar = QProgressBar()
        self.bar.setFormat("%v of %m steps")
        self.eta = _label("", False)
        self.plot = LossPlot()
        self.preview = QLabel("A preview appears after the first steps.")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(200, 200)
        self.preview.setWordWrap(True)
        self.preview_note = _label()
        self.compare = StyleCompare()  # the new style beside an old one, on the same check photo
        self.status = _label()
        self.folder = _label()
        self.folder.setStyleSheet("color: palette(mid);")
        self.pause = QPushButton("Pause")
        self.stop = QPushButton("Stop")
        self.resume = QPushButton("Resume")
        self.resume.hide()
        loss_box = QGroupBox("Loss")
        QVBoxLayout(loss_box).addWidget(self.plot)
        prev_box = QGroupBox("Preview: photo, drawing, model")
        pl = QVBoxLayout(prev_box)
        pl.addWidget(self.preview, 1)
        pl.addWidget(self.preview_note)
        pl.addWidget(self.compare)
        mid = QHBoxLayout()
        mid.addWidget(loss_box, 3)
        mid.addWidget(prev_box, 2)
        bar_row = QHBoxLayout()
        bar_row.addWidget(self.bar, 1)
        bar_row.addWidget(self.eta)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        for b in (self.resume, self.pause, self.stop):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addWidget(self.stage)
        lay.addLayout(bar_row)
        lay.addLayout(mid, 1)
        lay.addLayout(buttons)
        lay.addWidget(self.folder)
        self.pause.clicked.connect(self._toggle_pause)
        self.stop.clicked.connect(lambda: self.wizard().stop_training())
        self.resume.clicked.connect(lambda: self.wizard().start_training(resume=True))

    def connect_runner(self, r: TrainingRunner) -> None:
        r.yielded.connect(self.on_progress)
        r.finished.connect(self.on_finished)
        r.cancelled.connect(self.on_cancelled)
        r.failed.connect(self.on_failed)
        r.paused_changed.connect(self._paused)

    def initializePage(self) -> None:
        w = self.wizard()
        w.start_training(resume=w.resume_record is not None)

    def started(self, plan: TrainingPlan, folder: Path) -> None:
        per = " per stage" if len(plan.stages) > 1 else ""
        self.setSubTitle(f"“{plan.name}”: {plan.preset}, {plan.steps} steps{per}. Stop keeps the last checkpoint; "
                         "you can resume later.")
        self.folder.setText(f"Run folder (checkpoints, losses, previews): {folder}")
        self.bar.setRange(0, 0)  # busy until the data is ready
        self.stage.setText("Preparing the data…")
        self.eta.setText("")
        self.status.setText("")
        self.status.setStyleSheet("")
        self.resume.hide()
        self.pause.setEnabled(True)
        self.pause.setText("Pause")
        self.stop.setEnabled(True)
        self.plot.clear()
        self.compare.clear()

    def on_progress(self, p: JobProgress) -> None:
        ev, plan = p.event, self.wizard().plan
        if ev.stage == "data":
            if ev.message:
                self.status.setText(ev.message)
            return
        n = len(plan.stages)
        title = STAGE_TITLES.get(ev.stage, ev.stage)
        self.stage.setText(f"Stage {p.stage_index + 1} of {n}: {title}" if n > 1 else title.capitalize())
        self.bar.setRange(0, p.total)
        self.bar.setValue(p.done)
        if ev.kind == "step":
            if "loss" in ev.losses:
                self.plot.add(ev.stage, p.done, ev.losses["loss"])
            if not self.wizard().runner.paused:
                self.eta.setText(f"about {duration(p.eta_s)} left" if p.eta_s is not None else "")
        elif ev.kind == "preview" and ev.preview is not None:
            self.show_preview(ev.preview)
            score = ", ".join(f"{k} {v:.3f}" for k, v in ev.losses.items())
            self.preview_note.setText(f"Step {ev.step} of {ev.stage}" + (f" ({score})" if score else ""))
            if p.styles:
                self.compare.show_sketches(p.styles)
        elif ev.kind == "start" and ev.step > 0:
            self.status.setText(f"Resumed at step {ev.step} of {ev.stage}.")

    def show_preview(self, grid) -> None:
        pm = QPixmap.fromImage(qimage_from_array(grid))
        box = self.preview.size()
        mode = Qt.TransformationMode.FastTransformation if pm.width() < box.width() / 2 else \
            Qt.TransformationMode.SmoothTransformation  # small tiles grow as crisp pixels
        self.preview.setPixmap(pm.scaled(box, Qt.AspectRatioMode.KeepAspectRatio, mode))

    def _toggle_pause(self) -> None:
        r = self.wizard().runner
        r.resume() if r.paused else r.pause()

    def _paused(self, paused: bool) -> None:
        self.pause.setText("Continue" if paused else "Pause")
        self.eta.setText("paused" if paused else self.eta.text())
        self.status.setText("Paused after the current step." if paused else "")

    def _ended(self, text: str, error: bool = False) -> None:
        self.pause.setEnabled(False)
        self.stop.setEnabled(False)
        self.pause.setText("Pause")
        self.status.setText(text)
        self.status.setStyleSheet("color: #a01010;" if error else "")

    def on_finished(self, result: TrainingResult) -> None:
        self.result = result
        self._ended(f"Done. Saved {result.model_path}.")
        self.eta.setText("")
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        self.bar.setFormat("done")
        self.completeChanged.emit()

    def on_cancelled(self) -> None:
        rec = self.wizard().record
        self._ended(f"Stopped after {self.bar.value()} of {self.bar.maximum()} steps. The last checkpoint is kept "
                    "in the run folder: Resume goes on from there, now or later from the first page.")
        self.eta.setText("stopped")
        self.resume.show()
        if rec is not None:
            self.resume.setToolTip(str(rec.folder))

    def on_failed(self, message: str) -> None:
        self._ended(f"Training stopped: {message}", error=True)
        self.resume.show()

    def isComplete(self) -> bool:
        return self.result is not None


class FinishPage(QWizardPage):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle("Your model is ready")
        self.text = _label()
        self.card = QPlainTextEdit()
        self.card.setReadOnly(True)
        lay = QVBoxLayout(self)
        lay.addWidget(self.text)
        lay.addWidget(self.card, 1)

    def initializePage(self) -> None:
        result = self.wizard().result
        card = result.card
        style = card["new_style"]
        how = (f"The studio has loaded it: “{style}” is now in the Style box, next to the model's other styles."
               if style else "The studio has loaded it.")
        self.setSubTitle(f"Saved as {Path(result.model_path).name} in your models folder.")
        path = Path(result.model_path)
        card_name = path.with_suffix(".md").name
        self.text.setText(f"{how}\nChoose model… lists it as {path.name}; its model card, {card_name}, "
                          f"is beside it:\n{path.parent}")
        self.card.setPlainText(card_markdown(card))
