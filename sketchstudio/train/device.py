"""Where a stage trains: the CPU, or a CUDA GPU (`--device cuda`, or `auto` when one is present).

What decides *what* a step trains on stays on the CPU: the data cache (uint8 tensors), the
seeded `torch.Generator` that picks batches, flips, masks and styles, the token ids a stage
computes once. Only the batch a step assembles, the model, its optimizer state and a stage's
discriminator live on the device. So a CPU run draws exactly what it drew before devices
existed, and `train/state.py` (which saves CPU tensors) resumes a state saved on one device on
the other. On CUDA the forward passes run under bf16 autocast; on the CPU nothing changes.
"""
from __future__ import annotations

import contextlib

import torch

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """"auto" -> CUDA when PyTorch sees a GPU, else the CPU; "cpu"; "cuda" (or "cuda:N"), which
    must exist: ValueError with a one-line reason otherwise."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r}; choose one of {', '.join(DEVICES)}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda: PyTorch sees no CUDA GPU here (use --device cpu, or auto)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"--device {name}: there are {torch.cuda.device_count()} CUDA GPUs")
    elif device.type != "cpu":
        raise ValueError(f"unknown device {name!r}; choose one of {', '.join(DEVICES)}")
    return device


def autocast(device: torch.device, cpu_bf16: bool = False):
    """The context for a forward pass: bf16 autocast on CUDA; on the CPU none (bit for bit as
    before) unless `cpu_bf16` (`train --bf16`: about 1.5x the steps a second on a CPU with
    native bf16, docs/BENCHMARKS.md; the weights and optimizer stay fp32). Backward passes run
    outside it."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if cpu_bf16:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def module_device(module: torch.nn.Module) -> torch.device:
    """The device of a module's (first) parameter."""
    return next(module.parameters()).device
