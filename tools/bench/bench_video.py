"""`sketchstudio video`'s speed: frames of video sketched per second, scratch against reuse.

    .venv/bin/python tools/bench/bench_video.py [--model PATH | --tiny] [--frames 96] [--scene slow]
                     [--path scratch,reuse] [--out DIR] [--partial-steps N] [--whole] ... [--json]

Makes a 640x480 H.264 clip of the sample face (tools/bench/scenes.py: `slow` drifts about a
pixel a frame under sensor noise, `still` stays, `jitter` jumps) at 30 frames a second, then
sketches it to MP4 through `sketchstudio.video.sketch_video` (face tracked, the frames on the
webcam tab's path) once per --path, in the same run: `scratch` decodes every frame from a
fully masked grid, `reuse` through the live stream. Prints frames of video per second (the
clip's making excluded), the paths the frames took, and the output's size.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # tools/bench/: scenes, bench_live_steadiness

import torch  # noqa: E402

from live_options import add_live_options, describe, live_params  # noqa: E402
from scenes import SCENES, frames  # noqa: E402


def make_clip(path: Path, pictures, rate: int = 30) -> None:
    import av

    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=rate)
        v.width, v.height, v.pix_fmt = 640, 480, "yuv420p"
        for im in pictures:
            for packet in v.encode(av.VideoFrame.from_image(im)):
                out.mux(packet)
        for packet in v.encode(None):
            out.mux(packet)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model")
    p.add_argument("--tiny", action="store_true", help="the tests' tiny model with random weights")
    p.add_argument("--frames", type=int, default=96)
    p.add_argument("--scene", choices=SCENES, default="slow")
    p.add_argument("--path", default="scratch,reuse")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--out", help="keep the clip and the sketched videos here (default: a temporary folder)")
    add_live_options(p)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    paths = [x for x in args.path.split(",") if x]
    if not paths or any(x not in ("scratch", "reuse") for x in paths):
        p.error("--path: scratch, reuse or scratch,reuse")
    from bench_live_steadiness import load_model

    from sketchstudio.app.logic.decode_job import SketchSpec
    from sketchstudio.app.logic.live_policy import live_settings
    from sketchstudio.core.live import LiveParams
    from sketchstudio.video import sketch_video

    params = live_params(args, LiveParams())

    torch.set_flush_denormal(True)
    model, settings, mid = load_model(argparse.Namespace(tiny=args.tiny, model=args.model, steps=None))
    spec = SketchSpec(tuple(1.0 if i == 0 else 0.0 for i in range(len(model.styles))), live_settings(settings))
    folder = Path(args.out or tempfile.mkdtemp(prefix="bench_video_"))
    folder.mkdir(parents=True, exist_ok=True)
    clip = folder / f"clip-{args.scene}.mp4"
    make_clip(clip, frames(args.frames, args.scene))
    rows = []
    for path in paths:
        out = folder / f"sketched-{path}.mp4"
        t0 = time.perf_counter()
        report = sketch_video(model, spec, clip, out, args.size, reuse=path == "reuse", params=params)
        seconds = time.perf_counter() - t0
        rows.append({"path": path, "frames": report.frames, "seconds": round(seconds, 2),
                     "video_fps": round(report.frames / seconds, 2), "paths_taken": report.paths,
                     "out_kb": round(out.stat().st_size / 1000, 1)})
    result = {"model": mid, "scene": args.scene, "size": args.size, "steps": spec.settings.steps,
              "torch_threads": torch.get_num_threads(), "folder": str(folder), "rows": rows}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{mid}: a {args.frames}-frame 640x480 clip ({args.scene}) sketched to {args.size} px MP4, "
          f"{spec.settings.steps} steps from scratch; reuse: {describe(params)}; files in {folder}")
    for r in rows:
        taken = ", ".join(f"{k} {v}" for k, v in (r["paths_taken"] or {}).items() if v)
        print(f"  {r['path']:8} {r['video_fps']:6.2f} frames of video a second ({r['frames']} in {r['seconds']:.1f} s; "
              f"{taken}; {r['out_kb']:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
