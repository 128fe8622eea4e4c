"""One sketch as a Qt-free job: frame the photo, condition, run the core sampler generator.

`DecodeJob.run(cancel)` is a generator the worker thread drains: it yields a `Framed` event
when it had to find the face itself (face detection is too slow for the GUI thread) and a `StepFrame` (numpy arrays, ready
to draw) after every sampler step, and returns a `SketchResult`, or None when cancelled.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from ...core.imaging import tensor_to_image
from ...core.sampler_settings import CancelToken, SamplerSettings
from .face_tracking import CropTracker
from .photo import Photo

if TYPE_CHECKING:  # torch is imported where a job computes: the window shows before it (issue 25)
    import torch

    from ...core.model import SketchModel
    from ...core.sampler import StepResult
    from ...core.transformer import Memory


@dataclass(frozen=True)
class Redraw:
    """Re-draw the tokens at `cells` (row-major indices into the token grid) with `seed`."""

    cells: tuple[int, ...]
    seed: int


@dataclass(frozen=True)
class SketchSpec:
    """Everything besides the photo and the model that decides a sketch."""

    style: tuple[float, ...]  # weights over model.styles, summing to 1
    settings: SamplerSettings = SamplerSettings()
    redraws: tuple[Redraw, ...] = ()


@dataclass(frozen=True)
class Framed:
    """The job found the face itself: the photo with its face and crop."""

    photo: Photo


@dataclass(frozen=True)
class StepFrame:
    step: int  # 0-based
    total: int
    sketch: np.ndarray  # (H, W) uint8: the predicted sketch decoded
    mask: np.ndarray  # (g, g) bool: still masked after this step
    newly_fixed: np.ndarray  # (g, g) bool: fixed in this step
    confidence: np.ndarray  # (g, g) float32 in [0, 1]
    tokens: torch.Tensor  # (1, N) long, mask id where still masked

    @property
    def done(self) -> bool:
        return self.step == self.total - 1


@dataclass(frozen=True)
class SketchResult:
    photo: Photo
    spec: SketchSpec
    tokens: torch.Tensor  # (1, N) long, all fixed
    sketch: np.ndarray  # (H, W) uint8


@dataclass(eq=False)
class DecodeRequest:
    photo: Photo
    spec: SketchSpec
    init_tokens: torch.Tensor | None = None  # tokens before spec.redraws[-1]; None: replay all
    detect: bool = False  # find the face in the worker (new photos, webcam frames)
    keep_crop: bool = False  # ... but keep the photo's crop (a restored or user-made one)
    live: bool = False  # a webcam frame
    tracker: CropTracker | None = None  # webcam: the crop follows the face smoothly from frame to frame
    cancel: CancelToken = field(default_factory=CancelToken)


class MemoryCache:
    """The encoder's output for the last few (photo, crop)s, so style changes skip the encoder."""

    def __init__(self, size: int = 4):
        self.size = size
        self._items: OrderedDict[tuple, Memory] = OrderedDict()
        self._lock = threading.Lock()  # filled on the worker thread, cleared from the GUI
        self.misses = 0

    def get(self, key: tuple, make: Callable[[], Memory]) -> Memory:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        memory = make()
        with self._lock:
            self.misses += 1
            self._items[key] = memory
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return memory

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def step_frame(r: StepResult) -> StepFrame:
    g = r.grid
    return StepFrame(
        step=r.step, total=r.total,
        sketch=np.asarray(tensor_to_image(r.preview[0])),  # (H, W) uint8
        mask=r.mask[0].view(g, g).cpu().numpy(),
        newly_fixed=r.newly_fixed[0].view(g, g).cpu().numpy(),
        confidence=r.confidence[0].view(g, g).float().cpu().numpy(),
        tokens=r.tokens.clone(),
    )


def redraw_mask(cells, num_tokens: int) -> torch.Tensor:
    import torch

    mask = torch.zeros(1, num_tokens, dtype=torch.bool)  # (1, N)
    mask[0, list(cells)] = True
    return mask


def condition(model: SketchModel, photo: Photo) -> Memory:
    import torch

    with torch.inference_mode():
        return model.condition(photo.tensor(model.photo_size))


class DecodeJob:
    def __init__(self, model: SketchModel, request: DecodeRequest, cache: MemoryCache):
        self.model = model
        self.request = request
        self.cache = cache

    def run(self, cancel: CancelToken) -> Iterator[Framed | StepFrame]:
        import torch

        from ...core.sampler import iter_steps

        req, model = self.request, self.model
        photo = req.photo
        if req.detect:
            photo = photo.detected(req.keep_crop)
            if req.tracker is not None:
                framing = req.tracker.update(None if photo.face is None else photo.framing)
                if framing is not None:
                    photo = photo.with_crop(framing.box, clamp=False, roll=framing.roll)
            yield Framed(photo)
        if cancel.cancelled:
            return None
        memory = self.cache.get(photo.cache_key, lambda: condition(model, photo))
        style = torch.tensor(req.spec.style, dtype=torch.float32)  # (K,)
        # Full previews: every step shows the decoded x0 estimate, and the last one is the
        # sketch itself, decoded from the final tokens exactly as the CLI does. Webcam mode
        # shows finished sketches only (steps would flicker), so a live frame's steps are
        # neither decoded to pixels nor handed on: only its last, the finished sketch.
        settings = req.spec.settings.with_(preview="cheap" if req.live else "full")
        redraws = req.spec.redraws
        tokens, last = req.init_tokens, None
        if tokens is None or not redraws:
            passes = [(settings, None)] + [(settings.with_(seed=r.seed), r) for r in redraws]
        else:
            passes = [(settings.with_(seed=redraws[-1].seed), redraws[-1])]
        for s, redraw in passes:
            mask = None if redraw is None else redraw_mask(redraw.cells, model.cfg.num_tokens)
            last = None
            for r in iter_steps(model, None, style, s, memory=memory, init_tokens=None if mask is None else tokens,
                                redraw_mask=mask, cancel=cancel):
                if req.live and not r.done:
                    continue
                last = step_frame(r)
                yield last
            if last is None or not last.done:
                return None  # cancelled
            tokens = last.tokens
        return SketchResult(photo, req.spec, tokens, last.sketch)
