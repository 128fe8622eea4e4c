"""Where does a sketch lose SCOOT: resolution, tokenizer, renderer or transformer? (issues #4, #12)

    .venv/bin/python tools/bench/texture_ceiling.py --data runs/v4/val --model A.safetensors [B ...] \
        [--sample] [--save DIR] [--limit N] [--json]

SCOOT reads grey-level co-occurrence between neighbouring pixels at the drawing's own
resolution. For each held-out pair this scores, against the drawing itself:
  * the drawing resized to the decoder's 256 px and back, and via 512 px (resolution alone);
  * for each --model M: the drawing's own tokens (what a perfect transformer would give)
    drawn by M's head (texture head or stroke renderer) at the drawing's size, the same
    tokens' 256 px decode only resized, and the tokens of a blank page drawn by M's head
    (what the head draws with nothing to go on). A renderer that sees the photo (v6) is
    handed the pair's photo, as the sampler does, and also scored without it ("no photo"
    rows), so what the photo adds and what the tokens add are both visible;
  * with --sample, for each --model T whose codebook M shares: the tokens T's transformer
    samples for the photo (T's recommended settings, the pair's style, seed = pair index,
    the photo squashed to a square as `sketchstudio eval` does) drawn by M's head. The
    rows "T sampled -> M" beside "M own tokens" show the gap the transformer leaves, and
    the same tokens through two heads show what each head adds.
It also prints each transformer's token statistics on the drawings' own tokens: accuracy and
cross-entropy of its first decoding step (all tokens masked) and with half of them masked.
--save DIR writes every rendered candidate as DIR/<row>/<photo folder>-<stem>.png (the
names `tools/bench/style_classifier.py --generated` reads).
"""
from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from sketchstudio.core.checkpoint import load_model
from sketchstudio.core.imaging import load_image
from sketchstudio.core.metrics import scoot
from sketchstudio.core.sampler import recommended_settings, sample
from sketchstudio.core.styles import canonical
from sketchstudio.data.datasets import DataReport, load_fs2k
from sketchstudio.data.prepare import prepare_image
from sketchstudio.evaluate import saved_name


