"""Live frames at 1:1: the reuse path's sketches of a scene beside a from-scratch decode of the same frame.

    .venv/bin/python tools/figures/live_frames.py --out DIR [--model MODEL] [--scenes talk,turn]
                     [--frames 24] [--at 8,16,23] [--whole]

For each scene (tools/bench/scenes.py) every frame goes through the live path (core/live.py) as
in bench_live_steadiness; the frames named by --at are written as one PNG a scene: per frame a
column of the framed photo, the reused sketch, the from-scratch sketch of the same framed photo
and the reused one's change against the previous reused sketch (x4, white = none), at the size
the webcam tab draws (465 px). --whole: partial frames draw the whole sketch (the path before
windows), to compare.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools/bench"))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from live_options import add_live_options, live_params  # noqa: E402
from scenes import frames  # noqa: E402

SIDE = 465


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--model", default=str(ROOT / "models/sketchstudio-default.safetensors"))
    p.add_argument("--scenes", default="talk,turn")
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--at", default="8,16,23")
    add_live_options(p)
    args = p.parse_args()
    from bench_live_steadiness import decode

    from sketchstudio.app.logic.decode_job import MemoryCache, SketchSpec
    from sketchstudio.app.logic.face_tracking import CropTracker
    from sketchstudio.app.logic.live_policy import live_settings
    from sketchstudio.app.logic.photo import Photo
    from sketchstudio.core.live import LiveParams, LiveStream
    from sketchstudio.model_files import load, sampler_settings

    model, info, _ = load(args.model)
    spec = SketchSpec((1.0,) + (0.0,) * (len(model.styles) - 1),
                      live_settings(sampler_settings(argparse.Namespace(steps=None), info)))
    at = {int(a) for a in args.at.split(",")}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    for scene in args.scenes.split(","):
        stream = LiveStream(model.cfg.grid, live_params(args, LiveParams()))
        tracker, cache, prev, columns = CropTracker(), MemoryCache(), None, []
        for i, im in enumerate(frames(args.frames, scene)):
            r = decode(model, Photo.from_image(im, detect=False), spec, stream, tracker, cache, draw_size=(SIDE, SIDE))
            if i in at:
                fresh = decode(model, r.photo, spec, None, None, MemoryCache(), detect=False)
                scratch = np.asarray(Image.fromarray(fresh.sketch).resize((SIDE, SIDE), Image.BICUBIC))
                change = 255 - np.clip(4 * np.abs(r.sketch.astype(int) - prev.astype(int)), 0, 255).astype(np.uint8)
                photo = np.asarray(r.photo.framed().convert("L").resize((SIDE, SIDE), Image.BICUBIC))
                columns.append(np.concatenate([photo, r.sketch, scratch, change], axis=0))
                print(f"{scene} frame {i}: {r.live_path}, {r.redrawn} tokens redrawn")
            prev = r.sketch
        path = out / f"live-{scene}{'-whole' if args.whole else ''}.png"
        Image.fromarray(np.concatenate(columns, axis=1)).save(path)
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
