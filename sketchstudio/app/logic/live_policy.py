"""When to start a live decode; Qt-free (after krita-ai-diffusion's LiveScheduler).

* one decode in flight at a time;
* the newest request wins: a new one replaces the pending one, and a preempting request
  (a style or settings change) asks for the running decode to be cancelled;
* a short grace period after the newest request, so a slider dragged across ten values
  starts one decode, not ten.

The Qt side asks `due_in()` when to look again, calls `take()` to start the next request and
`done()` when the running one ended (finished, cancelled or failed).
"""
from __future__ import annotations

import time
from collections import deque
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class LivePolicy(Generic[T]):
    def __init__(self, grace_s: float = 0.05, clock: Callable[[], float] = time.monotonic):
        self.grace_s = grace_s
        self.clock = clock
        self._pending: T | None = None
        self._pending_at = 0.0
        self._wait = True
        self._running: T | None = None

    @property
    def pending(self) -> T | None:
        return self._pending

    @property
    def running(self) -> T | None:
        return self._running

    @property
    def busy(self) -> bool:
        return self._running is not None

    def submit(self, request: T, *, preempt: bool = True, wait: bool = True) -> bool:
        """Queue `request` in place of any pending one.

        preempt: True if the running decode is now stale (the caller should cancel it).
        wait: apply the grace period (False for webcam frames, which come paced already).
        Returns True when the caller should cancel the running decode.
        """
        self._pending = request
        self._pending_at = self.clock()
        self._wait = wait
        return preempt and self._running is not None

    def discard(self) -> None:
        """Forget the pending request (not the running one)."""
        self._pending = None

    def due_in(self) -> float | None:
        """Seconds until `take()` hands out the pending request; None while busy or idle."""
        if self._pending is None or self._running is not None:
            return None
        if not self._wait:
            return 0.0
        return max(0.0, self._pending_at + self.grace_s - self.clock())

    def take(self) -> T | None:
        """The request to start now, if one is due; it becomes the running one."""
        if self.due_in() != 0.0:
            return None
        self._running, self._pending = self._pending, None
        return self._running

    def done(self) -> None:
        self._running = None


class RateMeter:
    """Events per second over the last `window_s` seconds (webcam sketches per second)."""

    def __init__(self, window_s: float = 3.0, clock: Callable[[], float] = time.monotonic):
        self.window_s = window_s
        self.clock = clock
        self._times: deque[float] = deque()

    def tick(self) -> None:
        self._times.append(self.clock())
        self._trim()

    def reset(self) -> None:
        self._times.clear()

    def rate(self) -> float:
        self._trim()
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0

    def _trim(self) -> None:
        now = self.clock()
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()


# Webcam frames are decoded in at most this many steps: on the held-out pairs 4 steps score
# as 8 do (SCOOT 0.453 both, docs/BENCHMARKS.md "Self-guidance: scale x steps") at about half
# the transformer's time per frame, and in webcam mode the rate is what the artist feels.
LIVE_STEPS = 4
# A webcam frame that re-draws part of a moving face is drawn as a draft this many pixels on
# its longer side (the tokenizer's own 256 px) and enlarged; the renderer's time grows with its
# pixels (74 ms at 465 px, 17 ms at 256 on 2 cores), and the first still frame draws it in full.
DRAFT_SIDE = 256
# Webcam frames may run as a two-stage pipeline: a frame's sketch drawn (the VQ decoder, the
# renderer) on a second thread while the next frame is framed, encoded and decoded, a partial
# frame's decode on one torch thread. Off: outside the window the two stages side by side gave
# 7.5-7.6 frames a second against 5.5-6.9 one after the other, but in the window (whose GUI
# thread shows the camera and the sketches on the same 2 cores) 5.69 against 5.71 while turning
# and 7.84 against 8.83 while talking (docs/BENCHMARKS.md, "Live"); `Studio.pipeline` turns it on.
PIPELINE = False
PIPELINE_THREADS = 1  # torch threads of a partial frame's decode in the pipeline (a scratch one: all)


def live_settings(settings):
    """The sampler settings a webcam frame is decoded with: the studio's, in at most LIVE_STEPS steps."""
    return settings.with_(steps=min(settings.steps, LIVE_STEPS))
