"""`sketchstudio eval`: SCOOT and SSIM per style against drawn sketches, with baselines.

Every generated sketch is resized to its ground truth's size first, as the FS2K
toolbox does. The same run scores three baselines on the same pairs: a blank
white page, OpenCV's pencil sketch, and XDoG lines.

It also measures what is drawn (core/drawn_parts.py), for the drawings themselves as well:
per-part inking (`ink_jaw`, `ink_brows`, `ink_eyes`, `ink_nose`, `ink_lips`: the share of
each face part's line, located on the photo by Face Mesh, with ink within 3 px at 250 px;
pairs where no face is found are left out of these), the mid-grey share (`midgrey`, tonal
wash) and the ink outside the person mask (`ink_out`).
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from .core.drawn_parts import ink_outside, mid_grey_share, part_inking
from .core.face_structure import default_models
from .core.imaging import load_image
from .core.metrics import fsim, fsim_features, scoot, ssim_uint8
from .core.sampler import SamplerSettings, finished, sample
from .core.styles import canonical
from .core.tokenizer import render_size
from .data.datasets import DataReport, load_fs2k
from .data.prepare import prepare_image
from .data.synthetic import xdog

BASELINES = ("blank", "opencv-pencil", "xdog")


def baseline(name: str, rgb: np.ndarray) -> np.ndarray:
    """A greyscale uint8 sketch of `rgb` (H, W, 3) made without the model."""
    if name == "blank":
        return np.full(rgb.shape[:2], 255, np.uint8)
    if name == "opencv-pencil":
        grey, _ = cv2.pencilSketch(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), sigma_s=60, sigma_r=0.07, shade_factor=0.05)
        return grey
    if name == "xdog":
        return xdog(rgb, seed=0)
    raise ValueError(name)


def generate(model, photo: Image.Image, style: str, settings: SamplerSettings) -> np.ndarray:
    """The model's sketch of the whole photo, at the photo's own size, uint8 (H, W)."""
    prep = prepare_image(photo, model.photo_size, crop="none")
    w = torch.zeros(len(model.styles))
    w[model.styles.index(style)] = 1.0
    res = sample(model, prep.tensor, w, settings.with_(preview="none"))
    # Drawn at the photo's size (= its drawing's): the renderer draws there directly (up to
    # tokenizer.RENDER_MAX); a model without one has its decode resized (bicubic).
    out = finished(model, res, render_size(photo.size))[0, 0].mul(255).round().byte().numpy()
    return out if out.shape[::-1] == photo.size else cv2.resize(out, photo.size, interpolation=cv2.INTER_CUBIC)


def photo_structure(rgb: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The face parts' lines in the photo's pixels ({} when no face is found) and the person
    mask at the photo's size (found on the photo squashed to a square, as the model sees it)."""
    models = default_models()
    face = models.analyse(rgb)
    segments = models.part_segments(face) if face is not None else {}
    h, w = rgb.shape[:2]
    square = cv2.resize(rgb, (256, 256), interpolation=cv2.INTER_AREA)
    person = cv2.resize(models.person_mask(square, 256), (w, h), interpolation=cv2.INTER_LINEAR)
    return segments, person


def drawn(sketch: np.ndarray, segments: dict[str, np.ndarray], person: np.ndarray) -> dict[str, float]:
    """What `sketch` draws: per-part inking, the mid-grey share and the ink outside the person."""
    out = {f"ink_{part}": v for part, v in part_inking(sketch, segments).items()}
    out.update(midgrey=mid_grey_share(sketch), ink_out=ink_outside(sketch, person))
    return out


def saved_name(photo: Path) -> str:
    """File name of a saved sketch: FS2K reuses photo stems across its photo folders."""
    return f"{photo.parent.name}-{photo.stem}.png"


def evaluate(model, data_dir, settings: SamplerSettings = SamplerSettings(), limit: int | None = None,
             progress=None, save_dir: Path | None = None, with_fsim: bool = True, seed: int = 0) -> dict:
    """Score the model (and the baselines) on the pairs of `data_dir`; pair n is sampled with
    seed `seed + n`, so another `seed` gives an independent draw of the same pairs."""
    report = DataReport()
    pairs = load_fs2k(data_dir, report)[:limit]
    scores: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for n, pair in enumerate(pairs):
        photo = load_image(pair.photo)
        gt = np.asarray(load_image(pair.sketch).convert("L"))
        rgb = np.asarray(photo)
        candidates = {b: baseline(b, rgb) for b in BASELINES}
        if model is not None:
            candidates["model"] = generate(model, photo, canonical(pair.style, model.styles), settings.with_(seed=seed + n))
            if save_dir is not None:
                save_dir.mkdir(parents=True, exist_ok=True)
                Image.fromarray(candidates["model"]).save(save_dir / saved_name(pair.photo))
        gt_fsim = fsim_features(gt) if with_fsim else None
        segments, person = photo_structure(rgb)
        for name, pred in {"drawing": gt, **candidates}.items():
            values = drawn(pred, segments, person)
            if name != "drawing":
                values.update(scoot=scoot(gt, pred), ssim=ssim_uint8(gt, pred))
                if with_fsim:
                    values["fsim"] = fsim(gt_fsim, pred)
            for metric, v in values.items():
                scores[name][f"{pair.style}/{metric}"].append(v)
                scores[name][f"all/{metric}"].append(v)
        if progress:
            progress(n + 1, len(pairs))
    table = {name: {k: float(np.nanmean(v)) for k, v in metrics.items()} for name, metrics in scores.items()}
    counts = defaultdict(int)
    for p in pairs:
        counts[p.style] += 1
    return {"pairs": len(pairs), "per_style_pairs": dict(counts), "scores": table,
            "settings": {**{k: getattr(settings, k) for k in ("steps", "temperature", "self_guidance", "style_guidance")},
                         "seed": seed},
            "skipped": report.lines(),
            "not_computed": {"lpips": "needs local backbone weights (not supported yet)",
                             "fid": "needs local Inception weights (not supported yet)",
                             **({} if with_fsim else {"fsim": "skipped with --no-fsim"})}}


