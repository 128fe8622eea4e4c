"""The model the studio window sketches with: which one it starts with, loading it (at the app's
start on a worker, once the window has painted; later from the model picker or a finished
training run), its recommended sampler settings, the banner when there is none, what the
window shows of it, and the copies a style rename or removal saves.

Nothing this module imports imports PyTorch: torch and the model arrive on the loader's thread
(`start(background=True)`, issue 25).
"""
from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Callable, Protocol

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QStatusBar

from ...core.sampler_settings import RECOMMENDABLE, CancelToken, SamplerSettings, recommended_settings
from ...model_files import UserError, load
from ...paths import default_model_path
from .. import messages
from ..logic.model_load import LOAD_STAGES, LoadedModel, ModelLoadJob
from ..logic.settings import AppSettings
from ..logic.style_edits import EditError, apply_edit, editable
from ..logic.style_origins import style_origins
from ..workers.thread import WorkerThread
from .model_picker import ModelPicker
from .studio import Studio
from .styles_panel import ThumbnailMaker
from .window_panels import WindowPanels


def saved_style(saved: dict, styles: tuple[str, ...]) -> tuple[float, ...] | None:
    """The settings file's style mix for these styles, if it is a usable one."""
    try:
        w = [float(saved.get(n, 0.0)) for n in styles]
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(x) and x >= 0 for x in w) or sum(w) <= 0:
        return None
    return tuple(x / sum(w) for x in w)


class ModelWindow(Protocol):
    """What the model session uses of the window it serves: a QMainWindow (the dialogs' parent)
    with these (main_window.MainWindow is one)."""
    studio: Studio
    settings: AppSettings  # the last model, the recent models, the last session's style mix
    panels: WindowPanels
    thumbnails: ThumbnailMaker  # sampled at the model's recommended settings
    interactive: bool  # False: no question is asked (self-test)

    def report_error(self, title: str, text: str) -> None: ...

    def update_actions(self) -> None: ...

    def open_path(self, path) -> bool: ...

    def after_first_paint(self, fn: Callable[[], object]) -> None: ...

    def statusBar(self) -> QStatusBar: ...


