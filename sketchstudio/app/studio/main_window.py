"""The studio window: input on the left, the live sketch in the middle, controls on the right.

The window is composed of parts that each own one concern, and wires them together:

- `WindowPanels` (window_panels.py): the widgets and their layout;
- `WindowMenus` (window_menus.py): the menu bar's actions;
- `ExportActions` (export_actions.py): files out (the sketch, its animation, a sweep, a batch);
- `DecodeSession` (decode_session.py): what the window shows while the studio decodes;
- `ModelSession` (model_session.py): the model, its loading and the style edits that save a copy.

The `Studio` (studio.py) holds the state and runs the live decoding; model work never happens
here. The parts that act through the window know it only as a small Protocol of what they use
(`ExportWindow`, `DecodeWindow`, `ModelWindow`), the menus get callbacks, and none of them
imports this module. It keeps what is the window's own: opening photos and sketches, which
actions are enabled, the training wizard, messages, the settings kept between sessions, and
closing.

Nothing this module imports at start imports PyTorch: the app shows the window first and loads
torch and the model on a worker (`start(background=True)`, issue 25).
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QFileDialog, QMainWindow

from ... import __version__
from ...core.imaging import ImageLoadError, load_image
from ...core.sampler_settings import SamplerSettings
from ...core.sampler_settings_io import settings_from_dict, settings_to_dict
from ...sketch_file import MetadataError, read_metadata
from .. import messages
from ..logic.export import crop_from_metadata, spec_from_metadata
from ..logic.photo import Photo
from ..logic.settings import AppSettings
from ..qt_images import pil_from_qimage
from .decode_session import DecodeSession
from .export_actions import ExportActions
from .model_session import ModelSession
from .studio import Studio
from .styles_panel import ThumbnailMaker
from .window_menus import WindowMenus
from .window_panels import WindowPanels

if TYPE_CHECKING:
    from ..wizard.wizard import TrainingWizard

# The sampler settings kept between sessions (settings.json); the rest stay at their defaults.
SAVED_SETTINGS = ("steps", "temperature", "self_guidance", "style_guidance", "seed")
PHOTO_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff *.gif);;All files (*)"


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
        self.thumbnails = ThumbnailMaker(self.studio, self)
        self.exports = ExportActions(self)
        self.training_wizard: TrainingWizard | None = None
        self._closing_after_training = False
        self._painted = False

        p = self.panels = WindowPanels()
        self.setCentralWidget(p)
        p.add_to_status_bar(self.statusBar())
        self.resize(1240, 760)
        # The panels' widgets by name, as the parts, the self-test and the tests reach them.
        self.photo_panel, self.webcam, self.inputs = p.photo_panel, p.webcam, p.inputs
        self.decode_view, self.style_controls, self.styles_panel = p.decode_view, p.style_controls, p.styles_panel
        self.sampler_controls, self.model_label, self.model_button = p.sampler_controls, p.model_label, p.model_button
        self.export_button, self.status_label, self.load_progress = p.export_button, p.status_label, p.load_progress
        self.banner, self.banner_text, self.banner_button = p.banner, p.banner_text, p.banner_button

        self.models = ModelSession(self)
        self.models.torch_loaded.connect(self.torch_loaded)
        self.models.load_finished.connect(self.load_finished)
        self.menus = WindowMenus(self, self.exports, open_file=self.ask_open, paste=self.paste,
                                 choose_model=self.models.ask_model, stop_decoding=self.studio.cancel,
                                 new_seed=lambda: self.studio.new_seed(), train=self.open_training_wizard)
        self.recent_menu, self.cancel_action, self.train_action = \
            self.menus.recent_menu, self.menus.cancel_action, self.menus.train_action
        self.decoding = DecodeSession(self)
        self._wire()
        if find_cameras:  # else the caller adds sources (tests: a fake one)
            self.webcam.find_cameras()
        self._restore()
        self.setAcceptDrops(True)
        self.update_actions()
        self.installEventFilter(self)  # until the first paint (eventFilter)

    def _wire(self) -> None:
        """The panels to the studio and to the parts (the decode and model sessions wire their own)."""
        s, p = self.studio, self.panels
        s.photo_changed.connect(p.photo_panel.set_photo)
        s.settings_changed.connect(p.sampler_controls.set_settings)
        s.style_changed.connect(p.style_controls.set_weights)
        s.framed.connect(p.webcam.show_framed)
        p.style_controls.weights_changed.connect(s.set_style)
        p.sampler_controls.changed.connect(s.set_settings)
        p.sampler_controls.new_seed_requested.connect(lambda: s.new_seed())
        p.sampler_controls.lock_changed.connect(lambda on: setattr(s, "seed_locked", on))
        p.photo_panel.open_clicked.connect(self.ask_open)
        p.photo_panel.paste_clicked.connect(self.paste)
        p.photo_panel.crop_changed.connect(s.set_crop)
        p.photo_panel.reset_clicked.connect(lambda: s.photo and s.set_crop(s.photo.auto, s.photo.auto_roll))
        p.webcam.frame_ready.connect(s.submit_frame)
        p.webcam.drafts.toggled.connect(s.set_drafts)
        p.webcam.failed.connect(lambda text: self.report_error("Camera", text))
        p.decode_view.canvas.redraw_requested.connect(s.redraw)
        p.model_button.clicked.connect(self.models.ask_model)
        p.banner_button.clicked.connect(self.models.ask_model)
        p.export_button.clicked.connect(self.exports.ask_export_png)
        self.thumbnails.ready.connect(p.styles_panel.set_thumbnail)
        p.styles_panel.style_chosen.connect(self.models.choose_style)
        p.styles_panel.rename_requested.connect(lambda style: self.rename_style(style))
        p.styles_panel.remove_requested.connect(lambda style: self.remove_style(style))

    # --- the model (model_session.py) ----------------------------------------------------
    def start(self, model_path: str | None = None, background: bool = False,
              hold: threading.Event | None = None) -> None:
        """Load the named model, else the shipped one, else the last one used (ModelSession.start)."""
        self.models.start(model_path, background, hold)

    def load_model(self, path: str) -> bool:
        return self.models.load_model(path)

    def ask_model(self) -> None:
        """The model picker; the model chosen is loaded."""
        self.models.ask_model()

    @property
    def loading(self) -> bool:
        """A model is loading in the background (the app's start)."""
        return self.models.loading

    def rename_style(self, style: str, new_name: str | None = None) -> bool:
        return self.models.rename_style(style, new_name)

    def remove_style(self, style: str, confirm: bool = True) -> bool:
        return self.models.remove_style(style, confirm)

    def after_first_paint(self, fn: Callable[[], object]) -> None:
        """Call `fn` once the window is on screen: now if it has painted (or is not shown)."""
        if self._painted or not self.isVisible():
            fn()
        else:
            self.first_painted.connect(fn, Qt.ConnectionType.SingleShotConnection)

    def eventFilter(self, obj, e: QEvent) -> bool:
        # Watches for the first paint only, then lets go: a Python paintEvent on the window would
        # run for every repaint behind a child and take the GIL from the thread loading torch.
        if obj is self and e.type() == QEvent.Type.Paint and not self._painted:
            self._painted = True
            self.removeEventFilter(self)
            QTimer.singleShot(0, self.first_painted.emit)  # after this paint has reached the screen
        return False

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
            self.models.pending_sketch = path
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
            self.panels.show_photo_input()
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
        self.panels.show_photo_input()
        self.models.pending_sketch = None  # the newest input wins
        self.studio.set_photo(photo, detect=True)
        if self.loading:
            self.decode_view.clear("Loading the model… This photo is sketched as soon as it is there.")
        self.update_actions()

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

    # --- what can be done now ------------------------------------------------------------
    def update_actions(self) -> None:
        have = self.studio.result is not None
        for a in self.menus.export_actions:
            a.setEnabled(have)
        self.export_button.setEnabled(have)
        self.cancel_action.setEnabled(self.studio.busy)
        brush = have and not self.studio.live
        if not brush:
            self.decode_view.brush.setChecked(False)
        self.decode_view.brush.setEnabled(brush)
        self.style_controls.setEnabled(self.studio.model is not None)
        self.styles_panel.setEnabled(self.studio.model is not None)
        for w in (self.model_button, self.banner_button, self.menus.model_action, self.train_action):
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
        if self.models.load_model(path) and style in self.studio.styles:
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
        self.menus.set_recent(self.settings.recent_files, self.open_path)

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
        self.webcam.drafts.setChecked(st.drafts)  # toggled (wired above) tells the studio
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
        st.drafts = self.webcam.drafts.isChecked()
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
        self.models.stop_loading()
        self.webcam.stop()
        self.save_settings()
        self.thumbnails.shutdown()
        self.studio.shutdown()
        super().closeEvent(e)
