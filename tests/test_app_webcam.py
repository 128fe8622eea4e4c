"""Webcam mode with a fake frame source: newest frame wins, stale frames dropped, rate shown."""
import numpy as np
import pytest
from PIL import Image

from app_fixtures import SAMPLE, Recorder, boxes, make_window, settle, window  # noqa: F401  (fixtures)
from sketchstudio.app.logic.live_policy import LIVE_STEPS
from sketchstudio.app.qt_images import array_from_qimage
from sketchstudio.app.studio.camera import CameraFrameSource, FakeFrameSource, camera_devices
from sketchstudio.app.studio.webcam_panel import NO_CAMERA


def frames(n=4):
    face = Image.open(SAMPLE).convert("RGB").resize((150, 183))
    out = []
    for i in range(n):
        f = Image.new("RGB", (320, 240), (120, 125, 130))
        f.paste(face, (60 + 20 * i, 30))
        out.append(np.asarray(f))
    return out


@pytest.mark.parametrize("pipeline", [False, True])
def test_live_mode_sketches_the_newest_frames_one_at_a_time(qtbot, window, pipeline):
    """One frame decoding at a time; with the pipeline a second one's sketch is drawn meanwhile,
    on the drawing thread, the sketches in the frames' order."""
    window.studio.pipeline = pipeline
    with qtbot.waitSignal(window.studio.sketch_ready, timeout=20000):
        window.open_path(SAMPLE)
    photo_before = window.studio.photo
    sources = []

    def make():
        sources.append(FakeFrameSource(frames(), interval_ms=5))
        return sources[-1]

    window.webcam.add_source("fake camera", make)
    rec = Recorder(window.studio)
    window.webcam.start()
    assert window.studio.live and window.webcam.is_live()
    assert not window.decode_view.brush.isEnabled()
    qtbot.waitUntil(lambda: rec.count("sketch_ready") >= 4, timeout=30000)
    while_live = rec.names()
    window.webcam.stop()  # cancels the frame in flight: the photo comes back
    settle(qtbot, window.studio)
    names = [n for n in rec.names() if n != "step_ready"]
    if not pipeline:  # one decode in flight: every start is followed by its end before the next start
        assert all(a == "decode_started" and b in ("sketch_ready", "decode_cancelled")
                   for a, b in zip(names[::2], names[1::2]))
    else:  # a frame decodes while the one before it is drawn: at most two in flight, ended in order
        flight, peak, started, ended = 0, 0, [], []
        for e in rec.events:
            if e[0] == "decode_started" and e[1].live:
                flight += 1
                peak = max(peak, flight)
                started.append(e[1].photo.image)
            elif e[0] == "sketch_ready" and e[1].photo.path is None:
                flight -= 1
                ended.append(e[1].photo.image)
            assert 0 <= flight <= 2
        assert peak == 2 and len(ended) >= 4 and len(started) - len(ended) <= 2  # the two stages overlapped
        assert all(a is b for a, b in zip(ended, started))  # each sketch is of the frame decoded next in turn
    live = [e[1] for e in rec.events if e[0] == "sketch_ready" and e[1].photo.path is None]
    assert len(live) >= 4 and all(r.photo.size == (320, 240) for r in live)
    assert all(r.photo.face is not None for r in live)  # the worker found the face in each frame
    # frames are decoded in at most LIVE_STEPS steps; the studio's own settings are untouched
    steps = min(window.studio.settings.steps, LIVE_STEPS)
    assert steps < window.studio.settings.steps and all(r.spec.settings.steps == steps for r in live)
    assert all(r.spec.settings == window.studio.settings.with_(steps=steps) for r in live)
    # every frame was sketched, dropped for a newer one, or still waiting when live mode stopped
    live_started = sum(1 for e in rec.events if e[0] == "decode_started" and e[1].live)
    dropped = window.studio.dropped_frames
    assert sources[0].frames_seen - live_started - dropped in (0, 1)
    assert dropped > 0  # frames come every 5 ms, faster than sketches: stale ones are skipped
    assert "decode_cancelled" not in while_live  # a new frame never cancels the running sketch
    assert "sketches/s" in window.webcam.rate.text() and f"{steps} steps each" in window.webcam.rate.text()
    assert window.studio.rate.rate() >= 0
    assert not window.studio.live and window.studio.photo.image is photo_before.image  # the photo is back
    assert window.decode_view.brush.isEnabled()