class ModelSession(QObject):
    torch_loaded = Signal()  # a background load imported torch; before its model is used
    load_finished = Signal(bool)  # start() is done: True when a model is loaded

    def __init__(self, window: ModelWindow):
        super().__init__(window)
        self.window = window
        self.studio = window.studio
        self.panels = window.panels
        self.info: dict = {}  # the loaded model's info (its card)
        self.pending_sketch: str | None = None  # a sketch PNG opened while loading: its settings need the model
        self._recommended: SamplerSettings | None = None  # what the loaded model recommends
        self._loader: WorkerThread | None = None  # while the model loads in the background
        self._load_cancel = CancelToken()
        self.studio.model_changed.connect(self._model_changed)

    def start(self, model_path: str | None = None, background: bool = False,
              hold: threading.Event | None = None) -> None:
        """Load the named model, else the shipped one, else the last one used; else say what is missing.

        background: load it on a worker thread, begun once the window has painted (the app's
        start: torch and the model arrive after the window); meanwhile the status bar says
        "Loading model…" and a photo opened is kept and sketched when the model is there.
        `hold` (tests) keeps that load waiting until it is set. `load_finished` says when it ended."""
        settings = self.window.settings
        shipped = default_model_path()
        if model_path:
            path = model_path
        elif shipped.is_file():
            path = str(shipped)
        elif settings.last_model and Path(settings.last_model).is_file():
            path = settings.last_model
        else:
            self._no_model(f"The shipped model is missing ({shipped}). Choose a model file to start sketching.")
            self.load_finished.emit(False)
            return
        if background:
            self._load_in_background(str(path), hold)
            return
        loaded = self.load_model(path)
        if loaded:
            self._restore_style()
        self.load_finished.emit(loaded)

    def _restore_style(self) -> None:
        weights = saved_style(self.window.settings.style, self.studio.styles)
        if weights:  # the last session's style mix
            self.panels.style_controls.set_weights(weights)
            self.studio.set_style(weights)

    def load_model(self, path: str) -> bool:
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            model, _info, mid = load(str(path))
        except UserError as exc:
            QApplication.restoreOverrideCursor()
            self._cannot_load(str(exc))
            return False
        QApplication.restoreOverrideCursor()
        self._use_model(str(path), model, _info, mid)
        return True

    def _cannot_load(self, message: str) -> None:
        self.window.report_error("Cannot load the model", message)
        if self.studio.model is None:
            self._no_model("No model is loaded. Choose a model file to start sketching.")

    def _use_model(self, path: str, model, info: dict, mid: str) -> None:
        settings = self.window.settings
        settings.last_model = str(Path(path).resolve())
        settings.add_recent(path, models=True)
        self.panels.banner.hide()
        self.info = info
        self._apply_recommended(recommended_settings(info))
        self.studio.set_model(model, str(path), mid)

    # --- loading in the background (the app's start) ------------------------------------
    @property
    def loading(self) -> bool:
        return self._loader is not None

    def _load_in_background(self, path: str, hold: threading.Event | None) -> None:
        p = self.panels
        self._loader = WorkerThread("sketchstudio-loader", self)
        self._loader.hook_up(yielded=self._load_progress, finished=self._loaded,
                             failed=lambda message: self._loaded(LoadedModel(path, error=message)))
        self._load_cancel = CancelToken()
        p.status_label.setText("Loading model…")
        p.load_progress.setValue(0)
        p.load_progress.show()
        p.model_label.setText(f"Loading {Path(path).name}…")
        if self.studio.photo is None:
            p.decode_view.clear("Loading the model… Open a photo meanwhile: it is sketched once the model is there.")
        self.window.update_actions()
        job = ModelLoadJob(path, hold)
        # After the first paint: the window is on screen before torch's import competes for the CPU.
        self.window.after_first_paint(lambda: self._loader and self._loader.submit(job, self._load_cancel))

    def _load_progress(self, stage: str) -> None:
        self.panels.status_label.setText(f"Loading model… ({stage})")
        self.panels.load_progress.setValue(LOAD_STAGES.index(stage))  # the stages done before this one

    def _loaded(self, result: LoadedModel | None) -> None:
        if self._loader is None:
            return
        self._loader.stop()
        self._loader = None
        self.panels.load_progress.hide()
        self.panels.status_label.setText("Ready")
        if result is None:  # cancelled: the window is closing
            return
        self.torch_loaded.emit()
        if result.model is None:
            self._cannot_load(result.error)
        else:
            self._use_model(result.path, result.model, result.info, result.model_id)
            self._restore_style()
        self.window.update_actions()
        self.load_finished.emit(result.model is not None)
        pending, self.pending_sketch = self.pending_sketch, None
        if pending and result.model is not None:
            self.window.open_path(pending)

    def stop_loading(self) -> None:
        """The window closes: the load stops before reading the weights; an import under way ends first."""
        if self._loader is not None:
            self._load_cancel.cancel()
            self._loader.stop()
            self._loader = None

    def _apply_recommended(self, rec: SamplerSettings) -> None:
        """Take a model's recommended sampler settings, except where the user set their own
        (a value that differs from what the previous model recommended)."""
        prev = self._recommended or SamplerSettings()
        cur = self.studio.settings
        changes = {k: getattr(rec, k) for k in RECOMMENDABLE if getattr(cur, k) == getattr(prev, k)}
        self._recommended = rec
        self.window.thumbnails.settings = rec
        if changes:
            self.studio.settings = cur.with_(**changes)
            self.panels.sampler_controls.set_settings(self.studio.settings)

    def ask_model(self) -> None:
        settings = self.window.settings
        picker = ModelPicker(self.window, settings.recent_models, settings.last_dir)
        if picker.exec() and picker.chosen is not None:
            self.load_model(str(picker.chosen))

    def _no_model(self, text: str) -> None:
        p = self.panels
        p.banner_text.setText(text)
        p.banner.show()
        p.decode_view.clear("No model loaded.")
        p.model_label.setText("No model loaded")
        self.window.update_actions()

    def _model_changed(self) -> None:
        s, p = self.studio, self.panels
        p.style_controls.set_styles(s.styles)
        p.style_controls.set_weights(s.style)
        cfg = s.model.cfg
        name = Path(s.model_path).name if s.model_path else "(in memory)"
        p.model_label.setText(f"{name}\n{s.model_id}\n{cfg.grid}×{cfg.grid} tokens, "
                              f"{s.model.output_size} px sketches; styles: {', '.join(s.styles)}")
        p.model_label.setToolTip(messages.plain_tooltip(s.model_path or ""))
        p.styles_panel.set_styles(s.styles, style_origins(s.styles, self.info), editable(s.model_path))
        if s.photo is None:
            p.decode_view.clear("Open a photo, drop one here, paste one, or start the webcam.")
        self.window.update_actions()

    # --- editing styles (a new file each time; the shipped model never) ----------------------
    def choose_style(self, style: str) -> None:
        if style in self.studio.styles:
            self.panels.style_controls.select(style)

    def rename_style(self, style: str, new_name: str | None = None) -> bool:
        """Save a copy of the model with `style` renamed and load it; `new_name` None: ask."""
        if new_name is None:
            new_name = messages.ask_text(self.window, "Rename style", f"New name for “{style}”:", style)
            if new_name is None:
                return False
        return self._edit_style("rename", style, new_name)

    def remove_style(self, style: str, confirm: bool = True) -> bool:
        """Save a copy of the model without `style` and load it, after asking."""
        if confirm and self.window.interactive and not messages.ask_question(
                self.window, "Remove style", f"Remove the style “{style}”? The model is saved as a new file without it; "
                                             "the file it came from stays as it is."):
            return False
        return self._edit_style("remove", style)

    def _edit_style(self, op: str, style: str, new_name: str | None = None) -> bool:
        s = self.studio
        title = "Cannot rename the style" if op == "rename" else "Cannot remove the style"
        if s.model is None:
            self.window.report_error(title, "No model is loaded.")
            return False
        mix = dict(zip(s.styles, s.style))
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            dest, change = apply_edit(s.model, s.model_path, op, style, new_name)
        except EditError as exc:
            QApplication.restoreOverrideCursor()
            self.window.report_error(title, str(exc))
            return False
        QApplication.restoreOverrideCursor()
        if not self.load_model(str(dest)):
            return False
        if op == "rename" and style in mix:  # the renamed style keeps its share of the mix
            renamed = next(n for n in s.styles if n not in mix)
            w = [mix.get(n, mix[style] if n == renamed else 0.0) for n in s.styles]
            if sum(w) > 0:
                w = tuple(x / sum(w) for x in w)
                self.panels.style_controls.set_weights(w)
                s.set_style(w)
        self.window.statusBar().showMessage(f"{change}: saved as {dest.name}", 10000)
        return True
