"""Webcam mode's throughput: finished sketches per second, a measured figure.

    .venv/bin/python tools/bench/bench_webcam.py [--model PATH | --tiny] [--seconds 20] [--fps 30]
                     [--steps N] [--scene jitter|still|slow|busy|turn|talk] [--path scratch,reuse]
                     [--partial-steps N] [--draft-side PX] [--everywhere] [--whole] [--pipeline] [--json]

Opens the studio window offscreen and turns webcam mode on without a camera: a QTimer hands
the studio a new frame `--fps` times a second, the way the webcam panel does
(`webcam_panel.frame_photo`, then `Studio.submit_frame`). Each frame is a 640x480 picture of
resources/sample_face.png (tools/bench/scenes.py): `jitter` moves it by a few pixels at
random, so every frame is new pixels (the worker finds the face and runs the encoder again
for each, as it does for a real camera); `still` keeps it where it is under camera-like
sensor noise; `slow` lets it drift about a pixel a frame, with that noise. Frames that
arrive while a decode runs replace the waiting one (the newest wins).

--path: `scratch` decodes every frame from a fully masked grid (the app before issue 33),
`reuse` through the live stream (core/live.py: still frames reused, changed cells re-drawn);
both (the default) run one after the other in the same process, the baseline in the same run.

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

import torch  # noqa: E402

from live_options import add_live_options, describe, live_params  # noqa: E402
from scenes import SCENES, frames  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="model .safetensors (default: the shipped one)")
    p.add_argument("--tiny", action="store_true", help="the tests' tiny model with random weights")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--steps", type=int, help="decoding steps (default: the model's recommendation)")
    p.add_argument("--live-steps", type=int, help="the cap on a webcam frame's steps (default: the app's, "
                   "live_policy.LIVE_STEPS); a cap of the --steps value times the full decode")
    p.add_argument("--scene", choices=SCENES, default="jitter", help="what the fake camera shows (default jitter)")
    p.add_argument("--path", default="scratch,reuse", help="scratch, reuse, or both comma-separated (default both)")
    add_live_options(p)
    p.add_argument("--pipeline", action="store_true", help="a webcam frame's sketch drawn on a second thread "
                   "beside the next frame's decode (Studio.pipeline True; off in the app)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    args.paths = [x.strip() for x in args.path.split(",") if x.strip()]
    if not args.paths or any(x not in ("scratch", "reuse") for x in args.paths):
        p.error("--path: scratch, reuse or scratch,reuse")

    from sketchstudio.app.logic import live_policy

    cap = live_policy.LIVE_STEPS
    try:
        if args.live_steps:
            live_policy.LIVE_STEPS = args.live_steps
        return run(args)
    finally:
        live_policy.LIVE_STEPS = cap  # the app's cap again (the tool may run inside a test process)


def run(args) -> int:
    from offscreen_window import studio_window

    pictures = frames(64, args.scene)
    reports = []
    with studio_window("bench_webcam", args.model, args.tiny) as (app, win, errors):
        s = win.studio
        if args.steps:
            s.set_settings(s.settings.with_(steps=args.steps))
        stream = s.stream
        stream.params = live_params(args, stream.params)
        if args.pipeline:
            s.pipeline = True
        for path in args.paths:
            s.stream = stream if path == "reuse" else None  # no stream: every frame from scratch
            reports.append(measure(app, s, pictures, args, path, errors))
    for r in reports:
        if args.json:
            continue
        paths = ", ".join(f"{k} {v}" for k, v in r["paths_taken"].items() if v)
        print(f"webcam mode, {r['path']} path, {args.scene} scene, {args.seconds:g} s at {args.fps:g} frames a second "
              f"offered ({r['frames_sent']} sent, {r['frames_dropped']} replaced while waiting), {r['steps']} steps, "
              f"style guidance {r['style_guidance']:g}:")
        print(f"  drawn at {r['draw_size']} ({r['live_path']}; "
              f"{'pipelined: drawn beside the next decode' if r['pipeline'] else 'decoded and drawn in turn'}); "
              f"{r['sketches_per_second']:.2f} finished sketches per second ({r['sketches_finished']} finished; the "
              f"window's meter showed {r['window_rate_last']:.2f} at the end){'; ' + paths if paths else ''}")
    if args.json:
        print(json.dumps(reports if len(reports) > 1 else reports[0], indent=2))
    return 1 if errors else 0


def measure(app, s, pictures, args, path: str, errors) -> dict:
    from PySide6.QtCore import QEventLoop, QTimer

    from sketchstudio.app.logic.photo import Photo

    finished: list[float] = []
    taken: dict[str, int] = {"still": 0, "partial": 0, "scratch": 0, "draft": 0}

    def done(result):
        finished.append(time.monotonic())
        taken[result.live_path or "scratch"] += 1
        taken["draft"] += result.draft

    s.sketch_ready.connect(done)
    sent = [0]

    def send():
        s.submit_frame(Photo.from_image(pictures[sent[0] % len(pictures)], detect=False))
        sent[0] += 1

    feeder = QTimer()
    feeder.setInterval(max(1, round(1000 / args.fps)))
    feeder.timeout.connect(send)
    shown = []

    def meter():
        if finished:
            shown.append((time.monotonic(), s.rate.rate()))

    # The run waits in Qt's own event loop, as the app does (the Python loop that spun on
    # processEvents before gave the same rates while turning, measured 2026-12-08).
    loop, ticker = QEventLoop(), QTimer()
    ticker.setInterval(1000)
    ticker.timeout.connect(meter)
    s.set_live(True)
    feeder.start()
    ticker.start()
    QTimer.singleShot(round(1000 * args.seconds), loop.quit)
    loop.exec()
    ticker.stop()
    feeder.stop()
    s.set_live(False)
    while s.busy:  # the frame in flight ends before the next path starts
        app.processEvents()
        time.sleep(0.001)
    s.sketch_ready.disconnect(done)
    dropped, settings, model_id = s.dropped_frames, s.live_spec().settings, s.model_id
    timed = finished[1:]
    rate = (len(timed) - 1) / (timed[-1] - timed[0]) if len(timed) >= 2 else 0.0
    return {"model": model_id, "path": path, "scene": args.scene, "seconds": args.seconds, "fps_offered": args.fps,
            "frames_sent": sent[0], "frames_dropped": dropped, "sketches_finished": len(finished),
            "sketches_per_second": round(rate, 2), "paths_taken": taken,
            "window_rate_last": round(shown[-1][1], 2) if shown else 0.0, "steps": settings.steps,
            "style_guidance": settings.style_guidance, "torch_threads": torch.get_num_threads(),
            "partial_steps": s.stream.params.steps if s.stream is not None else None,
            "draft_side": s.stream.params.draft_side if s.stream is not None else None,
            "person_only": s.stream is not None and s.stream.params.person_level is not None,
            "window": s.stream is not None and s.stream.params.window_share is not None,
            "live_path": describe(s.stream.params) if s.stream is not None else "every frame from scratch",
            "pipeline": s.pipeline,
            "draw_size": list(s.live_size) if s.live_size else None,
            "errors": list(errors)}


if __name__ == "__main__":
    sys.exit(main())
