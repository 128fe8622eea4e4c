"""How steady live sketches are: the from-scratch path against the reuse path (issue 33).

    .venv/bin/python tools/bench/bench_live_steadiness.py [--model PATH | --tiny] [--frames 32]
                     [--scenes still,slow] [--paths scratch,reuse] [--photos DIR --limit N] [--json]

Each scene (tools/bench/scenes.py) is a run of 640x480 frames of a face: `still` (where it is,
camera-like sensor noise, sigma 3 grey levels), `slow` (the same noise, drifting about a
pixel a frame), `busy` (that drift in front of a room) and `turn` (the busy drift while the face
turns a little). Every frame goes through the window's live decode (`DecodeJob` with the face
found and tracked, `live=True`), one after the other, none dropped: `scratch` decodes each
from a fully masked grid, `reuse` through a `core.live.LiveStream`.

Reports per scene and path: the mean absolute change between consecutive finished sketches
(grey levels, 0-255; a still face should give a still sketch), the paths the frames took,
the mean time a frame took (sequential, face analysis included), and for the reuse path the
SCOOT of each reused frame (still or partial) against a from-scratch decode of the same
framed photo (1 = the same sketch by SCOOT's measure), beside the SCOOT of a from-scratch decode
with another seed against it: how far two from-scratch decodes of one frame already are (the
from-scratch path is itself unsteady, so this is the yardstick for the first). --photos: the faces of a folder (your
val photos) instead of the sample face, averaged. A measurement, not a test: numbers move
with the machine's load; run the baseline in the same run (the default).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # tools/bench/: scenes

import numpy as np  # noqa: E402
import torch  # noqa: E402

from live_options import add_live_options, describe, live_params  # noqa: E402
from scenes import SCENES, frames  # noqa: E402

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


def load_model(args):
    if args.tiny:
        from sketchstudio.core import build_model, preset
        from sketchstudio.core.sampler_settings import SamplerSettings

        torch.manual_seed(0)
        return build_model(preset("tiny")), SamplerSettings(steps=4), "tiny@random"
    from sketchstudio.model_files import load, sampler_settings

    model, info, mid = load(args.model)
    return model, sampler_settings(argparse.Namespace(steps=args.steps), info), mid


def decode(model, photo, spec, stream, tracker, cache, detect=True, draw_size=None):
    """One frame through the window's live decode (stream None: from scratch); its SketchResult."""
    from sketchstudio.app.logic.decode_job import DecodeJob, DecodeRequest
    from sketchstudio.core.sampler_settings import CancelToken
    from sketchstudio.video import drain

    req = DecodeRequest(photo, spec, detect=detect, live=True, tracker=tracker, stream=stream, draw_size=draw_size)
    return drain(DecodeJob(model, req, cache).run(CancelToken()))


