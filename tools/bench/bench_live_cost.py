"""What a live frame costs on the reuse path, with and without one of its levers, paired.

    .venv/bin/python tools/bench/bench_live_cost.py [--model PATH | --tiny] [--scenes talk,turn,busy]
                     [--stride 4] [--frames 128] [--size 465] [--json] [--whole | --partial-steps N | ...]

Each scene's frames (tools/bench/scenes.py, a 64-frame loop) go, every `--stride`-th one (a webcam
decoding at about 30/stride a second sees frames that far apart), through two live streams in
turn: the shipped one (core.live.LiveParams) and the one the options describe (the baseline,
e.g. --whole: the whole sketch drawn). Both see the same frames one after the other in the same
process (each first every other frame, neither reusing the other's face-structure map), so the
machine's noise falls on both alike: a figure for a lever where the webcam
bench's own noise (±15 % between runs) would hide it. Reports, per scene and stream, the median
and mean milliseconds of a partial frame (the face analysis, the plan, the encoder, the
transformer, the drawing), the median of the per-frame ratio, and the paths the frames took.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # tools/bench/

import numpy as np  # noqa: E402
import torch  # noqa: E402

from live_options import add_live_options, describe, live_params  # noqa: E402
from scenes import SCENES, frames  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="model .safetensors (default: the shipped one)")
    p.add_argument("--tiny", action="store_true", help="the tests' tiny model with random weights")
    p.add_argument("--scenes", default="talk,turn,busy", help=f"comma-separated, of {', '.join(SCENES)}")
    p.add_argument("--stride", type=int, default=4, help="every N-th camera frame is decoded (default 4)")
    p.add_argument("--frames", type=int, default=128, help="camera frames a scene (default 128: the loop twice)")
    p.add_argument("--size", type=int, default=465, help="the sketch's side as the webcam tab draws it (default 465)")
    add_live_options(p)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    scenes = [s for s in args.scenes.split(",") if s]
    if any(s not in SCENES for s in scenes):
        p.error(f"--scenes from {', '.join(SCENES)}")
    from bench_live_steadiness import decode, load_model

    from sketchstudio.app.logic.decode_job import MemoryCache, SketchSpec
    from sketchstudio.app.logic.face_tracking import CropTracker
    from sketchstudio.app.logic.live_policy import live_settings
    from sketchstudio.app.logic.photo import Photo
    from sketchstudio.core.face_structure import forget_maps
    from sketchstudio.core.live import LiveParams, LiveStream

    torch.set_flush_denormal(True)
    model, settings, mid = load_model(argparse.Namespace(tiny=args.tiny, model=args.model, steps=None))
    spec = SketchSpec(tuple(1.0 if i == 0 else 0.0 for i in range(len(model.styles))), live_settings(settings))
    variants = {"shipped": LiveParams(), "baseline": live_params(args, LiveParams())}
    if variants["shipped"] == variants["baseline"]:
        p.error("name the baseline's lever (e.g. --whole, --partial-steps 2, --everywhere)")
    size = (args.size, args.size)

    def live(photo, state):
        stream, tracker, cache = state
        return decode(model, photo, spec, stream, tracker, cache, draw_size=size)

    rows = []
    for scene in scenes:
        pictures = frames(64, scene)
        states = {k: (LiveStream(model.cfg.grid, v), CropTracker(), MemoryCache()) for k, v in variants.items()}
        times = {k: [] for k in variants}
        for n, i in enumerate(range(0, args.frames, args.stride)):
            for k in (list(states) if n % 2 == 0 else list(states)[::-1]):  # each stream first every other frame
                state = states[k]
                forget_maps()  # the face-structure map the other stream made of this frame is not reused
                t = time.perf_counter()
                r = live(Photo.from_image(pictures[i % len(pictures)], detect=False), state)
                times[k].append((r.live_path, time.perf_counter() - t))
        both = [(a[1], b[1]) for a, b in zip(times["shipped"], times["baseline"]) if a[0] == b[0] == "partial"]
        for k in variants:
            part = [t for path, t in times[k] if path == "partial"]
            rows.append({"scene": scene, "stream": k, "levers": describe(variants[k]),
                         "partial_ms_median": round(1000 * float(np.median(part)), 1) if part else None,
                         "partial_ms_mean": round(1000 * float(np.mean(part)), 1) if part else None,
                         "paths_taken": dict(states[k][0].counts)})
        rows[-2]["ratio_to_baseline_median"] = round(float(np.median([a / b for a, b in both])), 3) if both else None
    report = {"model": mid, "stride": args.stride, "frames": args.frames, "size": args.size,
              "torch_threads": torch.get_num_threads(), "rows": rows}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{mid}: every {args.stride}th of {args.frames} camera frames, drawn at {args.size} px, the two streams "
          f"interleaved; shipped: {describe(variants['shipped'])}; baseline: {describe(variants['baseline'])}")
    for r in rows:
        ratio = r.get("ratio_to_baseline_median")
        ratio = "" if ratio is None else f", {ratio:.3f} of the baseline's (median of pairs)"
        taken = ", ".join(f"{k} {v}" for k, v in r["paths_taken"].items() if v)
        print(f"  {r['scene']:6} {r['stream']:8} a partial frame {r['partial_ms_median']} ms median, "
              f"{r['partial_ms_mean']} mean{ratio}; {taken}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
