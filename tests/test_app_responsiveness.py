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


def max_tick_gap(qtbot, run, until, timeout_ms=120000) -> tuple[float, int]:
    """Longest gap between 10 ms ticks while `run()` works until `until()`; and the tick count."""
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
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    return max(gaps), len(ticks)


@pytest.mark.slow
def test_event_loop_keeps_ticking_while_a_bigger_model_decodes(qtbot, window):
    torch.manual_seed(0)
    model = build_model(preset("default"))
    window.studio.set_model(model, None, "default@random")
    window.studio.set_settings(SamplerSettings(steps=12))
    # Two attempts: a stall caused by our code repeats; one caused by another process on a
    # shared 2-core machine (seen: 160 ms while a second test run competed) usually does not.
    results = []
    for attempt in range(2):
        steps = []
        window.studio.step_ready.connect(lambda f: steps.append(f.step))
        window.studio.result = None
        started = time.perf_counter()
        gap, n = max_tick_gap(qtbot, lambda: window.open_path(SAMPLE),
                              lambda: window.studio.result is not None and not window.studio.busy)
        took = time.perf_counter() - started
        window.studio.step_ready.disconnect()
        assert steps == list(range(12)) and window.decode_view.canvas.frame.done  # every step was drawn
        assert took > 0.3, "the decode was too quick to measure anything"
        results.append((gap, took, n))
        if gap < LIMIT_S:
            break
    gap, took, n = min(results)
    assert gap < LIMIT_S, f"event loop stalled for {gap * 1000:.0f} ms during a {took:.1f} s decode ({n} ticks)"
