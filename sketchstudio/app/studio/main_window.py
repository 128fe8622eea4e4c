"""The studio window: input on the left, the live sketch in the middle, controls on the right.

The window only lays out widgets and wires them to the `Studio` (state + live decoding) and
to `ExportActions` (files out); model work never happens here.

Nothing this module imports at start imports PyTorch: the app shows the window first and loads
torch and the model on a worker (`start(background=True)`, issue 25).
"""
from __future__ import annotations

import math
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QImage, QKeySequence
from PySide6.QtWidgets import (QApplication, QFileDialog, QFrame, QGroupBox, QHBoxLayout, QLabel, QMainWindow,
                               QProgressBar, QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from ... import __version__
from ...core.imaging import ImageLoadError, load_image
from ...core.sampler_settings import RECOMMENDABLE, CancelToken, SamplerSettings, recommended_settings
from ...core.sampler_settings_io import settings_from_dict, settings_to_dict
from ...model_files import UserError, load
from ...paths import default_model_path
from ...sketch_file import MetadataError, read_metadata
from .. import messages
from ..logic.export import crop_from_metadata, spec_from_metadata
from ..logic.model_load import LOAD_STAGES, LoadedModel, ModelLoadJob
from ..logic.photo import Photo
from ..logic.style_edits import EditError, apply_edit, editable
from ..logic.style_origins import style_origins
from ..logic.settings import AppSettings
from ..qt_images import pil_from_qimage
from ..workers.thread import WorkerThread
from .decode_view import DecodeView
from .export_actions import ExportActions
from .model_picker import ModelPicker
from .photo_panel import PhotoPanel
from .sampler_controls import SamplerControls
from .studio import Studio
from .style_controls import StyleControls
from .styles_panel import StylesPanel, ThumbnailMaker
from .webcam_panel import WebcamPanel

if TYPE_CHECKING:
    from ..wizard.wizard import TrainingWizard

# The sampler settings kept between sessions (settings.json); the rest stay at their defaults.
SAVED_SETTINGS = ("steps", "temperature", "self_guidance", "style_guidance", "seed")
PHOTO_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff *.gif);;All files (*)"


def saved_style(saved: dict, styles: tuple[str, ...]) -> tuple[float, ...] | None:
    """The settings file's style mix for these styles, if it is a usable one."""
    try:
        w = [float(saved.get(n, 0.0)) for n in styles]
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(x) and x >= 0 for x in w) or sum(w) <= 0:
        return None
    return tuple(x / sum(w) for x in w)


