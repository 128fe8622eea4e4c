"""How long until a new style, fine-tuned from 50 drawings, is recognisable? (issue #6, item 4)

    .venv/bin/python tools/bench/bench_new_style.py [--model models/sketchstudio-default.safetensors] \
        [--data ../shared/data/fs2k-train] [--pairs 50] [--check 20] [--every 25] [--max-minutes 20] \
        [--out DIR] [--json]

Target: on 2 CPU cores, the shipped model learns a new style from 50 pairs in at most 15 minutes.

The artist. The shipped model already knows contour, charcoal and pencil (FS2K) and the three
synthetic styles, so the "artist's drawings" are a look none of them has: bold ink, a woodcut
made from the photo (thick black contours plus flat black shadows, white elsewhere; `ink_drawing`,
deterministic). It is drawn from FS2K photos outside the model's held-out split (the same
`split_by_style` call, seed 0, the pipeline made it with), spread over the three FS2K sources,
and written as a "my drawings" folder (photos/ + drawings/, matched by stem): what a user gives
the wizard. The check photos come from the held-out split (never trained on by either model),
each with its FS2K style.

Training. The wizard's "new style" job exactly: `TrainingPlan(...).pipeline_options()` and
`plan.sources()` from app/training_plan.py (Qt-free) into `run_pipeline`, starting from
`--model`, at a wizard preset's step count (`--preset`, default the wizard's default
`standard`). The pipeline itself holds out 10 % of the 50 pairs, as it does for a user; its
own previews and checkpoints run at the wizard's cadence and count as training time.

Recognisable. A small CNN (tools/bench/style_classifier.py) learns four classes: the FS2K training
sketches (contour, charcoal, pencil) and the 50 ink drawings; it is scored on the held-out FS2K
sketches plus the check photos' ink drawings. Every classifier image first goes through the
model's own tokenizer (encode, decode; the tokenizer is frozen while fine-tuning), so the
classifier judges style within what the model can render, not the tokenizer's blur
(`--raw-classifier` turns this off). Every `--every` steps the live model draws the check
photos in the new style and, each in its own FS2K style, in the old ones (8 sampler steps,
fixed seeds). Recognisable = at least `--target` of the new-style sketches labelled as the new
style while the old-style sketches stay within `--old-drop` of their step-0 rate (fine-tuning
sees only the new drawings, so the old styles may drift). Each check also scores the old styles'
sketches against the check photos' FS2K drawings (SCOOT) and says how far, in grey levels, they
moved from step 0 (0: bit for bit; the wizard's adapters should keep them there). Training
time is wall time from the start of `run_pipeline` (data preparation and model loading
included: the user waits for them too) with the evaluations left out. Checks run through
every stage of the plan (fine-tuning, then the renderer's new column); it stops when the plan
is done, at `--max-minutes` of training time, or with `--stop-early` at the first success.

Output: a table (stage, step, training minutes, % new style recognised, % old styles kept,
old styles' SCOOT, how far they moved, mean ink),
`--json` a summary, and OUT/strip.png: check photos | target drawing | step 0 | end.
`--tiny` is the smoke test: a tiny-preset model (built here unless `--model` names one),
a handful of pairs and steps.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from sketchstudio.app.logic.training_plan import PRESET_STEPS, TrainingPlan, name_problem
from sketchstudio.core import build_model, preset
from sketchstudio.core.checkpoint import load_model, read_config, save_model
from sketchstudio.core.config import FS2K_STYLES
from sketchstudio.core.imaging import load_image
from sketchstudio.core.metrics import scoot
from sketchstudio.core.sampler import SamplerSettings, finished, sample
from sketchstudio.data.datasets import Pair, load_fs2k, split_by_style, unique_stems
from sketchstudio.paths import default_model_path
from sketchstudio.train.pipeline import run_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
from style_classifier import prep, train_classifier  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FS2K = ROOT.parent / "shared" / "data" / "fs2k-train"
TILE = 128  # strip cell size
DECODE_CHUNK = 10  # check photos per sampler call


# --- the artist --------------------------------------------------------------------------
def ink_drawing(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 photo -> a bold ink drawing (uint8, 0 or 255) of the same size."""
    s = max(rgb.shape[:2]) / 256.0  # parameters are tuned at 256 px
    disc = lambda d: cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (d, d))  # noqa: E731
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    smooth = cv2.bilateralFilter(grey, d=0, sigmaColor=40, sigmaSpace=4 * s)
    smooth = cv2.GaussianBlur(smooth, (0, 0), 1.5 * s).astype(np.float32)
    # Flat shadows: the darkest quarter of the photo (never a mid-grey), small islands removed.
    shadow = (smooth < min(np.percentile(smooth, 25), 95)).astype(np.uint8)
    shadow = cv2.morphologyEx(shadow, cv2.MORPH_OPEN, disc(int(7 * s) | 1))
    # Bold contours: the strongest tenth of a difference of Gaussians, thickened to ~4 px at 256.
    dog = cv2.GaussianBlur(smooth, (0, 0), 2.4 * s) - cv2.GaussianBlur(smooth, (0, 0), 1.2 * s)
    lines = (dog > np.percentile(dog, 90)).astype(np.uint8)
    lines = cv2.morphologyEx(lines, cv2.MORPH_OPEN, disc(2))
    lines = cv2.dilate(lines, disc(int(4 * s) | 1))
    return np.where((shadow > 0) | (lines > 0), 0, 255).astype(np.uint8)


