"""The whole pipeline (tokenizer -> decoder -> pretrain -> finetune -> render -> tone, `default` preset)
on one GPU inside a wall-clock budget, from a training pack, with the model written in parts.

    sketchstudio pack --data ../shared/data/fs2k-train --out gpu/fs2k-train.pack
    python3 tools/train/gpu_train.py --data gpu/fs2k-train.pack --out runs/gpu --parts $OUT

A lent GPU machine gives one command at most 10 minutes and sends back at most 8 files of at
most 16 MiB (64 MiB together), so:

  * the data is a pack (data/pack.py, 19.8 MB for FS2K) expanded on the machine's cores;
  * GPU_STEPS, the step counts, are sized to finish inside 9 minutes (see GPU_SECONDS_PER_STEP);
  * --time-budget (default 510 s, counted from the start of this script) stops the run at a
    step boundary with a checkpoint when the steps take longer than assumed (exit code 3);
    the same command with `--resume` continues it on a machine that still has the run folder;
  * the last finished stage's model is written in float16 (as tools/train/ship_model.py ships it;
    `--fp32` keeps float32) and split into parts of at most --part-mb MB with a manifest of
    SHA-256s (core/parts.py; tools/train/join_parts.py joins them back): about 36 MB, 3 parts;
  * `gpu_train.json` in the run folder (and beside the parts) records the device, every
    stage's steps and seconds, and the budget's outcome.

--device auto trains on CUDA when PyTorch sees a GPU (bf16 autocast), else on the CPU (the
tests run it there on the tiny preset). GPU_STEPS have not been timed on a GPU yet.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

START = time.monotonic()  # the budget counts from here: imports and data expansion included

import torch  # noqa: E402

from sketchstudio.core.checkpoint import load_model, save_model  # noqa: E402
from sketchstudio.core.parts import write_parts  # noqa: E402
from sketchstudio.core.sampler import CancelToken  # noqa: E402
from sketchstudio.data.cache import Source  # noqa: E402
from sketchstudio.train.base import StageOptions  # noqa: E402
from sketchstudio.train.device import resolve_device  # noqa: E402
from sketchstudio.train import distributed  # noqa: E402
from sketchstudio.train.distributed import launch  # noqa: E402
from sketchstudio.train.pipeline import ALL_STAGES, DEFAULT_STEPS, PipelineOptions, run_pipeline  # noqa: E402

# Seconds per step (batch 8, `default` preset) measured on the 2 shared CPU cores
# (docs/BENCHMARKS.md, models/README.md): tokenizer 0.76, decoder 0.9, pretrain 1.3-1.9,
# finetune with distillation 1.94, render 0.68. Assumed on one H200: 1/20 of that. A batch of
# 8 small images is bound by kernel launches and Python, not by arithmetic (a pretrain step is
# ~90 GFLOP: ~0.1 ms of the H200's bf16 rate), so the guess is a launch count, not a FLOP
# count. NOT MEASURED: no GPU was available when this was written. The tone stage draws every
# training pair once (119 batches for FS2K; 4 s a batch on one CPU core): assumed 0.2 s a batch.
GPU_SECONDS_PER_STEP = {"tokenizer": 0.038, "decoder": 0.045, "pretrain": 0.08, "finetune": 0.097, "render": 0.034,
                        "tone": 0.2}
# ~390 s of steps at those rates; with start-up, data expansion (~10 s on one core here), each
# stage's set-up (tokenizing every sketch; the render stage samples every training photo
# once) and checkpoints, about 8 minutes. The default preset's full counts
# (DEFAULT_STEPS["default"]) would take ~12 minutes of steps at the same rates.
GPU_STEPS = {"tokenizer": 1500, "decoder": 1000, "pretrain": 1500, "finetune": 1200, "render": 1500,
             "tone": 10_000}  # tone: every batch of pairs the data holds (the pipeline caps it)
RESERVE_S = 20.0  # budget kept back for the last checkpoint and the parts
EXIT_BUDGET = 3


def parse_steps(items: list[str]) -> dict[str, int]:
    out = {}
    for item in items:
        name, _, n = item.partition("=")
        if name not in ALL_STAGES or not n.isdigit():
            raise SystemExit(f"gpu_train: --steps takes STAGE=N with STAGE one of {', '.join(ALL_STAGES)}: {item!r}")
        out[name] = int(n)
    return out


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="a training pack (sketchstudio pack)")
    ap.add_argument("--out", required=True, help="run folder")
    ap.add_argument("--parts", help="folder for the model's parts and gpu_train.json (default: OUT/parts)")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda")
    ap.add_argument("--imagenet-weights", metavar="PTH",
                    help="frozen ImageNet features from this torchvision checkpoint (as `train --imagenet-weights`)")
    ap.add_argument("--photo-changes", type=float, default=0.0, metavar="RATE",
                    help="fraction of photos drawn changed as a user's are (as `train --photo-changes`)")
    ap.add_argument("--devices", type=int, default=1,
                    help="train in N processes (GPUs) through Lightning Fabric, as `sketchstudio train --devices N`")
    ap.add_argument("--time-budget", type=float, default=510.0,
                    help="seconds from the start of this script until it checkpoints and stops")
    ap.add_argument("--config", choices=("tiny", "default"), default="default")
    ap.add_argument("--steps", nargs="*", default=[], metavar="STAGE=N",
                    help="step counts other than GPU_STEPS (the tiny preset: its own DEFAULT_STEPS)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--part-mb", type=float, default=16.0, help="largest part, in MB (10^6 bytes)")
    ap.add_argument("--fp32", action="store_true", help="write the model in float32 (twice the size)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--structure", action="store_true",
                    help="the masked-token stages grow and train the face-structure path (model v10)")
    ap.add_argument("--checkpoint-every", type=int, default=500)
    ap.add_argument("--preview-every", type=int, default=500)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        device = resolve_device(args.device)
    except ValueError as exc:
        print(f"gpu_train: error: {exc}", file=sys.stderr)
        return 2
    if args.devices > 1:
        return launch(args.devices, device.type, run, args, device)
    return run(args, device)


def run(args, device) -> int:
    """The run on this process (one rank of --devices N: rank 0 alone prints and writes)."""
    main_rank = distributed.is_main()
    say = print if main_rank else (lambda *a, **k: None)
    if device.type == "cuda":
        torch.set_float32_matmul_precision("high")  # TF32 for what runs outside bf16 autocast
    torch.set_flush_denormal(True)
    out = Path(args.out)
    parts_dir = Path(args.parts) if args.parts else out / "parts"
    base = GPU_STEPS if args.config == "default" else DEFAULT_STEPS[args.config]
    steps = {s: n for s, n in {**base, **parse_steps(args.steps)}.items() if s in ALL_STAGES}
    opts = PipelineOptions(
        stages=ALL_STAGES, config=args.config, steps=steps, resume=args.resume,
        checkpoint_every=args.checkpoint_every, preview_every=args.preview_every,
        stage_options=StageOptions(batch=args.batch, device=str(device), structure=args.structure,
                                   imagenet_weights=args.imagenet_weights, photo_changes=args.photo_changes))
    cancel = CancelToken()
    deadline = START + args.time_budget - RESERVE_S
    record = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "torch": torch.__version__, "config": args.config, "batch": args.batch, "steps": steps,
              "time_budget_s": args.time_budget, "stages": {}}
    stage_start: dict[str, float] = {}
    last_print = last_event = 0.0
    stopped = None
    say(f"gpu_train: {record['device']}, {args.config} preset, steps {steps}, budget {args.time_budget:.0f} s",
          flush=True)
    for ev in run_pipeline([Source(Path(args.data))], out, opts, cancel):
        now = time.monotonic()
        if ev.stage == "data":
            if ev.kind == "done":
                record["data_s"] = round(now - START, 1)
                say(f"[data] {ev.message} ({now - START:.0f} s since start)", flush=True)
        elif ev.kind == "start":
            stage_start[ev.stage] = now
            # setup_s: building the stage's model and what it computes once (token ids)
            record["stages"][ev.stage] = {"start_step": ev.step, "total": ev.total,
                                          "setup_s": round(now - (last_event or START), 2)}
            say(f"[{ev.stage}] {ev.message} of {ev.total} ({now - START:.0f} s since start)", flush=True)
        elif ev.kind == "step":
            r = record["stages"][ev.stage]
            # the first step, and what a stage does once before it (the render stage samples every photo)
            r.setdefault("first_step_at_s", round(now - stage_start[ev.stage], 2))
            r["steps_done"] = ev.step
            if now - last_print > 30:
                last_print = now
                rate = (ev.step - r["start_step"]) / max(1e-9, now - stage_start[ev.stage])
                loss = ev.losses.get("loss", float("nan"))
                say(f"[{ev.stage}] step {ev.step}/{ev.total} {rate:.1f} steps/s loss {loss:.4f} "
                      f"({now - START:.0f} s since start)", flush=True)
        elif ev.kind in ("done", "cancelled") and ev.stage in record["stages"]:
            r = record["stages"][ev.stage]
            r["seconds"] = round(now - stage_start[ev.stage], 1)
            done = ev.step - r["start_step"]
            r["s_per_step"] = round((r["seconds"] - r.get("first_step_at_s", 0)) / max(1, done - 1), 4)
            say(f"[{ev.stage}] {ev.kind} at step {ev.step}/{ev.total} in {r['seconds']:.0f} s "
                  f"({now - START:.0f} s since start)", flush=True)
            if ev.kind == "cancelled":
                stopped = {"stage": ev.stage, "step": ev.step, "total": ev.total}
        elif ev.kind == "done" and ev.message == "already finished":
            record["stages"][ev.stage] = {"already_finished": True}
        last_event = time.monotonic()
        if not cancel.cancelled and last_event > deadline:
            cancel.cancel()  # the runner checkpoints at the next step boundary and stops
    record["stopped_by_budget"] = stopped
    if not main_rank:
        return EXIT_BUDGET if stopped else 0
    finished = [s for s in ALL_STAGES if (out / f"{s}.safetensors").exists()]
    if finished:
        model, info = load_model(out / f"{finished[-1]}.safetensors")
        info = {**info, "trained_with": "tools/train/gpu_train.py", "device": record["device"], "gpu_train": steps}
        final = out / "model.safetensors"
        save_model(model, final, info=info, half=not args.fp32)
        manifest = write_parts(final, parts_dir, int(args.part_mb * 1e6))
        record.update(model_stage=finished[-1], model_bytes=final.stat().st_size, manifest=manifest.name)
    record["total_s"] = round(time.monotonic() - START, 1)
    for folder in {out, parts_dir}:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "gpu_train.json").write_text(json.dumps(record, indent=1) + "\n")
    say(f"gpu_train: {'stopped by the time budget in ' + stopped['stage'] if stopped else 'finished'}; "
          f"model {record.get('model_stage', 'none')} -> {parts_dir}; {record['total_s']:.0f} s", flush=True)
    return EXIT_BUDGET if stopped else 0


if __name__ == "__main__":
    sys.exit(main())
