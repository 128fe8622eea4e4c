"""Live decoding through the worker thread: signal order, cancel, coalescing, the memory cache."""
import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from app_fixtures import SAMPLE, Recorder, settle, studio  # noqa: F401  (fixtures)
from sketchstudio.app.logic.decode_job import StepFrame
from sketchstudio.app.logic.photo import Photo
from sketchstudio.app.workers.thread import WorkerThread
from sketchstudio.core import CancelToken, SamplerSettings, finished, sample
from sketchstudio.core.imaging import tensor_to_image


@pytest.fixture
def photo():
    return Photo.from_image(Image.open(SAMPLE), str(SAMPLE))


def test_steps_arrive_in_order_on_the_gui_thread_then_the_sketch(qtbot, studio, photo):
    studio.set_settings(SamplerSettings(steps=5, seed=3))
    rec = Recorder(studio)
    with qtbot.waitSignal(studio.sketch_ready, timeout=20000) as done:
        studio.set_photo(photo)
    assert rec.names() == ["decode_started"] + ["step_ready"] * 5 + ["sketch_ready"]
    steps = [e[1] for e in rec.events if e[0] == "step_ready"]
    assert [f.step for f in steps] == [0, 1, 2, 3, 4] and all(isinstance(f, StepFrame) for f in steps)
    masked = [int(f.mask.sum()) for f in steps]
    assert masked == sorted(masked, reverse=True) and masked[-1] == 0
    assert rec.threads == {QApplication.instance().thread()}
    result = done.args[0]
    assert result.sketch.dtype == np.uint8 and result.sketch.shape == (studio.model.sketch_size,) * 2
    assert studio.frames == steps and not studio.busy


def test_the_sketch_is_the_core_samplers_sketch(qtbot, studio, photo, tiny_model):
    settings = SamplerSettings(steps=4, seed=11, temperature=0.8)
    studio.set_settings(settings)
    studio.set_style((0.25, 0.0, 0.75))
    with qtbot.waitSignal(studio.sketch_ready, timeout=20000) as done:
        studio.set_photo(photo)
    last = sample(tiny_model, photo.tensor(tiny_model.photo_size), torch.tensor([0.25, 0.0, 0.75]),
                  settings.with_(preview="none"))
    with torch.inference_mode():
        expected = np.asarray(tensor_to_image(finished(tiny_model, last)[0]))
    assert np.array_equal(done.args[0].sketch, expected)


def test_style_changes_reuse_the_encoded_photo(qtbot, studio, photo):
    with qtbot.waitSignal(studio.sketch_ready, timeout=20000):
        studio.set_photo(photo)
    assert studio.cache.misses == 1
    for w in ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0)):
        with qtbot.waitSignal(studio.sketch_ready, timeout=20000):
            studio.set_style(w)
    assert studio.cache.misses == 1
    with qtbot.waitSignal(studio.sketch_ready, timeout=20000):
        studio.set_crop((10, 10, 200, 200))  # a new crop is a new model input
    assert studio.cache.misses == 2


def test_quick_style_changes_coalesce_into_one_decode(qtbot, studio, photo):
    with qtbot.waitSignal(studio.sketch_ready, timeout=20000):
        studio.set_photo(photo)
    rec = Recorder(studio)
    studio.set_style((0.7, 0.3, 0.0))
    studio.set_style((0.2, 0.8, 0.0))  # within the grace period: the first never starts
    settle(qtbot, studio)
    assert rec.names().count("decode_started") == 1 and rec.count("sketch_ready") == 1
    assert studio.result.spec.style == (0.2, 0.8, 0.0)


def test_a_change_mid_decode_cancels_it_at_the_next_step(qtbot, studio, photo):
    studio.set_settings(SamplerSettings(steps=64))
    rec = Recorder(studio)
    studio.step_ready.connect(lambda f: f.step == 1 and studio.set_style((0.0, 0.0, 1.0)))
    studio.set_photo(photo)
    settle(qtbot, studio)
    names = rec.names()
    assert names.count("decode_started") == 2 and names.count("decode_cancelled") == 1
    assert names.count("sketch_ready") == 1 and names[-1] == "sketch_ready"
    first_run = names[:names.index("decode_cancelled")]
    assert first_run.count("step_ready") < 64  # stopped early
    assert studio.result.spec.style == (0.0, 0.0, 1.0)


