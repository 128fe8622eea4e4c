"""Where bundled files live: source checkout, installed package or PyInstaller bundle."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "SketchStudio"
DEFAULT_MODEL_NAME = "sketchstudio-default.safetensors"


def bundle_root() -> Path:
    """The folder holding `models/` and `resources/`."""
    frozen = getattr(sys, "_MEIPASS", None)  # PyInstaller one-folder build
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    return bundle_root() / "resources"


def default_model_path() -> Path:
    """The shipped model; SKETCHSTUDIO_MODEL overrides it."""
    env = os.environ.get("SKETCHSTUDIO_MODEL")
    return Path(env) if env else bundle_root() / "models" / DEFAULT_MODEL_NAME


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_models_dir() -> Path:
    return user_data_dir() / "models"


def user_config_dir() -> Path:
    """Where the studio keeps its settings and recent files."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
