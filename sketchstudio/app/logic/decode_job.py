"""One sketch as a Qt-free job: frame the photo, condition, run the core sampler generator.

`DecodeJob.run(cancel)` is a generator the worker thread drains: it yields a `Framed` event
when it had to find the face itself (face detection is too slow for the GUI thread) and a `StepFrame` (numpy arrays, ready
to draw) after every sampler step, and returns a `SketchResult`, or None when cancelled.

A live frame (webcam, video) with a `LiveStream` reuses the stream's last sketch
(core/live.py): a still frame keeps it whole, a frame with some changed cells re-draws those
in one step (`LiveParams.steps`), a cut decodes from scratch. A whole frame that did not move keeps the last
frame's face as well (no face analysis). Live sketches are drawn at `draw_size`, the size the
window shows them at.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from PIL import Image

from ...core.imaging import tensor_to_image
from ...core.sampler_settings import CancelToken, SamplerSettings
from .face_tracking import CropTracker
from .photo import Photo

if TYPE_CHECKING:  # torch is imported where a job computes: the window shows before it (issue 25)
    import torch

    from ...core.live import LiveStream
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
    live_path: str | None = None  # a live frame's path (core/live.py PATHS: still, partial, scratch)
    redrawn: int = 0  # tokens a live frame decoded (all of them from scratch, none when still)
    draft: bool = False  # a live frame's sketch drawn smaller and enlarged (core/live.py LiveParams.draft_side)


@dataclass(eq=False)
class DecodeRequest:
    photo: Photo
    spec: SketchSpec
    init_tokens: torch.Tensor | None = None  # tokens before spec.redraws[-1]; None: replay all
    detect: bool = False  # find the face in the worker (new photos, webcam frames)
    keep_crop: bool = False  # ... but keep the photo's crop (a restored or user-made one)
    live: bool = False  # a webcam frame
    tracker: CropTracker | None = None  # webcam: the crop follows the face smoothly from frame to frame
    stream: LiveStream | None = None  # webcam: the last sketch, reused where the frame did not change
    draw_size: tuple[int, int] | None = None  # (H, W) a live sketch is drawn at; None: the model's output size
    render_apart: bool = False  # live: the job returns a LiveDraw for another thread to draw (a pipeline)
    partial_threads: int | None = None  # live: torch threads of a partial frame's decode (None: the thread's)
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


def condition(model: SketchModel, photo: Photo, x: torch.Tensor | None = None) -> Memory:
    """The encoder's memory of the photo (x: photo.tensor(model.photo_size), if already made)."""
    import torch

    with torch.inference_mode():
        return model.condition(photo.tensor(model.photo_size) if x is None else x)


def person_mask(model: SketchModel, x: torch.Tensor) -> torch.Tensor | None:
    """The person probability (1, s, s) of the model's input `x` (1, 3, S, S), from its face-structure
    map (kept for the encoder, which asks for the same map), or None for a model without one."""
    if not model.uses_structure:
        return None
    return model.structure_maps(x)[:, -1]


@contextmanager
def torch_threads(n: int | None):
    """Run the block on `n` torch threads of this thread (None: as it is), then as before."""
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


VIEW_GRID = 16  # whole-frame block means at 32 x 32 decide whether the face must be found again


