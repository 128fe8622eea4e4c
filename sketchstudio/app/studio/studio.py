"""The studio's state and its live decoding, as signals; no widgets (they bind to this).

Holds the model, the photo, the style and sampler settings, and the last sketch with its
steps. Every change asks for a decode through the `LivePolicy` (one in flight, newest wins,
a short grace period); the decode itself runs as a `DecodeJob` on the worker thread.

Webcam frames can run as a pipeline (`pipeline`, off by default: `live_policy.PIPELINE`): the sampler thread frames, encodes
and decodes a frame and hands its `LiveDraw` to the drawing thread, which draws the sketch
while the sampler thread takes the next frame. The draws run in the frames' order, and a
frame waits while one draw is already waiting, so the picture is never more than two frames
behind the camera.
"""
from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from ...core.sampler_settings import CancelToken, SamplerSettings
from ..logic.decode_job import (DecodeJob, DecodeRequest, Framed, LiveDraw, MemoryCache, Redraw, SketchResult, SketchSpec,
                                StepFrame)
from ..logic.live_policy import DRAFT_SIDE, PIPELINE, PIPELINE_THREADS, LivePolicy, RateMeter, live_settings
from ..logic.face_tracking import CropTracker
from ..logic.photo import Crop, Photo
from ..workers.thread import WorkerThread

if TYPE_CHECKING:
    from ...core.model import SketchModel

MAX_SEED = 2**31 - 1


def one_hot(i: int, n: int) -> tuple[float, ...]:
    return tuple(1.0 if j == i else 0.0 for j in range(n))


