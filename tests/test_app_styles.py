"""Issue 13 in the studio: the styles panel (a sample sketch per style, where each came from),
renaming and removing a style as a new file, and the model card's style origins."""
import shutil

import numpy as np
import pytest
import torch
from PySide6.QtGui import QTextDocumentFragment

from app_fixtures import boxes, make_window  # noqa: F401  (fixtures)
from sketchstudio.app.logic.style_edits import SHIPPED_NOTE
from sketchstudio.app.logic.style_origins import FS2K_ORIGIN, SYNTHETIC_ORIGIN
from sketchstudio.app.logic.style_thumbs import SAMPLE_KEY, THUMB_SIZE
from sketchstudio.app.logic.training_job import _random_data
from sketchstudio.app.logic.training_plan import RunRecord, TrainingPlan, card_markdown, publish
from sketchstudio.core import build_model, preset
from sketchstudio.core.checkpoint import load_model, read_config, save_model
from wizard_helpers import user_dirs  # noqa: F401

FS2K = ("contour", "charcoal", "pencil")


def model_with(path, styles, card=None, seed=0):
    """A tiny model file whose styles draw visibly apart (large random style rows)."""
    torch.manual_seed(seed)
    model = build_model(preset("tiny").with_styles(styles))
    with torch.no_grad():
        model.transformer.style_emb.normal_(0, 3.0)
    save_model(model, path, info={"card": card} if card else {})
    return path


def tip(widget) -> str:
    """A plain-text tooltip (messages.plain_tooltip) as the user reads it."""
    return QTextDocumentFragment.fromHtml(widget.toolTip()).toPlainText().replace("\xa0", " ")


def wait_thumbnails(qtbot, win, n):
    qtbot.waitUntil(lambda: len(win.styles_panel.thumbnails) == n and not win.studio.busy, timeout=30000)


def test_styles_panel_shows_a_thumbnail_per_style_and_follows_the_model(qtbot, make_window, tmp_path):
    first = model_with(tmp_path / "first.safetensors", FS2K)
    card = {"name": "second", "styles": [*FS2K, "inkwash"],
            "style_origins": {"inkwash": "your drawings in /home/me/inkwash"}}
    second = model_with(tmp_path / "second.safetensors", (*FS2K, "inkwash"), card, seed=1)
    win = make_window(model=first)
    panel = win.styles_panel
    wait_thumbnails(qtbot, win, 3)
    assert [panel.list.item(i).text() for i in range(panel.list.count())] == list(FS2K)
    assert all(t.shape == (THUMB_SIZE, THUMB_SIZE) and t.dtype == np.uint8 for t in panel.thumbnails.values())
    assert len({t.tobytes() for t in panel.thumbnails.values()}) == 3  # each style drawn in its own style
    assert all(key[1] == SAMPLE_KEY for key in win.thumbnails.cache)  # no photo yet: the sample face
    assert "from FS2K drawings (MIT licence)" in tip(panel.list.item(0))
    assert panel.origin.text() == f"contour: from {FS2K_ORIGIN}"

    win.load_model(str(second))  # another model: its own styles and thumbnails
    assert panel.list.count() == 4 and not panel.thumbnails
    wait_thumbnails(qtbot, win, 4)
    panel.list.setCurrentRow(3)
    assert panel.origin.text() == "inkwash: from your drawings in /home/me/inkwash"
    assert "from your drawings in /home/me/inkwash" in tip(panel.list.item(3))

    started = win.thumbnails.jobs_started
    win.load_model(str(first))  # cached: shown at once, no decode
    qtbot.waitUntil(lambda: len(panel.thumbnails) == 3)
    qtbot.wait(50)
    assert win.thumbnails.jobs_started == started

    panel.list.item(2).setSelected(True)
    panel.style_chosen.emit("pencil")  # double-click: sketch in that style
    assert win.style_controls.blend.a.currentText() == "pencil"


def test_thumbnails_follow_the_photo(qtbot, make_window, make_photo, tmp_path):
    win = make_window()
    wait_thumbnails(qtbot, win, 3)
    sample = dict(win.styles_panel.thumbnails)
    assert win.open_path(make_photo("face.png", size=(64, 64)))
    qtbot.waitUntil(lambda: win.studio.result is not None and not win.studio.busy, timeout=30000)
    key = win.studio.photo.cache_key
    qtbot.waitUntil(lambda: sum(k[1] == key for k in win.thumbnails.cache) == 3, timeout=30000)
    qtbot.waitUntil(lambda: all(not np.array_equal(win.styles_panel.thumbnails[s], sample[s]) for s in FS2K))


