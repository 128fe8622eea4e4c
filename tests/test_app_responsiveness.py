"""The window stays responsive while decoding: the sampler runs on the worker thread, and the
GUI thread only draws the steps it is sent. Measured as the longest gap between the ticks of a
10 ms QTimer while the `default` preset (random weights, 256 px, 16x16 tokens) decodes."""
import time

import pytest
import torch
from PySide6.QtCore import QTimer

from app_fixtures import SAMPLE, boxes, make_window, settle, window  # noqa: F401  (fixtures)
from sketchstudio.core import SamplerSettings, build_model, preset

LIMIT_S = 0.100
STEPS = 12


def tick_times(qtbot, run, until, timeout_ms=120000) -> list[float]:
    """The times of a 10 ms timer's ticks while `run()` works until `until()`."""
    ticks = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    try:
        qtbot.wait(100)  # ticking steadily before the decode starts
        run()
        qtbot.waitUntil(until, timeout=timeout_ms)
    finally:
        timer.stop()
    return ticks


@pytest.mark.slow
def test_event_loop_keeps_ticking_while_a_bigger_model_decodes(qtbot, window, monkeypatch):
    torch.manual_seed(0)
    model = build_model(preset("default"))
    window.studio.set_model(model, None, "default@random")
    window.studio.set_settings(SamplerSettings(steps=STEPS))
    canvas = window.decode_view.canvas
    drawn = []  # (step, time) of every frame the window's canvas drew
    real_set_frame = canvas.set_frame

    def set_frame(frame):
        if frame is not None:
            drawn.append((frame.step, time.perf_counter()))
        real_set_frame(frame)

    monkeypatch.setattr(canvas, "set_frame", set_frame)  # the window's own slot calls it
    # Two attempts of the same measurement: a stall caused by our code repeats; one caused by
    # another process on a shared 2-core machine (seen: 160 ms while a second test run
    # competed) usually does not. Nothing is disconnected between them.
    results = []
    for attempt in range(2):
        drawn.clear()
        window.studio.result = None
        ticks = tick_times(qtbot, lambda: window.open_path(SAMPLE),
                           lambda: window.studio.result is not None and not window.studio.busy)
        steps = [s for s, _ in drawn]
        assert steps[:STEPS] == list(range(STEPS)) and canvas.frame.done, steps  # the window drew every step
        first, last = drawn[0][1], drawn[STEPS - 1][1]
        # The event loop ran between the steps, not only after the decode (a decode on the GUI
        # thread would draw every step in one burst with no tick between).
        assert any(first < t < last for t in ticks), "no timer tick between the first and the last step"
        gap = max(b - a for a, b in zip(ticks, ticks[1:]))
        results.append((gap, last - first, len(ticks)))
        if gap < LIMIT_S:
            break
    gap, took, n = min(results)
    assert gap < LIMIT_S, f"event loop stalled for {gap * 1000:.0f} ms during a {took:.1f} s decode ({n} ticks)"
