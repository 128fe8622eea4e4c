"""How much SCOOT does a sketch lose to its resolution and to the tokenizer? (issue #4)

    .venv/bin/python tools/texture_ceiling.py --data runs/v3/val [--model M ...] [--limit N] [--json]

SCOOT reads grey-level co-occurrence between neighbouring pixels at the drawing's own
resolution, so pixel-scale texture decides it. For each held-out pair this scores, against
the drawing itself:
  * the drawing resized to the decoder's 256 px (area, as training sees it) and back (bicubic);
  * the drawing resized to 512 px and back (area): why the head draws at the drawing's size
    rather than at 2x and shrinking;
  * each --model's tokenizer round trip: the drawing's own tokens (the best any transformer
    can do) rendered by the model and resized to the drawing's size as `sketchstudio eval`
    does. A model with a texture head is also scored with the head bypassed (its 256 px
    decode, bicubic up), so the head's own gain is measured in the same run.
Prints SCOOT per style and overall (mean over pairs); no sampling, so it runs in a minute.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import torch

from sketchstudio.core.checkpoint import load_model
from sketchstudio.core.imaging import load_image
from sketchstudio.core.metrics import scoot
from sketchstudio.data.datasets import DataReport, load_fs2k


def back(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize uint8 `a` to (w, h): area where it shrinks, bicubic where it grows (as eval does)."""
    shrink = a.shape[1] >= size[0] and a.shape[0] >= size[1]
    return cv2.resize(a, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder with pairs.csv (the held-out split)")
    ap.add_argument("--model", nargs="*", default=[], help="models whose tokenizer round trip to score")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    torch.set_flush_denormal(True)
    pairs = load_fs2k(Path(args.data), DataReport())[: args.limit]
    models = {Path(m).stem: load_model(m)[0].eval() for m in args.model}
    scores: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for pair in pairs:
        gt = np.asarray(load_image(pair.sketch).convert("L"))
        size = (gt.shape[1], gt.shape[0])
        cands = {
            "drawing via 256 px": back(cv2.resize(gt, (256, 256), interpolation=cv2.INTER_AREA), size),
            "drawing via 512 px": back(cv2.resize(gt, (512, 512), interpolation=cv2.INTER_CUBIC), size),
        }
        for name, m in models.items():
            s = m.sketch_size
            x = torch.from_numpy(cv2.resize(gt, (s, s), interpolation=cv2.INTER_AREA)).float().div(255)[None, None]
            with torch.inference_mode():
                ids = m.tokenizer.encode(x)
                u8 = lambda t: t[0, 0].mul(255).round().byte().numpy()  # noqa: E731
                cands[f"{name}: tokens, rendered"] = u8(m.decode(ids, size=gt.shape))
                if m.tokenizer.upscaler is not None:
                    plain = m.tokenizer.upscaler.resize(m.tokenizer.decode(ids), gt.shape).clamp(0, 1)
                    cands[f"{name}: tokens, 256 px decode resized"] = u8(plain)
        for name, pred in cands.items():
            v = scoot(gt, pred)
            scores[name][pair.style].append(v)
            scores[name]["all"].append(v)
    table = {name: {k: float(np.mean(v)) for k, v in d.items()} for name, d in scores.items()}
    if args.json:
        print(json.dumps(table, indent=2))
    else:
        cols = ["all"] + sorted({k for d in table.values() for k in d} - {"all"})
        print(f"SCOOT against the drawing, {len(pairs)} held-out pairs")
        print(f"{'':40s}" + "".join(f"{c:>10s}" for c in cols))
        for name, d in table.items():
            print(f"{name:40s}" + "".join(f"{d.get(c, float('nan')):10.3f}" for c in cols))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
