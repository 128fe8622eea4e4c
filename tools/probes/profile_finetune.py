"""Where a finetune step's time goes, on real data, fp32 against bf16 autocast on the CPU.

    .venv/bin/python tools/probes/profile_finetune.py --data RUN/data.safetensors --model MODEL [--steps 8]
        [--structure] [--pixel-weight 1.0]

For a model with frozen ImageNet features, each row twice: the step as the stage runs it (the
trunk's maps cached when it starts) and the same step with the trunk run on the batch.
Times (median over the steps, after one warm-up): drawing the batch, the photo encoder, the
transformer forward, the soft-decode pixel and feature losses, backward and the optimizer
step; then whole steps per second with autocast off and on (the drawings' tokens are
tokenised once when the stage starts, and the structure maps come with the data, so neither
is in a step).
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from sketchstudio.bench import matmul_gflops  # noqa: E402
from sketchstudio.core.checkpoint import load_model  # noqa: E402
from sketchstudio.core.face_structure import CHANNELS  # noqa: E402
from sketchstudio.data.cache import TrainingData  # noqa: E402
from sketchstudio.train.base import StageOptions, to_float  # noqa: E402
from sketchstudio.train.finetune import FinetuneStage  # noqa: E402
from sketchstudio.train.surgery import add_structure  # noqa: E402


def parts(stage: FinetuneStage, bf16: bool) -> dict[str, float]:
    """One step, timed part by part (the stage's own train_step, opened up)."""
    m, o = stage.model, stage.opts
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    t = {}
    t0 = time.perf_counter()
    j, flip, photo, target, mask, inputs, structure, imagenet = stage.draw_batch()
    style = F.one_hot(stage.style[j], len(m.styles)).float()
    t["batch"] = time.perf_counter() - t0
    with ctx:
        if imagenet is not None and stage.uncached:  # what the step would cost without the cache
            t0 = time.perf_counter()
            imagenet = m.encoder.imagenet_features(photo)
            t["imagenet trunk"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        memory = m.condition(photo, structure, imagenet)
        t["encoder"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        logits, smooth = m.transformer(inputs, memory, style, return_smooth=True)
        ce = F.cross_entropy(logits[mask].float(), target[mask], label_smoothing=o.label_smoothing)
        loss = ce + -(stage.smooth_targets[target[mask]] * smooth[mask].float().log_softmax(-1)).sum(-1).mean()
        t["transformer"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        p = o.pixel_batch
        probs = logits[:p].float().softmax(-1)
        probs = torch.where(mask[:p, :, None], probs, F.one_hot(target[:p], probs.shape[-1]).float())
        rec = m.tokenizer.decode_soft(probs)
        real = to_float(stage.sketches[j[:p]])
        real = torch.where(flip[:p].view(-1, 1, 1, 1), real.flip(-1), real)
        tok = m.tokenizer
        loss = loss + o.pixel_weight * (rec.float() - real).abs().mean() \
            + o.feature_weight * (tok.features(rec).float() - tok.features(real).float()).abs().mean()
        t["pixel+feature"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    stage.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    t["backward"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    torch.nn.utils.clip_grad_norm_([q for g in stage.optimizer.param_groups for q in g["params"]], 1.0)
    stage.optimizer.step()
    t["optimizer"] = time.perf_counter() - t0
    return t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--structure", action="store_true")
    ap.add_argument("--bf16-only", action="store_true", help="skip the fp32 row")
    args = ap.parse_args(argv)
    torch.set_flush_denormal(True)
    data = TrainingData.load(args.data)
    print(f"threads {torch.get_num_threads()}, plain 1024^2 matmul {matmul_gflops():.0f} GFLOP/s")
    for bf16 in ((True,) if args.bf16_only else (False, True)):
        model, _ = load_model(args.model)
        if args.structure:
            model = add_structure(model, len(CHANNELS))
        model.train()
        stage = FinetuneStage(model, data, StageOptions(batch=8, keep_weight=0.0), 1000)
        # A model with ImageNet features: its step with the stage's cached maps, and (the same
        # step, the trunk run on the batch) without them.
        for uncached in ((False, True) if model.uses_imagenet else (False,)):
            stage.uncached = uncached
            parts(stage, bf16)  # warm-up
            runs = [parts(stage, bf16) for _ in range(args.steps)]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            total = sum(med.values())
            name = ("bf16 autocast" if bf16 else "fp32") + (", trunk uncached" if uncached else "")
            print(f"{name:<28} step {total:.2f} s ({1 / total:.2f} steps/s): "
                  + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in med.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
