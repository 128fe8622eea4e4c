"""Memory soak: N consecutive decodes in one process, through the CLI path and the GUI worker path.

    .venv/bin/python tools/bench/soak.py [--model PATH] [--n 1000] [--steps 8] [--path both] [--json]

* cli: what `sketchstudio sketch` does per photo: load and frame the photo (face detection),
  the sampler generator, decode the last tokens, write the PNG with its settings.
* gui: the studio's decode worker (a QThread running DecodeJob, offscreen Qt) fed the requests
  the window makes: a style change per decode (the blend slider), a newly opened photo every
  tenth decode (the worker finds the face, the encoder runs again).

Resident memory (VmRSS from /proc/self/status) is read after a warm-up and every 100 decodes,
after a gc.collect(); a leak shows as growth after the warm-up. Prints a table, or JSON.
Exit code 1 when a path's growth (last reading minus the warm-up reading) is over
--max-growth-mb (default 50 MB); the highest reading is reported beside it, not limited (the
allocator keeps and returns buffers of a texture head's size between readings).
This is a benchmark, not a test: run it alone on an idle machine.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image, ImageOps

from sketchstudio.core.imaging import save_png, tensor_to_image
from sketchstudio.core.sampler import SamplerSettings, finished, iter_steps
from sketchstudio.data.prepare import prepare_photo
from sketchstudio.model_files import load
from sketchstudio.paths import default_model_path, resources_dir
from sketchstudio.sketch_file import SKETCH_META_KEY

PATHS = ("cli", "gui")
MAX_GROWTH_MB = 50.0  # docs/RELIABILITY.md's limit on growth after the warm-up


def rss_mb() -> float:
    """Resident memory now (VmRSS); where /proc is missing, the peak (ru_maxrss) instead."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def blend(i: int, k: int) -> tuple[float, ...]:
    """The i-th position of the blend slider between the first two styles (consecutive ones differ)."""
    t = (i % 11) / 10
    w = [0.0] * k
    w[0] += 1.0 - t
    w[min(1, k - 1)] += t
    return tuple(w)


class Meter:
    """Times the decodes and reads memory at the marks: the warm-up, every `every`, the last."""

    def __init__(self, n: int, warmup: int, every: int):
        self.n, self.warmup = n, warmup
        self.marks = sorted({warmup, n} | set(range(every, n + 1, every)))
        self.rows: list[dict] = []
        self.started = self.warm_at = time.perf_counter()

    def tick(self, done: int) -> None:
        """`done` decodes are finished."""
        if done == self.warmup:
            self.warm_at = time.perf_counter()
        if done in self.marks:
            gc.collect()
            self.rows.append({"decode": done, "rss_mb": round(rss_mb(), 1),
                              "elapsed_s": round(time.perf_counter() - self.started, 2)})

    def summary(self) -> dict:
        warm = next(r for r in self.rows if r["decode"] == self.warmup)
        last = self.rows[-1]
        after = self.n - self.warmup
        growth = last["rss_mb"] - warm["rss_mb"]
        peak = max(r["rss_mb"] for r in self.rows if r["decode"] >= self.warmup) - warm["rss_mb"]
        return {
            "decodes": self.n,
            "warmup": self.warmup,
            "decode_s": round((time.perf_counter() - self.warm_at) / after, 4) if after else None,
            "first_decodes_s": round(warm["elapsed_s"] / self.warmup, 4),
            "rss": self.rows,
            "warm_rss_mb": warm["rss_mb"],
            "final_rss_mb": last["rss_mb"],
            "growth_mb": round(growth, 1),
            "peak_growth_mb": round(peak, 1),
            "growth_kb_per_decode": round(growth * 1024 / after, 2) if after else None,
        }


def soak_cli(model, mid: str, photo: Path, n: int, steps: int, meter: Meter) -> None:
    """cmd_sketch's loop body, once per decode (a new seed and blend each time)."""
    k = len(model.styles)
    with tempfile.TemporaryDirectory() as out:
        for i in range(n):
            settings = SamplerSettings(steps=steps, seed=i, preview="none")
            weights = blend(i, k)
            prep = prepare_photo(photo, model.photo_size, "face")
            last = None
            for last in iter_steps(model, prep.tensor, torch.tensor(weights), settings):
                pass
            with torch.inference_mode():
                sketch = tensor_to_image(finished(model, last)[0])
            meta = {"style_weights": dict(zip(model.styles, weights)), "seed": settings.seed,
                    "steps": settings.steps, "model": mid}
            save_png(sketch, Path(out) / "soak.png", {SKETCH_META_KEY: json.dumps(meta, sort_keys=True)})
            meter.tick(i + 1)


