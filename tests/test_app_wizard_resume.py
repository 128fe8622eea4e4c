"""Training in the wizard: pause, stop and resume later, and quitting the studio mid-run."""
import csv
import json

from PySide6.QtWidgets import QWizard

from app_fixtures import boxes, make_window, window  # noqa: F401  (fixtures)
from datagen import make_drawings
from sketchstudio.app.logic.training_plan import unfinished_runs
from sketchstudio.app.wizard.pages import CHOOSE, RUN
from sketchstudio.core.checkpoint import read_config
from wizard_helpers import click_next, start_run, user_dirs  # noqa: F401

LONG = {"quick": 40, "standard": 60, "thorough": 80}  # long enough to stop part-way (tens of ms a step)


class GateWatch:
    """Wraps the run's PauseGate.wait (the worker calls it between training events): counts the
    calls that found the gate closed and the ones that have returned since."""

    def __init__(self, gate):
        self.blocked = self.released = 0
        real_wait = gate.wait

        def wait(cancel):
            if gate.paused:
                self.blocked += 1
            try:
                real_wait(cancel)
            finally:
                if self.blocked > self.released:
                    self.released += 1

        gate.wait = wait

    @property
    def holding(self) -> bool:
        """The worker is inside a paused wait now."""
        return self.blocked > self.released


def pause_after(qtbot, wiz, run, steps: int) -> int:
    """Pause once `steps` are shown; returns the step the run holds at, checked by events, not time."""
    watch = GateWatch(wiz.runner.gate)
    qtbot.waitUntil(lambda: run.bar.maximum() > 0 and run.bar.value() >= steps, timeout=20000)
    run.pause.click()
    assert wiz.runner.paused and run.pause.text() == "Continue"
    # The step under way finishes, its events are sent, then the worker waits at the gate.
    qtbot.waitUntil(lambda: watch.holding, timeout=20000)
    qtbot.wait(50)  # deliver the progress it queued before it stopped
    held = run.bar.value()
    for _ in range(3):  # nothing moves while the worker holds there
        qtbot.wait(20)
        assert watch.holding and run.bar.value() == held
    assert wiz.training_running()
    return held


def test_pause_stop_then_resume_from_the_first_page(qtbot, window, user_dirs, tmp_path, boxes):
    folder = make_drawings(tmp_path / "charcoal2", n=4)
    wiz = window.open_training_wizard(preset_steps=LONG, batch=2)
    run = start_run(qtbot, wiz, folder, name="charcoal2")
    held = pause_after(qtbot, wiz, run, 2)
    assert held < 40
    with qtbot.waitSignal(wiz.runner.cancelled, timeout=20000):
        run.stop.click()  # while paused: it wakes up, writes a checkpoint and stops
    assert run.resume.isVisible() and "checkpoint is kept" in run.status.text()
    assert not wiz.button(QWizard.WizardButton.NextButton).isEnabled()
    runs = unfinished_runs()
    assert len(runs) == 1 and runs[0].status == "cancelled" and runs[0].elapsed_s > 0
    folder_of_run = runs[0].folder
    assert (folder_of_run / "finetune.state.safetensors").exists()
    stopped_at = held
    wiz.reject()  # not training: closes without asking
    qtbot.waitUntil(lambda: window.training_wizard is None)
    assert not [b for b in boxes.shown if b[0] == "question"]

    wiz = window.open_training_wizard(preset_steps=LONG, batch=2)
    choose = wiz.page(CHOOSE)
    assert choose.resume_radio.isVisible() and choose.resume_radio.isChecked()  # offered first
    assert "charcoal2" in choose.resume_combo.currentText()
    with qtbot.waitSignal(wiz.model_trained, timeout=30000) as trained:
        click_next(qtbot, wiz)
        assert wiz.currentId() == RUN
        assert not wiz.button(QWizard.WizardButton.BackButton).isEnabled()
    assert read_config(trained.args[0])[0].styles[-1] == "charcoal2"
    with open(folder_of_run / "finetune.losses.csv") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f)]
    assert steps == list(range(1, 41))  # one unbroken run of steps across the two sessions
    assert wiz.page(RUN).plot.count == 40 - stopped_at  # this session: the steps after the checkpoint
    record = json.loads((folder_of_run / "wizard.json").read_text())
    assert record["status"] == "finished" and not unfinished_runs()


def test_resume_button_on_the_run_page(qtbot, window, user_dirs, tmp_path):
    wiz = window.open_training_wizard(preset_steps=LONG, batch=2)
    run = start_run(qtbot, wiz, make_drawings(tmp_path / "pen", n=3), name="pen")
    pause_after(qtbot, wiz, run, 1)
    with qtbot.waitSignal(wiz.runner.cancelled, timeout=20000):
        run.stop.click()
    with qtbot.waitSignal(wiz.model_trained, timeout=30000):
        run.resume.click()
    assert run.isComplete() and "Done" in run.status.text()


def test_quitting_during_training_asks_then_stops_at_a_checkpoint(qtbot, make_window, user_dirs, tmp_path, boxes):
    window = make_window()
    wiz = window.open_training_wizard(preset_steps={"quick": 4000, "standard": 4000, "thorough": 4000}, batch=2)
    run = start_run(qtbot, wiz, make_drawings(tmp_path / "mine", n=3), name="mine")
    qtbot.waitUntil(lambda: run.bar.maximum() > 0 and run.bar.value() >= 2, timeout=20000)
    boxes.answer = False
    window.close()
    assert window.isVisible() and wiz.training_running()  # "No": nothing happens
    boxes.answer = True
    with qtbot.waitSignal(wiz.training_ended, timeout=20000):
        window.close()
        assert window.isVisible()  # still stopping
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    assert [b[1] for b in boxes.shown if b[0] == "question"] == ["Training is running"] * 2
    (rec,) = unfinished_runs()
    assert rec.status == "cancelled" and (rec.folder / "finetune.state.safetensors").exists()
    assert window.training_wizard is None


def test_closing_the_wizard_during_training_asks_first(qtbot, window, user_dirs, tmp_path, boxes):
    wiz = window.open_training_wizard(preset_steps={"quick": 4000, "standard": 4000, "thorough": 4000}, batch=2)
    run = start_run(qtbot, wiz, make_drawings(tmp_path / "mine", n=3), name="mine")
    qtbot.waitUntil(lambda: run.bar.maximum() > 0 and run.bar.value() >= 1, timeout=20000)
    boxes.answer = False
    wiz.reject()
    assert wiz.isVisible() and wiz.training_running()
    boxes.answer = True
    with qtbot.waitSignal(wiz.training_ended, timeout=20000):
        wiz.reject()
    qtbot.waitUntil(lambda: window.training_wizard is None, timeout=5000)
    assert unfinished_runs()[0].status == "cancelled"