def paper_grey(sketch: np.ndarray, person: np.ndarray) -> float:
    """Mean grey level (0-255) of the sketch well outside the person (mask < 0.2); nan if none is."""
    outside = person < 0.2
    return float(sketch[outside].mean()) if outside.any() else float("nan")


def spread(pairs: list, limit: int | None) -> list:
    """`limit` pairs spread evenly over `pairs` (all of them without a limit)."""
    if not limit or limit >= len(pairs):
        return pairs
    return [pairs[i] for i in np.linspace(0, len(pairs) - 1, limit).round().astype(int)]


def evaluate_robust(model, data_dir, settings: SamplerSettings = SamplerSettings(), limit: int | None = None,
                    progress=None, seed: int = 0) -> dict:
    """For each change a user's photo brings (data/photo_changes.py), the SCOOT of the changed
    photo's sketch against the unchanged drawing, its drop from the unchanged photo's, and the
    paper's grey level outside the person (the drawings' own beside it). Pair n, change c: the
    change drawn with seed (n, c), the sketch sampled with seed `seed + n` for every change, so
    what differs between the columns is the photo alone."""
    from .data.photo_changes import CHANGES

    report = DataReport()
    pairs = spread(load_fs2k(data_dir, report), limit)
    names = ("none", *CHANGES)
    scores: dict[str, list[float]] = defaultdict(list)
    for n, pair in enumerate(pairs):
        photo = load_image(pair.photo)
        gt = np.asarray(load_image(pair.sketch).convert("L"))
        rgb = np.asarray(photo)
        _, person = photo_structure(rgb)
        scores["drawing/paper"].append(paper_grey(gt, person))
        style = canonical(pair.style, model.styles)
        for c, name in enumerate(names):
            changed = rgb if name == "none" else CHANGES[name](rgb, person, np.random.default_rng([n, c]))
            pred = generate(model, Image.fromarray(changed), style, settings.with_(seed=seed + n))
            scores[f"{name}/scoot"].append(scoot(gt, pred))
            scores[f"{name}/paper"].append(paper_grey(pred, person))
        if progress:
            progress(n + 1, len(pairs))
    table = {k: float(np.nanmean(v)) for k, v in scores.items()}
    for name in CHANGES:
        table[f"{name}/scoot_drop"] = table["none/scoot"] - table[f"{name}/scoot"]
    return {"pairs": len(pairs), "changes": list(names), "scores": table, "seed": seed,
            "per_pair": {k: [round(x, 4) for x in v] for k, v in scores.items()}, "skipped": report.lines()}


def format_robust(res: dict) -> str:
    t = res["scores"]
    lines = [f"{res['pairs']} pairs; drawings' paper outside the person: {t['drawing/paper']:.1f} grey",
             f"{'change':<22}{'SCOOT':>8}{'drop':>8}{'paper':>8}"]
    for name in res["changes"]:
        drop = t.get(f"{name}/scoot_drop", 0.0)
        lines.append(f"{name:<22}{t[name + '/scoot']:>8.4f}{drop:>8.4f}{t[name + '/paper']:>8.1f}")
    return "\n".join(lines)


def format_report(res: dict) -> str:
    scores = res["scores"]
    keys = sorted({k for v in scores.values() for k in v}, key=lambda k: (k.startswith("all"), k))
    names = [n for n in ("drawing", "model", *BASELINES) if n in scores]
    lines = [f"{res['pairs']} pairs " + ", ".join(f"{s}: {n}" for s, n in sorted(res["per_style_pairs"].items()))]
    lines.append(f"{'metric':<16}" + "".join(f"{n:>15}" for n in names))
    for k in keys:
        lines.append(f"{k:<16}" + "".join(f"{scores[n][k]:>15.4f}" if k in scores[n] else f"{'-':>15}" for n in names))
    for k, why in res["not_computed"].items():
        lines.append(f"{k.upper()}: not computed ({why})")
    return "\n".join(lines)


def main(args) -> int:
    from tqdm import tqdm

    from .model_files import UserError, load, sampler_settings

    if not (Path(args.data) / "pairs.csv").is_file():
        raise UserError(f"{args.data}: no pairs.csv (expected an FS2K-style folder)")
    model, info = (None, {}) if args.baselines_only else load(args.model)[:2]
    bar = tqdm(unit="pair", file=sys.stderr, disable=args.json)

    def progress(i, n):
        bar.total = n
        bar.update(i - bar.n)

    try:
        settings = sampler_settings(args, info)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.robust:
        if model is None:
            raise UserError("--robust scores a model; it has no baselines-only form")
        res = evaluate_robust(model, args.data, settings, args.limit, progress, seed=args.seed)
        bar.close()
        print(json.dumps(res, indent=2) if args.json else format_robust(res))
        return 0
    res = evaluate(model, args.data, settings, args.limit, progress,
                   Path(args.save) if args.save else None, with_fsim=not args.no_fsim, seed=args.seed)
    bar.close()
    print(json.dumps(res, indent=2) if args.json else format_report(res))
    return 0