def run_scene(model, spec, pictures, path: str, params=None) -> dict:
    from sketchstudio.app.logic.decode_job import MemoryCache
    from sketchstudio.app.logic.face_tracking import CropTracker
    from sketchstudio.app.logic.photo import Photo
    from sketchstudio.core.live import LiveParams, LiveStream
    from sketchstudio.core.metrics import scoot

    stream = LiveStream(model.cfg.grid, params or LiveParams()) if path == "reuse" else None
    tracker, cache = CropTracker(), MemoryCache()
    sketches, seconds, taken, scoots, seeds = [], [], {"still": 0, "partial": 0, "scratch": 0}, [], []
    other = replace(spec, settings=spec.settings.with_(seed=spec.settings.seed + 1))
    for im in pictures:
        t0 = time.perf_counter()
        result = decode(model, Photo.from_image(im, detect=False), spec, stream, tracker, cache)
        seconds.append(time.perf_counter() - t0)
        taken[result.live_path or "scratch"] += 1
        sketches.append(result.sketch.astype(np.float64))
        if result.live_path in ("still", "partial"):  # against a from-scratch decode of the same framed photo
            fresh = decode(model, result.photo, spec, None, None, MemoryCache(), detect=False)
            scoots.append(scoot(fresh.sketch, result.sketch))
            seeds.append(scoot(fresh.sketch, decode(model, result.photo, other, None, None, MemoryCache(), False).sketch))
    change = [float(np.abs(b - a).mean()) for a, b in zip(sketches, sketches[1:])]
    return {"path": path, "mean_change": round(float(np.mean(change)), 3) if change else 0.0,
            "max_change": round(float(np.max(change)), 3) if change else 0.0, "paths_taken": taken,
            "ms_per_frame": round(1000 * float(np.mean(seconds[1:] or seconds)), 1),
            "scoot_vs_scratch": round(float(np.mean(scoots)), 4) if scoots else None,
            "scoot_vs_scratch_min": round(float(np.min(scoots)), 4) if scoots else None,
            "scratch_vs_scratch_seed": round(float(np.mean(seeds)), 4) if seeds else None, "reused": len(scoots)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="model .safetensors (default: the shipped one)")
    p.add_argument("--tiny", action="store_true", help="the tests' tiny model with random weights")
    p.add_argument("--frames", type=int, default=32, help="frames per scene (default 32)")
    p.add_argument("--scenes", default="still,slow", help=f"comma-separated, of {', '.join(SCENES)}")
    p.add_argument("--paths", default="scratch,reuse", help="scratch, reuse, or both (default)")
    p.add_argument("--photos", help="a folder of face photos (e.g. val photos) instead of the sample face")
    p.add_argument("--limit", type=int, default=4, help="at most this many of --photos (default 4)")
    p.add_argument("--steps", type=int, help="decoding steps (default: the model's recommendation, capped as live)")
    add_live_options(p)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    scenes = [s for s in args.scenes.split(",") if s]
    paths = [s for s in args.paths.split(",") if s]
    if any(s not in SCENES for s in scenes) or any(s not in ("scratch", "reuse") for s in paths):
        p.error(f"--scenes from {', '.join(SCENES)}; --paths from scratch, reuse")
    from sketchstudio.app.logic.decode_job import SketchSpec
    from sketchstudio.app.logic.live_policy import live_settings
    from sketchstudio.core.live import LiveParams

    params = live_params(args, LiveParams())

    torch.set_flush_denormal(True)
    model, settings, mid = load_model(args)
    spec = SketchSpec(tuple(1.0 if i == 0 else 0.0 for i in range(len(model.styles))), live_settings(settings))
    faces = [None]
    if args.photos:
        faces = sorted(f for f in Path(args.photos).iterdir() if f.suffix.lower() in PHOTO_SUFFIXES)[:args.limit]
        if not faces:
            p.error(f"--photos {args.photos}: no photos")
    rows = []
    for scene in scenes:
        for path in paths:
            runs = [run_scene(model, spec, frames(args.frames, scene, face), path, params) for face in faces]
            row = {"scene": scene, **runs[0]} if len(runs) == 1 else {"scene": scene, **merge(runs)}
            rows.append(row)
    report = {"model": mid, "steps": spec.settings.steps, "partial_steps": params.steps, "frames": args.frames,
              "faces": len(faces), "torch_threads": torch.get_num_threads(), "rows": rows}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{mid}, {spec.settings.steps} steps from scratch, {args.frames} frames a scene, {len(faces)} face(s); "
          f"reuse: {describe(params)}:")
    print(f"  {'scene':7} {'path':8} {'mean change':>11} {'max':>7} {'ms/frame':>9} {'SCOOT vs scratch':>17} "
          f"{'scratch vs seed+1':>17}  paths taken")
    for r in rows:
        sc = "" if r["scoot_vs_scratch"] is None else f"{r['scoot_vs_scratch']:.4f} (min {r['scoot_vs_scratch_min']:.3f})"
        yard = "" if r["scratch_vs_scratch_seed"] is None else f"{r['scratch_vs_scratch_seed']:.4f}"
        taken = ", ".join(f"{k} {v}" for k, v in r["paths_taken"].items() if v)
        print(f"  {r['scene']:7} {r['path']:8} {r['mean_change']:11.3f} {r['max_change']:7.2f} {r['ms_per_frame']:9.1f} "
              f"{sc:>17} {yard:>17}  {taken}")
    return 0


def merge(runs: list[dict]) -> dict:
    """Several faces' rows of one scene and path as one: means of the means."""
    scoots = [r["scoot_vs_scratch"] for r in runs if r["scoot_vs_scratch"] is not None]
    seeds = [r["scratch_vs_scratch_seed"] for r in runs if r["scratch_vs_scratch_seed"] is not None]
    mins = [r["scoot_vs_scratch_min"] for r in runs if r["scoot_vs_scratch_min"] is not None]
    return {"path": runs[0]["path"], "mean_change": round(float(np.mean([r["mean_change"] for r in runs])), 3),
            "max_change": round(max(r["max_change"] for r in runs), 3),
            "paths_taken": {k: sum(r["paths_taken"][k] for r in runs) for k in runs[0]["paths_taken"]},
            "ms_per_frame": round(float(np.mean([r["ms_per_frame"] for r in runs])), 1),
            "scoot_vs_scratch": round(float(np.mean(scoots)), 4) if scoots else None,
            "scoot_vs_scratch_min": round(min(mins), 4) if mins else None,
            "scratch_vs_scratch_seed": round(float(np.mean(seeds)), 4) if seeds else None,
            "reused": sum(r["reused"] for r in runs)}


if __name__ == "__main__":
    sys.exit(main())
