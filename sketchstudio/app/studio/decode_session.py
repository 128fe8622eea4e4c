"""What the studio window shows while the studio decodes: each step on the canvas and in the status
line, how long the finished sketch took, a failure; and the webcam's live mode switched on and
off (the photo shown before it comes back after).

The decoding itself is the studio's (studio.py); this part only listens to it.
"""
from __future__ import annotations

import time
from typing import Protocol

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QStatusBar

from ..logic.photo import Photo
from .studio import Studio
from .window_panels import WindowPanels


class DecodeWindow(Protocol):
    """What the decode session uses of the window it serves (main_window.MainWindow is one)."""
    studio: Studio
    panels: WindowPanels
    cancel_action: QAction  # Sketch > Stop decoding: enabled while a decode runs

    def report_error(self, title: str, text: str) -> None: ...

    def update_actions(self) -> None: ...

    def statusBar(self) -> QStatusBar: ...


class DecodeSession:
    def __init__(self, window: DecodeWindow):
        self.window = window
        self.studio = s = window.studio
        self.panels = p = window.panels
        self._started_at = 0.0
        self._photo_before_live: Photo | None = None
        s.decode_started.connect(self._decode_started)
        s.step_ready.connect(self._step)
        s.sketch_ready.connect(self._sketch_ready)
        s.decode_failed.connect(self._decode_failed)
        s.decode_cancelled.connect(lambda: window.statusBar().showMessage("Decoding stopped", 3000))
        s.busy_changed.connect(self._busy_changed)
        s.rate_changed.connect(lambda r: p.webcam.set_rate(r, s.dropped_frames, s.live_spec().settings.steps))
        p.webcam.live_changed.connect(self._live_changed)

    def _decode_started(self, req) -> None:
        self._started_at = time.monotonic()

    def _step(self, frame) -> None:
        self.panels.status_label.setText(f"Sketching… step {frame.step + 1} of {frame.total}")
        if not self.studio.live:  # webcam mode shows finished sketches only: steps would flicker
            self.panels.decode_view.show_step(frame)

    def _sketch_ready(self, result) -> None:
        self.panels.decode_view.set_frames(self.studio.frames)
        if self.studio.live:
            self.panels.webcam.show_result(result)
            self._size_live_sketches()
        if not self.studio.live:
            took = time.monotonic() - self._started_at
            self.window.statusBar().showMessage(f"Sketched in {took:.2f} s (seed {result.spec.settings.seed})", 5000)
        self.window.update_actions()

    def _decode_failed(self, message: str) -> None:
        self.panels.webcam.stop()
        self.window.report_error("Sketching failed", message)

    def _busy_changed(self, busy: bool) -> None:
        self.window.cancel_action.setEnabled(busy)
        if not busy:
            self.panels.status_label.setText("Ready")

    def _size_live_sketches(self) -> None:
        """Webcam sketches are drawn at the size the canvas shows them (up to the model's own
        size), not at the export size: the renderer's time goes with its pixels."""
        s = self.studio
        if s.model is not None:
            side = min(self.panels.decode_view.canvas.shown_side(), s.model.output_size)
            s.live_size = (side, side)

    def _live_changed(self, live: bool) -> None:
        s = self.studio
        if live:
            self._photo_before_live = s.photo
            s.cancel()
            self._size_live_sketches()
        s.set_live(live)
        self.window.update_actions()
        if not live and self._photo_before_live is not None:
            s.set_photo(self._photo_before_live)
