"""Does self-guidance help? Sweep its scale against the number of decoding steps (issue #12, item 3).

    .venv/bin/python tools/probes/sweep_guidance.py --model M --val runs/v4b/val/pairs.csv \
        --data runs/v4r/data.safetensors [--per-style 12] [--scales 0 0.5 1 2] [--steps 4 8 12]

For every (self-guidance scale, steps) the model sketches the same held-out photos, each in
its drawing's style, at the model's recommended style guidance (or `--style-guidance`), as
`sketchstudio eval` does (the finished sketch drawn at the drawing's size, seed = pair index).
Reported per setting: SCOOT against the artists' drawings (overall and per style), the style
classifier's accuracy on the sketches (tools/bench/style_classifier.py's CNN, trained once on the
real training sketches of --data, so every setting is judged by the same classifier), and the
median milliseconds of one decode (the sampler's steps only, batch 1), measured in this run.

The photos: `--per-style` pairs of each style, spread evenly over the held-out split.
"""
from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from sketchstudio.core.checkpoint import load_model
from sketchstudio.core.config import FS2K_STYLES
from sketchstudio.core.imaging import load_image
from sketchstudio.core.metrics import scoot
from sketchstudio.core.sampler import finished, recommended_settings, sample
from sketchstudio.core.styles import canonical
from sketchstudio.core.tokenizer import render_size
from sketchstudio.data.cache import TrainingData
from sketchstudio.data.datasets import load_fs2k
from sketchstudio.data.prepare import prepare_image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))  # style_classifier
from style_classifier import prep, train_classifier  # noqa: E402


def pick(pairs, per_style: int):
    """`per_style` pairs of each FS2K style, evenly spread over the split's order."""
    out = []
    for style in FS2K_STYLES:
        mine = [p for p in pairs if p.style == style]
        idx = np.linspace(0, len(mine) - 1, min(per_style, len(mine))).round().astype(int)
        out += [mine[i] for i in dict.fromkeys(idx.tolist())]
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--val", required=True, help="held-out pairs.csv (a run's val/pairs.csv; its folder is read)")
    ap.add_argument("--data", required=True, help="a run's data.safetensors: the classifier's training sketches")
    ap.add_argument("--per-style", type=int, default=12)
    ap.add_argument("--scales", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0])
    ap.add_argument("--steps", type=int, nargs="+", default=[4, 8, 12])
    ap.add_argument("--style-guidance", type=float, help="default: the model's recommendation")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    torch.set_flush_denormal(True)
    log = (lambda s: print(s, file=sys.stderr, flush=True)) if args.json else (lambda s: print(s, flush=True))

    model, info = load_model(args.model)
    base = recommended_settings(info)
    if args.style_guidance is not None:
        base = base.with_(style_guidance=args.style_guidance)
    pairs = pick(load_fs2k(Path(args.val).parent), args.per_style)
    d = TrainingData.load(args.data)
    real = d.real_style < len(FS2K_STYLES)
    net = train_classifier(prep(d.real_sketch[real]), d.real_style[real])
    with torch.no_grad():
        real_acc = float((net(prep(d.val_sketch)).argmax(1) == d.val_style).float().mean())
    log(f"{len(pairs)} held-out pairs; classifier {real_acc:.1%} on held-out real sketches; "
        f"style guidance {base.style_guidance}")
    photos = [prepare_image(load_image(p.photo), model.photo_size, crop="none") for p in pairs]
    drawings = [np.asarray(load_image(p.sketch).convert("L")) for p in pairs]

    rows = []
    for scale, steps in itertools.product(args.scales, args.steps):
        settings = base.with_(self_guidance=scale, steps=steps, preview="none")
        scores = {s: [] for s in FS2K_STYLES}
        small, times = [], []
        for i, (pair, prep_photo, gt) in enumerate(zip(pairs, photos, drawings)):
            w = torch.zeros(len(model.styles))
            w[model.styles.index(canonical(pair.style, model.styles))] = 1.0
            t0 = time.perf_counter()
            res = sample(model, prep_photo.tensor, w, settings.with_(seed=i))
            times.append(time.perf_counter() - t0)
            with torch.inference_mode():
                out = finished(model, res, render_size(gt.shape[::-1]))
            sk = out[0, 0].mul(255).round().byte().numpy()
            if sk.shape != gt.shape:
                sk = cv2.resize(sk, gt.shape[::-1], interpolation=cv2.INTER_CUBIC)
            scores[pair.style].append(scoot(gt, sk))
            small.append(torch.from_numpy(cv2.resize(sk, (256, 256), interpolation=cv2.INTER_AREA))[None])
        labels = torch.tensor([FS2K_STYLES.index(p.style) for p in pairs])
        with torch.no_grad():
            pred = net(prep(torch.stack(small))).argmax(1)
        row = {"self_guidance": scale, "steps": steps,
               "scoot": float(np.mean([v for vs in scores.values() for v in vs])),
               **{f"scoot_{s}": float(np.mean(v)) for s, v in scores.items()},
               "classifier": float((pred == labels).float().mean()),
               **{f"classifier_{s}": float((pred[labels == k] == k).float().mean()) for k, s in enumerate(FS2K_STYLES)},
               "decode_ms": 1000 * statistics.median(times)}
        rows.append(row)
        per = ", ".join(f"{s} {row['scoot_' + s]:.3f}" for s in FS2K_STYLES)
        log(f"self-guidance {scale:>4} steps {steps:>2}: SCOOT {row['scoot']:.3f} ({per}), "
            f"classifier {row['classifier']:.1%}, {row['decode_ms']:.0f} ms/decode")
    result = {"model": args.model, "pairs": len(pairs), "style_guidance": base.style_guidance,
              "classifier_real_val": real_acc, "rows": rows}
    if args.json:
        print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