class Studio(QObject):
    model_changed = Signal()
    photo_changed = Signal(object)  # Photo
    settings_changed = Signal(object)  # SamplerSettings, when the studio itself changed them
    style_changed = Signal(object)  # tuple of weights, when the studio itself changed them
    framed = Signal(object)  # a webcam Photo with the face found
    decode_started = Signal(object)  # DecodeRequest
    step_ready = Signal(object)  # StepFrame
    sketch_ready = Signal(object)  # SketchResult
    decode_cancelled = Signal()
    decode_failed = Signal(str)
    busy_changed = Signal(bool)
    rate_changed = Signal(float)  # webcam sketches per second

    def __init__(self, parent: QObject | None = None, grace_s: float = 0.05):
        super().__init__(parent)
        self.model: SketchModel | None = None
        self.model_path: str | None = None
        self.model_id = ""
        self.photo: Photo | None = None
        self.style: tuple[float, ...] = ()
        self.settings = SamplerSettings()
        self.seed_locked = True
        self.redraws: tuple[Redraw, ...] = ()
        self.result: SketchResult | None = None
        self.frames: list[StepFrame] = []  # the steps of the last decode, for the scrubber
        self.live = False  # webcam mode: frames come in through submit_frame
        self.tracker = CropTracker()  # webcam: the crop follows the face, smoothed
        self.stream = None  # webcam: a core.live.LiveStream, the last sketch reused (made with the model)
        self.live_size: tuple[int, int] | None = None  # (H, W) webcam sketches are drawn at: the size shown
        self.drafts = False  # webcam: partial frames drawn as quick drafts (core/live.py), in full once still
        self.pipeline = PIPELINE  # webcam: a frame's sketch drawn on a second thread beside the next frame's decode
        self._draws: deque[LiveDraw] = deque()  # decoded webcam frames waiting to be drawn (at most one)
        self._drawing: LiveDraw | None = None  # the one being drawn
        self._draw_thread: WorkerThread | None = None  # made at the first pipelined frame
        self._find_face = False  # the photo's face is still to be found (on the worker: it is slow)
        self._keep_crop = False  # ... and the crop stays as it is (stored or dragged by the user)
        self.dropped_frames = 0
        self.policy: LivePolicy[DecodeRequest] = LivePolicy(grace_s)
        self.cache = MemoryCache()
        self.rate = RateMeter()
        self._busy = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._pump)
        self._thread = WorkerThread("sketchstudio-sampler", self)
        self._thread.hook_up(yielded=self._on_yielded, finished=self._on_finished, failed=self._on_failed,
                             cancelled=self._on_cancelled)

    # --- inputs ------------------------------------------------------------------------
    @property
    def styles(self) -> tuple[str, ...]:
        return self.model.styles if self.model else ()

    def set_model(self, model: SketchModel, path: str | None, model_id: str) -> None:
        self.cancel()
        old = dict(zip(self.styles, self.style))
        self.model, self.model_path, self.model_id = model, path, model_id
        self.cache.clear()
        from ...core.live import LiveStream  # torch is loaded with the model

        self.stream = LiveStream(model.cfg.grid, self._live_params())
        # Keep the style mix where the new model knows the names; else its first style.
        w = [old.get(s, 0.0) for s in model.styles]
        self.style = tuple(x / sum(w) for x in w) if sum(w) > 0 else one_hot(0, len(model.styles))
        self.result, self.frames, self.redraws = None, [], ()
        self.model_changed.emit()
        self.request()

    def set_photo(self, photo: Photo, detect: bool = False) -> None:
        """detect: find the face on the worker thread (the crop follows it) before decoding."""
        self.photo, self.redraws = photo, ()
        self._find_face, self._keep_crop = detect, False
        if not self.seed_locked:
            self.new_seed(decode=False)
        self.photo_changed.emit(photo)
        self.request()

    def set_crop(self, crop: Crop | None, roll: float | None = None) -> None:
        """A new crop square (roll: its turn; None keeps the photo's)."""
        if self.photo is None:
            return
        self.photo, self.redraws = self.photo.with_crop(crop, roll=roll), ()
        self._keep_crop = True
        self.photo_changed.emit(self.photo)
        self.request()

    def set_style(self, weights) -> None:
        weights = tuple(float(w) for w in weights)
        if weights == self.style:
            return
        self.style, self.redraws = weights, ()
        self.request()

    def set_settings(self, settings: SamplerSettings) -> None:
        if settings == self.settings:
            return
        self.settings, self.redraws = settings, ()
        self.request()

    def new_seed(self, decode: bool = True) -> None:
        self.settings = self.settings.with_(seed=random.randint(0, MAX_SEED))
        self.redraws = ()
        self.settings_changed.emit(self.settings)
        if decode:
            self.request()

    def apply(self, photo: Photo | None, spec: SketchSpec, keep_crop: bool = True) -> None:
        """Restore everything at once (opening a sketch PNG). The face is found on the worker;
        keep_crop: the photo's crop is the stored one (else the face decides it)."""
        self.style, self.settings, self.redraws = spec.style, spec.settings, spec.redraws
        self.style_changed.emit(self.style)
        self.settings_changed.emit(self.settings)
        if photo is not None:
            self.photo, self._find_face, self._keep_crop = photo, True, keep_crop
            self.photo_changed.emit(photo)
        self.request()

    def redraw(self, cells) -> None:
        """Re-mask the tokens at `cells` of the current sketch and decode only those."""
        cells = tuple(sorted(set(int(c) for c in cells)))
        if not cells or self.result is None or self.live:
            return
        seed = (self.settings.seed + 7919 * (len(self.redraws) + 1)) % MAX_SEED
        self.redraws = self.redraws + (Redraw(cells, seed),)
        base = self.result
        before = replace(self.spec(), redraws=self.redraws[:-1])
        # Start from the sketch on screen when it is the state just before this stroke;
        # otherwise (a stroke while decoding) replay the whole chain.
        init = base.tokens if base.photo is self.photo and base.spec == before else None
        self.request(init_tokens=init)

    def spec(self) -> SketchSpec:
        return SketchSpec(self.style, self.settings, self.redraws)

    def live_spec(self) -> SketchSpec:
        """What a webcam frame is sketched with: the style, the settings in at most LIVE_STEPS steps."""
        return SketchSpec(self.style, live_settings(self.settings), ())

    # --- webcam ------------------------------------------------------------------------
    def _live_params(self):
        from ...core.live import LiveParams

        return LiveParams(draft_side=DRAFT_SIDE if self.drafts else None)

    def set_drafts(self, on: bool) -> None:
        """Webcam frames that re-draw part of the sketch are drawn as quick drafts (or not)."""
        self.drafts = bool(on)
        if self.stream is not None:  # a new stream: the next frame is drawn from scratch, in full
            self._draws.clear()
            params = replace(self.stream.params, draft_side=self._live_params().draft_side)
            self.stream = type(self.stream)(self.stream.grid, params)

    def set_live(self, live: bool) -> None:
        self.live = live
        self.tracker.reset()
        self._draws.clear()  # the old stream's frames are not drawn (one being drawn is not shown)
        if self.stream is not None:  # a new one: a frame still decoding writes to the old one
            self.stream = type(self.stream)(self.stream.grid, self.stream.params)
        if live:
            self.rate.reset()
            self.dropped_frames = 0
        else:
            self.policy.discard()

    def submit_frame(self, photo: Photo) -> None:
        """The newest webcam frame: replaces any frame still waiting; never cancels a decode."""
        if not self.live or self.model is None:
            return
        if self.policy.pending is not None:
            self.dropped_frames += 1
        self.photo, self.redraws = photo, ()
        req = DecodeRequest(photo, self.live_spec(), detect=True, live=True, tracker=self.tracker, stream=self.stream,
                            draw_size=self.live_size, **self._pipelined())
        self.policy.submit(req, preempt=False, wait=False)
        self._pump()

    # --- decoding ----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._busy

    def request(self, init_tokens=None) -> None:
        if self.model is None or self.photo is None or not self.style:
            return
        req = DecodeRequest(self.photo, self.live_spec() if self.live else self.spec(), init_tokens,
                            detect=self.live or self._find_face,
                            keep_crop=self._keep_crop and not self.live, live=self.live,
                            tracker=self.tracker if self.live else None, stream=self.stream if self.live else None,
                            draw_size=self.live_size if self.live else None, **(self._pipelined() if self.live else {}))
        if self.policy.submit(req, preempt=True):
            self.policy.running.cancel.cancel()
        self._pump()

    def _pipelined(self) -> dict:
        """A webcam request's pipeline fields: its sketch drawn apart, its partial decode on one thread."""
        return {"render_apart": True, "partial_threads": PIPELINE_THREADS} if self.pipeline else {}

    def cancel(self) -> None:
        self.policy.discard()
        self._draws.clear()
        if self.policy.running is not None:
            self.policy.running.cancel.cancel()

    def shutdown(self) -> None:
        self._timer.stop()
        self.cancel()
        self._thread.stop()
        if self._draw_thread is not None:
            self._draw_thread.stop()

    def _pump(self) -> None:
        if self._draws:
            return  # a decoded frame still waits to be drawn: the next one waits for it (the pipeline is full)
        due = self.policy.due_in()
        if due is None:
            return
        if due > 0:
            self._timer.start(max(1, math.ceil(due * 1000)))
            return
        req = self.policy.take()
        self._set_busy(True)
        self.decode_started.emit(req)
        self._thread.submit(DecodeJob(self.model, req, self.cache), req.cancel)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)

    def _current(self) -> DecodeRequest | None:
        req = self.policy.running
        return None if req is None or req.cancel.cancelled else req

    def _on_yielded(self, event) -> None:
        if isinstance(event, StepFrame):
            self._on_step(event)
        elif isinstance(event, Framed):
            self._on_framed(event)

    def _on_step(self, frame: StepFrame) -> None:
        req = self._current()
        if req is None:
            return  # a cancelled decode's last steps
        if frame.step == 0 or req.live:  # a new pass; a webcam frame hands on only its last step
            self.frames = []
        self.frames.append(frame)
        self.step_ready.emit(frame)

    def _on_framed(self, event: Framed) -> None:
        req = self._current()
        if req is None:
            return
        if self.photo is req.photo:
            self.photo = event.photo
            if not req.live:
                self._find_face = False
                self.photo_changed.emit(self.photo)
        self.framed.emit(event.photo)

    def _on_finished(self, result: SketchResult | LiveDraw) -> None:
        req = self.policy.running
        if req is not None and req.cancel.cancelled:  # finished just as it was superseded
            self._on_cancelled()
            return
        self.policy.done()
        if isinstance(result, LiveDraw):  # a pipelined webcam frame, decoded: now to be drawn
            if self.live and result.stream is self.stream:
                self._draws.append(result)
                self._draw_next()
            self._next()
            return
        self.result = result
        if req is not None and req.live:
            self.rate.tick()
            self.rate_changed.emit(self.rate.rate())
        self.sketch_ready.emit(result)
        self._next()

    def _on_failed(self, message: str) -> None:
        self.policy.done()
        self.decode_failed.emit(message)
        self._next()

    def _on_cancelled(self) -> None:
        self.policy.done()
        self.decode_cancelled.emit()
        self._next()

    def _next(self) -> None:
        if self.policy.pending is None and self.policy.running is None and self._drawing is None and not self._draws:
            self._set_busy(False)
        self._pump()

    # --- the pipeline's drawing thread -------------------------------------------------
    def _draw_next(self) -> None:
        if self._drawing is not None or not self._draws:
            return
        if self._draw_thread is None:
            self._draw_thread = WorkerThread("sketchstudio-draw", self, compute=False)  # one torch thread
            self._draw_thread.hook_up(yielded=self._on_drawn_step, finished=self._on_drawn, failed=self._on_draw_failed,
                                      cancelled=self._on_draw_cancelled)
        self._drawing = self._draws.popleft()
        self._set_busy(True)
        self._draw_thread.submit(self._drawing, CancelToken())

    def _current_draw(self) -> bool:
        d = self._drawing
        return d is not None and self.live and d.stream is self.stream

    def _on_drawn_step(self, frame) -> None:
        if isinstance(frame, StepFrame) and self._current_draw():
            self.frames = [frame]
            self.step_ready.emit(frame)

    def _on_drawn(self, result: SketchResult) -> None:
        if self._current_draw():
            self.result = result
            self.rate.tick()
            self.rate_changed.emit(self.rate.rate())
            self.sketch_ready.emit(result)
        self._drawn()

    def _on_draw_failed(self, message: str) -> None:
        if self._current_draw():
            self.decode_failed.emit(message)
        self._drawn()

    def _on_draw_cancelled(self) -> None:
        self._drawn()

    def _drawn(self) -> None:
        self._drawing = None
        self._draw_next()
        self._next()
