"""Where inference runs in bfloat16.

On CPUs with native bf16 arithmetic (AVX512-BF16) the stroke renderer (model v6) and the
transformer (model v7) run their inference under bf16 autocast: the renderer about twice as
fast at 512 px, a guided transformer pass about 1.4 times as fast. Each was kept only after
the held-out evaluation scored it as the fp32 model (docs/BENCHMARKS.md). Training never
uses it: autocast is on only where no gradient is being recorded.

SKETCHSTUDIO_BF16=0 turns it off everywhere, =1 forces it (e.g. to test it on any CPU).
"""
from __future__ import annotations

import contextlib
import os

import torch


def fast_bf16() -> bool:
    """Whether this CPU runs inference in bfloat16 (see the module docstring)."""
    forced = os.environ.get("SKETCHSTUDIO_BF16")
    if forced in ("0", "1"):
        return forced == "1"
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    try:
        return bool(probe()) if probe is not None else False
    except RuntimeError:
        return False


def inference_bf16(device: torch.device) -> bool:
    """True where a computation on `device` right now is inference that should run in bf16."""
    return device.type == "cpu" and not torch.is_grad_enabled() and fast_bf16()


def bf16_autocast(device: torch.device):
    """bf16 autocast for inference on `device` where `inference_bf16` says so, else nothing."""
    if inference_bf16(device):
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()
