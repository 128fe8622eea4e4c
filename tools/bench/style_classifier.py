"""Does the model draw the styles apart? A small CNN trained on real sketches judges generated ones.

    .venv/bin/python tools/bench/style_classifier.py --data runs/default/data.safetensors \
        --generated DIR_FROM_EVAL --val runs/default/val/pairs.csv

The classifier learns the three FS2K styles from the real training sketches
(64x64 greyscale), reports its accuracy on the held-out real sketches (so we
know it can tell them apart), then labels the model's sketches of the held-out
photos (files written by `sketchstudio eval --save DIR`).
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from sketchstudio.core.config import FS2K_STYLES
from sketchstudio.data.cache import TrainingData
from sketchstudio.evaluate import saved_name

SIZE = 64


def small_cnn(k: int) -> nn.Module:
    def block(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))
    return nn.Sequential(block(1, 16), block(16, 32), block(32, 64), block(64, 64),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, k))


def prep(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x.float() / 255.0, size=(SIZE, SIZE), mode="area")


def train_classifier(x: torch.Tensor, y: torch.Tensor, epochs: int = 12, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    net = small_cnn(int(y.max()) + 1)
    opt = torch.optim.AdamW(net.parameters(), 2e-3)
    for _ in range(epochs):
        net.train()
        for idx in torch.randperm(len(x)).split(32):
            xb = x[idx]
            xb = torch.where(torch.rand(len(xb), 1, 1, 1) < 0.5, xb.flip(-1), xb)
            loss = F.cross_entropy(net(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


def load_dir(folder: Path, pairs_csv: Path):
    xs, ys = [], []
    with open(pairs_csv) as f:
        for row in csv.DictReader(f):
            p = folder / saved_name(Path(row["photo"]))
            if p.exists():
                a = np.asarray(Image.open(p).convert("L").resize((256, 256), Image.BICUBIC))
                xs.append(torch.from_numpy(a)[None])
                ys.append(int(row["style"]))
    return prep(torch.stack(xs)), torch.tensor(ys)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="a run's data.safetensors (real sketches with styles)")
    ap.add_argument("--generated", nargs="+", default=[],
                    help="folders of generated sketches named by photo stem (all judged by the same classifier)")
    ap.add_argument("--val", help="the held-out pairs.csv matching --generated")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_flush_denormal(True)
    d = TrainingData.load(args.data)
    real = d.real_style < len(FS2K_STYLES)
    net = train_classifier(prep(d.real_sketch[real]), d.real_style[real])
    out = {}
    with torch.no_grad():
        vx, vy = prep(d.val_sketch), d.val_style
        out["real_val_accuracy"] = float((net(vx).argmax(1) == vy).float().mean())
        for folder in args.generated:
            gx, gy = load_dir(Path(folder), Path(args.val))
            pred = net(gx).argmax(1)
            res = {"generated_accuracy": float((pred == gy).float().mean()), "generated_count": len(gy),
                   "per_style": {FS2K_STYLES[s]: float((pred[gy == s] == s).float().mean()) for s in gy.unique().tolist()},
                   "confusion": [[int(((gy == t) & (pred == p)).sum()) for p in range(3)] for t in range(3)]}
            if len(args.generated) == 1:
                out.update(res)
            else:
                out[folder] = res
    print(json.dumps(out, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))


if __name__ == "__main__":
    main()
