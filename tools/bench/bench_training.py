"""Training throughput of each stage (samples/s) for a preset, on random data, on this machine.

    .venv/bin/python tools/bench/bench_training.py [--preset default] [--steps 5] [--batch 8]

Prints one line per stage and the plain matmul rate measured in the same run
(the machines are noisy: compare ratios, not absolute figures across runs).
"""
from __future__ import annotations

import argparse
import time

import torch

from sketchstudio.bench import matmul_gflops
from sketchstudio.core import build_model, preset
from sketchstudio.data.cache import TrainingData
from sketchstudio.data.synthetic import SYNTHETIC_STYLES
from sketchstudio.train.base import StageOptions
from sketchstudio.train.pipeline import STAGE_CLASSES


def random_data(styles, size: int, n: int = 64) -> TrainingData:
    g = torch.Generator().manual_seed(0)
    u8 = lambda *s: torch.randint(0, 256, s, generator=g, dtype=torch.uint8)  # noqa: E731
    k = len(styles)
    return TrainingData(styles, u8(n, 3, size, size), torch.arange(n), u8(n, 1, size, size),
                        torch.randint(0, 3, (n,), generator=g), torch.arange(n), u8(n, 1, size, size),
                        torch.randint(3, k, (n,), generator=g), u8(4, 3, size, size), u8(4, 1, size, size),
                        torch.randint(0, 3, (4,), generator=g))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="default")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    torch.set_flush_denormal(True)
    cfg = preset(args.preset)
    cfg = cfg.with_styles(cfg.styles + SYNTHETIC_STYLES)
    data = random_data(cfg.styles, cfg.tokenizer.image_size)
    opts = StageOptions(batch=args.batch)
    print(f"preset {args.preset}, batch {args.batch}, threads {torch.get_num_threads()}")
    print(f"plain 1024^2 matmul: {matmul_gflops():.0f} GFLOP/s")
    for name in ("tokenizer", "pretrain", "finetune"):
        model = build_model(cfg)
        stage = STAGE_CLASSES[name](model, data, opts, 100)
        stage.train_step(0)  # warm-up
        t0 = time.perf_counter()
        for i in range(args.steps):
            stage.train_step(i + 1)
        dt = (time.perf_counter() - t0) / args.steps
        print(f"{name:<10} {dt:6.2f} s/step  {args.batch / dt:6.1f} samples/s")


if __name__ == "__main__":
    main()
