"""Resumable training state in one safetensors file: weights, optimiser, RNG, step.

No pickle anywhere: optimiser tensors are flattened to named tensors and its
param_groups go to JSON metadata.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..core.checkpoint import CheckpointError, atomic_write

STATE_FORMAT = "sketchstudio-train-state"


def save_state(path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               generator: torch.Generator, step: int, extra: dict | None = None,
               stage_tensors: dict[str, torch.Tensor] | None = None) -> None:
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tensors.update({f"stage.{k}": v.detach().cpu().contiguous() for k, v in (stage_tensors or {}).items()})
    opt = optimizer.state_dict()
    for idx, st in opt["state"].items():
        for name, v in st.items():
            t = v if torch.is_tensor(v) else torch.tensor(v)
            tensors[f"optim.{idx}.{name}"] = t.detach().cpu().contiguous()
    tensors["rng.generator"] = generator.get_state()
    tensors["rng.torch"] = torch.get_rng_state()
    meta = {
        "format": STATE_FORMAT,
        "step": str(step),
        "param_groups": json.dumps(opt["param_groups"]),
        "extra": json.dumps(extra or {}),
    }
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta))


def load_state(path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               generator: torch.Generator) -> tuple[int, dict, dict[str, torch.Tensor]]:
    """Restore everything saved by `save_state`; returns (step, extra, stage tensors)."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != STATE_FORMAT:
                raise CheckpointError(f"{path}: not a SketchStudio training state")
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(f"{path}: cannot read training state ({exc})") from None
    model_state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(model_state)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: training state does not fit this model ({str(exc).splitlines()[0]})") from None
    state: dict[int, dict] = {}
    for k, v in tensors.items():
        if k.startswith("optim."):
            _, idx, name = k.split(".", 2)
            state.setdefault(int(idx), {})[name] = v
    optimizer.load_state_dict({"state": state, "param_groups": json.loads(meta["param_groups"])})
    generator.set_state(tensors["rng.generator"])
    torch.set_rng_state(tensors["rng.torch"])
    stage_tensors = {k[len("stage."):]: v for k, v in tensors.items() if k.startswith("stage.")}
    return int(meta["step"]), json.loads(meta.get("extra", "{}")), stage_tensors
