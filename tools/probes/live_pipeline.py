"""Would a live frame's render, run beside the next frame's encoder and transformer, pay on 2 cores?

    OMP_NUM_THREADS=2 .venv/bin/python tools/probes/live_pipeline.py [MODEL] [PASSES] [WINDOW]

The front stage (the encoder with its face map, PASSES transformer passes: a partial frame's,
default 1) and the back stage (the VQ decoder and the renderer at the bench window's 465 px, on
a WINDOW share of the sketch, default 1: the whole) of the sample face, each in a loop for 8 s:
one after the other, then in two threads side by side (a
pipeline's rate is its slower stage's), at 2 torch threads and at 1. A probe: the app's own
pipeline (`Studio.pipeline`, off) is measured by `bench_webcam.py --pipeline` (issue 33).
"""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import torch
import torchvision.transforms.functional as TF
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from sketchstudio.core.checkpoint import load_model  # noqa: E402

SECONDS = 8.0


def rate(fn) -> float:
    n, t = 0, time.perf_counter()
    while time.perf_counter() - t < SECONDS:
        fn()
        n += 1
    return n / (time.perf_counter() - t)


def side_by_side(front, back) -> tuple[float, float]:
    counts, stop = [0, 0], threading.Event()

    def loop(i, fn):
        with torch.inference_mode():
            while not stop.is_set():
                fn()
                counts[i] += 1

    threads = [threading.Thread(target=loop, args=(0, front)), threading.Thread(target=loop, args=(1, back))]
    t = time.perf_counter()
    for th in threads:
        th.start()
    time.sleep(SECONDS)
    stop.set()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t
    return counts[0] / elapsed, counts[1] / elapsed


def main() -> int:
    model, _ = load_model(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "models/sketchstudio-default.safetensors"))
    model.eval()
    passes = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    window = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0  # the share of the sketch the back draws
    photo = TF.to_tensor(Image.open(ROOT / "resources/sample_face.png").convert("RGB").resize((256, 256)))[None]
    style = torch.zeros(1, len(model.styles))
    style[0, 0] = 1
    ids = torch.randint(0, model.cfg.tokenizer.codebook_size, (1, model.cfg.num_tokens))
    masked = torch.where(torch.rand(ids.shape) < 0.3, model.cfg.mask_id, ids)

    def front():
        memory = model.condition(photo)
        for _ in range(passes):
            model.transformer(masked, memory, style)

    side = round(465 * window ** 0.5)  # a square window of that share of the sketch, in its middle
    box = None if window >= 1 else ((465 - side) // 2, (465 - side) // 2, side, side)

    def back():
        model.decode(ids, (465, 465), style=style, photo=photo, window=box)

    with torch.inference_mode():
        front(), back()
        for threads in (2, 1):
            torch.set_num_threads(threads)
            seq = rate(lambda: (front(), back()))
            f, b = side_by_side(front, back)
            print(f"torch threads {threads}: one after the other {seq:.2f} frames/s; side by side: front {f:.2f}/s, "
                  f"back {b:.2f}/s, so a pipeline {min(f, b):.2f} frames/s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
