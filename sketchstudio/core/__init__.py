"""Pure torch + numpy model core. Must never import Qt (checked by import-linter and a test)."""
from .config import ModelConfig, preset
from .model import SketchModel, build_model
from .sampler import CancelToken, SamplerSettings, StepResult, finished, iter_steps, sample

__all__ = [
    "ModelConfig", "preset", "SketchModel", "build_model",
    "CancelToken", "SamplerSettings", "StepResult", "finished", "iter_steps", "sample",
]
