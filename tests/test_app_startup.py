"""The window first, the model after (issue 25): `start(background=True)` shows the window,
loads torch and the model on a worker, keeps a photo opened meanwhile and sketches it once the
model is there; a damaged model says so in the window. `hold` keeps the load waiting."""
import threading

from app_fixtures import SAMPLE, boxes, make_window  # noqa: F401  (fixtures)


def test_a_photo_opened_while_the_model_loads_is_sketched_once_it_is_there(qtbot, make_window, tiny_checkpoint):
    hold = threading.Event()
    win = make_window(start=False)
    win.start(str(tiny_checkpoint), background=True, hold=hold)
    qtbot.waitUntil(lambda: win._painted)
    assert win.loading and win.studio.model is None
    assert win.status_label.text().startswith("Loading model…") and win.load_progress.isVisible()
    assert not win.style_controls.isEnabled() and not win.model_button.isEnabled()
    assert not win.train_action.isEnabled() and not win.export_button.isEnabled()

    assert win.open_path(SAMPLE)  # accepted and shown at once; nothing to decode with yet
    assert win.studio.photo is not None and win.studio.photo.path == str(SAMPLE)
    assert win.photo_panel.isVisible() and win.studio.result is None and not win.studio.busy
    assert "finding the face" in win.photo_panel.info.text()  # not "no face found": nobody looked yet

    with qtbot.waitSignal(win.load_finished, timeout=60000) as loaded:
        hold.set()
    assert loaded.args == [True] and win.studio.model is not None
    # No second click: the photo's decode starts with the model.
    qtbot.waitUntil(lambda: win.studio.result is not None, timeout=60000)
    assert win.studio.result.photo.path == str(SAMPLE)
    assert "face found" in win.photo_panel.info.text() and "no face" not in win.photo_panel.info.text()
    assert not win.loading and not win.load_progress.isVisible()
    assert win.style_controls.isEnabled() and win.model_button.isEnabled() and win.train_action.isEnabled()


def test_a_damaged_model_during_the_background_load_is_reported_in_the_window(qtbot, make_window, tmp_path,
                                                                             boxes, capfd):
    bad = tmp_path / "damaged.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header at all")
    win = make_window(start=False)
    with qtbot.waitSignal(win.load_finished, timeout=60000) as loaded:
        win.start(str(bad), background=True)
    assert loaded.args == [False] and win.studio.model is None and not win.loading
    assert [t for t, _ in boxes.errors] == ["Cannot load the model"]
    text = boxes.errors[0][1]
    assert str(bad) in text and "\n" not in text and "Traceback" not in text
    assert win.banner.isVisible() and win.banner_button.isEnabled() and win.model_button.isEnabled()
    assert "Traceback" not in capfd.readouterr().err


def test_closing_the_window_while_the_model_loads_stops_the_load(qtbot, make_window, tiny_checkpoint):
    hold = threading.Event()
    win = make_window(start=False)
    win.start(str(tiny_checkpoint), background=True, hold=hold)
    qtbot.waitUntil(lambda: win._painted)
    win.close()  # the held job sees its cancel token and ends without loading
    assert not win.loading and win.studio.model is None