# --- data ----------------------------------------------------------------------------------
def spread(pairs: list[Pair], n: int, rng: random.Random) -> list[Pair]:
    """n pairs taken in turn from each FS2K style (so from each photo source), shuffled within."""
    groups = [sorted((p for p in pairs if p.style == s), key=lambda p: str(p.photo)) for s in FS2K_STYLES]
    for g in groups:
        rng.shuffle(g)
    out = []
    while len(out) < n and any(groups):
        for g in groups:
            if g and len(out) < n:
                out.append(g.pop())
    return out


def write_drawings(pairs: list[Pair], folder: Path) -> tuple[list[str], list[np.ndarray]]:
    """A "my drawings" folder: photos/NAME.<ext> (the photo file) + drawings/NAME.png (its ink drawing)."""
    (folder / "photos").mkdir(parents=True, exist_ok=True)
    (folder / "drawings").mkdir(exist_ok=True)
    names, drawings = unique_stems([p.photo for p in pairs]), []
    for name, p in zip(names, pairs):
        shutil.copyfile(p.photo, folder / "photos" / f"{name}{p.photo.suffix.lower()}")
        d = ink_drawing(np.asarray(load_image(p.photo)))
        Image.fromarray(d, "L").save(folder / "drawings" / f"{name}.png")
        drawings.append(d)
    return names, drawings


def squash(a: np.ndarray, size: int) -> np.ndarray:
    # As the data cache does: the whole image to a square, pixel-aligned with its photo.
    return cv2.resize(a, (size, size), interpolation=cv2.INTER_AREA)


def photo_batch(pairs: list[Pair], size: int) -> torch.Tensor:
    a = np.stack([squash(np.asarray(load_image(p.photo)), size) for p in pairs])  # (N, S, S, 3)
    return torch.from_numpy(a).permute(0, 3, 1, 2).contiguous()  # (N, 3, S, S) uint8


def sketch_batch(images: list[np.ndarray], size: int) -> torch.Tensor:
    return torch.from_numpy(np.stack([squash(a, size) for a in images]))[:, None]  # (N, 1, S, S) uint8


def grey(path: Path) -> np.ndarray:
    return np.asarray(load_image(path).convert("L"))


# --- the judge -------------------------------------------------------------------------------
@torch.no_grad()
def round_trip(model, sketches: torch.Tensor) -> torch.Tensor:
    """uint8 sketches (M, 1, S, S) as the model's tokenizer renders them, uint8."""
    out = []
    for i in range(0, len(sketches), 32):
        x = sketches[i:i + 32].float() / 255.0  # (b, 1, S, S)
        out.append((model.decode(model.tokenizer.encode(x)) * 255).round().byte())
    return torch.cat(out)


def build_classifier(model, train: tuple[torch.Tensor, torch.Tensor], held: tuple[torch.Tensor, torch.Tensor],
                     epochs: int, raw: bool):
    """A 4-class CNN (FS2K styles 0-2, new style 3) and its accuracy on the held-out sketches."""
    (x, y), (hx, hy) = train, held
    if not raw:
        x, hx = round_trip(model, x), round_trip(model, hx)
    # The new style has 50 drawings against ~300 per FS2K style: repeat them to balance the classes.
    new = (y == 3).nonzero().flatten()
    reps = max(1, round(int((y < 3).sum()) / 3 / max(1, len(new)))) - 1
    x, y = torch.cat([x, *[x[new]] * reps]), torch.cat([y, *[y[new]] * reps])
    net = train_classifier(prep(x), y, epochs=epochs)
    pred = net(prep(hx)).argmax(1)
    names = [*FS2K_STYLES, "new"]
    per = {names[c]: round(float((pred[hy == c] == c).float().mean()), 3) for c in hy.unique().tolist()}
    return net, {"accuracy": round(float((pred == hy).float().mean()), 3), "per_class": per, "held_out": len(hy)}


