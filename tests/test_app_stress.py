"""Stress on the studio window (issue #7): stop mid-decode, a storm of style changes while decodes
run, a second photo mid-decode, closing mid-decode and mid-training, cameras that fail mid-stream
(or go quiet and come back).

Every test here waits on the window's own events, never on a clock: the event-loop stall during
a storm is a measured figure of tools/bench/bench_responsiveness.py, not a test limit.
"""
import gc
import threading

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps
from PySide6.QtCore import QThread, QTimer

from app_fixtures import SAMPLE, Recorder, boxes, make_window, settle, window  # noqa: F401  (fixtures)
from datagen import make_drawings
from sketchstudio.app.studio.camera import FakeFrameSource
from sketchstudio.app.studio.webcam_panel import NO_FRAMES
from sketchstudio.app.wizard.pages import NAME
from sketchstudio.core import SamplerSettings, finished, sample
from sketchstudio.core.imaging import tensor_to_image
from test_app_webcam import frames
from wizard_helpers import click_next, start_run, to_check_page, user_dirs  # noqa: F401

LONG = SamplerSettings(steps=48)  # long enough to be interrupted part-way


def core_sketch(model, photo, style, settings) -> np.ndarray:
    """The sketch the core sampler makes for these inputs, as the CLI decodes it."""
    last = sample(model, photo.tensor(model.photo_size), torch.tensor(style), settings.with_(preview="none"))
    with torch.inference_mode():
        return np.asarray(tensor_to_image(finished(model, last)[0]))


def assert_shows(window, result) -> None:
    """The canvas shows `result`'s last step, and it is the core sampler's sketch for its inputs."""
    s = window.studio
    assert window.decode_view.canvas.frame is s.frames[-1] and s.frames[-1].done
    assert np.array_equal(s.frames[-1].sketch, result.sketch)
    expected = core_sketch(s.model, result.photo, result.spec.style, result.spec.settings)
    assert np.array_equal(result.sketch, expected)


def second_photo(tmp_path):
    path = tmp_path / "second.png"
    ImageOps.mirror(Image.open(SAMPLE).convert("RGB")).save(path)
    return path


def running_qthreads() -> set:
    """Every QThread Python knows of that is running, besides this (the GUI) one."""
    out = set()
    for o in gc.get_objects():
        if issubclass(type(o), QThread) and o is not QThread.currentThread():  # type(): no lazy __class__
            try:
                if o.isRunning():
                    out.add(o.objectName() or repr(o))
            except RuntimeError:  # its C++ object is gone
                pass
    return out


def python_threads() -> set:
    return {(t.name, t.ident) for t in threading.enumerate()}


def soon(f):
    """A slot that runs `f` once control is back in the event loop: after the job reached the worker."""
    return lambda *_: QTimer.singleShot(0, f)


# --- (1) stop mid-decode ---------------------------------------------------------------
@pytest.mark.parametrize("when", ["detecting", "step 3"])
def test_stop_mid_decode_then_sketch_again(qtbot, window, when):
    s = window.studio
    s.set_settings(LONG)
    rec = Recorder(s)
    stop = window.cancel_action.trigger  # Sketch → Stop decoding (Esc); enabled only while busy
    hook = (s.decode_started, soon(stop)) if when == "detecting" else (s.step_ready, lambda f: f.step == 2 and stop())
    hook[0].connect(hook[1])
    with qtbot.waitSignal(s.decode_cancelled, timeout=20000):
        window.open_path(SAMPLE)
    settle(qtbot, s)
    hook[0].disconnect(hook[1])
    assert rec.count("sketch_ready") == 0 and rec.count("decode_started") == 1
    assert rec.count("step_ready") == 3 if when == "step 3" else rec.count("step_ready") < LONG.steps
    assert s.result is None and not window.cancel_action.isEnabled()
    assert window.statusBar().currentMessage() == "Decoding stopped" and window.status_label.text() == "Ready"
    with qtbot.waitSignal(s.sketch_ready, timeout=20000) as done:  # still usable: move the style slider
        window.style_controls.blend.slider.setValue(60)
    assert done.args[0].spec.style == pytest.approx((0.4, 0.6, 0.0))
    assert_shows(window, done.args[0])


# --- (2) a storm of style changes -------------------------------------------------------
STORM_MOVES = 40


