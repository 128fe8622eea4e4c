"""The training wizard's first pages: choose the job, pick folders, check the data.

Pages read and write their choices on the wizard (`TrainingWizard`), which owns the state.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QFileDialog, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QListView, QListWidget, QListWidgetItem, QPushButton, QRadioButton,
                               QVBoxLayout, QWidget, QWizardPage)

from .. import messages
from ..logic.data_check import DataCheck, check_data, face_preview, thumbnail
from ..logic.training_plan import unfinished_runs
from ..qt_images import qimage_from_pil
from ..studio.model_picker import ModelPicker

CHOOSE, FOLDERS, CHECK, NAME, RUN, FINISH = range(6)
MAX_THUMBS = 12
MAX_PROBLEMS = 500

JOB_TEXT = {
    "new_style": ("Add a new style from my drawings",
                  "Photos and your drawings of them, matched by file name (anna.jpg and anna.png). The current "
                  "model is fine-tuned on the pairs and saved as a new model with your style added."),
    "drawings_only": ("My drawings only, without photos",
                      "Not available: without photos the model cannot learn which photo becomes which drawing. "
                      "Drawings alone could only retune the sketch tokenizer, which all styles share: it would "
                      "change every style and add none."),
    "pretrain": ("Pre-train on my photos with synthetic sketches",
                 "Teaches the model your kind of photos (faces, light, camera) with sketches drawn by rule from "
                 "them (stage 1). Adds no style; saves a new model."),
    "full": ("Both stages: my photos, then my drawings",
             "Stage 1 on synthetic sketches of all your photos, then stage 2 on your pairs, adding your style. "
             "Takes about twice as long as adding a style."),
}


def _label(text: str = "", wrap: bool = True) -> QLabel:
    lab = QLabel(text)
    lab.setTextFormat(Qt.TextFormat.PlainText)  # folder names may hold markup
    lab.setWordWrap(wrap)
    return lab


class ChoosePage(QWizardPage):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle("What do you want to train?")
        self.setSubTitle("Training runs on this computer in the background; the studio stays usable.")
        self.group = QButtonGroup(self)
        lay = QVBoxLayout(self)
        self.radios: dict[str, QRadioButton] = {}
        for job, (title, text) in JOB_TEXT.items():
            r = QRadioButton(title)
            note = _label(text)
            note.setContentsMargins(24, 0, 0, 6)
            note.setStyleSheet("color: palette(mid);" if job == "drawings_only" else "")
            self.group.addButton(r)
            self.radios[job] = r
            lay.addWidget(r)
            lay.addWidget(note)
        self.radios["drawings_only"].setEnabled(False)
        self.radios["new_style"].setChecked(True)
        self.resume_radio = QRadioButton("Resume an unfinished run:")
        self.resume_combo = QComboBox()
        self.discard = QPushButton("Discard…")
        self.discard.setToolTip("Delete the selected run's folder (checkpoints, losses, previews)")
        self.group.addButton(self.resume_radio)
        row = QHBoxLayout()
        row.addWidget(self.resume_radio)
        row.addWidget(self.resume_combo, 1)
        row.addWidget(self.discard)
        lay.addLayout(row)
        lay.addStretch(1)
        self.model_label = _label()
        self.model_button = QPushButton("Choose model…")
        mrow = QHBoxLayout()
        mrow.addWidget(self.model_label, 1)
        mrow.addWidget(self.model_button)
        lay.addLayout(mrow)
        self.group.buttonToggled.connect(lambda *_: self._show_model())
        self.resume_combo.activated.connect(lambda _i: self.resume_radio.setChecked(True))
        self.resume_combo.currentIndexChanged.connect(lambda _i: self._show_model())
        self.model_button.clicked.connect(self._choose_model)
        self.discard.clicked.connect(self._discard)

    def initializePage(self) -> None:
        self.refresh_runs()
        self._show_model()

    def refresh_runs(self) -> None:
        self.resume_combo.clear()
        for rec in unfinished_runs(self.wizard().runs_root):
            self.resume_combo.addItem(rec.describe(), rec)
        have = self.resume_combo.count() > 0
        for w in (self.resume_radio, self.resume_combo, self.discard):
            w.setVisible(have)
        if have and self.wizard().offer_resume:
            self.resume_radio.setChecked(True)
        elif not have and self.resume_radio.isChecked():
            self.radios["new_style"].setChecked(True)

    def _discard(self) -> None:
        rec = self.resume_combo.currentData()
        if rec is None:
            return
        if self.wizard().interactive and not messages.ask_question(
                self, "Discard the run", f"Delete {rec.describe()}? Its checkpoints are lost.\n{rec.folder}"):
            return
        shutil.rmtree(rec.folder, ignore_errors=True)
        self.refresh_runs()
        self._show_model()

    def _show_model(self) -> None:
        base, rec = self.wizard().base_model, self.resume_combo.currentData()
        resuming = self.resume_radio.isChecked() and rec is not None
        if resuming:
            text = (f"The run goes on from its last checkpoint (it started from the model "
                    f"{Path(rec.plan.base_model).name}).")
        else:
            text = (f"Starts from the model {Path(base).name}; that file is not changed." if base else
                    "No model is loaded: choose the model to start from.")
        self.model_label.setText(text)
        self.model_label.setToolTip(messages.plain_tooltip(rec.plan.base_model if resuming else base or ""))
        self.model_button.setEnabled(not resuming)
        self.completeChanged.emit()

    def _choose_model(self) -> None:
        picker = ModelPicker(self, message="The model training starts from (it is not changed).")
        if picker.exec() and picker.chosen is not None:
            self.wizard().base_model = str(picker.chosen)
            self._show_model()

    def job(self) -> str | None:
        for job, r in self.radios.items():
            if r.isChecked():
                return job
        return "resume" if self.resume_radio.isChecked() else None

    def isComplete(self) -> bool:
        job = self.job()
        return job == "resume" or (job is not None and self.wizard().base_model is not None)

    def validatePage(self) -> bool:
        w, job = self.wizard(), self.job()
        w.resume_record = self.resume_combo.currentData() if job == "resume" else None
        if job != "resume":
            w.job = job
        # Resuming goes straight to the run page, which must offer no way back to here.
        self.setCommitPage(job == "resume")
        return True

    def nextId(self) -> int:
        return RUN if self.job() == "resume" else FOLDERS


class FolderField(QWidget):
    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = title
        self.edit = QLineEdit()
        self.edit.setAccessibleName(title)
        browse = QPushButton("Browse…")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.edit, 1)
        lay.addWidget(browse)
        browse.clicked.connect(self._browse)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.title, self.edit.text() or str(Path.home()))
        if path:
            self.edit.setText(path)

    def text(self) -> str:
        return self.edit.text().strip()


class FoldersPage(QWizardPage):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle("Where are your pictures?")
        self.pairs = FolderField("Folder with photos/ and drawings/")
        self.photos = FolderField("Photo folder")
        self.pairs_label, self.photos_label = _label("Photos and drawings:", False), _label("Photos:", False)
        layout_note = _label(
            "Put the photos in photos/ and your drawings in drawings/, each drawing named like its photo:\n"
            "    my-style/photos/anna.jpg   ↔   my-style/drawings/anna.png\n"
            "    my-style/photos/ben.jpg    ↔   my-style/drawings/ben.png\n"
            "Pairs are used whole, squashed to a square, so frame the photo and the drawing alike.")
        layout_note.setStyleSheet("font-family: monospace;")
        self.pairs_note = layout_note
        self.photos_note = _label()
        grid = QGridLayout(self)
        grid.addWidget(self.pairs_label, 0, 0)
        grid.addWidget(self.pairs, 0, 1)
        grid.addWidget(self.pairs_note, 1, 1)
        grid.addWidget(self.photos_label, 2, 0)
        grid.addWidget(self.photos, 2, 1)
        grid.addWidget(self.photos_note, 3, 1)
        grid.setRowStretch(4, 1)
        grid.setColumnStretch(1, 1)
        for f in (self.pairs, self.photos):
            f.edit.textChanged.connect(lambda _t: self.completeChanged.emit())

    def initializePage(self) -> None:
        job = self.wizard().job
        pairs, photos = job != "pretrain", job in ("pretrain", "full")
        for w in (self.pairs_label, self.pairs, self.pairs_note):
            w.setVisible(pairs)
        for w in (self.photos_label, self.photos, self.photos_note):
            w.setVisible(photos)
        self.photos_label.setText("Photos:" if job == "pretrain" else "More photos\n(optional):")
        self.photos_note.setText(
            "Any folder of face photos (subfolders too). Each gets sketches drawn by rule in three styles; the "
            "face is found and cropped as in the studio." if job == "pretrain" else
            "Extra face photos for stage 1, besides the photos of your pairs (which are always used).")
        self.setSubTitle("Choose the folder with your photos and drawings." if pairs else
                         "Choose a folder of face photos.")

    def isComplete(self) -> bool:
        job = self.wizard().job
        return bool(self.photos.text()) if job == "pretrain" else bool(self.pairs.text())

    def validatePage(self) -> bool:
        w = self.wizard()
        w.pairs_dir = self.pairs.text() if w.job != "pretrain" else None
        w.photos_dir = self.photos.text() if w.job in ("pretrain", "full") and self.photos.text() else None
        return True


def _pair_icon(photo: Path, drawing: Path, side: int = 64) -> QIcon:
    pm = QPixmap(side * 2 + 4, side)
    pm.fill(QColor("white"))
    p = QPainter(pm)
    for k, path in enumerate((photo, drawing)):
        im = thumbnail(path, side)
        if im is not None:
            q = qimage_from_pil(im)
            p.drawImage(k * (side + 4) + (side - q.width()) // 2, (side - q.height()) // 2, q)
    p.end()
    return QIcon(pm)


class CheckPage(QWizardPage):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle("Check the data")
        self.check = DataCheck()
        self.summary = _label()
        self.summary.setStyleSheet("font-weight: bold;")
        self.errors = _label()
        self.errors.setStyleSheet("background: #fde8e8; border: 1px solid #d99; padding: 6px; color: #7a1010;")
        self.notes = _label()
        self.thumbs = QListWidget()
        self.thumbs.setViewMode(QListView.ViewMode.IconMode)
        self.thumbs.setIconSize(QSize(132, 64))
        self.thumbs.setResizeMode(QListView.ResizeMode.Adjust)
        self.thumbs.setMovement(QListView.Movement.Static)
        self.thumbs.setSpacing(4)
        self.face = QLabel()
        self.face.setFixedSize(128, 128)
        self.face.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.face.setStyleSheet("border: 1px solid #bbb; background: white;")
        self.face_note = _label()
        self.face_note.setFixedWidth(150)
        self.problems = QListWidget()
        self.recheck = QPushButton("Check again")

        self.pairs_box = QGroupBox("Matched pairs (photo, drawing)")
        QVBoxLayout(self.pairs_box).addWidget(self.thumbs)
        face_box = QGroupBox("Face crop")
        fl = QVBoxLayout(face_box)
        fl.addWidget(self.face)
        fl.addWidget(self.face_note)
        fl.addStretch(1)
        self.problems_box = QGroupBox("Not used")
        QVBoxLayout(self.problems_box).addWidget(self.problems)
        mid = QHBoxLayout()
        mid.addWidget(self.pairs_box, 1)
        mid.addWidget(face_box)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.recheck)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.errors)
        lay.addWidget(self.notes)
        lay.addLayout(mid, 3)
        lay.addWidget(self.problems_box, 1)
        self.recheck.clicked.connect(self.initializePage)

    def initializePage(self) -> None:
        w = self.wizard()
        self.check = c = check_data(w.job, w.pairs_dir, w.photos_dir)
        w.check = c
        self.setSubTitle(", ".join(x for x in (w.pairs_dir, w.photos_dir) if x))
        self.summary.setText(c.summary())
        self.errors.setText("\n".join(c.errors))
        self.errors.setVisible(bool(c.errors))
        self.notes.setText("\n".join(c.notes))
        self.notes.setVisible(bool(c.notes))
        self.thumbs.clear()
        for pair in c.pairs[:MAX_THUMBS]:
            item = QListWidgetItem(_pair_icon(pair.photo, pair.sketch), pair.photo.stem)
            item.setToolTip(f"{pair.photo}\n{pair.sketch}")
            self.thumbs.addItem(item)
        if len(c.pairs) > MAX_THUMBS:
            self.thumbs.addItem(QListWidgetItem(f"… and {len(c.pairs) - MAX_THUMBS} more"))
        self.pairs_box.setVisible(bool(c.pairs))
        self._show_face(c)
        self.problems.clear()
        listed = (c.unmatched + c.unreadable)[:MAX_PROBLEMS]
        for path, reason in listed:
            item = QListWidgetItem(f"{Path(path).name}: {reason}")
            item.setToolTip(path)
            self.problems.addItem(item)
        more = len(c.unmatched) + len(c.unreadable) - len(listed)
        if more > 0:
            self.problems.addItem(f"… and {more} more")
        n = len(c.unmatched) + len(c.unreadable)
        self.problems_box.setTitle(f"Not used ({n} file{'s' if n != 1 else ''})")
        self.problems_box.setVisible(bool(c.unmatched or c.unreadable))
        self.completeChanged.emit()

    def _show_face(self, c: DataCheck) -> None:
        path = c.photo_for_preview()
        got = face_preview(path, 128) if path else None
        if got is None:
            self.face.clear()
            self.face.setText("no photo")
            self.face_note.setText("")
            return
        crop, found = got
        self.face.setPixmap(QPixmap.fromImage(qimage_from_pil(crop)))
        how = "Face found" if found else "No face found: a centre crop"
        self.face_note.setText(f"{path.name}: {how}. The studio frames photos like this; "
                               + ("pairs are used whole." if c.pairs else "so does pre-training."))

    def isComplete(self) -> bool:
        return self.check.ok