def test_cancel(qtbot, studio, photo):
    studio.set_settings(SamplerSettings(steps=64))
    rec = Recorder(studio)
    studio.step_ready.connect(lambda f: f.step == 2 and studio.cancel())
    with qtbot.waitSignal(studio.decode_cancelled, timeout=20000):
        studio.set_photo(photo)
    settle(qtbot, studio)
    assert rec.count("sketch_ready") == 0 and rec.count("step_ready") < 64
    assert studio.result is None and not studio.busy


def test_redraw_changes_only_the_painted_tokens(qtbot, studio, photo):
    with qtbot.waitSignal(studio.sketch_ready, timeout=20000):
        studio.set_photo(photo)
    before = studio.result.tokens.clone()
    cells = [0, 1, 8, 9]
    rec = Recorder(studio)
    with qtbot.waitSignal(studio.sketch_ready, timeout=20000) as done:
        studio.redraw(cells)
    after = done.args[0].tokens
    keep = torch.ones_like(before, dtype=torch.bool)
    keep[0, cells] = False
    assert torch.equal(after[keep], before[keep])
    assert rec.count("step_ready") == studio.settings.steps  # one pass: the redraw only
    assert [r.cells for r in done.args[0].spec.redraws] == [tuple(cells)]


class Job:
    def __init__(self, n, fail_at=None):
        self.n, self.fail_at = n, fail_at

    def run(self, cancel):
        for i in range(self.n):
            if cancel.cancelled:
                return None
            if i == self.fail_at:
                raise RuntimeError("boom\nsecond line")
            yield ("progress", i)
        return "result"


def test_worker_reports_failures_in_one_line_and_keeps_running(qtbot):
    t = WorkerThread("test-worker")
    got = []
    t.yielded.connect(lambda e: got.append(e))
    try:
        with qtbot.waitSignal(t.failed, timeout=5000) as failed:
            t.submit(Job(5, fail_at=2), CancelToken())
        assert failed.args[0] == "RuntimeError: boom second line"
        with qtbot.waitSignal(t.finished, timeout=5000) as finished:
            t.submit(Job(2), CancelToken())
        assert finished.args[0] == "result"
        cancel = CancelToken()
        cancel.cancel()
        with qtbot.waitSignal(t.cancelled, timeout=5000):
            t.submit(Job(3), cancel)
        assert QThread.currentThread() is not t.thread
    finally:
        assert t.stop()


def test_a_webcam_frame_hands_on_only_its_finished_sketch(tiny_model, photo):
    """Webcam mode shows finished sketches only: a live job skips the steps' pixel previews and
    yields one step frame, the finished sketch, equal to the last frame of the same decode."""
    from sketchstudio.app.logic.decode_job import DecodeJob, DecodeRequest, MemoryCache, SketchResult, SketchSpec

    spec = SketchSpec((0.0, 1.0, 0.0), SamplerSettings(steps=4, seed=5))

    def run(live):
        gen = DecodeJob(tiny_model, DecodeRequest(photo, spec, live=live), MemoryCache()).run(CancelToken())
        frames = []
        try:
            while True:
                frames.append(next(gen))
        except StopIteration as stop:
            return frames, stop.value

    full, full_result = run(False)
    live, live_result = run(True)
    assert [f.step for f in full] == [0, 1, 2, 3] and [f.step for f in live] == [3]
    assert isinstance(live_result, SketchResult) and live[0].done
    assert np.array_equal(live[0].sketch, full[-1].sketch) and torch.equal(live[0].tokens, full[-1].tokens)
    assert np.array_equal(live_result.sketch, full_result.sketch)
