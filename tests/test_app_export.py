"""Files out of the studio: sketch PNGs that reproduce themselves, the CLI's metadata shape,
the decoding GIF, the style sweep, batch sketching with cancel."""
import json
import shutil

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QProgressDialog, QPushButton

from app_fixtures import SAMPLE, boxes, make_window, settle, window  # noqa: F401  (fixtures)
from sketchstudio.cli import main as cli_main
from sketchstudio.core.imaging import read_png_text
from sketchstudio.core.sampler import SamplerSettings
from sketchstudio.sketch_file import SKETCH_META_KEY

CLI_KEYS = {"style", "style_weights", "seed", "steps", "temperature", "schedule", "noise", "top_k",
            "self_guidance", "style_guidance", "crop", "model"}


def sketch_sample(qtbot, win, photo=SAMPLE):
    with qtbot.waitSignal(win.studio.sketch_ready, timeout=20000):
        assert win.open_path(photo)
    settle(qtbot, win.studio)


def pixels(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def test_exported_png_reopens_to_the_same_sketch(qtbot, make_window, tmp_path):
    win = make_window()
    win.studio.set_settings(SamplerSettings(steps=5, seed=42, temperature=0.7))
    win.studio.set_style((0.0, 0.6, 0.4))
    sketch_sample(qtbot, win)
    png = tmp_path / "out" / "a.png"
    assert win.exports.export_png(png)
    meta = json.loads(read_png_text(png)[SKETCH_META_KEY])
    assert CLI_KEYS <= set(meta)
    assert (meta["seed"], meta["steps"], meta["temperature"], meta["crop"]) == (42, 5, 0.7, "face")
    assert meta["style"] == "charcoal=0.6,pencil=0.4" and meta["photo"] == str(SAMPLE)
    assert meta["model"] == win.studio.model_id and len(meta["crop_box"]) == 4

    other = make_window()  # a fresh window with its default settings
    with qtbot.waitSignal(other.studio.sketch_ready, timeout=20000) as done:
        assert other.open_path(png)
    assert other.studio.settings.seed == 42 and other.studio.style == (0.0, 0.6, 0.4)
    assert other.sampler_controls.seed.value() == 42 and other.sampler_controls.steps.value() == 5
    assert np.array_equal(done.args[0].sketch, pixels(png))  # byte-identical pixels


def test_the_app_and_the_cli_make_the_same_file_contents(qtbot, window, tmp_path, tiny_checkpoint):
    window.studio.set_settings(SamplerSettings(steps=4, seed=9))
    window.style_controls.select("pencil")
    sketch_sample(qtbot, window)
    assert window.exports.export_png(tmp_path / "app.png")
    assert cli_main(["sketch", str(SAMPLE), "--out", str(tmp_path / "cli"), "--model", str(tiny_checkpoint),
                     "--steps", "4", "--seed", "9", "--style", "pencil", "-q"]) == 0
    assert np.array_equal(pixels(tmp_path / "app.png"), pixels(tmp_path / "cli" / "sample_face.png"))
    app_meta = json.loads(read_png_text(tmp_path / "app.png")[SKETCH_META_KEY])
    cli_meta = json.loads(read_png_text(tmp_path / "cli" / "sample_face.png")[SKETCH_META_KEY])
    assert set(cli_meta) == CLI_KEYS | {"crop_box", "crop_roll"}  # a face crop: where, and how it was turned
    assert {k: app_meta[k] for k in cli_meta} == cli_meta

    fresh = window.studio.settings.with_(seed=0, steps=8)  # a CLI file restores its settings too
    window.studio.set_settings(fresh)
    settle(qtbot, window.studio)
    window.open_path(tmp_path / "cli" / "sample_face.png")
    settle(qtbot, window.studio)
    assert window.studio.settings.seed == 9 and window.studio.settings.steps == 4
    assert np.array_equal(window.studio.result.sketch, pixels(tmp_path / "cli" / "sample_face.png"))


def test_a_redrawn_sketch_reopens_to_the_same_pixels(qtbot, make_window, tmp_path):
    win = make_window()
    sketch_sample(qtbot, win)
    with qtbot.waitSignal(win.studio.sketch_ready, timeout=20000):
        win.studio.redraw([3, 4, 11, 12])
    with qtbot.waitSignal(win.studio.sketch_ready, timeout=20000):
        win.studio.redraw([40, 41])
    assert win.exports.export_png(tmp_path / "r.png")
    assert len(json.loads(read_png_text(tmp_path / "r.png")[SKETCH_META_KEY])["redraws"]) == 2
    other = make_window()
    with qtbot.waitSignal(other.studio.sketch_ready, timeout=20000) as done:
        other.open_path(tmp_path / "r.png")  # replays the sketch and both strokes
    assert np.array_equal(done.args[0].sketch, pixels(tmp_path / "r.png"))


def test_decoding_animation_gif(qtbot, window, tmp_path):
    window.studio.set_settings(SamplerSettings(steps=6))
    sketch_sample(qtbot, window)
    assert window.exports.export_gif(tmp_path / "steps.gif")
    with Image.open(tmp_path / "steps.gif") as gif:
        assert gif.n_frames == 6 and gif.size == (32, 32)


def test_style_sweep_sheet(qtbot, window, tmp_path):
    sketch_sample(qtbot, window)
    assert window.exports.export_sweep(tmp_path / "sweep.png", count=4)
    with Image.open(tmp_path / "sweep.png") as im:
        assert im.size[0] == 4 * 32 and im.size[1] > 32


def test_batch_sketches_a_folder_and_reports_bad_files(qtbot, window, tmp_path, boxes):
    src = tmp_path / "photos"
    src.mkdir()
    shutil.copy(SAMPLE, src / "one.png")
    Image.open(SAMPLE).convert("L").save(src / "two.jpg")
    (src / "broken.jpg").write_text("not a picture")
    out = tmp_path / "sketches"
    assert window.exports.batch_sketch(src, out) is False  # one photo failed
    assert sorted(p.name for p in out.iterdir()) == ["one.png", "two.png"]
    meta = json.loads(read_png_text(out / "two.png")[SKETCH_META_KEY])
    assert meta["photo"] == str(src / "two.jpg")
    kind, title, text = boxes.shown[-1]
    assert kind == "info" and "Wrote 2" in text and "broken.jpg" in text


def test_batch_can_be_cancelled(qtbot, window, tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    for i in range(6):
        shutil.copy(SAMPLE, src / f"p{i}.png")
    window.studio.set_settings(SamplerSettings(steps=64))
    settle(qtbot, window.studio)

    def cancel_when_running():
        dialogs = [d for d in window.findChildren(QProgressDialog) if d.isVisible()]
        if dialogs:
            dialogs[0].findChild(QPushButton).click()  # as a user pressing Cancel
        else:
            QTimer.singleShot(5, cancel_when_running)

    QTimer.singleShot(0, cancel_when_running)
    assert window.exports.batch_sketch(src, tmp_path / "out") is False
    written = list((tmp_path / "out").glob("*.png")) if (tmp_path / "out").exists() else []
    assert len(written) < 6
    assert "cancelled" in window.statusBar().currentMessage()


def test_nothing_to_export_is_a_message(window, tmp_path, boxes):
    assert window.exports.export_png(tmp_path / "x.png") is False
    assert boxes.errors and boxes.errors[-1][0] == "Nothing to export"
    assert not (tmp_path / "x.png").exists()


def test_unwritable_target_is_a_message(qtbot, window, tmp_path, boxes):
    sketch_sample(qtbot, window)
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert window.exports.export_png(blocker / "x.png") is False  # a file where a folder should be
    title, text = boxes.errors[-1]
    assert title == "Cannot write the sketch" and "\n" not in text and "Traceback" not in text


def test_a_levelled_crop_reopens_with_its_turn(qtbot, make_window, tmp_path):
    turned = tmp_path / "turned.png"
    Image.open(SAMPLE).convert("RGB").rotate(-20, resample=Image.BICUBIC, fillcolor=(200, 210, 220)).save(turned)
    win = make_window()
    sketch_sample(qtbot, win, turned)
    assert abs(win.studio.photo.roll - 20) < 4  # found turned clockwise: levelled
    png = tmp_path / "a.png"
    assert win.exports.export_png(png)
    meta = json.loads(read_png_text(png)[SKETCH_META_KEY])
    assert meta["crop_roll"] == win.studio.photo.roll and meta["crop_box"] == list(win.studio.photo.crop)

    other = make_window()
    with qtbot.waitSignal(other.studio.sketch_ready, timeout=20000) as done:
        assert other.open_path(png)
    assert other.studio.photo.roll == win.studio.photo.roll and other.studio.photo.crop == win.studio.photo.crop
    assert np.array_equal(done.args[0].sketch, pixels(png))


def test_the_export_menu_writes_the_sketch_as_vector_paths(qtbot, window, tmp_path):
    import io

    cairosvg = pytest.importorskip("cairosvg")
    with qtbot.waitSignal(window.studio.sketch_ready, timeout=20000):
        window.open_path(SAMPLE)
    assert any("SVG" in a.text() for a in window.menus.export_actions)
    path = tmp_path / "sketch.svg"
    assert window.exports.export_svg(path)
    text = path.read_text()
    assert "<path" in text and "<image" not in text
    back = Image.open(io.BytesIO(cairosvg.svg2png(bytestring=text.encode())))
    assert back.size == Image.fromarray(window.studio.result.sketch).size


def test_batch_export_with_svgs(qtbot, window, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    shutil.copy(SAMPLE, src / "a.png")
    settle(qtbot, window.studio)
    assert window.exports.batch_sketch(src, out, svg=True)
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "a.svg"]