def view_blocks(image: Image.Image) -> torch.Tensor:
    """The whole frame's luma as (1, 2 VIEW_GRID, 2 VIEW_GRID) block means in [0, 1]."""
    import torch

    side = 2 * VIEW_GRID
    a = np.asarray(image.convert("L").resize((side, side), Image.BOX), dtype=np.float32) / 255.0
    return torch.from_numpy(a).unsqueeze(0)


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
            photo = self._framed(photo)
            yield Framed(photo)
        if cancel.cancelled:
            return None
        if req.live and req.stream is not None:
            return (yield from self._live(photo, cancel))
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

    def _framed(self, photo: Photo) -> Photo:
        """The photo with its face found and its crop (a webcam frame's follows the tracker).
        A live frame whose whole view did not move keeps the last frame's face and crop."""
        req = self.request
        stream = req.stream if req.live else None
        blocks = view_blocks(photo.image) if stream is not None else None
        if stream is not None and stream.still_view(blocks, photo.size):
            last = stream.view
            return replace(photo, face=last.face, crop=last.crop, roll=last.roll, searched=True)
        photo = photo.detected(req.keep_crop)
        if req.tracker is not None:
            framing = req.tracker.update(None if photo.face is None else photo.framing, photo.image)
            if framing is not None:
                photo = photo.with_crop(framing.box, clamp=False, roll=framing.roll)
        if stream is not None:
            stream.keep_view(blocks, photo.size, photo)
        return photo

    def _live(self, photo: Photo, cancel: CancelToken):
        """A live frame through its stream: still, partial or from scratch (core/live.py). With
        `render_apart` the job ends once the tokens are decoded and committed and returns the
        `LiveDraw` that draws its sketch (a pipeline runs it on another thread, meanwhile this
        one takes the next frame); else it draws the sketch too."""
        import torch

        from ...core.live import fixed_confidence
        from ...core.sampler import iter_steps

        req, model, stream = self.request, self.model, self.request.stream
        x = photo.tensor(model.photo_size)  # (1, 3, S, S)
        settings = req.spec.settings.with_(preview="none")
        key = (id(model), req.spec.style, settings)
        size = tuple(req.draw_size) if req.draw_size else (model.output_size,) * 2
        plan = stream.plan(x, key, person=lambda: person_mask(model, x))
        if plan.path == "still":
            tokens, conf = plan.init_tokens, stream.confidence
            mask = torch.zeros_like(tokens, dtype=torch.bool)
        else:
            threads = req.partial_threads if plan.path == "partial" else None
            with torch_threads(threads):
                memory = self.cache.get(photo.cache_key, lambda: condition(model, photo, x))
                if plan.path == "partial":
                    settings = settings.with_(steps=min(stream.params.steps, settings.steps))
                style = torch.tensor(req.spec.style, dtype=torch.float32)  # (K,)
                last, confs, fixed = None, [], []
                for last in iter_steps(model, None, style, settings, memory=memory, init_tokens=plan.init_tokens,
                                       redraw_mask=plan.redraw, cancel=cancel):
                    confs.append(last.confidence)
                    fixed.append(last.newly_fixed)
            if last is None or not last.done:
                return None  # cancelled
            tokens, mask = last.tokens, last.mask
            conf = fixed_confidence(confs, fixed, None if plan.path == "scratch" else stream.confidence)
        drawn = plan.changed if plan.redraw is None else plan.redraw  # (1, N): the cells this frame drew
        draw = LiveDraw(model, stream, photo, req.spec, plan.path, plan.redrawn, tokens, mask,
                        torch.zeros_like(drawn) if plan.path == "still" else drawn, conf, x, size,
                        stream.draw_size(plan, size), stream.window_cells(plan, tokens))
        stream.commit(plan, x, key, tokens, None if plan.path == "still" else conf)
        if req.render_apart:
            return draw
        return (yield from draw.run(cancel))


@dataclass(eq=False)
class LiveDraw:
    """The second half of a live frame: its decoded tokens drawn into the finished sketch (the
    renderer on the changed window, pasted into the stream's kept sketch, or on the whole
    sketch; a still frame keeps the last one). A job: `run(cancel)` yields the frame's
    `StepFrame` and returns its `SketchResult`. The frames of one stream are drawn in order:
    each pastes into the sketch the one before it left."""

    model: SketchModel
    stream: LiveStream
    photo: Photo
    spec: SketchSpec
    path: str  # core/live.py PATHS
    redrawn: int
    tokens: torch.Tensor  # (1, N) long
    mask: torch.Tensor  # (1, N) bool: still masked (none)
    drawn: torch.Tensor  # (1, N) bool: the cells this frame decoded
    confidence: torch.Tensor  # (1, N) float
    x: torch.Tensor  # (1, 3, S, S): the model's input
    size: tuple[int, int]  # (H, W) shown at
    draw: tuple[int, int]  # (H, W) drawn at (smaller: a draft)
    cells: torch.Tensor | None  # (1, N) bool: the window's cells (LiveStream.window_cells), None: whole

    def run(self, cancel: CancelToken):
        import torch

        stream, model, size = self.stream, self.model, self.size
        draft = self.draw != size  # drawn smaller, enlarged to the size shown
        sketch = stream.kept_sketch(size) if self.path == "still" else None  # None: another size, or a draft
        if sketch is None:
            renderer = model.tokenizer.renderer
            margin = 0 if renderer is None else renderer.MARGIN  # what the renderer sees around a window
            window = None if draft else stream.window_box(self.cells, size, margin)  # None: the whole sketch
            style = torch.tensor(self.spec.style, dtype=torch.float32)[None]  # (1, K)
            with torch.inference_mode():
                out = model.decode(self.tokens, self.draw, style=style, photo=self.x, window=window)  # (1, 1, h, w)
            image = tensor_to_image(out[0])
            if draft:
                image = image.resize((size[1], size[0]), Image.BICUBIC)
            sketch = np.asarray(image) if window is None else stream.paste_window(np.asarray(image), window, size)
            stream.keep_sketch(sketch, size, draft)
        g = model.cfg.grid
        yield StepFrame(step=0, total=1, sketch=sketch, mask=self.mask[0].view(g, g).cpu().numpy(),
                        newly_fixed=self.drawn[0].view(g, g).cpu().numpy(),
                        confidence=self.confidence[0].view(g, g).float().cpu().numpy(), tokens=self.tokens.clone())
        return SketchResult(self.photo, self.spec, self.tokens, sketch, live_path=self.path, redrawn=self.redrawn,
                            draft=draft and self.path != "still")