def style_storm(qtbot, window, moves: int) -> dict:
    """Move the blend slider `moves` times, each time while a decode is under way (at its first
    step), then wait for the last sketch. Driven by the studio's own events, not by a clock."""
    s = window.studio
    slider = window.style_controls.blend.slider
    asked = []
    window.style_controls.weights_changed.connect(asked.append)
    rec = Recorder(s)

    def move(*_):
        if len(asked) < moves:
            slider.setValue((slider.value() + 37) % 101)  # always a new value

    def on_step(frame):
        if frame.step == 0:
            QTimer.singleShot(0, move)  # from the event loop, as a user's drag arrives

    s.step_ready.connect(on_step)
    move()
    qtbot.waitUntil(lambda: len(asked) == moves and rec.count("sketch_ready") >= 1 and not s.busy
                    and s.policy.pending is None, timeout=120000)
    s.step_ready.disconnect(on_step)
    window.style_controls.weights_changed.disconnect(asked.append)
    return {"asked": asked, "started": rec.count("decode_started"), "cancelled": rec.count("decode_cancelled"),
            "finished": rec.count("sketch_ready"), "failed": rec.count("decode_failed")}


def test_style_storm_cancels_superseded_decodes_and_the_last_style_wins(qtbot, make_window):
    # No grace period: every slider move starts a decode or cancels the running one, the
    # hardest case for the worker hand-over (the app's 50 ms grace would coalesce the drag).
    # How long the event loop stalls meanwhile is measured, not asserted, by
    # tools/bench/bench_responsiveness.py (docs/RELIABILITY.md).
    window = make_window(grace_s=0.0)
    s = window.studio
    s.set_settings(LONG)
    with qtbot.waitSignal(s.sketch_ready, timeout=120000):
        window.open_path(SAMPLE)
    run = style_storm(qtbot, window, STORM_MOVES)
    assert run["failed"] == 0
    assert len(run["asked"]) == STORM_MOVES and all(a != b for a, b in zip(run["asked"], run["asked"][1:]))
    assert run["started"] == STORM_MOVES  # every move started its own decode
    assert run["finished"] >= 1 and run["cancelled"] + run["finished"] == STORM_MOVES  # the rest were cancelled
    assert run["cancelled"] >= STORM_MOVES // 2  # moves landed mid-decode (in practice all but the last)
    assert s.result.spec.style == run["asked"][-1] == window.style_controls.weights()  # latest wins
    assert_shows(window, s.result)


# --- (3) a second photo mid-decode -------------------------------------------------------
@pytest.mark.parametrize("when", ["detecting", "step 3"])
def test_a_second_photo_opened_mid_decode_wins(qtbot, window, tmp_path, when):
    s = window.studio
    s.set_settings(LONG)
    second = second_photo(tmp_path)
    rec = Recorder(s)
    opened = []

    def open_second(*_):
        if not opened:
            opened.append(window.open_path(second))

    hook = (s.decode_started, soon(open_second)) if when == "detecting" else \
        (s.step_ready, lambda f: f.step == 2 and open_second())
    hook[0].connect(hook[1])
    window.open_path(SAMPLE)
    qtbot.waitUntil(lambda: rec.count("sketch_ready") == 1, timeout=30000)
    settle(qtbot, s)
    hook[0].disconnect(hook[1])
    assert opened == [True]
    assert rec.count("decode_started") == 2 and rec.count("decode_cancelled") == 1 and rec.count("sketch_ready") == 1
    assert s.result.photo.path == str(second) and s.photo.path == str(second)
    assert window.photo_panel.view.photo.path == str(second)
    assert_shows(window, s.result)


# --- (4) closing mid-decode, mid-webcam and mid-training ----------------------------------
@pytest.fixture
def no_leaks():
    """Nothing of the test's windows may keep a thread running once they are closed."""
    before_py, before_qt = python_threads(), running_qthreads()
    yield
    after_py, after_qt = python_threads(), running_qthreads()
    print(f"threads before / after: Python {len(before_py)} / {len(after_py)}, running QThreads {sorted(before_qt)} / "
          f"{sorted(after_qt)}")
    assert after_qt - before_qt == set()
    assert after_py - before_py == set()


@pytest.mark.parametrize("when", ["detecting", "step 3", "webcam"])
def test_closing_mid_decode_stops_the_worker(qtbot, make_window, no_leaks, when):
    win = make_window()
    s = win.studio
    s.set_settings(LONG)
    assert "sketchstudio-sampler" in running_qthreads()  # what no_leaks looks for
    rec = Recorder(s)
    if when == "webcam":
        win.webcam.add_source("fake camera", lambda: FakeFrameSource(frames(), interval_ms=5))
        win.webcam.start()
        qtbot.waitUntil(lambda: rec.count("step_ready") >= 3, timeout=30000)
        win.close()
    else:
        hook = (s.decode_started, soon(win.close)) if when == "detecting" else \
            (s.step_ready, lambda f: f.step == 2 and win.close())
        hook[0].connect(hook[1])
        win.open_path(SAMPLE)
        qtbot.waitUntil(lambda: not win.isVisible(), timeout=20000)
        assert rec.count("sketch_ready") == 0  # closed before the sketch was done
    assert not s._thread.thread.isRunning()
    assert not win.webcam.is_live()
    qtbot.wait(100)  # signals the worker sent before it stopped arrive at a closed window: harmless