def test_rename_and_remove_save_new_files_and_leave_the_original(qtbot, make_window, user_dirs, boxes, tmp_path):
    src = tmp_path / "mine.safetensors"
    shutil.copy(model_with(tmp_path / "a.safetensors", FS2K), src)
    before = src.read_bytes()
    win = make_window(model=src)
    boxes.text = "lines"
    assert win.rename_style("contour")  # asks for the name (boxes answers "lines")
    models = user_dirs / "models"
    first = models / "mine (edited).safetensors"
    assert win.studio.model_path == str(first)
    assert win.studio.styles == ("lines", "charcoal", "pencil")
    assert [win.styles_panel.list.item(i).text() for i in range(3)] == ["lines", "charcoal", "pencil"]
    cfg, info = read_config(first)
    card = info["card"]
    assert cfg.styles == ("lines", "charcoal", "pencil") and card["styles"] == ["lines", "charcoal", "pencil"]
    assert card["style_origins"]["lines"] == FS2K_ORIGIN
    assert card["edits"][0].startswith("Renamed style “contour” to “lines”")
    md = first.with_suffix(".md").read_text()
    assert "- lines: FS2K drawings (MIT licence)" in md and "Renamed style “contour” to “lines”" in md
    old, new = load_model(src)[0].state_dict(), load_model(first)[0].state_dict()
    assert old.keys() == new.keys() and all(torch.equal(old[k], new[k]) for k in old)  # names only
    assert src.read_bytes() == before

    first_bytes = first.read_bytes()
    panel = win.styles_panel
    panel.list.setCurrentRow(1)
    assert panel.remove_button.isEnabled()
    boxes.answer = False  # "Remove the style …?" No: nothing happens
    panel.remove_button.click()
    assert boxes.shown[-1][0] == "question" and "charcoal" in boxes.shown[-1][2]
    assert win.studio.model_path == str(first) and sorted(p.name for p in models.glob("*.safetensors")) == [first.name]
    boxes.answer = True
    panel.remove_button.click()
    second = models / "mine (edited 2).safetensors"
    assert win.studio.model_path == str(second)
    assert read_config(second)[0].styles == ("lines", "pencil")
    card2 = read_config(second)[1]["card"]
    assert [e.split(" (")[0] for e in card2["edits"]] == ["Renamed style “contour” to “lines”",
                                                           "Removed style “charcoal”"]
    assert set(card2["style_origins"]) == {"lines", "pencil"}
    assert first.read_bytes() == first_bytes and src.read_bytes() == before
    assert [panel.list.item(i).text() for i in range(panel.list.count())] == ["lines", "pencil"]
    assert not boxes.errors


def test_bad_names_last_style_and_write_failures_get_a_message(qtbot, make_window, user_dirs, boxes, tmp_path):
    src = model_with(tmp_path / "mine.safetensors", FS2K)
    win = make_window(model=src)
    for name, says in (("a,b", "Commas"), ("Pencil", "already has a style called"), ("  ", "needs a name"),
                       ("contour", "already called")):
        assert not win.rename_style("contour", name)
        assert says in boxes.errors[-1][1], boxes.errors[-1]
        assert "Traceback" not in boxes.errors[-1][1]
    boxes.text = None  # the user cancelled the name box
    assert not win.rename_style("contour")
    assert not (user_dirs / "models").exists() or not list((user_dirs / "models").iterdir())

    solo = make_window(model=model_with(tmp_path / "solo.safetensors", ("solo",)))
    assert not solo.styles_panel.remove_button.isEnabled()
    assert not solo.remove_style("solo")
    assert boxes.errors[-1] == ("Cannot remove the style", "A model needs at least one style.")

    (user_dirs / "models").parent.mkdir(parents=True, exist_ok=True)
    (user_dirs / "models").write_text("not a folder")  # the models folder cannot be made
    assert not win.remove_style("pencil")
    assert boxes.errors[-1][0] == "Cannot remove the style" and "Cannot write" in boxes.errors[-1][1]
    assert win.studio.model_path == str(src)


def test_the_shipped_model_is_never_edited(qtbot, make_window, user_dirs, boxes, monkeypatch, tmp_path):
    shipped = model_with(tmp_path / "sketchstudio-default.safetensors", FS2K)
    monkeypatch.setenv("SKETCHSTUDIO_MODEL", str(shipped))
    before = shipped.read_bytes()
    win = make_window(model=None)  # starts with the shipped model
    assert win.studio.model_path == str(shipped)
    panel = win.styles_panel
    for b in (panel.rename_button, panel.remove_button):
        assert not b.isEnabled() and "train your own style first" in b.toolTip()
    assert not win.rename_style("contour", "lines") and not win.remove_style("pencil")
    assert boxes.errors[-1] == ("Cannot remove the style", SHIPPED_NOTE)
    assert shipped.read_bytes() == before and not (user_dirs / "models").exists()


@pytest.fixture
def finished_run(tmp_path):
    """A finished new-style run on a base model that already had an added style."""
    base_card = {"name": "base", "styles": [*FS2K, "hatching", "inkwash"],
                 "style_origins": {"inkwash": "your drawings in /old/inkwash"}}
    base = model_with(tmp_path / "base.safetensors", (*FS2K, "hatching", "inkwash"), base_card)
    pairs = tmp_path / "my drawings"
    rec = RunRecord.create(TrainingPlan("new_style", "charcoal2", str(base), str(pairs)), root=tmp_path / "runs")
    final = build_model(preset("tiny").with_styles((*FS2K, "hatching", "inkwash", "charcoal2")))
    save_model(final, rec.folder / "finetune.safetensors")
    _random_data(final, "charcoal2").save(rec.folder / "data.safetensors")
    return rec, pairs


def test_the_card_lists_each_style_and_where_it_came_from(finished_run, tmp_path):
    rec, pairs = finished_run
    path, card = publish(rec, {"loss": 1.0}, tmp_path / "models")
    assert card["styles"] == [*FS2K, "hatching", "inkwash", "charcoal2"]
    assert card["style_origins"] == {"contour": FS2K_ORIGIN, "charcoal": FS2K_ORIGIN, "pencil": FS2K_ORIGIN,
                                     "hatching": SYNTHETIC_ORIGIN, "inkwash": "your drawings in /old/inkwash",
                                     "charcoal2": f"your drawings in {pairs}"}
    assert read_config(path)[1]["card"]["style_origins"] == card["style_origins"]
    md = path.with_suffix(".md").read_text()
    assert "## Styles" in md
    for line in ("- contour: FS2K drawings (MIT licence)", "- hatching: synthetic pre-training sketches",
                 "- inkwash: your drawings in /old/inkwash", f"- charcoal2: your drawings in {pairs}"):
        assert line in md
    assert card_markdown(card) == md
