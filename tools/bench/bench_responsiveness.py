"""Event-loop stalls of the studio window under a storm of style changes: a measured figure.

    .venv/bin/python tools/bench/bench_responsiveness.py [--model PATH | --tiny] [--seconds 2]
                     [--per-second 50] [--steps 12] [--repeats 3] [--json]

Opens the studio window offscreen, sketches resources/sample_face.png, then moves the blend
slider `--per-second` times a second for `--seconds`, with no grace period (every move starts a
decode or cancels the running one), while a 10 ms QTimer ticks. Reports, per repeat, the longest
gap between two ticks (the worst stall of the event loop), the moves made, and the decodes
started, cancelled and finished. A number measured, not asserted: on a shared machine it moves
with the load. tests/test_app_stress.py checks the storm's behaviour by counting events, and
docs/RELIABILITY.md quotes this tool. `--tiny` uses the test suite's tiny model (random weights).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # tools/bench/: offscreen_window

import torch  # noqa: E402

from sketchstudio.core.sampler import SamplerSettings  # noqa: E402
from sketchstudio.paths import resources_dir  # noqa: E402


def wait_until(app, cond, timeout_s: float) -> None:
    end = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.001)


def run_for(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.001)


def storm(app, win, seconds: float, per_second: int) -> dict:
    from PySide6.QtCore import QTimer

    s = win.studio
    slider = win.style_controls.blend.slider
    counts = {"decode_started": 0, "decode_cancelled": 0, "sketch_ready": 0, "decode_failed": 0}
    slots = {name: (lambda *_, n=name: counts.__setitem__(n, counts[n] + 1)) for name in counts}
    for name, slot in slots.items():
        getattr(s, name).connect(slot)
    moves = []
    mover = QTimer()
    mover.setInterval(max(1, 1000 // per_second))
    mover.timeout.connect(lambda: (slider.setValue((slider.value() + 37) % 101), moves.append(slider.value())))
    ticks: list[float] = []
    ticker = QTimer()
    ticker.setInterval(10)
    ticker.timeout.connect(lambda: ticks.append(time.perf_counter()))
    ticker.start()
    run_for(app, 0.1)  # ticking steadily first
    mover.start()
    run_for(app, seconds)
    mover.stop()
    wait_until(app, lambda: not s.busy and s.policy.pending is None, 120)
    ticker.stop()
    for name, slot in slots.items():
        getattr(s, name).disconnect(slot)
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    return {"max_gap_ms": round(max(gaps) * 1000, 1), "ticks": len(ticks), "moves": len(moves),
            "started": counts["decode_started"], "cancelled": counts["decode_cancelled"],
            "finished": counts["sketch_ready"], "failed": counts["decode_failed"],
            "last_style_shown": s.result is not None and s.result.spec.style == win.style_controls.weights()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="model .safetensors (default: the shipped one)")
    p.add_argument("--tiny", action="store_true", help="the tests' tiny model with random weights")
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--per-second", type=int, default=50)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    from offscreen_window import studio_window

    with studio_window("bench_responsiveness", args.model, args.tiny) as (app, win, errors):
        win.studio.set_settings(SamplerSettings(steps=args.steps))
        win.open_path(resources_dir() / "sample_face.png")
        wait_until(app, lambda: win.studio.result is not None and not win.studio.busy, 300)
        runs = [storm(app, win, args.seconds, args.per_second) for _ in range(args.repeats)]
        model_id = win.studio.model_id
    report = {"model": model_id, "seconds": args.seconds,
              "per_second": args.per_second, "steps": args.steps, "torch_threads": torch.get_num_threads(),
              "runs": runs, "errors": errors}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{args.seconds:g} s storms at {args.per_second} moves a second, {args.steps}-step decodes:")
        for r in runs:
            print(f"  longest event-loop stall {r['max_gap_ms']:.0f} ms ({r['moves']} moves, {r['started']} decodes "
                  f"started, {r['cancelled']} cancelled, {r['finished']} finished, {r['ticks']} ticks)")
    return 1 if errors or any(r["failed"] for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
