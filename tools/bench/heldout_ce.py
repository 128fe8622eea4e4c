"""Held-out token cross-entropy and accuracy of models' transformers on a run's validation pairs.

    .venv/bin/python tools/bench/heldout_ce.py --data RUN/data.safetensors --model A.safetensors [B ...]
    .venv/bin/python tools/bench/heldout_ce.py --data RUN/data.safetensors --base INIT.safetensors \
        --model RUN/curve/state-*.safetensors      # a stage's training states: its CE curve

A training state (`RUN/STAGE.state.safetensors`, written at each checkpoint) holds the weights
but not the model's config: --base names the model file the stage started from, whose config
(and any weights the state lacks) it is read into.

For each held-out pair (the run's `val_*` tensors), the drawing's tokens are masked at the
ratios 0.3, 0.5, 0.7 and 0.9 (two fixed random masks each, the same for every model), and
the transformer predicts them from the photo (and its face-structure map, for a model that
takes one) in the pair's style, without guidance. Prints the mean cross-entropy (nats) and
top-1 accuracy over the masked tokens, per style and overall: the number that says whether
the transformer predicts drawings better, without the sampler's randomness.
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from sketchstudio.core.checkpoint import load_model  # noqa: E402
from sketchstudio.data.cache import TrainingData  # noqa: E402
from sketchstudio.train.base import resize_maps, to_float, tokenize_pair  # noqa: E402

RATIOS = (0.3, 0.5, 0.7, 0.9)
DRAWS = 2


@torch.inference_mode()
def pair_ce(model, photos, sketches, styles, maps, names, batch: int = 16) -> dict[str, tuple[float, float]]:
    """Masked-token CE and accuracy of uint8 photos (n, 3, S, S) -> drawings (n, 1, S, S) in
    `styles` (n,), per style name and "all"; maps: the photos' structure maps or None."""
    ids, _ = tokenize_pair(model.tokenizer, sketches)  # (V, N)
    n = ids.shape[1]
    if maps is not None:
        maps = resize_maps(maps, model.cfg.encoder.structure_size)
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for i in range(0, len(ids), batch):
        sl = slice(i, i + batch)
        photo = to_float(photos[sl])
        memory = model.condition(photo, None if maps is None else to_float(maps[sl]))
        style = F.one_hot(styles[sl], len(model.styles)).float()
        target = ids[sl]
        for r, ratio in enumerate(RATIOS):
            for d in range(DRAWS):
                g = torch.Generator().manual_seed(1000 * r + d)
                mask = torch.rand(len(photos), n, generator=g)[sl] < ratio  # the same for every model
                logits = model.transformer(torch.where(mask, model.cfg.mask_id, target), memory, style).float()
                ce = F.cross_entropy(logits[mask], target[mask], reduction="none")
                hit = (logits[mask].argmax(-1) == target[mask]).float()
                rows = mask.nonzero()[:, 0]
                for k, s in enumerate(styles[sl].tolist()):
                    sel = rows == k
                    for key in (names[s], "all"):
                        sums[key][0] += ce[sel].sum().item()
                        sums[key][1] += hit[sel].sum().item()
                        sums[key][2] += int(sel.sum())
    return {k: (v[0] / v[2], v[1] / v[2]) for k, v in sums.items()}


def heldout(model, data: TrainingData, batch: int = 16) -> dict[str, tuple[float, float]]:
    """`pair_ce` on the run's held-out pairs."""
    maps = None
    if model.uses_structure:
        data.ensure_structure()
        maps = data.val_structure
    return pair_ce(model, data.val_photo, data.val_sketch, data.val_style, maps, data.styles, batch)


def training(model, data: TrainingData, count: int, batch: int = 16) -> dict[str, tuple[float, float]]:
    """`pair_ce` on `count` training pairs spread over the run's training set (the same
    protocol as `heldout`, so the two differ only by whether the model has seen the pairs)."""
    pick = torch.linspace(0, len(data.real_style) - 1, count).round().long()
    photo_index = data.real_photo[pick]
    maps = None
    if model.uses_structure:
        data.ensure_structure()
        maps = data.photo_structure[photo_index]
    return pair_ce(model, data.photos[photo_index], data.real_sketch[pick], data.real_style[pick], maps,
                   data.styles, batch)


def figures(res: dict[str, tuple[float, float]]) -> str:
    return ", ".join(f"{k} CE {ce:.3f} acc {acc:.3f}" for k, (ce, acc) in sorted(res.items()))


def load_any(path: str, base: str | None):
    """A model file, or a training state read into `base`'s model: (model, the state's step or None)."""
    from safetensors import safe_open

    from sketchstudio.train.state import STATE_FORMAT

    with safe_open(path, framework="pt") as f:
        meta = f.metadata() or {}
        if meta.get("format") != STATE_FORMAT:
            return load_model(path)[0], None
        weights = {k[len("model."):]: f.get_tensor(k) for k in f.keys() if k.startswith("model.")}
    if base is None:
        raise SystemExit(f"{path} is a training state: name the model it was trained from with --base")
    model, _ = load_model(base)
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if unexpected or len(missing) > len(weights):
        raise SystemExit(f"{path} does not fit {base}: {len(unexpected)} unexpected, {len(missing)} missing weights")
    return model, int(meta.get("step", -1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", nargs="+", required=True)
    ap.add_argument("--base", help="the model file training states (--model STATE) were trained from")
    ap.add_argument("--train", type=int, default=0, metavar="N",
                    help="also measure N training pairs the same way (the generalisation gap)")
    args = ap.parse_args(argv)
    data = TrainingData.load(args.data)
    print(f"{len(data.val_style)} held-out pairs; masks at {RATIOS} x {DRAWS}")
    for path in args.model:
        model, step = load_any(path, args.base)
        print(f"{path}{'' if step is None else f' (step {step})'}: {figures(heldout(model.eval(), data))}")
        if args.train:
            print(f"{path}, {args.train} training pairs: {figures(training(model, data, args.train))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
