"""The training wizard end to end on the tiny model and tiny folders (offscreen, user folders in tmp_path)."""
import json

from PySide6.QtWidgets import QWizard

from app_fixtures import boxes, make_window, window  # noqa: F401  (fixtures)
from datagen import make_drawings, make_photo_folder
from sketchstudio.app.studio import model_picker
from sketchstudio.app.wizard.loss_plot import LossPlot
from sketchstudio.app.wizard.pages import CHOOSE, FINISH, NAME
from sketchstudio.core.checkpoint import read_config
from sketchstudio.core.config import FS2K_STYLES
from sketchstudio.data.synthetic import SYNTHETIC_STYLES
from wizard_helpers import TINY_STEPS, click_next, to_check_page, user_dirs  # noqa: F401


def test_new_style_from_drawings_end_to_end(qtbot, window, user_dirs, tmp_path):
    folder = make_drawings(tmp_path / "inkwash", n=5)
    assert window.train_action.text() == "New style from my &drawings…"
    window.train_action.trigger()  # Train → New style from my drawings…
    wiz = window.training_wizard
    wiz.preset_steps, wiz.batch = TINY_STEPS, 2
    assert not wiz.page(CHOOSE).radios["drawings_only"].isEnabled()  # explained, not offered
    check = to_check_page(qtbot, wiz, folder)
    assert check.check.ok and len(check.check.pairs) == 5
    assert "5 photo–drawing pairs matched" in check.summary.text()
    assert check.thumbs.count() == 5 and not check.thumbs.item(0).icon().isNull()
    problems = [check.problems.item(i).text() for i in range(check.problems.count())]
    assert problems == ["lonely-photo.jpg: photo has no drawing with the same name",
                        "lonely-drawing.png: drawing has no photo with the same name"]
    assert check.face.pixmap() is not None and not check.face.pixmap().isNull()
    assert "Only 5 pairs" in check.notes.text()

    click_next(qtbot, wiz)
    name = wiz.page(NAME)
    assert name.name.text() == "inkwash"  # suggested from the folder
    name.radios["thorough"].setChecked(True)
    qtbot.waitUntil(lambda: name.probe is not None, timeout=20000)
    assert "about" in name.radios["thorough"].text() and "6 steps" in name.radios["thorough"].text()
    with qtbot.waitSignal(wiz.model_trained, timeout=30000) as trained:
        click_next(qtbot, wiz)
        run = wiz.currentPage()
        assert not wiz.button(QWizard.WizardButton.BackButton).isEnabled()
    path = trained.args[0]
    assert trained.args[1] == "inkwash"
    assert run.plot.count == 6 and run.bar.value() == 1
    assert run.preview.pixmap() is not None and not run.preview.pixmap().isNull()
    click_next(qtbot, wiz)
    assert wiz.currentId() == FINISH and "inkwash" in wiz.currentPage().text.text()
    assert not wiz.button(QWizard.WizardButton.BackButton).isEnabled()  # the run is done: no way back
    assert not wiz.button(QWizard.WizardButton.CancelButton).isVisible()

    # Saved in the user's models folder with a model card, loaded in the studio at once.
    models = user_dirs / "models"
    assert path == str(models / "inkwash.safetensors")
    cfg, info = read_config(path)
    assert cfg.styles == FS2K_STYLES + ("inkwash",)
    card = info["card"]
    assert card["new_style"] == "inkwash" and card["steps"] == {"finetune": 6}
    assert card["data"]["training_pairs"] + card["data"]["held_out_pairs"] == 5
    assert card["data"]["files_skipped"] == 2 and card["training_time_s"] > 0 and card["date"]
    assert "inkwash" in (models / "inkwash.md").read_text()
    assert window.studio.model_path == path
    assert "inkwash" in window.studio.styles and "inkwash" in window.style_controls.blend.styles
    assert window.style_controls.blend.a.currentText() == "inkwash"
    assert models / "inkwash.safetensors" in [p for _, p in model_picker.available_models()]
    record = json.loads(next((user_dirs / "training").glob("*/wizard.json")).read_text())
    assert record["status"] == "finished" and record["model"] == path
    wiz.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: window.training_wizard is None)


def test_pretrain_on_photos_makes_a_model_without_a_new_style(qtbot, window, user_dirs, tmp_path):
    photos = make_photo_folder(tmp_path / "my-photos", n=3)
    wiz = window.open_training_wizard(preset_steps=TINY_STEPS, batch=2)
    check = to_check_page(qtbot, wiz, photos, job="pretrain")
    assert "3 photos for synthetic sketches" in check.summary.text()
    click_next(qtbot, wiz)
    assert wiz.page(NAME).name.text() == "my-photos-photos"
    wiz.page(NAME).name.setText("contour")  # a model name, not a style name: allowed
    with qtbot.waitSignal(wiz.model_trained, timeout=30000) as trained:
        click_next(qtbot, wiz)
    assert trained.args[1] == ""
    assert read_config(trained.args[0])[0].styles == FS2K_STYLES + SYNTHETIC_STYLES
    assert window.studio.model_path == trained.args[0]