def back(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize uint8 `a` to (w, h): area where it shrinks, bicubic where it grows (as eval does)."""
    shrink = a.shape[1] >= size[0] and a.shape[0] >= size[1]
    return cv2.resize(a, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def u8(t: torch.Tensor) -> np.ndarray:
    return t[0, 0].mul(255).round().byte().numpy()


def sees_photo(model) -> bool:
    r = model.tokenizer.renderer
    return r is not None and r.sees_photo


def same_codebook(a, b) -> bool:
    ca, cb = a.tokenizer.codebook(), b.tokenizer.codebook()
    return ca.shape == cb.shape and torch.allclose(ca, cb, atol=1e-3)


@torch.inference_mode()
def token_stats(model, photo: torch.Tensor, style: torch.Tensor, ids: torch.Tensor, gen: torch.Generator) -> dict:
    """Accuracy and cross-entropy of the transformer's predictions of `ids` (1, N)."""
    mem = model.condition(photo)
    out = {}
    for name, frac in (("all masked", 1.0), ("half masked", 0.5)):
        mask = torch.rand(ids.shape, generator=gen) < frac if frac < 1 else torch.ones_like(ids, dtype=torch.bool)
        inputs = torch.where(mask, model.cfg.mask_id, ids)
        logits = model.logits(inputs, mem, style)[mask].float()  # (M, K)
        out[f"{name}: accuracy"] = (logits.argmax(-1) == ids[mask]).float().mean().item()
        out[f"{name}: cross-entropy"] = F.cross_entropy(logits, ids[mask]).item()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder with pairs.csv (the held-out split)")
    ap.add_argument("--model", nargs="*", default=[], help="models whose heads (and transformers) to score")
    ap.add_argument("--sample", action="store_true", help="also sample each model's tokens (slower)")
    ap.add_argument("--style-guidance", type=float, help="sample every model at this style guidance "
                    "(default: each model's recommendation)")
    ap.add_argument("--save", help="write every candidate under this folder")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    torch.set_flush_denormal(True)
    pairs = load_fs2k(Path(args.data), DataReport())[: args.limit]
    models = {}
    for m in args.model:
        model, info = load_model(m)
        settings = recommended_settings(info)
        if args.style_guidance is not None:
            settings = settings.with_(style_guidance=args.style_guidance)
        models[Path(m).stem] = (model.eval(), settings)
    scores: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    stats: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    gen = torch.Generator().manual_seed(0)
    for n, pair in enumerate(pairs):
        gt = np.asarray(load_image(pair.sketch).convert("L"))
        size = (gt.shape[1], gt.shape[0])
        cands = {
            "drawing via 256 px": back(cv2.resize(gt, (256, 256), interpolation=cv2.INTER_AREA), size),
            "drawing via 512 px": back(cv2.resize(gt, (512, 512), interpolation=cv2.INTER_CUBIC), size),
        }
        photo = load_image(pair.photo)
        sampled, preps = {}, {}
        for name, (m, settings) in models.items():
            s = m.sketch_size
            x = torch.from_numpy(cv2.resize(gt, (s, s), interpolation=cv2.INTER_AREA)).float().div(255)[None, None]
            w = torch.zeros(1, len(m.styles))  # the drawing's style (a style-aware renderer draws it)
            w[0, m.styles.index(canonical(pair.style, m.styles))] = 1.0
            prep = prepare_image(photo, m.photo_size, crop="none").tensor  # what the sampler sees
            preps[name] = prep
            with torch.inference_mode():
                ids = m.tokenizer.encode(x)
                blank = m.tokenizer.encode(torch.ones_like(x))
                cands[f"{name}: own tokens"] = u8(m.decode(ids, size=gt.shape, style=w, photo=prep))
                cands[f"{name}: own tokens, decode resized"] = u8(m.decode(ids, size=gt.shape, texture=False))
                cands[f"{name}: blank-page tokens"] = u8(m.decode(blank, size=gt.shape, style=w, photo=prep))
                if sees_photo(m):
                    cands[f"{name}: own tokens, no photo"] = u8(m.decode(ids, size=gt.shape, style=w))
                    cands[f"{name}: blank-page tokens, no photo"] = u8(m.decode(blank, size=gt.shape, style=w))
            if args.sample:
                sampled[name] = sample(m, prep, w, settings.with_(seed=n, preview="none")).tokens
                for k, v in token_stats(m, prep, w, ids, gen).items():
                    stats[name][k].append(v)
        for t_name, ids in sampled.items():
            for r_name, (r, _) in models.items():
                if same_codebook(models[t_name][0], r):
                    with torch.inference_mode():
                        rw = torch.zeros(1, len(r.styles))
                        rw[0, r.styles.index(canonical(pair.style, r.styles))] = 1.0
                        cands[f"{t_name} sampled -> {r_name}"] = u8(r.decode(ids, size=gt.shape, style=rw,
                                                                            photo=preps[r_name]))
                        if sees_photo(r):
                            cands[f"{t_name} sampled -> {r_name}, no photo"] = u8(
                                r.decode(ids, size=gt.shape, style=rw))
        for name, pred in cands.items():
            v = scoot(gt, pred)
            scores[name][pair.style].append(v)
            scores[name]["all"].append(v)
            if args.save:
                folder = Path(args.save) / re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")
                folder.mkdir(parents=True, exist_ok=True)
                Image.fromarray(pred).save(folder / saved_name(pair.photo))
    table = {name: {k: float(np.mean(v)) for k, v in d.items()} for name, d in scores.items()}
    token_table = {name: {k: float(np.mean(v)) for k, v in d.items()} for name, d in stats.items()}
    if args.json:
        print(json.dumps({"scoot": table, "tokens": token_table}, indent=2))
        return 0
    cols = ["all"] + sorted({k for d in table.values() for k in d} - {"all"})
    print(f"SCOOT against the drawing, {len(pairs)} held-out pairs")
    print(f"{'':52s}" + "".join(f"{c:>10s}" for c in cols))
    for name, d in table.items():
        print(f"{name:52s}" + "".join(f"{d.get(c, float('nan')):10.3f}" for c in cols))
    for name, d in token_table.items():
        print(f"{name} transformer on the drawings' own tokens: "
              + ", ".join(f"{k} {v:.3f}" for k, v in d.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
