"""The studio window end to end on the tiny model: inputs, controls, errors, settings, self-test."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage, QMouseEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from app_fixtures import SAMPLE, boxes, make_window, settle, window  # noqa: F401  (fixtures)
from sketchstudio.app import messages
from sketchstudio.app.logic.settings import AppSettings
from sketchstudio.app.studio import model_picker
from sketchstudio.core.imaging import save_png
from sketchstudio.sketch_file import SKETCH_META_KEY

ROOT = Path(__file__).resolve().parent.parent


def test_without_a_model_the_window_says_so_and_offers_a_picker(make_window, monkeypatch, tmp_path):
    monkeypatch.setenv("SKETCHSTUDIO_MODEL", str(tmp_path / "missing.safetensors"))
    win = make_window(model=None)
    assert win.banner.isVisible() and "missing" in win.banner_text.text()
    assert win.banner_button.isEnabled() and not win.export_button.isEnabled()
    assert win.studio.model is None
    assert win.open_path(SAMPLE)  # a photo can still be opened; nothing is decoded
    assert win.studio.result is None and not win.studio.busy


def test_model_picker_lists_the_shipped_model_and_the_users_folder(monkeypatch, tmp_path, tiny_checkpoint):
    shipped = tmp_path / "models" / "sketchstudio-default.safetensors"
    shipped.parent.mkdir()
    shipped.write_bytes(tiny_checkpoint.read_bytes())
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "a.safetensors").write_bytes(b"")
    (mine / "notes.txt").write_text("")
    monkeypatch.setenv("SKETCHSTUDIO_MODEL", str(shipped))
    monkeypatch.setattr(model_picker, "user_models_dir", lambda: mine)
    found = model_picker.available_models(recent=[str(shipped), str(tmp_path / "gone.safetensors")])
    assert [p for _, p in found] == [shipped, mine / "a.safetensors"]
    assert found[0][0].startswith("Shipped model")


def test_bad_files_give_plain_one_line_messages(qtbot, window, tmp_path, boxes):
    bad = tmp_path / "<b>bold<i>.jpg"
    bad.write_text("not a picture")
    assert not window.open_path(bad)
    assert not window.open_path(tmp_path / "nowhere.png")
    broken = tmp_path / "broken-settings.png"
    save_png(Image.new("L", (8, 8)), broken, {SKETCH_META_KEY: "{not json"})
    assert not window.open_path(broken)
    alien = tmp_path / "alien-style.png"
    save_png(Image.new("L", (8, 8)), alien, {SKETCH_META_KEY: json.dumps({"style": "watercolour"})})
    assert not window.open_path(alien)
    assert not window.load_model(str(bad))
    titles = [t for t, _ in boxes.errors]
    assert titles == ["Cannot open the file"] * 4 + ["Cannot load the model"]
    texts = [x for _, x in boxes.errors]
    assert "not an image" in texts[0] and "not found" in texts[1] and "not valid JSON" in texts[2]
    assert "watercolour" in texts[3]
    assert all("\n" not in t and "Traceback" not in t for t in texts)
    assert window.studio.model is not None  # the loaded model stays


def test_message_boxes_are_plain_text():
    box = messages.plain_box(None, QMessageBox.Icon.Warning, "t", "<b>not bold</b>")
    assert box.textFormat() == Qt.TextFormat.PlainText


def test_drop_and_paste_open_photos(qtbot, window):
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(SAMPLE))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.studio.sketch_ready, timeout=20000):
        window.dropEvent(event)
    assert window.studio.photo.path == str(SAMPLE)
    image = QImage(str(SAMPLE))
    QApplication.clipboard().setImage(image)
    with qtbot.waitSignal(window.studio.sketch_ready, timeout=20000):
        window.paste()
    assert window.studio.photo.path is None and window.studio.photo.size == (image.width(), image.height())


def test_dragging_the_crop_square_reframes_the_photo(qtbot, window):
    with qtbot.waitSignal(window.studio.sketch_ready, timeout=20000):
        window.open_path(SAMPLE)
    view = window.photo_panel.view
    before = window.studio.photo.crop
    assert window.studio.photo.face is not None and before == window.studio.photo.auto
    centre = view.to_widget(before).center().toPoint()
    with qtbot.waitSignal(window.studio.sketch_ready, timeout=20000):
        qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=centre)
        qtbot.mouseMove(view, centre + QPoint(30, 20))
        qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=centre + QPoint(30, 20))
    after = window.studio.photo.crop
    assert after[0] > before[0] and after[1] > before[1] and after[2] - after[0] == before[2] - before[0]
    assert window.photo_panel.reset.isEnabled()
    with qtbot.waitSignal(window.studio.sketch_ready, timeout=20000):
        window.photo_panel.reset.click()
    assert window.studio.photo.crop == before


def test_style_blend_and_mixer_give_normalised_weights(qtbot, window):
    blend, mixer = window.style_controls.blend, window.style_controls.mixer
    blend.a.setCurrentIndex(1)
    blend.b.setCurrentIndex(2)
    blend.slider.setValue(25)
    assert window.studio.style == pytest.approx((0.0, 0.75, 0.25))
    window.style_controls.setCurrentIndex(1)
    for s, v in zip(mixer.sliders, (50, 50, 100)):
        s.setValue(v)
    assert window.studio.style == pytest.approx((0.25, 0.25, 0.5))
    assert [p.text() for p in mixer.percent] == ["25%", "25%", "50%"]
    window.style_controls.set_weights((0.2, 0.8, 0.0))  # shown in the blend, nothing emitted
    assert window.style_controls.currentIndex() == 0 and blend.slider.value() == 80
    assert window.studio.style == pytest.approx((0.25, 0.25, 0.5))


def test_sampler_controls_and_seed(qtbot, window):
    c = window.sampler_controls
    c.steps.setValue(3)
    c.self_guidance.setValue(1.5)
    c.seed.setValue(77)
    s = window.studio.settings
    assert (s.steps, s.self_guidance, s.seed) == (3, 1.5, 77)
    c.new.click()
    assert window.studio.settings.seed == c.seed.value()
    c.lock.setChecked(False)
    seed = c.seed.value()
    with qtbot.waitSignal(window.studio.sketch_ready, timeout=20000):
        window.open_path(SAMPLE)  # unlocked: a new photo gets a new seed
    assert window.studio.settings.seed == c.seed.value() != seed


def test_brush_strokes_redraw_the_painted_tokens(qtbot, window):
    with qtbot.waitSignal(window.studio.sketch_ready, timeout=20000):
        window.open_path(SAMPLE)
    view = window.decode_view
    view.brush.setChecked(True)
    view.brush_size.setValue(1)
    canvas = view.canvas
    r = canvas.image_rect()
    cell = r.width() / 8
    start = QPoint(int(r.x() + cell * 0.5), int(r.y() + cell * 0.5))
    end = QPoint(int(r.x() + cell * 2.5), int(r.y() + cell * 0.5))
    with qtbot.waitSignal(canvas.redraw_requested) as stroke, \
            qtbot.waitSignal(window.studio.sketch_ready, timeout=20000):
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
        QApplication.sendEvent(canvas, drag_to(canvas, end))  # QTest moves carry no buttons
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=end)
    assert stroke.args[0] == [0, 1, 2]
    assert [r.cells for r in window.studio.result.spec.redraws] == [(0, 1, 2)]


def drag_to(widget, pos) -> QMouseEvent:
    return QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), widget.mapToGlobal(QPointF(pos)),
                       Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)


def test_scrubber_replays_the_steps(qtbot, window):
    window.studio.set_settings(window.studio.settings.with_(steps=5))
    with qtbot.waitSignal(window.studio.sketch_ready, timeout=20000):
        window.open_path(SAMPLE)
    view = window.decode_view
    assert view.scrubber.isEnabled() and view.scrubber.maximum() == 5 and view.scrubber.value() == 5
    view.scrubber.setValue(2)
    assert view.canvas.frame is window.studio.frames[1] and view.step_label.text() == "Step 2 / 5"


def test_settings_and_recent_files_survive_a_restart(qtbot, make_window, tmp_path):
    win = make_window()
    win.sampler_controls.steps.setValue(5)
    win.style_controls.select("charcoal")
    with qtbot.waitSignal(win.studio.sketch_ready, timeout=20000):
        win.open_path(SAMPLE)
    path = win.settings.path
    win.close()
    saved = AppSettings.load(path)
    assert saved.sampler["steps"] == 5 and saved.recent_files[0] == str(SAMPLE.resolve())
    assert saved.style == {"contour": 0.0, "charcoal": 1.0, "pencil": 0.0}
    again = make_window(start=False)
    again.settings = saved
    again._restore()
    again.start(str(win.studio.model_path))
    assert again.studio.settings.steps == 5 and again.studio.style == (0.0, 1.0, 0.0)
    assert [a.text() for a in again.recent_menu.actions()] == ["sample_face.png"]


def test_damaged_settings_file_gives_defaults(tmp_path):
    p = tmp_path / "s.json"
    p.write_text("[1, 2")
    assert AppSettings.load(p).recent_files == []
    p.write_text(json.dumps({"recent_files": "not a list", "overlay": 3, "mirror": False}))
    s = AppSettings.load(p)
    assert s.recent_files == [] and s.overlay == "tokens" and s.mirror is False


def run_cli(*args, env_extra=None):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1", **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "sketchstudio.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)


@pytest.mark.slow
def test_self_test_passes_on_the_tiny_model(tiny_checkpoint):
    proc = run_cli("--self-test", "--model", str(tiny_checkpoint))
    assert proc.returncode == 0, proc.stderr
    assert "self-test passed" in proc.stdout and proc.stdout.count("sketched the sample") == 3


@pytest.mark.slow
def test_quit_when_ready_prints_the_launch_time(tiny_checkpoint, tmp_path):
    proc = run_cli("--quit-when-ready", "--model", str(tiny_checkpoint),
                   env_extra={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^ready: window shown, a model loaded, \d+\.\d\d s after launch$", proc.stdout, re.M)
    assert not (tmp_path / "config").exists()  # the user's settings are left alone


@pytest.mark.slow
def test_self_test_fails_clearly_without_a_model(tmp_path):
    proc = run_cli("--self-test", env_extra={"SKETCHSTUDIO_MODEL": str(tmp_path / "none.safetensors")})
    assert proc.returncode == 1
    assert "self-test FAILED: no model is loaded" in proc.stderr and "Traceback" not in proc.stderr
