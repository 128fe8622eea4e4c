"""Would a live frame's render of only its changed part keep the picture, and what would it save?

    .venv/bin/python tools/probes/live_window.py [--model MODEL] [--scenes talk,turn,busy] [--frames 24]

Each scene's frames go through the live path (core/live.py) one after the other. For every
partial frame: the tokens that came out different from the last frame's, how far their cells
are spread (the bounding box's share of the grid), the full render's change against the last
frame's sketch by distance from the nearest changed cell (cells, Chebyshev), a window render
(`SketchModel.decode(window=)`) against the full render inside the window, and both renders'
times. A probe: it prints figures and changes nothing.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools/bench"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from scenes import frames  # noqa: E402

SIDE = 465


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default=str(ROOT / "models/sketchstudio-default.safetensors"))
    p.add_argument("--scenes", default="talk,turn,busy")
    p.add_argument("--frames", type=int, default=24)
    args = p.parse_args()
    from bench_live_steadiness import decode

    from sketchstudio.app.logic.decode_job import MemoryCache, SketchSpec
    from sketchstudio.app.logic.face_tracking import CropTracker
    from sketchstudio.app.logic.live_policy import live_settings
    from sketchstudio.app.logic.photo import Photo
    from sketchstudio.core.live import LiveStream
    from sketchstudio.model_files import load, sampler_settings

    model, info, _ = load(args.model)
    spec = SketchSpec((1.0,) + (0.0,) * (len(model.styles) - 1),
                      live_settings(sampler_settings(argparse.Namespace(steps=None), info)))
    style = torch.tensor(spec.style)[None]
    g = model.cfg.grid
    for scene in args.scenes.split(","):
        stream, tracker, cache = LiveStream(g), CropTracker(), MemoryCache()
        prev_tokens, prev_sketch = None, None
        shares, by_dist, inside, t_full, t_win = [], {}, [], [], []
        for im in frames(args.frames, scene):
            r = decode(model, Photo.from_image(im, detect=False), spec, stream, tracker, cache)
            x = r.photo.tensor(model.photo_size)
            with torch.inference_mode():
                t = time.perf_counter()
                full = model.decode(r.tokens, (SIDE, SIDE), style=style, photo=x)[0, 0] * 255
                tf = time.perf_counter() - t
            if r.live_path == "partial" and prev_tokens is not None:
                diff = (r.tokens != prev_tokens)[0].view(g, g)
                if diff.any():
                    rows, cols = diff.nonzero(as_tuple=True)
                    r0, r1, c0, c1 = int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1
                    shares.append((r1 - r0) * (c1 - c0) / (g * g))
                    # distance of each cell from the nearest changed cell (Chebyshev)
                    d = torch.full((g, g), 99)
                    for k in range(0, g):
                        grown = F.max_pool2d(diff[None, None].float(), 2 * k + 1, stride=1, padding=k)[0, 0] > 0
                        d = torch.where(grown & (d == 99), torch.tensor(k), d)
                    with torch.inference_mode():  # the old tokens drawn for the new photo: the photo's share
                        same = model.decode(prev_tokens, (SIDE, SIDE), style=style, photo=x)[0, 0] * 255
                    cell_change = F.adaptive_avg_pool2d((full - prev_sketch).abs()[None, None], g)[0, 0]
                    cell_photo = F.adaptive_avg_pool2d((same - prev_sketch).abs()[None, None], g)[0, 0]
                    for k in range(0, 5):
                        sel = d == k if k < 4 else d >= 4
                        if sel.any():
                            by_dist.setdefault(k, []).append((float(cell_change[sel].mean()), float(cell_photo[sel].mean())))
                    cs = SIDE / g
                    top, left = int(r0 * cs), int(c0 * cs)
                    win = (top, left, min(SIDE, int(np.ceil(r1 * cs))) - top, min(SIDE, int(np.ceil(c1 * cs))) - left)
                    with torch.inference_mode():
                        t = time.perf_counter()
                        part = model.decode(r.tokens, (SIDE, SIDE), style=style, photo=x, window=win)[0, 0] * 255
                        t_win.append(time.perf_counter() - t)
                    t_full.append(tf)
                    inside.append(float((part - full[win[0]:win[0] + win[2], win[1]:win[1] + win[3]]).abs().max()))
            prev_tokens, prev_sketch = r.tokens.clone(), full
        print(f"{scene}: {len(shares)} partial frames with changed tokens; bbox share of the grid "
              f"median {np.median(shares):.2f} (min {min(shares):.2f}, max {max(shares):.2f})")
        print("  full render's mean change against the last sketch (grey levels), by cells from a changed token; "
              "in brackets the old tokens drawn for the new photo: " + ", ".join(
                  f"{k if k < 4 else '>=4'}: {np.mean([a for a, _ in v]):.2f} ({np.mean([b for _, b in v]):.2f})"
                  for k, v in sorted(by_dist.items())))
        print(f"  window render against the full one inside it: max {max(inside):.3f} grey levels; "
              f"time full {1000 * np.median(t_full):.1f} ms, window {1000 * np.median(t_win):.1f} ms (medians)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