def soak_gui(model, mid: str, photo: Path, n: int, steps: int, meter: Meter) -> None:
    """The studio's worker thread, fed as the window feeds it; waits for each sketch in turn."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from sketchstudio.app.logic.photo import Photo
    from sketchstudio.app.studio.studio import Studio

    app = QApplication.instance() or QApplication([sys.argv[0]])  # noqa: F841  (kept alive)
    image = Image.open(photo).convert("RGB")
    images = [image, ImageOps.mirror(image)]  # two "photos", opened in turn
    studio = Studio(grace_s=0.0)  # no slider is being dragged: start each decode at once
    loop = QEventLoop()
    state = {"done": 0, "error": None}

    def request(i: int) -> None:
        if i % 10 == 0:
            studio.set_photo(Photo.from_image(images[(i // 10) % 2], str(photo), detect=False), detect=True)
        else:
            studio.set_style(blend(i, len(model.styles)))

    def finished(_result) -> None:
        state["done"] += 1
        meter.tick(state["done"])
        if state["done"] >= n:
            loop.quit()
        else:
            request(state["done"])

    def failed(message: str) -> None:
        state["error"] = message
        loop.quit()

    studio.sketch_ready.connect(finished)
    studio.decode_failed.connect(failed)
    studio.decode_cancelled.connect(lambda: failed("a decode was cancelled"))
    studio.set_model(model, None, mid)  # nothing to decode yet: no photo
    studio.set_settings(SamplerSettings(steps=steps))
    try:
        QTimer.singleShot(0, lambda: request(0))
        loop.exec()
    finally:
        studio.shutdown()
        # Delete it here, on this thread: left to the garbage collector, it (and its timer)
        # could be destroyed on whichever thread happens to run a collection.
        studio.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    if state["error"]:
        raise RuntimeError(f"decode {state['done'] + 1} failed: {state['error']}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(default_model_path()), help="model .safetensors (default: the shipped one)")
    p.add_argument("--n", type=int, default=1000, help="decodes per path")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--path", choices=(*PATHS, "both"), default="both")
    p.add_argument("--warmup", type=int, default=50, help="decodes before the reference reading (at most n/2)")
    p.add_argument("--every", type=int, default=100, help="read memory every this many decodes")
    p.add_argument("--photo", default=str(resources_dir() / "sample_face.png"))
    p.add_argument("--max-growth-mb", type=float, default=MAX_GROWTH_MB,
                   help="exit 1 when a path grows more than this after the warm-up (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print a JSON summary instead of the table")
    return p


def print_table(report: dict) -> None:
    print(f"model {report['model_id']}, {report['n']} decodes of {report['steps']} steps per path")
    for name, s in report["paths"].items():
        print(f"\n{name}: {s['decode_s'] * 1000:.0f} ms a decode after the warm-up "
              f"({s['first_decodes_s'] * 1000:.0f} ms during it)")
        print(f"  {'decode':>7}  {'RSS MB':>8}  {'vs warm-up':>10}  {'elapsed s':>9}")
        for r in s["rss"]:
            print(f"  {r['decode']:>7}  {r['rss_mb']:>8.1f}  {r['rss_mb'] - s['warm_rss_mb']:>+10.1f}  "
                  f"{r['elapsed_s']:>9.1f}")
        print(f"  growth after decode {s['warmup']}: {s['growth_mb']:+.1f} MB "
              f"({s['growth_kb_per_decode']:+.2f} KB a decode; highest reading {s['peak_growth_mb']:+.1f} MB), "
              f"limit {report['max_growth_mb']:.0f} MB")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.n < 2 or args.steps < 1 or args.every < 1:
        raise SystemExit("soak: --n must be at least 2, --steps and --every at least 1")
    torch.set_flush_denormal(True)  # as the CLI and the app do (cli.main)
    model, _info, mid = load(args.model)
    warmup = max(1, min(args.warmup, args.n // 2))
    report = {"model": args.model, "model_id": mid, "n": args.n, "steps": args.steps,
              "torch_threads": torch.get_num_threads(), "start_rss_mb": round(rss_mb(), 1),
              "max_growth_mb": args.max_growth_mb, "paths": {}}
    for name in PATHS if args.path == "both" else (args.path,):
        meter = Meter(args.n, warmup, args.every)
        (soak_cli if name == "cli" else soak_gui)(model, mid, Path(args.photo), args.n, args.steps, meter)
        report["paths"][name] = meter.summary()
    over = [name for name, s in report["paths"].items() if s["growth_mb"] > args.max_growth_mb]
    report["over_limit"] = over
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    for name in over:
        print(f"soak: {name}: memory grew {report['paths'][name]['growth_mb']:+.1f} MB after the warm-up, "
              f"over the {args.max_growth_mb:g} MB limit", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
