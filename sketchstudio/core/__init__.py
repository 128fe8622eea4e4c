"""Pure torch + numpy model core. Must never import Qt (checked by import-linter and a test).

The names below are imported on first use (PEP 562), so `from sketchstudio.core.config
import ...` and the other torch-free modules (config, styles, files, sampler_settings) cost
no PyTorch: the window shows before torch is imported (issue 25).
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "ModelConfig": "config", "preset": "config",
    "SketchModel": "model", "build_model": "model",
    "CancelToken": "sampler_settings", "SamplerSettings": "sampler_settings",
    "StepResult": "sampler", "finished": "sampler", "iter_steps": "sampler", "sample": "sampler",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value