@pytest.mark.parametrize("when", ["timing probe", "training"])
def test_closing_mid_training_stops_every_thread(qtbot, make_window, no_leaks, user_dirs, tmp_path, boxes, when):
    win = make_window()
    with qtbot.waitSignal(win.studio.sketch_ready, timeout=20000):
        win.open_path(SAMPLE)
    wiz = win.open_training_wizard(preset_steps={"quick": 4000, "standard": 4000, "thorough": 4000}, batch=2)
    folder = make_drawings(tmp_path / "mine", n=3)
    if when == "timing probe":  # the name page times a few steps on the probe thread
        to_check_page(qtbot, wiz, folder)
        click_next(qtbot, wiz)
        assert wiz.currentId() == NAME
    else:
        run = start_run(qtbot, wiz, folder, name="mine")
        qtbot.waitUntil(lambda: run.bar.maximum() > 0 and run.bar.value() >= 2, timeout=20000)
    win.studio.set_settings(LONG)  # and a decode under way too
    qtbot.waitUntil(lambda: win.studio.busy, timeout=5000)
    assert {"sketchstudio-sampler", "sketchstudio-probe", "sketchstudio-training"} <= running_qthreads()
    if when == "timing probe":
        assert wiz.page(NAME).prober.running
    boxes.answer = True  # "Quit while training?" Yes
    win.close()
    qtbot.waitUntil(lambda: not win.isVisible(), timeout=30000)
    assert win.training_wizard is None and not wiz.training_running()
    assert [b[1] for b in boxes.shown if b[0] == "question"] == ([] if when == "timing probe" else
                                                                 ["Training is running"])


# --- (5) cameras that fail ---------------------------------------------------------------
def failing_camera(fail_at: int, error: Exception | None):
    """Sends `fail_at` good frames, then raises `error`, or (None) goes quiet: no frames at all."""
    good = frames()

    def make(i):
        if i < fail_at:
            return good[i % len(good)]
        if error is None:
            return None
        raise error

    return lambda: FakeFrameSource(make=make, interval_ms=10)


@pytest.mark.parametrize("error, shown", [(RuntimeError("USB read error"), "RuntimeError: USB read error"),
                                          (OSError(19, "device gone"), "device gone")])
def test_a_camera_that_fails_mid_stream_is_reported_and_the_window_stays_usable(qtbot, window, boxes, error, shown):
    with qtbot.waitSignal(window.studio.sketch_ready, timeout=20000):
        window.open_path(SAMPLE)
    photo = window.studio.photo
    window.webcam.add_source("flaky camera", failing_camera(8, error))
    with qtbot.waitSignal(window.webcam.failed, timeout=20000):
        window.webcam.start()
    (title, text), = boxes.errors
    assert title == "Camera" and shown in text
    assert not window.webcam.is_live() and not window.webcam.live.isChecked() and not window.studio.live
    settle(qtbot, window.studio)
    assert window.studio.photo.image is photo.image  # the photo is back
    with qtbot.waitSignal(window.studio.sketch_ready, timeout=20000):  # usable: the style, the webcam again
        window.style_controls.blend.slider.setValue(100)
    assert window.webcam.live.isEnabled()


def test_a_camera_that_stops_sending_frames_says_so(qtbot, window, boxes):
    window.webcam.stall_ms = 300
    window.webcam.add_source("vanishing camera", failing_camera(3, None))
    window.webcam.start()
    qtbot.waitUntil(lambda: window.webcam.note.text() == NO_FRAMES, timeout=10000)
    assert window.webcam.is_live() and window.webcam.live.isEnabled()  # the user decides: stop, or wait
    window.webcam.stop()
    assert window.webcam.note.text() == "" and not window.studio.live
    with qtbot.waitSignal(window.studio.sketch_ready, timeout=20000):  # usable
        window.open_path(SAMPLE)
    assert boxes.errors == []


def test_a_quiet_camera_note_clears_when_frames_return(qtbot, window, boxes):
    good = frames()
    state = {"sending": True, "sent": 0}

    def make(i):  # a camera the test silences and wakes, by a flag rather than by time
        if not state["sending"]:
            return None
        state["sent"] += 1
        return good[i % len(good)]

    window.webcam.stall_ms = 200
    window.webcam.add_source("intermittent camera", lambda: FakeFrameSource(make=make, interval_ms=10))
    window.webcam.start()
    qtbot.waitUntil(lambda: state["sent"] >= 3, timeout=10000)
    assert window.webcam.note.text() == ""
    state["sending"] = False
    qtbot.waitUntil(lambda: window.webcam.note.text() == NO_FRAMES, timeout=10000)
    assert window.webcam.is_live()
    sent = state["sent"]
    state["sending"] = True
    qtbot.waitUntil(lambda: state["sent"] > sent and window.webcam.note.text() == "", timeout=10000)
    assert window.webcam.is_live() and boxes.errors == []
    window.webcam.stop()