@torch.no_grad()
def draw(model, photos: torch.Tensor, styles: list[int]) -> torch.Tensor:
    """photos (N, 3, S, S) uint8, one model style index each -> sketches (N, 1, S', S') in [0, 1]."""
    model.eval()
    out = []
    for c, i in enumerate(range(0, len(photos), DECODE_CHUNK)):
        w = F.one_hot(torch.tensor(styles[i:i + DECODE_CHUNK]), len(model.styles)).float()  # (b, K)
        batch = photos[i:i + DECODE_CHUNK].float() / 255.0  # (b, 3, S, S)
        res = sample(model, batch, w, SamplerSettings(steps=8, seed=c, preview="none"))
        out.append(finished(model, res))
    return torch.cat(out)


class Judge:
    """Draws the check photos with the live model and scores the sketches with the classifier."""

    def __init__(self, net, photos: torch.Tensor, fs2k_style: list[int], new_name: str, drawings: list[np.ndarray]):
        self.net, self.photos, self.fs2k_style, self.new_name = net, photos, fs2k_style, new_name
        self.drawings = drawings  # the check photos' FS2K drawings, (S, S) uint8 at the model's decode size
        self.old_first = None

    def __call__(self, model) -> tuple[dict, torch.Tensor]:
        t0 = time.perf_counter()
        new = draw(model, self.photos, [model.styles.index(self.new_name)] * len(self.photos))
        old = draw(model, self.photos, [model.styles.index(FS2K_STYLES[s]) for s in self.fs2k_style])
        with torch.no_grad():
            p_new = self.net(prep((new * 255).round())).argmax(1)
            p_old = self.net(prep((old * 255).round())).argmax(1)
        u8 = (old[:, 0] * 255).round().byte().numpy()  # (n, S, S)
        row = {"new": float((p_new == 3).float().mean()),
               "old": float((p_old == torch.tensor(self.fs2k_style)).float().mean()),
               # The old styles' sketches of the check photos against the artists' FS2K drawings.
               "old_scoot": float(np.mean([scoot(self.drawings[i], u8[i]) for i in range(len(u8))])),
               "ink": float(255 * (1 - new.mean())), "eval_s": time.perf_counter() - t0}
        if self.old_first is None:
            self.old_first = old
        # How far the old styles' sketches moved from step 0, in grey levels (0 = bit for bit).
        row["old_moved"] = float((old - self.old_first).abs().max() * 255)
        return row, new


def save_strip(path: Path, photos, targets, first, last, n: int = 4) -> None:
    def cell(t):  # (C, S, S) in [0, 1]
        t = F.interpolate(t[None].float(), size=(TILE, TILE), mode="area" if t.shape[-1] >= TILE else "nearest")[0]
        return t.expand(3, -1, -1)
    rows = [torch.cat([cell(photos[i] / 255.0), cell(targets[i] / 255.0), cell(first[i]), cell(last[i])], 2)
            for i in range(min(n, len(photos)))]
    img = torch.cat(rows, 1).clamp(0, 1).permute(1, 2, 0)  # (H, W, 3)
    Image.fromarray((img.numpy() * 255).round().astype(np.uint8)).save(path)


