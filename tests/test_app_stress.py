"""Stress on the studio window (issue #7): stop mid-decode, a storm of style changes while decodes
run, a second photo mid-decode, closing mid-decode and mid-training, cameras that fail mid-stream.

The style storm measures the event loop as the longest gap between the ticks of a 10 ms QTimer.
"""
import gc
import threading
import time

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
from sketchstudio.core import SamplerSettings, sample
from sketchstudio.core.imaging import tensor_to_image
from test_app_webcam import frames
from wizard_helpers import click_next, start_run, to_check_page, user_dirs  # noqa: F401

LIMIT_S = 0.100  # longest acceptable event-loop stall
LONG = SamplerSettings(steps=48)  # long enough to be interrupted part-way


class TickGaps:
    """Ticks of a 10 ms QTimer while inside the `with`; `max_gap` is the longest stall."""

    def __init__(self):
        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.stop()

    @property
    def max_gap(self) -> float:
        return max(b - a for a, b in zip(self.ticks, self.ticks[1:]))


def core_sketch(model, photo, style, settings) -> np.ndarray:
    """The sketch the core sampler makes for these inputs, as the CLI decodes it."""
    last = sample(model, photo.tensor(model.photo_size), torch.tensor(style), settings.with_(preview="none"))
    with torch.inference_mode():
        return np.asarray(tensor_to_image(model.decode(last.tokens)[0]))


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
def style_storm(qtbot, window, seconds: float, per_second: int = 50) -> dict:
    """Move the blend slider `per_second` times a second for `seconds`, then wait for the last sketch."""
    s = window.studio
    slider = window.style_controls.blend.slider
    asked = []
    window.style_controls.weights_changed.connect(asked.append)
    rec = Recorder(s)
    mover = QTimer()
    mover.setInterval(1000 // per_second)
    mover.timeout.connect(lambda: slider.setValue((slider.value() + 37) % 101))  # always a new value
    with TickGaps() as gaps:
        qtbot.wait(100)  # ticking steadily first
        mover.start()
        qtbot.wait(int(seconds * 1000))
        mover.stop()
        settle(qtbot, s)
    window.style_controls.weights_changed.disconnect(asked.append)
    return {"gap": gaps.max_gap, "ticks": len(gaps.ticks), "asked": asked, "started": rec.count("decode_started"),
            "cancelled": rec.count("decode_cancelled"), "finished": rec.count("sketch_ready"),
            "failed": rec.count("decode_failed")}


@pytest.mark.parametrize("seconds", [2, pytest.param(10, marks=pytest.mark.slow)])
def test_style_storm_keeps_the_event_loop_ticking_and_the_last_style_wins(qtbot, make_window, seconds):
    # No grace period: every slider move starts a decode or cancels the running one, the
    # hardest case for the worker hand-over (the app's 50 ms grace would coalesce the drag).
    window = make_window(grace_s=0.0)
    s = window.studio
    s.set_settings(SamplerSettings(steps=12))
    with qtbot.waitSignal(s.sketch_ready, timeout=20000):
        window.open_path(SAMPLE)
    # Two attempts: a stall caused by our code repeats; one caused by another process on a
    # shared 2-core machine usually does not (as in test_app_responsiveness.py).
    runs = []
    for _attempt in range(2):
        run = style_storm(qtbot, window, seconds)
        runs.append(run)
        assert run["failed"] == 0
        assert len(run["asked"]) >= 0.5 * 50 * seconds  # the storm really blew (timers run late under load)
        assert run["started"] >= 5 and run["cancelled"] >= 1  # decodes ran, and were superseded
        assert s.result.spec.style == run["asked"][-1] == window.style_controls.weights()  # latest wins
        assert_shows(window, s.result)
        if run["gap"] <= LIMIT_S:
            break
    gap = min(r["gap"] for r in runs)
    print(f"style storm {seconds} s: max event-loop gap " + ", ".join(
        f"{r['gap'] * 1000:.0f} ms ({len(r['asked'])} moves, {r['started']} decodes started, "
        f"{r['cancelled']} cancelled, {r['finished']} finished, {r['ticks']} ticks)" for r in runs))
    assert gap <= LIMIT_S, f"event loop stalled for {gap * 1000:.0f} ms"


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
