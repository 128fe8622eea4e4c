"""Webcam mode's throughput: finished sketches per second, a measured figure.

    .venv/bin/python tools/bench/bench_webcam.py [--model PATH | --tiny] [--seconds 20] [--fps 30]
                     [--steps N] [--json]

Opens the studio window offscreen and turns webcam mode on without a camera: a QTimer hands
the studio a new frame `--fps` times a second, the way the webcam panel does
(`webcam_panel.frame_photo`, then `Studio.submit_frame`). Each frame is a 640x480 picture of
resources/sample_face.png moved by a few pixels, so every frame is new pixels: the worker
finds the face and runs the encoder again for each, as it does for a real camera. Frames that
arrive while a decode runs replace the waiting one (the newest wins).

Reports the finished sketches per second over the run (the first sketch excluded: it
includes the warm-up), the frames dropped, and the window's own rate meter (the figure the
webcam tab shows). The sampler settings are the model's recommendation unless --steps says
otherwise, capped at the app's live step count (`--live-steps` changes the cap, for a
baseline in the same run). A number measured, not asserted: it moves with the machine's load.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # tools/bench/: offscreen_window

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from sketchstudio.paths import resources_dir  # noqa: E402


def frames(n: int, seed: int = 0) -> list[Image.Image]:
    """n 640x480 frames of the sample face on a grey wall, each moved by a few pixels."""
    face = Image.open(resources_dir() / "sample_face.png").convert("RGB").resize((300, 300))
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        im = Image.new("RGB", (640, 480), (120, 118, 112))
        dx, dy = (int(v) for v in rng.integers(-6, 7, size=2))
        im.paste(face, (170 + dx, 90 + dy))
        out.append(im)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="model .safetensors (default: the shipped one)")
    p.add_argument("--tiny", action="store_true", help="the tests' tiny model with random weights")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--steps", type=int, help="decoding steps (default: the model's recommendation)")
    p.add_argument("--live-steps", type=int, help="the cap on a webcam frame's steps (default: the app's, "
                   "live_policy.LIVE_STEPS); a cap of the --steps value times the full decode")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    from sketchstudio.app.logic import live_policy

    cap = live_policy.LIVE_STEPS
    try:
        if args.live_steps:
            live_policy.LIVE_STEPS = args.live_steps
        return run(args)
    finally:
        live_policy.LIVE_STEPS = cap  # the app's cap again (the tool may run inside a test process)


def run(args) -> int:
    from PySide6.QtCore import QTimer

    from offscreen_window import studio_window
    from sketchstudio.app.logic.photo import Photo

    pictures = frames(64)
    with studio_window("bench_webcam", args.model, args.tiny) as (app, win, errors):
        s = win.studio
        if args.steps:
            s.set_settings(s.settings.with_(steps=args.steps))
        finished: list[float] = []
        s.sketch_ready.connect(lambda *_: finished.append(time.monotonic()))
        sent = [0]

        def send():
            s.submit_frame(Photo.from_image(pictures[sent[0] % len(pictures)], detect=False))
            sent[0] += 1

        feeder = QTimer()
        feeder.setInterval(max(1, round(1000 / args.fps)))
        feeder.timeout.connect(send)
        s.set_live(True)
        feeder.start()
        end = time.monotonic() + args.seconds
        shown = []
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.001)
            if finished and (not shown or time.monotonic() - shown[-1][0] >= 1.0):
                shown.append((time.monotonic(), s.rate.rate()))
        feeder.stop()
        s.set_live(False)
        dropped, settings, model_id = s.dropped_frames, s.live_spec().settings, s.model_id
    timed = finished[1:]
    rate = (len(timed) - 1) / (timed[-1] - timed[0]) if len(timed) >= 2 else 0.0
    report = {"model": model_id, "seconds": args.seconds, "fps_offered": args.fps, "frames_sent": sent[0],
              "frames_dropped": dropped, "sketches_finished": len(finished), "sketches_per_second": round(rate, 2),
              "window_rate_last": round(shown[-1][1], 2) if shown else 0.0, "steps": settings.steps,
              "style_guidance": settings.style_guidance, "torch_threads": torch.get_num_threads(),
              "errors": errors}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"webcam mode, {args.seconds:g} s at {args.fps:g} frames a second offered ({sent[0]} sent, "
              f"{dropped} replaced while waiting), {settings.steps} steps, style guidance {settings.style_guidance:g}:")
        print(f"  {rate:.2f} finished sketches per second ({len(finished)} finished; the window's meter "
              f"showed {report['window_rate_last']:.2f} at the end)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