def test_fake_source_mirrors_when_asked(qtbot):
    src = FakeFrameSource(frames(1), interval_ms=5)
    src.mirrored = True
    with qtbot.waitSignal(src.frame_ready, timeout=5000) as got:
        src.start()
    src.stop()
    assert np.array_equal(array_from_qimage(got.args[0]), frames(1)[0][:, ::-1])


@pytest.mark.skipif(bool(camera_devices()), reason="this machine has a camera")
def test_without_a_camera_the_webcam_controls_explain_why(make_window):
    win = make_window(start=False)
    win.webcam.find_cameras()
    assert not win.webcam.live.isEnabled() and not win.webcam.device.isEnabled()
    assert win.webcam.note.text() == NO_CAMERA


@pytest.mark.skipif(not camera_devices(), reason="no camera on this machine")
def test_real_camera_delivers_frames(qtbot):
    src = CameraFrameSource(camera_devices()[0])
    try:
        with qtbot.waitSignal(src.frame_ready, timeout=10000) as got:
            src.start()
        assert not got.args[0].isNull()
    finally:
        src.stop()


def test_a_video_file_is_a_source_beside_the_cameras(qtbot, window, tmp_path):
    from test_video import make_clip

    clip = make_clip(tmp_path / "clip.mp4", frames=6, move=0)
    window.webcam.add_video(clip)
    assert window.webcam.device.currentText() == "Video: clip.mp4" and window.webcam.live.isEnabled()
    rec = Recorder(window.studio)
    window.webcam.start()
    qtbot.waitUntil(lambda: rec.count("sketch_ready") >= 4, timeout=30000)
    window.webcam.stop()
    settle(qtbot, window.studio)
    live = [e[1] for e in rec.events if e[0] == "sketch_ready" and e[1].live_path is not None]
    assert len(live) >= 4 and live[0].live_path == "scratch"
    assert "still" in {r.live_path for r in live}  # the film loops over a still face: its sketch is reused
    assert window.webcam.path.text() == ""  # cleared when live mode stopped
    # each frame drawn at the size the canvas shows it, at most the model's own size
    side = min(window.decode_view.canvas.shown_side(), window.studio.model.output_size)
    assert window.studio.live_size == (side, side)
    assert all(r.sketch.shape == (side, side) for r in live[1:])


def test_the_last_frames_path_is_shown(qtbot, window):
    from sketchstudio.app.logic.decode_job import SketchResult

    with qtbot.waitSignal(window.studio.sketch_ready, timeout=20000):
        window.open_path(SAMPLE)
    result = window.studio.result
    for path, text in (("still", "reused"), ("partial", "3 of"), ("scratch", "scratch")):
        window.webcam.show_result(SketchResult(result.photo, result.spec, result.tokens, result.sketch, path, 3))
        assert text in window.webcam.path.text()


def test_a_video_that_cannot_be_read_says_so(qtbot, window, tmp_path, boxes):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    window.webcam.add_video(bad)
    window.webcam.start()
    qtbot.waitUntil(lambda: bool(boxes.errors), timeout=10000)
    assert "bad.mp4" in boxes.errors[0][1] and not window.webcam.is_live()


def test_quick_drafts_can_be_turned_on_and_off_and_are_remembered(qtbot, make_window):
    from sketchstudio.app.logic.decode_job import SketchResult
    from sketchstudio.app.logic.live_policy import DRAFT_SIDE
    from sketchstudio.app.logic.settings import AppSettings

    win = make_window()
    with qtbot.waitSignal(win.studio.sketch_ready, timeout=20000):
        win.open_path(SAMPLE)
    assert not win.webcam.drafts.isChecked() and win.studio.stream.params.draft_side is None  # off at first
    win.webcam.drafts.setChecked(True)
    assert win.studio.stream.params.draft_side == DRAFT_SIDE
    r = win.studio.result
    win.webcam.show_result(SketchResult(r.photo, r.spec, r.tokens, r.sketch, "partial", 3, draft=True))
    assert "draft" in win.webcam.path.text()
    win.webcam.drafts.setChecked(False)
    assert win.studio.stream.params.draft_side is None  # every frame drawn in full
    path = win.settings.path
    win.close()
    assert AppSettings.load(path).drafts is False
    again = make_window(start=False)
    again.settings = AppSettings.load(path)
    again._restore()
    again.start(str(win.studio.model_path))
    assert not again.webcam.drafts.isChecked() and again.studio.stream.params.draft_side is None
