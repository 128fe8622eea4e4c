"""The window's File > Export and Batch actions: ask for a file name, write it, report plainly.

`ask_*` show dialogs; the methods they call take paths and return True on success, so the
self-test and the tests drive them without any dialog. They know the window only as
`ExportWindow`, what they use of it, so exporting never reaches into the decode path.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QInputDialog, QStatusBar

from ...model_files import OUTPUT_SIZES
from ..logic.batch_jobs import BatchJob, RenderJob, SweepJob, photos_in
from ..logic.export import save_animation, save_sheet, save_sketch, save_sketch_svg
from ..logic.settings import AppSettings
from ..workers.progress import ProgressRun
from .studio import Studio
from .style_controls import StyleControls


class ExportWindow(Protocol):
    """What the export actions use of the window they serve: a QMainWindow (the dialogs' parent)
    with these (main_window.MainWindow is one)."""
    studio: Studio  # the sketch, its decoding frames, the model and the photo
    settings: AppSettings  # the last folder, the recent files
    style_controls: StyleControls  # the blend's two styles, which a sweep runs between

    def report_error(self, title: str, text: str) -> None: ...

    def inform(self, title: str, text: str) -> None: ...

    def statusBar(self) -> QStatusBar: ...


class ExportActions(QObject):
    def __init__(self, window: ExportWindow):
        super().__init__(window)
        self.window = window

    @property
    def studio(self):
        return self.window.studio

    def _ask_save(self, title: str, suffix: str, filter_: str) -> str | None:
        result = self.studio.result
        stem = Path(result.photo.path).stem + "-sketch" if result and result.photo.path else "sketch"
        start = str(Path(self.window.settings.last_dir or Path.home()) / f"{stem}{suffix}")
        path, _ = QFileDialog.getSaveFileName(self.window, title, start, filter_)
        if path and not path.lower().endswith(suffix):
            path += suffix
        return path or None

    def _fail(self, title: str, exc: Exception | str) -> bool:
        if not isinstance(exc, str):
            exc = f"{getattr(exc, 'filename', None) or ''} {getattr(exc, 'strerror', None) or exc}"
        self.window.report_error(title, " ".join(str(exc).split()))
        return False

    # --- the sketch, its animation -------------------------------------------------------
    def ask_export_png(self) -> None:
        if self.studio.result is None:
            return
        path = self._ask_save("Export sketch", ".png", "PNG images (*.png)")
        if not path:
            return
        items = [f"{n} px" + (" (as shown)" if n == OUTPUT_SIZES[0] else "") for n in OUTPUT_SIZES]
        choice, ok = QInputDialog.getItem(self.window, "Export sketch", "Size (longer side), drawn at that size:",
                                          items, 0, False)
        if ok:
            self.export_png(path, OUTPUT_SIZES[items.index(choice)])

    def export_png(self, path, size: int | None = None) -> bool:
        """Write the sketch as shown, or drawn again at `size` px on its longer side."""
        s = self.studio
        if s.result is None:
            return self._fail("Nothing to export", "There is no finished sketch yet.")
        image = None
        if size is not None and size != OUTPUT_SIZES[0]:
            status, value = ProgressRun(self.window, RenderJob(s.model, s.result, size), "Export sketch",
                                        f"Drawing the sketch at {size} px…").exec()
            if status == "failed":
                return self._fail("Export failed", value)
            if status != "finished" or value is None:
                return False
            image = value
        try:
            save_sketch(path, s.result, s.styles, s.model_id, image)
        except OSError as exc:
            return self._fail("Cannot write the sketch", exc)
        self.window.settings.add_recent(path)
        self.window.statusBar().showMessage(f"Wrote {path}", 5000)
        return True

    def ask_export_svg(self) -> None:
        path = self._ask_save("Export sketch as vector paths", ".svg", "SVG drawings (*.svg)")
        if path:
            self.export_svg(path)

    def export_svg(self, path) -> bool:
        """Write the sketch as shown as filled paths in its greys (pen plotters, Inkscape)."""
        s = self.studio
        if s.result is None:
            return self._fail("Nothing to export", "There is no finished sketch yet.")
        try:
            save_sketch_svg(path, s.result)
        except OSError as exc:
            return self._fail("Cannot write the SVG", exc)
        self.window.statusBar().showMessage(f"Wrote {path}", 5000)
        return True

    def ask_export_gif(self) -> None:
        path = self._ask_save("Export decoding animation", ".gif", "GIF animations (*.gif)")
        if path:
            self.export_gif(path)

    def export_gif(self, path) -> bool:
        frames = self.studio.frames
        if not frames or not frames[-1].done:
            return self._fail("Nothing to export", "There is no finished decoding to animate yet.")
        try:
            save_animation([f.sketch for f in frames], path)
        except OSError as exc:
            return self._fail("Cannot write the animation", exc)
        self.window.statusBar().showMessage(f"Wrote {path}", 5000)
        return True

    # --- longer jobs ---------------------------------------------------------------------
    def ask_export_sweep(self) -> None:
        count, ok = QInputDialog.getInt(self.window, "Style sweep", "Columns from the first style to the second:",
                                        5, 2, 12)
        if ok:
            path = self._ask_save("Export style sweep", ".png", "PNG images (*.png)")
            if path:
                self.export_sweep(path, count)

    def export_sweep(self, path, count: int = 5) -> bool:
        """`count` sketches from the blend's first style to its second, in one row."""
        s, blend = self.studio, self.window.style_controls.blend
        if s.model is None or s.photo is None:
            return self._fail("Nothing to sweep", "Open a photo first.")
        a, b = blend.a.currentIndex(), blend.b.currentIndex()
        if a == b:
            return self._fail("Style sweep", "Pick two different styles in the blend control.")
        s.cancel()
        job = SweepJob(s.model, s.photo, s.spec(), a, b, count, s.cache)
        status, value = ProgressRun(self.window, job, "Style sweep", "Sketching the sweep…").exec()
        if status == "failed":
            return self._fail("Style sweep failed", value)
        if status != "finished":
            return False
        try:
            save_sheet(value, path)
        except OSError as exc:
            return self._fail("Cannot write the sweep", exc)
        self.window.statusBar().showMessage(f"Wrote {path}", 5000)
        return True

    def ask_batch(self, svg: bool = False) -> None:
        src = QFileDialog.getExistingDirectory(self.window, "Folder of photos to sketch",
                                               self.window.settings.last_dir or "")
        if not src:
            return
        out = QFileDialog.getExistingDirectory(self.window, "Folder for the sketches", src)
        if out:
            self.batch_sketch(src, out, svg)

    def batch_sketch(self, folder, out, svg: bool = False) -> bool:
        """Every photo of `folder` sketched into `out` as STEM.png (svg: and STEM.svg)."""
        s = self.studio
        if s.model is None:
            return self._fail("Batch sketch", "Load a model first.")
        try:
            photos = photos_in(folder)
        except OSError as exc:
            return self._fail("Cannot read the folder", exc)
        if not photos:
            return self._fail("Batch sketch", f"{folder}: no photos found (looked for .jpg, .png, .webp, …).")
        s.cancel()
        job = BatchJob(s.model, s.model_id, s.spec(), photos, Path(out), svg=svg)
        status, value = ProgressRun(self.window, job, "Batch sketch", f"Sketching {len(photos)} photos…").exec()
        if status == "failed":
            return self._fail("Batch sketch failed", value)
        if status == "cancelled":
            self.window.statusBar().showMessage("Batch sketch cancelled; the sketches written so far are kept", 8000)
            return False
        text = f"Wrote {len(value.written)} sketch(es) to {out}."
        if value.failures:
            text += f"\n{len(value.failures)} photo(s) failed:\n" + "\n".join(value.failures[:10])
        self.window.inform("Batch sketch", text)
        return not value.failures