class MainWindow(QMainWindow):
    error_reported = Signal(str, str)  # title, text (also shown in a box unless `interactive` is off)
    first_painted = Signal()  # the window is on screen (its first paint is done)
    torch_loaded = Signal()  # a background load imported torch; before its model is used (the app reserves threads)
    load_finished = Signal(bool)  # start() is done: True when a model is loaded

    def __init__(self, settings: AppSettings | None = None, find_cameras: bool = True, grace_s: float = 0.05):
        super().__init__()
        self.setWindowTitle(f"SketchStudio {__version__}")
        self.settings = settings or AppSettings()
        self.interactive = True  # False: errors go to error_reported and stderr only (self-test)
        self.persist = True  # False: never write the settings file (self-test)
        self.studio = Studio(self, grace_s)
        self.model_info: dict = {}  # the loaded model's info (its card)
        self.thumbnails = ThumbnailMaker(self.studio, self)
        self.exports = ExportActions(self)
        self._started_at = 0.0
        self._photo_before_live: Photo | None = None
        self.training_wizard: TrainingWizard | None = None
        self._closing_after_training = False
        self._painted = False
        self._loader: WorkerThread | None = None  # while the model loads in the background
        self._load_cancel = CancelToken()
        self._pending_sketch: str | None = None  # a sketch PNG opened while loading: its settings need the model
        self._build()
        self._menus()
        self._wire()
        if find_cameras:  # else the caller adds sources (tests: a fake one)
            self.webcam.find_cameras()
        self._restore()
        self.setAcceptDrops(True)
        self._update_actions()
        self.installEventFilter(self)  # until the first paint (eventFilter)

    # --- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        self.photo_panel = PhotoPanel()
        self.webcam = WebcamPanel()
        self.inputs = QTabWidget()
        self.inputs.addTab(self.photo_panel, "Photo")
        self.inputs.addTab(self.webcam, "Webcam")
        self.decode_view = DecodeView()
        self.style_controls = StyleControls()
        self.styles_panel = StylesPanel()
        self.sampler_controls = SamplerControls()
        self.model_label = QLabel("No model")
        self.model_label.setTextFormat(Qt.TextFormat.PlainText)
        self.model_label.setWordWrap(True)
        self.model_button = QPushButton("Choose model…")
        self.export_button = QPushButton("Export PNG…")

        model_box = QGroupBox("Model")
        lay = QVBoxLayout(model_box)
        lay.addWidget(self.model_label)
        lay.addWidget(self.model_button)
        style_box = QGroupBox("Style")
        QVBoxLayout(style_box).addWidget(self.style_controls)
        styles_box = QGroupBox("Styles of this model (double-click: sketch in it; right-click: rename, remove)")
        sl = QVBoxLayout(styles_box)
        sl.setContentsMargins(4, 2, 4, 2)
        sl.addWidget(self.styles_panel)
        decode_box = QGroupBox("Decoding")
        QVBoxLayout(decode_box).addWidget(self.sampler_controls)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(4, 0, 4, 0)
        for w in (model_box, style_box, decode_box):
            rl.addWidget(w)
        rl.addStretch(1)
        rl.addWidget(self.export_button)
        right.setMinimumWidth(330)

        self.banner = QFrame()
        self.banner.setObjectName("banner")
        self.banner.setStyleSheet("QFrame#banner { background: #fff3cd; border: 1px solid #e0c36a; }")
        self.banner_text = QLabel()
        self.banner_text.setTextFormat(Qt.TextFormat.PlainText)
        self.banner_text.setWordWrap(True)
        self.banner_button = QPushButton("Choose model…")
        bl = QHBoxLayout(self.banner)
        bl.addWidget(self.banner_text, 1)
        bl.addWidget(self.banner_button)
        self.banner.hide()

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.inputs)
        middle = QWidget()  # the sketch, and under it the model's styles as a strip of samples
        ml = QVBoxLayout(middle)
        ml.setContentsMargins(0, 0, 0, 0)
        ml.addWidget(self.decode_view, 1)
        ml.addWidget(styles_box)
        split.addWidget(middle)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setStretchFactor(2, 0)
        split.setSizes([340, 560, 320])
        body = QWidget()
        vl = QVBoxLayout(body)
        vl.addWidget(self.banner)
        vl.addWidget(split, 1)
        self.setCentralWidget(body)
        self.status_label = QLabel("Ready")
        # While the model loads in the background: its stages (a busy bar would repaint all the time).
        self.load_progress = QProgressBar()
        self.load_progress.setRange(0, len(LOAD_STAGES))
        self.load_progress.setTextVisible(False)
        self.load_progress.setMaximumWidth(120)
        self.load_progress.hide()
        self.statusBar().addPermanentWidget(self.load_progress)
        self.statusBar().addPermanentWidget(self.status_label)
        self.resize(1240, 760)

    def _menus(self) -> None:
        m = self.menuBar().addMenu("&File")

        def act(text, slot, shortcut=None, menu=m) -> QAction:
            a = QAction(text, self)
            if shortcut:
                a.setShortcut(shortcut)
            a.triggered.connect(slot)
            menu.addAction(a)
            return a

        act("&Open photo or sketch…", self.ask_open, QKeySequence.StandardKey.Open)
        act("&Paste image", self.paste, QKeySequence.StandardKey.Paste)
        self.recent_menu = m.addMenu("Open &recent")
        m.addSeparator()
        e = self.exports
        self.export_actions = [
            act("&Export sketch PNG…", e.ask_export_png, QKeySequence.StandardKey.Save),
            act("Export decoding &animation (GIF)…", e.ask_export_gif),
            act("Export style &sweep sheet…", e.ask_export_sweep),
        ]
        act("&Batch sketch a folder…", e.ask_batch)
        m.addSeparator()
        self.model_action = act("Choose &model…", self.ask_model)
        act("&Quit", self.close, QKeySequence.StandardKey.Quit)
        d = self.menuBar().addMenu("&Sketch")
        self.cancel_action = act("&Stop decoding", self.studio.cancel, Qt.Key.Key_Escape, d)
        act("New &seed", lambda: self.studio.new_seed(), "Ctrl+R", d)
        t = self.menuBar().addMenu("&Train")
        self.train_action = act("New style from my &drawings…", self.open_training_wizard, menu=t)

    def _wire(self) -> None:
        s = self.studio
        s.model_changed.connect(self._model_changed)
        s.photo_changed.connect(self.photo_panel.set_photo)
        s.settings_changed.connect(self.sampler_controls.set_settings)
        s.style_changed.connect(self.style_controls.set_weights)
        s.framed.connect(self.webcam.show_framed)
        s.decode_started.connect(self._decode_started)
        s.step_ready.connect(self._step)
        s.sketch_ready.connect(self._sketch_ready)
        s.decode_failed.connect(self._decode_failed)
        s.decode_cancelled.connect(lambda: self.statusBar().showMessage("Decoding stopped", 3000))
        s.busy_changed.connect(self._busy_changed)
        s.rate_changed.connect(lambda r: self.webcam.set_rate(r, s.dropped_frames, s.live_spec().settings.steps))
        self.style_controls.weights_changed.connect(s.set_style)
        self.sampler_controls.changed.connect(s.set_settings)
        self.sampler_controls.new_seed_requested.connect(lambda: s.new_seed())
        self.sampler_controls.lock_changed.connect(lambda on: setattr(s, "seed_locked", on))
        self.photo_panel.open_clicked.connect(self.ask_open)
        self.photo_panel.paste_clicked.connect(self.paste)
        self.photo_panel.crop_changed.connect(s.set_crop)
        self.photo_panel.reset_clicked.connect(lambda: s.photo and s.set_crop(s.photo.auto, s.photo.auto_roll))
        self.webcam.frame_ready.connect(s.submit_frame)
        self.webcam.live_changed.connect(self._live_changed)
        self.webcam.failed.connect(lambda text: self.report_error("Camera", text))
        self.decode_view.canvas.redraw_requested.connect(s.redraw)
        self.model_button.clicked.connect(self.ask_model)
        self.banner_button.clicked.connect(self.ask_model)
        self.export_button.clicked.connect(self.exports.ask_export_png)
        self.thumbnails.ready.connect(self.styles_panel.set_thumbnail)
        self.styles_panel.style_chosen.connect(self._choose_style)
        self.styles_panel.rename_requested.connect(lambda style: self.rename_style(style))
        self.styles_panel.remove_requested.connect(lambda style: self.remove_style(style))

    # --- model -------------------------------------------------------------------------
    def start(self, model_path: str | None = None, background: bool = False,
              hold: threading.Event | None = None) -> None:
        """Load the named model, else the shipped one, else the last one used; else say what is missing.

        background: load it on a worker thread, begun once the window has painted (the app's
        start: torch and the model arrive after the window); meanwhile the status bar says
        "Loading model…" and a photo opened is kept and sketched when the model is there.
        `hold` (tests) keeps that load waiting until it is set. `load_finished` says when it ended."""
        shipped = default_model_path()
        if model_path:
            path = model_path
        elif shipped.is_file():
            path = str(shipped)
        elif self.settings.last_model and Path(self.settings.last_model).is_file():
            path = self.settings.last_model
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
        weights = saved_style(self.settings.style, self.studio.styles)
        if weights:  # the last session's style mix
            self.style_controls.set_weights(weights)
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
        self.report_error("Cannot load the model", message)
        if self.studio.model is None:
            self._no_model("No model is loaded. Choose a model file to start sketching.")

    def _use_model(self, path: str, model, info: dict, mid: str) -> None:
        self.settings.last_model = str(Path(path).resolve())
        self.settings.add_recent(path, models=True)
        self.banner.hide()
        self.model_info = info
        self._apply_recommended(recommended_settings(info))
        self.studio.set_model(model, str(path), mid)

    # --- loading in the background (the app's start) ------------------------------------
    @property
    def loading(self) -> bool:
        return self._loader is not None

    def _load_in_background(self, path: str, hold: threading.Event | None) -> None:
        self._loader = WorkerThread("sketchstudio-loader", self)
        self._loader.hook_up(yielded=self._load_progress, finished=self._loaded,
                             failed=lambda message: self._loaded(LoadedModel(path, error=message)))
        self._load_cancel = CancelToken()
        self.status_label.setText("Loading model…")
        self.load_progress.setValue(0)
        self.load_progress.show()
        self.model_label.setText(f"Loading {Path(path).name}…")
        if self.studio.photo is None:
            self.decode_view.clear("Loading the model… Open a photo meanwhile: it is sketched once the model is there.")
        self._update_actions()
        job = ModelLoadJob(path, hold)
        if self._painted or not self.isVisible():
            self._loader.submit(job, self._load_cancel)
        else:  # after the first paint: the window is on screen before torch's import competes for the CPU
            self.first_painted.connect(lambda: self._loader and self._loader.submit(job, self._load_cancel),
                                       Qt.ConnectionType.SingleShotConnection)

    def _load_progress(self, stage: str) -> None:
        self.status_label.setText(f"Loading model… ({stage})")
        self.load_progress.setValue(LOAD_STAGES.index(stage))  # the stages done before this one

    def _loaded(self, result: LoadedModel | None) -> None:
        if self._loader is None:
            return
        self._loader.stop()
        self._loader = None
        self.load_progress.hide()
        self.status_label.setText("Ready")
        if result is None:  # cancelled: the window is closing
            return
        self.torch_loaded.emit()
        if result.model is None:
            self._cannot_load(result.error)
        else:
            self._use_model(result.path, result.model, result.info, result.model_id)
            self._restore_style()
        self._update_actions()
        self.load_finished.emit(result.model is not None)
        pending, self._pending_sketch = self._pending_sketch, None
        if pending and result.model is not None:
            self.open_path(pending)

    def eventFilter(self, obj, e: QEvent) -> bool:
        # Watches for the first paint only, then lets go: a Python paintEvent on the window would
        # run for every repaint behind a child and take the GIL from the thread loading torch.
        if obj is self and e.type() == QEvent.Type.Paint and not self._painted:
            self._painted = True
            self.removeEventFilter(self)
            QTimer.singleShot(0, self.first_painted.emit)  # after this paint has reached the screen
        return False

    def _apply_recommended(self, rec: SamplerSettings) -> None:
        """Take a model's recommended sampler settings, except where the user set their own
        (a value that differs from what the previous model recommended)."""
        prev = getattr(self, "_recommended", None) or SamplerSettings()
        cur = self.studio.settings
        changes = {k: getattr(rec, k) for k in RECOMMENDABLE if getattr(cur, k) == getattr(prev, k)}
        self._recommended = rec
        self.thumbnails.settings = rec
        if changes:
            self.studio.settings = cur.with_(**changes)
            self.sampler_controls.set_settings(self.studio.settings)

    def ask_model(self) -> None:
        picker = ModelPicker(self, self.settings.recent_models, self.settings.last_dir)
        if picker.exec() and picker.chosen is not None:
            self.load_model(str(picker.chosen))

    def _no_model(self, text: str) -> None:
        self.banner_text.setText(text)
        self.banner.show()
        self.decode_view.clear("No model loaded.")
        self.model_label.setText("No model loaded")
        self._update_actions()

    def _model_changed(self) -> None:
        s = self.studio
        self.style_controls.set_styles(s.styles)
        self.style_controls.set_weights(s.style)
        cfg = s.model.cfg
        name = Path(s.model_path).name if s.model_path else "(in memory)"
        self.model_label.setText(f"{name}\n{s.model_id}\n{cfg.grid}×{cfg.grid} tokens, "
                                 f"{s.model.output_size} px sketches; styles: {', '.join(s.styles)}")
        self.model_label.setToolTip(messages.plain_tooltip(s.model_path or ""))
        self.styles_panel.set_styles(s.styles, style_origins(s.styles, self.model_info), editable(s.model_path))
        if s.photo is None:
            self.decode_view.clear("Open a photo, drop one here, paste one, or start the webcam.")
        self._update_actions()

    # --- editing styles (a new file each time; the shipped model never) ----------------------
    def _choose_style(self, style: str) -> None:
        if style in self.studio.styles:
            self.style_controls.select(style)

    def rename_style(self, style: str, new_name: str | None = None) -> bool:
        """Save a copy of the model with `style` renamed and load it; `new_name` None: ask."""
        if new_name is None:
            new_name = messages.ask_text(self, "Rename style", f"New name for “{style}”:", style)
            if new_name is None:
                return False
        return self._edit_style("rename", style, new_name)

    def remove_style(self, style: str, confirm: bool = True) -> bool:
        """Save a copy of the model without `style` and load it, after asking."""
        if confirm and self.interactive and not messages.ask_question(
                self, "Remove style", f"Remove the style “{style}”? The model is saved as a new file without it; "
                                      "the file it came from stays as it is."):
            return False
        return self._edit_style("remove", style)

    def _edit_style(self, op: str, style: str, new_name: str | None = None) -> bool:
        s = self.studio
        title = "Cannot rename the style" if op == "rename" else "Cannot remove the style"
        if s.model is None:
            self.report_error(title, "No model is loaded.")
            return False
        mix = dict(zip(s.styles, s.style))
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            dest, change = apply_edit(s.model, s.model_path, op, style, new_name)
        except EditError as exc:
            QApplication.restoreOverrideCursor()
            self.report_error(title, str(exc))
            return False
        QApplication.restoreOverrideCursor()
        if not self.load_model(str(dest)):
            return False
        if op == "rename" and style in mix:  # the renamed style keeps its share of the mix
            renamed = next(n for n in s.styles if n not in mix)
            w = [mix.get(n, mix[style] if n == renamed else 0.0) for n in s.styles]
            if sum(w) > 0:
                w = tuple(x / sum(w) for x in w)
                self.style_controls.set_weights(w)
                s.set_style(w)
        self.statusBar().showMessage(f"{change}: saved as {dest.name}", 10000)
        return True

    # --- inputs ------------------------------------------------------------------------
    def ask_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a photo or a sketch", self.settings.last_dir or "",
                                              PHOTO_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path) -> bool:
        """A photo, or a sketch PNG whose settings (and photo, when stored) are restored."""
        path = str(path)
        try:
            meta = read_metadata(path)
            if meta is not None:
                return self._open_sketch(path, meta)
            photo = Photo.from_image(load_image(path), path, detect=False)  # the worker finds the face
        except (ImageLoadError, MetadataError) as exc:
            self.report_error("Cannot open the file", str(exc))
            return False
        self.settings.add_recent(path)
        self.settings.last_dir = str(Path(path).parent)
        self._update_recent()
        self._show_photo(photo)
        return True

    def _open_sketch(self, path: str, meta: dict) -> bool:
        if self.studio.model is None and self.loading:  # opened once the model is there
            self._pending_sketch = path
            self.statusBar().showMessage(f"{Path(path).name} opens when the model has loaded.", 10000)
            return True
        if self.studio.model is None:
            self.report_error("Cannot open the sketch", "Load a model first: the sketch's settings need one.")
            return False
        spec = spec_from_metadata(meta, self.studio.styles)
        photo, keep_crop, note = None, True, ""
        stored = meta.get("photo")
        if isinstance(stored, str) and Path(stored).is_file():
            photo = Photo.from_image(load_image(stored), stored, detect=False)
            framed = crop_from_metadata(meta, photo)
            photo, keep_crop = (framed, True) if framed is not None else (photo, False)
        else:
            note = " The photo is not stored with it" + (f" ({stored} is missing)" if stored else "") + \
                   ": open the photo to sketch it with these settings."
        if meta.get("model") not in (None, self.studio.model_id):
            note += f" It was made with model {meta.get('model')}, not {self.studio.model_id}."
        self.settings.add_recent(path)
        self._update_recent()
        if photo is not None:
            self.webcam.stop()
            self.inputs.setCurrentWidget(self.photo_panel)
        self.studio.apply(photo, spec, keep_crop)
        self.statusBar().showMessage(f"Settings restored from {Path(path).name}.{note}", 15000)
        return True

    def paste(self) -> None:
        data = QApplication.clipboard().mimeData()
        if data is not None and data.hasImage():
            self.paste_image(QImage(data.imageData()))
        elif data is not None and data.hasUrls() and data.urls()[0].isLocalFile():
            self.open_path(data.urls()[0].toLocalFile())
        else:
            self.report_error("Nothing to paste", "The clipboard holds no image.")

    def paste_image(self, image: QImage) -> None:
        if image.isNull():
            self.report_error("Nothing to paste", "The clipboard image is empty.")
            return
        self._show_photo(Photo.from_image(pil_from_qimage(image), detect=False))

    def _show_photo(self, photo: Photo) -> None:
        self.webcam.stop()
        self.inputs.setCurrentWidget(self.photo_panel)
        self._pending_sketch = None  # the newest input wins
        self.studio.set_photo(photo, detect=True)
        if self.loading:
            self.decode_view.clear("Loading the model… This photo is sketched as soon as it is there.")
        self._update_actions()

    def dragEnterEvent(self, e: QDragEnterEvent) -> None:
        if e.mimeData().hasUrls() or e.mimeData().hasImage():
            e.acceptProposedAction()

    def dropEvent(self, e: QDropEvent) -> None:
        data = e.mimeData()
        local = [u.toLocalFile() for u in data.urls() if u.isLocalFile()]
        if local:
            self.open_path(local[0])
        elif data.hasImage():
            self.paste_image(QImage(data.imageData()))
        e.acceptProposedAction()

    def _live_changed(self, live: bool) -> None:
        s = self.studio
        if live:
            self._photo_before_live = s.photo
            s.cancel()
        s.set_live(live)
        self._update_actions()
        if not live and self._photo_before_live is not None:
            s.set_photo(self._photo_before_live)

    # --- decoding ----------------------------------------------------------------------
    def _decode_started(self, req) -> None:
        self._started_at = time.monotonic()

    def _step(self, frame) -> None:
        self.status_label.setText(f"Sketching… step {frame.step + 1} of {frame.total}")
        if not self.studio.live:  # webcam mode shows finished sketches only: steps would flicker
            self.decode_view.show_step(frame)

    def _sketch_ready(self, result) -> None:
        self.decode_view.set_frames(self.studio.frames)
        if not self.studio.live:
            took = time.monotonic() - self._started_at
            self.statusBar().showMessage(f"Sketched in {took:.2f} s (seed {result.spec.settings.seed})", 5000)
        self._update_actions()

    def _decode_failed(self, message: str) -> None:
        self.webcam.stop()
        self.report_error("Sketching failed", message)

    def _busy_changed(self, busy: bool) -> None:
        self.cancel_action.setEnabled(busy)
        if not busy:
            self.status_label.setText("Ready")

    def _update_actions(self) -> None:
        have = self.studio.result is not None
        for a in self.export_actions:
            a.setEnabled(have)
        self.export_button.setEnabled(have)
        self.cancel_action.setEnabled(self.studio.busy)
        brush = have and not self.studio.live
        if not brush:
            self.decode_view.brush.setChecked(False)
        self.decode_view.brush.setEnabled(brush)
        self.style_controls.setEnabled(self.studio.model is not None)
        self.styles_panel.setEnabled(self.studio.model is not None)
        for w in (self.model_button, self.banner_button, self.model_action, self.train_action):
            w.setEnabled(not self.loading)  # one model load at a time; the wizard starts from the loaded one

    # --- training ----------------------------------------------------------------------
    def open_training_wizard(self, **options) -> TrainingWizard:
        """Show the wizard (the running one, if any); `options` go to TrainingWizard (tests: step counts)."""
        from ..wizard.wizard import TrainingWizard  # the training code: imported when the wizard opens

        wiz = self.training_wizard
        if wiz is None:
            wiz = TrainingWizard(self, base_model=self.studio.model_path, **options)
            wiz.interactive = self.interactive
            wiz.model_trained.connect(self._model_trained)
            wiz.finished.connect(lambda _result, w=wiz: self._wizard_closed(w))
            self.training_wizard = wiz
        wiz.show()
        wiz.raise_()
        wiz.activateWindow()
        return wiz

    def _wizard_closed(self, wiz: TrainingWizard) -> None:
        if self.training_wizard is wiz and not wiz.training_running():
            wiz.shutdown()
            wiz.deleteLater()
            self.training_wizard = None

    def _model_trained(self, path: str, style: str) -> None:
        """A run finished: load its model at once and show its new style."""
        if self.load_model(path) and style in self.studio.styles:
            self.style_controls.select(style)
        self.statusBar().showMessage(f"Trained {Path(path).name}" + (f": style “{style}” added" if style else ""),
                                     10000)

    # --- errors, settings ----------------------------------------------------------------
    def report_error(self, title: str, text: str) -> None:
        self.error_reported.emit(title, text)
        if self.interactive:
            messages.show_error(self, title, text)
        else:
            print(f"sketchstudio: {title}: {text}", file=sys.stderr)

    def inform(self, title: str, text: str) -> None:
        if self.interactive:
            messages.show_info(self, title, text)
        self.statusBar().showMessage(text.splitlines()[0] if text else "", 8000)

    def _update_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.settings.recent_files:
            a = self.recent_menu.addAction(Path(p).name)
            a.setToolTip(messages.plain_tooltip(p))
            a.triggered.connect(lambda _=False, p=p: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.settings.recent_files))

    def _restore(self) -> None:
        st = self.settings
        try:
            settings = settings_from_dict({k: v for k, v in st.sampler.items() if k in SAVED_SETTINGS})
        except (TypeError, ValueError, OverflowError):
            settings = SamplerSettings()
        self.studio.settings = settings
        self.studio.seed_locked = bool(st.sampler.get("seed_locked", True))
        self.sampler_controls.set_settings(settings)
        self.sampler_controls.lock.setChecked(self.studio.seed_locked)
        self.decode_view.set_overlay(st.overlay)
        self.webcam.mirror.setChecked(st.mirror)
        if st.geometry:
            self.restoreGeometry(QByteArray.fromHex(st.geometry.encode()))
        self._update_recent()

    def save_settings(self) -> None:
        if not self.persist:
            return
        st, s = self.settings, self.studio
        x = s.settings
        st.sampler = {**settings_to_dict(x, SAVED_SETTINGS), "seed_locked": s.seed_locked}
        if s.model is not None:
            st.style = dict(zip(s.styles, s.style))
        st.overlay = self.decode_view.overlay.currentData()
        st.mirror = self.webcam.mirror.isChecked()
        st.geometry = bytes(self.saveGeometry().toHex()).decode()
        try:
            st.save()
        except OSError as exc:  # a full disk, a read-only config folder: say so, keep closing
            self.report_error("Cannot save the settings", f"{exc.filename or st.path}: {exc.strerror or exc}")

    def closeEvent(self, e: QCloseEvent) -> None:
        wiz = self.training_wizard
        if wiz is not None and wiz.training_running():
            e.ignore()  # closes again once the run has stopped at a checkpoint
            if self._closing_after_training:
                return
            if self.interactive and not messages.ask_question(
                    self, "Training is running",
                    "Quit while training? Training stops after the current step and keeps its last checkpoint; "
                    "Train → New style from my drawings… offers to resume it."):
                return
            self._closing_after_training = True
            self.statusBar().showMessage("Stopping training: saving a checkpoint…")
            wiz.stop_training(then=self.close)
            return
        if wiz is not None:
            wiz.shutdown()
            wiz.close()
            self.training_wizard = None
        if self._loader is not None:  # stops before reading the weights; an import under way ends first
            self._load_cancel.cancel()
            self._loader.stop()
            self._loader = None
        self.webcam.stop()
        self.save_settings()
        self.thumbnails.shutdown()
        self.studio.shutdown()
        super().closeEvent(e)
