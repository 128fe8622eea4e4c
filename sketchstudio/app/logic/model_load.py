"""Loading a model file as a Qt-free job, so the window can be up before PyTorch is (issue 25).

Importing torch and the model code takes most of a start (seconds on 2 cores); the window
runs `ModelLoadJob` on a worker thread instead, shows "Loading model…" meanwhile and keeps
whatever photo the user opens until the model is there.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Iterator

from ...core.sampler_settings import CancelToken
from ...model_files import UserError, load

LOAD_STAGES = ("PyTorch", "weights")  # what the job yields as it goes


@dataclass(frozen=True)
class LoadedModel:
    path: str
    model: object | None = None  # the SketchModel; None when it could not be loaded
    info: dict = field(default_factory=dict)
    model_id: str = ""
    error: str = ""  # why not, in one line (a missing or damaged file)


class ModelLoadJob:
    """Yields each of LOAD_STAGES as it starts it; returns a LoadedModel, None if cancelled.

    hold: the job waits until it is set before it loads anything (tests act on the window
    while the model is still "loading")."""

    def __init__(self, path: str, hold: threading.Event | None = None):
        self.path = str(path)
        self.hold = hold

    def run(self, cancel: CancelToken) -> Iterator[str]:
        while self.hold is not None and not self.hold.wait(0.05):
            if cancel.cancelled:
                return None
        yield LOAD_STAGES[0]
        import torch  # noqa: F401  (the longest part of a start: say so before it)

        if cancel.cancelled:
            return None
        yield LOAD_STAGES[1]
        try:
            model, info, mid = load(self.path)
        except UserError as exc:
            return LoadedModel(self.path, error=str(exc))
        return LoadedModel(self.path, model, info, mid)
