"""The wizard's run records: names, saving, finding unfinished runs, discarding one."""
import json

from app_fixtures import boxes  # noqa: F401  (fixture)
from sketchstudio.app.logic.training_plan import RunRecord, TrainingPlan, name_problem, slug, unfinished_runs
from sketchstudio.app.wizard.pages import CHOOSE
from sketchstudio.app.wizard.wizard import TrainingWizard


def plan(name="ink", job="new_style"):
    return TrainingPlan(job, name, "/models/base.safetensors", pairs="/data/ink", preset="quick", steps=3, batch=2)


def test_names():
    assert name_problem("ink wash", "new_style", ("contour",)) is None
    assert "already" in name_problem(" CONTOUR ", "new_style", ("contour",))
    assert "already" in name_problem("soft-pencil", "full")  # the synthetic styles are taken too
    assert name_problem("contour", "pretrain", ("contour",)) is None  # a model name
    assert slug(" ink / wash: v2 ") == "ink-wash-v2" and slug("///") == "model"


def test_records_round_trip_and_unfinished_runs_are_found(tmp_path):
    a = RunRecord.create(plan("a"), tmp_path)
    b = RunRecord.create(plan("b", "full"), tmp_path)
    b.status, b.elapsed_s = "cancelled", 12.5
    b.save()
    done = RunRecord.create(plan("c"), tmp_path)
    done.status = "finished"
    done.save()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "wizard.json").write_text("{not json")
    back = RunRecord.load(b.folder)
    assert back.plan == b.plan and back.status == "cancelled" and back.elapsed_s == 12.5
    assert back.plan.stages == ("pretrain", "finetune") and back.plan.total_steps == 6
    assert {r.folder for r in unfinished_runs(tmp_path)} == {a.folder, b.folder}
    opts = back.plan.pipeline_options(resume=True)
    assert opts.resume and opts.init == "/models/base.safetensors" and opts.steps == {"pretrain": 3, "finetune": 3}
    assert [s.style for s in back.plan.sources()] == ["b"]
    assert json.loads((a.folder / "wizard.json").read_text())["plan"]["name"] == "a"


def test_discarding_an_unfinished_run(qtbot, tmp_path, boxes):
    rec = RunRecord.create(plan("old"), tmp_path)
    wiz = TrainingWizard(base_model=None, runs_root=tmp_path)
    qtbot.addWidget(wiz)
    wiz.show()
    page = wiz.page(CHOOSE)
    assert page.resume_radio.isChecked() and "old" in page.resume_combo.currentText()
    assert "goes on from its last checkpoint" in page.model_label.text() and page.isComplete()
    boxes.answer = False
    page.discard.click()
    assert rec.folder.exists()
    boxes.answer = True
    page.discard.click()
    assert not rec.folder.exists() and not page.resume_radio.isVisible()
    assert page.radios["new_style"].isChecked()
    assert "No model is loaded" in page.model_label.text() and not page.isComplete()  # no model to start from
    wiz.shutdown()