def test_empty_and_unreadable_folders_get_a_clear_message(qtbot, window, user_dirs, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    wiz = window.open_training_wizard(preset_steps=TINY_STEPS, batch=2)
    check = to_check_page(qtbot, wiz, empty)
    assert check.errors.isVisible() and "is empty" in check.errors.text()
    assert not wiz.button(QWizard.WizardButton.NextButton).isEnabled()

    bad = tmp_path / "bad"
    for sub, name in (("photos", "a.jpg"), ("drawings", "a.png"), ("photos", "b.jpg"), ("drawings", "c.doc")):
        (bad / sub).mkdir(parents=True, exist_ok=True)
        (bad / sub / name).write_text("not a picture")
    wiz.back()
    wiz.back()
    check = to_check_page(qtbot, wiz, bad)
    assert "None of the 4 files in photos/ and drawings/ can be read" in check.errors.text()
    assert check.problems.count() == 4 and not wiz.button(QWizard.WizardButton.NextButton).isEnabled()

    only = make_drawings(tmp_path / "only", n=2, strays=False)
    for p in (only / "photos").iterdir():
        p.unlink()
    (only / "photos").rmdir()
    wiz.back()
    wiz.back()
    check = to_check_page(qtbot, wiz, only)
    assert "has drawings/ but no photos/" in check.errors.text() and "tokenizer" in check.errors.text()

    wiz.back()
    wiz.back()
    check = to_check_page(qtbot, wiz, tmp_path / "nowhere", job="pretrain")
    assert "is not a folder" in check.errors.text()
    assert window.training_wizard is wiz and not wiz.training_running()


def test_style_names_are_checked(qtbot, window, user_dirs, tmp_path):
    wiz = window.open_training_wizard(preset_steps=TINY_STEPS, batch=2)
    to_check_page(qtbot, wiz, make_drawings(tmp_path / "x", n=2))
    click_next(qtbot, wiz)
    page = wiz.page(NAME)
    commit = wiz.button(QWizard.WizardButton.CommitButton)
    for bad, why in (("", "Enter a name"), ("Contour", "already has a style"), ("hatching", "already has"),
                     ("a,b", "Commas"), ("x" * 41, "at most")):
        page.name.setText(bad)
        assert why in page.problem.text() and not commit.isEnabled(), bad
    page.name.setText("ink wash")
    assert page.problem.text() == "" and commit.isEnabled()
    qtbot.waitUntil(lambda: page.probe is not None, timeout=20000)  # let the probe end before teardown


def test_loss_plot_draws_series():
    plot = LossPlot()
    plot.resize(300, 160)
    assert not plot.grab().isNull()  # the empty text
    for i in range(1, 2001):
        plot.add("pretrain" if i <= 1000 else "finetune", i, 1.0 / i + (i % 7) * 0.01)
    plot.add("finetune", 2001, float("nan"))  # ignored
    assert plot.count == 2000 and [s for s, _ in plot.series] == ["pretrain", "finetune"]
    image = plot.grab().toImage()
    assert len({image.pixel(x, 80) for x in range(0, 300, 3)}) > 2  # something was drawn


def test_both_stages_run_one_after_the_other(qtbot, window, user_dirs, tmp_path):
    folder = make_drawings(tmp_path / "duo", n=4, strays=False)
    extra = make_photo_folder(tmp_path / "extra", n=2)
    wiz = window.open_training_wizard(preset_steps=TINY_STEPS, batch=2)
    wiz.page(CHOOSE).radios["full"].setChecked(True)
    click_next(qtbot, wiz)
    folders = wiz.currentPage()
    assert folders.pairs.isVisible() and folders.photos.isVisible() and "optional" in folders.photos_label.text()
    folders.pairs.edit.setText(str(folder))
    click_next(qtbot, wiz)  # extra photos are optional ...
    assert wiz.currentPage().check.ok
    wiz.back()
    folders.photos.edit.setText(str(extra))  # ... but used when given
    click_next(qtbot, wiz)
    assert "2 photos for synthetic sketches" in wiz.currentPage().summary.text()
    click_next(qtbot, wiz)
    name = wiz.page(NAME)
    qtbot.waitUntil(lambda: name.probe is not None, timeout=20000)
    assert set(name.probe.seconds_per_step) == {"pretrain", "finetune"}
    assert "4 steps per stage" in name.radios["standard"].text()
    with qtbot.waitSignal(wiz.model_trained, timeout=30000) as trained:
        click_next(qtbot, wiz)
    run = wiz.currentPage()
    assert [s for s, _ in run.plot.series] == ["pretrain", "finetune"] and run.plot.count == 8
    cfg, info = read_config(trained.args[0])
    assert cfg.styles == FS2K_STYLES + SYNTHETIC_STYLES + ("duo",)
    assert info["card"]["steps"] == {"pretrain": 4, "finetune": 4}
    assert info["card"]["data"]["synthetic_sketches"] == 3 * (2 + info["card"]["data"]["training_pairs"])
