"""Copy a finished run's model into models/ in fp16, after checking fp16 draws the same.

    .venv/bin/python tools/train/ship_model.py runs/default [--from finetune] [--out models/sketchstudio-default.safetensors]

`--from render` ships a model with the stroke renderer (v4: `train render --init
runs/v4/finetune.safetensors`); `--from decoder` ships a model whose decoder was sharpened after fine-tuning
(`sketchstudio train decoder --init runs/default/finetune.safetensors`); `--from upscale`
one that got its texture head on top of a finished model (`train upscale --init MODEL`); `--from
distill` one whose transformer learnt its style guidance (`train distill --init MODEL`; recommend
style_guidance=0 then).
A run started with --init carries the starting model's stage figures forward.

Reads each stage's losses.csv for steps and wall time, stores them (and the data
sources) in the checkpoint's `info`, saves fp16 weights, reloads them, and
compares the decoded tokens of fp32 and fp16 on a few held-out photos.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
from pathlib import Path

import torch

from sketchstudio.core.checkpoint import load_model, save_model
from sketchstudio.core.sampler import SamplerSettings, sample
from sketchstudio.data.cache import TrainingData
from sketchstudio.train.pipeline import STAGES


def stage_stats(run: Path, stage: str) -> dict:
    with open(run / f"{stage}.losses.csv") as f:
        rows = list(csv.DictReader(f))
    out = {"steps": int(rows[-1]["step"])}
    if "wall_s" in rows[0]:
        out["wall_minutes"] = round((float(rows[-1]["wall_s"]) - float(rows[0]["wall_s"])) / 60, 1)
    return out


def run_history(run: Path) -> tuple[list[str], dict]:
    """(data sources, per-stage figures) of a run and of the runs its --init model came from:
    a run started from another run's model carries that run's figures forward."""
    pipeline = json.loads((run / "pipeline.json").read_text())
    init = pipeline["options"].get("init")
    data, stages = [], {}
    if init:
        init_run = Path(init).parent
        if (init_run / "pipeline.json").exists() and init_run.resolve() != run.resolve():
            data, stages = run_history(init_run)
        else:
            info = load_model(init)[1]
            data, stages = info.get("data", []), info.get("stages", {})
    ours = {s: stage_stats(run, s) for s in STAGES if (run / f"{s}.losses.csv").exists()}
    for s in ours.keys() & stages.keys():  # a stage trained again from its earlier result
        ours[s]["continued_from"] = stages[s]
    return list(dict.fromkeys([*data, *(Path(s).name for s in pipeline["sources"])])), {**stages, **ours}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--from", dest="stage", default="finetune", help="the stage whose model is shipped")
    ap.add_argument("--out", default="models/sketchstudio-default.safetensors")
    ap.add_argument("--recommend", nargs="*", default=[], metavar="KEY=VALUE",
                    help="sampler settings the model card recommends (e.g. style_guidance=0.75): "
                         "the CLI, eval and the window use them unless told otherwise")
    args = ap.parse_args()
    recommend = {k: float(v) for k, v in (kv.split("=", 1) for kv in args.recommend)}
    if "steps" in recommend:
        recommend["steps"] = int(recommend["steps"])
    torch.set_flush_denormal(True)
    run = Path(args.run)
    model, _ = load_model(run / f"{args.stage}.safetensors")
    data_sources, stages = run_history(run)
    info = {
        "name": "sketchstudio-default",
        "trained": dt.date.today().isoformat(),
        "data": data_sources,
        "stages": stages,
        "licence_note": "FS2K (MIT, Fan et al. 2022); ORL faces courtesy of Olivetti Research Laboratory",
        **({"sampler": recommend} if recommend else {}),
    }
    if model.cfg.transformer.learnt_guidance:  # distilled (v8), here or in the run it started from
        info["distilled_style_guidance"] = model.cfg.transformer.learnt_guidance
    save_model(model, args.out, info=info, half=True)
    shipped, _ = load_model(args.out)
    data = TrainingData.load(run / "data.safetensors")
    same, total = 0, 0
    for i in range(min(6, len(data.val_photo))):
        photo = data.val_photo[i:i + 1].float() / 255
        w = torch.nn.functional.one_hot(data.val_style[i], len(model.styles)).float()
        a = sample(model, photo, w, SamplerSettings(seed=i, preview="none")).tokens
        b = sample(shipped, photo, w, SamplerSettings(seed=i, preview="none")).tokens
        same += int((a == b).sum())
        total += a.numel()
    size = Path(args.out).stat().st_size / 1e6
    print(json.dumps({**info, "file_mb": round(size, 1), "fp16_token_agreement": round(same / total, 4)}, indent=2))


if __name__ == "__main__":
    main()
