"""Text from files is shown literally: a model's style names, card info and path, and a PNG's
settings never render as HTML in the window; pickled model files are refused unopened."""
import json

import pytest
from PIL import Image, PngImagePlugin
from PySide6 import QtGui
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QTextDocument
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QWidget

from app_fixtures import SAMPLE, boxes, make_window, settle, window  # noqa: F401  (fixtures)
from hostile_files import pickles  # noqa: F401  (fixture)
from sketchstudio.app import messages
from sketchstudio.app.studio.model_picker import ModelPicker
from sketchstudio.core import build_model, preset
from sketchstudio.core.checkpoint import save_model
from sketchstudio.sketch_file import SKETCH_META_KEY

BOLD = "<b>bold</b><img src=x>"
LINK = "<a href='https://example.invalid/'>click</a>"
FOLDER = "<b>xyzzy<img src=x>"  # no "/": it is a folder name
MARKERS = {"bold": BOLD, "click": LINK, "xyzzy": FOLDER}  # a word, and the markup it must stay inside


def rendered(text: str, fmt=Qt.TextFormat.AutoText) -> str:
    """What Qt draws for `text` in a label of format `fmt` (tooltips are AutoText)."""
    if fmt == Qt.TextFormat.PlainText or (fmt == Qt.TextFormat.AutoText and not QtGui.Qt.mightBeRichText(text)):
        return text
    doc = QTextDocument()
    (doc.setMarkdown if fmt == Qt.TextFormat.MarkdownText else doc.setHtml)(text)
    return doc.toPlainText()


def everything_shown(root: QWidget) -> list[str]:
    """Rendered text of every label, tooltip, combo item and action under `root`."""
    shown = [rendered(w.text(), w.textFormat()) for w in root.findChildren(QLabel)]
    shown += [rendered(w.toolTip()) for w in [root, *root.findChildren(QWidget)] if w.toolTip()]
    shown += [rendered(a.toolTip()) for a in root.findChildren(QAction) if a.toolTip()]
    shown += [c.itemText(i) for c in root.findChildren(QComboBox) for i in range(c.count())]
    return shown


def assert_literal(shown: list[str]) -> None:
    for text in shown:
        for word, markup in MARKERS.items():
            if word in text:
                assert markup in text, f"markup rendered as HTML: {text!r}"


@pytest.fixture
def hostile_model(tmp_path):
    """A working tiny model whose style names, info and folder hold HTML."""
    folder = tmp_path / FOLDER
    folder.mkdir()
    path = folder / "m.safetensors"
    model = build_model(preset("tiny").with_styles((BOLD, LINK, "pencil")))
    save_model(model, path, info={"note": BOLD, "card": {"new_style": LINK, "base_model": BOLD}})
    return path


def test_model_text_is_never_rendered_as_html(qtbot, make_window, hostile_model, boxes):
    win = make_window(model=hostile_model)
    assert win.studio.model is not None and not boxes.errors
    assert win.studio.styles == (BOLD, LINK, "pencil")
    blend = win.style_controls.blend
    blend.b.setCurrentIndex(1)
    blend.slider.setValue(50)
    # Were AutoText: "50% <b>bold</b>…" looks like HTML to Qt, so the label showed "50% bold".
    label = blend.label
    assert label.textFormat() == Qt.TextFormat.PlainText
    assert rendered(label.text(), label.textFormat()) == f"50% {BOLD}  ·  50% {LINK}"
    names = [w for w in win.style_controls.mixer.findChildren(QLabel) if w.text() in (BOLD, LINK)]
    assert len(names) == 2 and all(w.textFormat() == Qt.TextFormat.PlainText for w in names)
    assert win.model_label.textFormat() == Qt.TextFormat.PlainText and BOLD in win.model_label.text()
    # Was the raw path: Qt renders a tooltip that looks like HTML, and this path does.
    assert rendered(win.model_label.toolTip()) == str(hostile_model)

    photo = hostile_model.parent / "face.png"  # a recent file in the same folder: a menu tooltip
    Image.open(SAMPLE).save(photo)
    with qtbot.waitSignal(win.studio.sketch_ready, timeout=20000):
        assert win.open_path(photo)
    settle(qtbot, win.studio)
    assert any(rendered(a.toolTip()) == str(photo.resolve()) for a in win.recent_menu.actions())
    assert_literal(everything_shown(win))

    picker = ModelPicker(win, recent=[str(hostile_model)])  # lists it as a recent model
    qtbot.addWidget(picker)
    tips = [rendered(picker.list.item(i).toolTip()) for i in range(picker.list.count())]
    assert str(hostile_model) in tips
    assert_literal(everything_shown(picker) + tips)


def test_png_settings_text_is_shown_literally(qtbot, window, tmp_path, boxes):
    with qtbot.waitSignal(window.studio.sketch_ready, timeout=20000):
        assert window.open_path(SAMPLE)
    settle(qtbot, window.studio)
    png = tmp_path / "sketch.png"
    assert window.exports.export_png(png)
    meta = json.loads(Image.open(png).text[SKETCH_META_KEY])

    def with_meta(name, **changes):
        info = PngImagePlugin.PngInfo()
        info.add_itxt(SKETCH_META_KEY, json.dumps({**meta, **changes}))
        Image.open(png).save(tmp_path / name, pnginfo=info)
        return tmp_path / name

    gone = tmp_path / FOLDER / "gone.png"
    assert window.open_path(with_meta("other.png", model=BOLD, photo=str(gone)))
    status = window.statusBar().currentMessage()  # QStatusBar draws plain text
    assert BOLD in status and str(gone) in status

    assert not window.open_path(with_meta("bad.png", style_weights={LINK: 1.0}))
    title, text = boxes.errors[-1]
    assert LINK in text and "\n" not in text
    box = messages.plain_box(window, messages.QMessageBox.Icon.Warning, title, text)
    assert box.textFormat() == Qt.TextFormat.PlainText and box.text() == text
    assert_literal(everything_shown(window) + [status])


# --- pickles: refused by the window's loader and model picker, never unpickled -----------------
def test_the_window_refuses_pickled_models(qtbot, make_window, pickles, boxes, monkeypatch):
    paths, marker = pickles
    for path in paths:  # `sketchstudio --model x.pt` starts the window like this
        win = make_window(model=path)
        assert win.studio.model is None and win.banner.isVisibleTo(win), path
        assert not marker.exists(), path
        win.close()
    good = make_window()
    model = good.studio.model
    for path in paths:
        n = len(boxes.errors)
        assert good.load_model(str(path)) is False
        title, text = boxes.errors[-1]
        assert len(boxes.errors) == n + 1 and title == "Cannot load the model"
        assert str(path) in text and "\n" not in text and "Traceback" not in text
        assert good.studio.model is model  # the loaded model stays
        assert not marker.exists(), path

    # The picker's Browse… accepts any file; the loader refuses it.
    monkeypatch.setattr(ModelPicker, "exec", lambda self: (self._browse(), self.result())[1])
    for path in paths:
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, p=path, **k: (str(p), ""))
        n = len(boxes.errors)
        good.ask_model()
        assert len(boxes.errors) == n + 1, path
        assert boxes.errors[-1][0] == "Cannot load the model" and str(path) in boxes.errors[-1][1]
        assert good.studio.model is model and not marker.exists(), path