# --- the benchmark --------------------------------------------------------------------------
def run(args) -> dict:
    out = Path(args.out or tempfile.mkdtemp(prefix="bench-new-style-"))
    out.mkdir(parents=True, exist_ok=True)
    log = (lambda s: print(s, file=sys.stderr, flush=True)) if args.json else (lambda s: print(s, flush=True))
    if args.model is None and args.tiny:
        torch.manual_seed(0)
        args.model = str(out / "tiny.safetensors")
        save_model(build_model(preset("tiny")), args.model, info={"note": "bench_new_style --tiny"})
    model_path = Path(args.model or default_model_path())
    base, _ = load_model(model_path)
    if problem := name_problem(args.style_name, "new_style", base.styles):
        raise SystemExit(f"--style-name {args.style_name!r}: {problem}")
    size = read_config(model_path)[0].tokenizer.image_size  # the pipeline's data size

    # The artist's 50 pairs from the model's training split; check photos from its held-out split.
    train_split, val_split = split_by_style(load_fs2k(args.data), 0.1, 0)
    rng = random.Random(args.seed)
    chosen = spread(train_split, args.pairs, rng)
    check = spread(val_split, args.check, rng)
    check += spread([p for p in train_split if p not in chosen], args.check - len(check), rng)
    folder = out / "my-drawings"
    _, drawings = write_drawings(chosen, folder)
    _, check_drawings = write_drawings(check, out / "check")
    log(f"{len(chosen)} ink drawings in {folder}, {len(check)} check photos in {out / 'check'}")

    t0 = time.perf_counter()
    fs2k_idx = {s: i for i, s in enumerate(FS2K_STYLES)}
    cx = torch.cat([sketch_batch([grey(p.sketch) for p in train_split], size), sketch_batch(drawings, size)])
    cy = torch.tensor([fs2k_idx[p.style] for p in train_split] + [3] * len(drawings))
    hx = torch.cat([sketch_batch([grey(p.sketch) for p in val_split], size), sketch_batch(check_drawings, size)])
    hy = torch.tensor([fs2k_idx[p.style] for p in val_split] + [3] * len(check_drawings))
    net, clf = build_classifier(base, (cx, cy), (hx, hy), args.epochs, args.raw_classifier)
    log(f"classifier: {clf['accuracy']:.1%} on {clf['held_out']} held-out real sketches {clf['per_class']} "
        f"({time.perf_counter() - t0:.0f} s)")
    check_photos = photo_batch(check, size)
    s_out = base.output_size
    check_fs2k = [cv2.resize(grey(p.sketch), (s_out, s_out), interpolation=cv2.INTER_AREA) for p in check]
    judge = Judge(net, check_photos, [fs2k_idx[p.style] for p in check], args.style_name, check_fs2k)
    del base

    steps = args.steps or PRESET_STEPS[args.preset]
    plan = TrainingPlan("new_style", args.style_name, str(model_path), str(folder), preset=args.preset, steps=steps)
    run_dir = out / "run"
    log(f"fine-tuning {model_path.name} on '{args.style_name}': {args.preset} preset, {steps} steps, "
        f"batch {plan.batch}, {torch.get_num_threads()} threads; evaluating every {args.every} steps")
    log(f"{'stage':>8} {'step':>6} {'train min':>9} {'new %':>6} {'old %':>6} {'old SCOOT':>9} {'old moved':>9} "
        f"{'ink':>6} {'eval s':>7}")
    history, eval_s, first, last = [], 0.0, None, None
    setup_s = None
    result = {"stopped_because": "preset finished", "minutes_to_recognisable": None, "minutes_new_style_only": None,
              "steps_to_recognisable": None}
    cap = args.max_minutes * 60
    start = time.perf_counter()
    train_s = lambda: time.perf_counter() - start - eval_s  # noqa: E731
    options = plan.pipeline_options(resume=False)
    if args.only_new_styles:  # the experiment: learn only the new style's embedding row
        options = dataclasses.replace(options, stage_options=dataclasses.replace(options.stage_options,
                                                                                 only_new_styles=True))
    pipeline = run_pipeline(plan.sources(), run_dir, options)
    try:
        for ev in pipeline:
            if ev.stage not in plan.stages or ev.kind not in ("start", "step"):
                continue
            if ev.kind == "start":
                if setup_s is None:
                    setup_s = train_s()
                model = ev.model  # the module being trained, evaluated while the generator waits
                if history:  # a later stage: its first check is at its first --every step
                    continue
            elif not (ev.step % args.every == 0 or ev.step == ev.total or train_s() >= cap):
                continue
            t = train_s()
            row, sketches = judge(model)
            eval_s += row["eval_s"]
            row = {"stage": ev.stage, "step": ev.step, "train_min": t / 60, **row}
            history.append(row)
            first = sketches if first is None else first
            last = sketches
            log(f"{ev.stage:>8} {ev.step:>6} {t / 60:>9.2f} {100 * row['new']:>6.0f} {100 * row['old']:>6.0f} "
                f"{row['old_scoot']:>9.3f} {row['old_moved']:>9.1f} {row['ink']:>6.1f} {row['eval_s']:>7.1f}")
            if ev.kind == "start":
                continue
            kept = row["old"] >= history[0]["old"] - args.old_drop
            if row["new"] >= args.target and result["minutes_new_style_only"] is None:
                result["minutes_new_style_only"] = round(t / 60, 2)
            if row["new"] >= args.target and kept and result["minutes_to_recognisable"] is None:
                result.update(minutes_to_recognisable=round(t / 60, 2), steps_to_recognisable=f"{ev.stage} {ev.step}")
                if args.stop_early:
                    result["stopped_because"] = "recognisable"
                    break
            if t >= cap:
                result["stopped_because"] = f"time cap ({args.max_minutes} min)"
                break
    finally:
        pipeline.close()
    if not history:
        raise RuntimeError("the fine-tuning stage never started")
    end = history[-1]
    per_stage = {}
    for st in dict.fromkeys(r["stage"] for r in history):
        rows = [r for r in history if r["stage"] == st]
        if rows[-1]["step"] > rows[0]["step"]:
            per_stage[st] = round((rows[-1]["train_min"] - rows[0]["train_min"]) * 60
                                  / (rows[-1]["step"] - rows[0]["step"]), 3)
    result.update(
        steps=end["step"], seconds_per_step=per_stage,
        setup_s=round(setup_s, 1), train_minutes=round(end["train_min"], 2),
        eval_s_mean=round(float(np.mean([r["eval_s"] for r in history])), 2),
        classifier_accuracy=clf["accuracy"], classifier_per_class=clf["per_class"],
        baseline={k: round(history[0][k], 4) for k in ("new", "old", "old_scoot", "ink")},
        final={k: round(end[k], 4) for k in ("new", "old", "old_scoot", "old_moved", "ink")},
        history=[{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in history],
        settings={"model": str(model_path), "style": args.style_name, "preset": args.preset, "planned_steps": steps,
                  "batch": plan.batch, "pairs": len(chosen), "check": len(check), "every": args.every,
                  "target": args.target, "old_drop": args.old_drop, "max_minutes": args.max_minutes,
                  "threads": torch.get_num_threads(),
                  "classifier_input": "raw" if args.raw_classifier else "tokenized"},
        drawings=str(folder), run=str(run_dir), strip=str(out / "strip.png"),
    )
    # A judge that cannot tell the styles apart makes any time meaningless: say so.
    result["warnings"] = [w for w, bad in (
        (f"the classifier is right on only {clf['accuracy']:.0%} of held-out real sketches",
         clf["accuracy"] < args.target),
        ("the new style passed before any training: the check cannot tell it apart",
         history[0]["new"] >= args.target),
    ) if bad]
    for w in result["warnings"]:
        log(f"WARNING: {w}")
    save_strip(out / "strip.png", check_photos, sketch_batch(check_drawings, size), first, last)
    mins = result["minutes_to_recognisable"]
    log(f"{result['stopped_because']}: " + (f"recognisable after {mins} min ({result['steps_to_recognisable']} steps)"
                                              if mins is not None else "not recognisable")
        + f"; {result['seconds_per_step']} s/step, setup {result['setup_s']} s; strip {out / 'strip.png'}")
    return result


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="model to fine-tune (default: the shipped model; with --tiny: a new tiny one)")
    ap.add_argument("--data", default=str(FS2K), help="FS2K folder (pairs.csv)")
    ap.add_argument("--pairs", type=int, help="the artist's pairs (default 50; --tiny 6)")
    ap.add_argument("--check", type=int, help="check photos (default 20; --tiny 4)")
    ap.add_argument("--every", type=int, help="evaluate every N steps (default 25; --tiny 2)")
    ap.add_argument("--max-minutes", type=float, default=20.0, help="training-time cap")
    ap.add_argument("--preset", choices=sorted(PRESET_STEPS), default="standard", help="the wizard's length")
    ap.add_argument("--steps", type=int, help="override the preset's step count (--tiny: 4)")
    ap.add_argument("--target", type=float, default=0.9, help="share of new-style sketches labelled as it")
    ap.add_argument("--old-drop", type=float, default=0.1, help="allowed drop of the old styles' rate from step 0")
    ap.add_argument("--style-name", default="ink")
    ap.add_argument("--epochs", type=int, help="classifier epochs (default 12; --tiny 1)")
    ap.add_argument("--raw-classifier", action="store_true", help="classify raw sketches, not tokenizer round trips")
    ap.add_argument("--only-new-styles", action="store_true",
                    help="train only the new style's embedding row (StageOptions.only_new_styles), not the wizard's plan")
    ap.add_argument("--stop-early", action="store_true", help="stop at the first recognisable check (else run the plan)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="output folder (default: a new temporary folder)")
    ap.add_argument("--json", action="store_true", help="print a JSON summary (the table goes to stderr)")
    ap.add_argument("--tiny", action="store_true", help="smoke test: tiny model, tiny data, a few steps")
    args = ap.parse_args(argv)
    small = {"pairs": 6, "check": 4, "every": 2, "steps": 4, "epochs": 1}
    full = {"pairs": 50, "check": 20, "every": 25, "steps": None, "epochs": 12}
    for k, v in (small if args.tiny else full).items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_flush_denormal(True)
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
