"""Choosing a model file: the shipped model, the user's models folder, recent ones, or any file."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QLabel, QListWidget, QListWidgetItem,
                               QPushButton, QVBoxLayout, QWidget)

from ...paths import default_model_path, user_models_dir
from ..messages import plain_tooltip


def available_models(recent: list[str] = ()) -> list[tuple[str, Path]]:
    """(label, path) for the shipped model, every .safetensors in the user's models folder and
    recent models that still exist; no duplicates."""
    found: list[tuple[str, Path]] = []
    seen: set[Path] = set()

    def add(label: str, p: Path) -> None:
        r = p.resolve()
        if r not in seen and p.is_file():
            seen.add(r)
            found.append((label, p))

    add(f"Shipped model ({default_model_path().name})", default_model_path())
    folder = user_models_dir()
    if folder.is_dir():
        for p in sorted(folder.glob("*.safetensors")):
            add(f"{p.name} (your models)", p)
    for r in recent:
        add(f"{Path(r).name} (recent)", Path(r))
    return found


class ModelPicker(QDialog):
    def __init__(self, parent: QWidget | None = None, recent: list[str] = (), start_dir: str | None = None,
                 message: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Choose a model")
        self.chosen: Path | None = None
        self.start_dir = start_dir
        note = QLabel(message or f"Models are .safetensors files. Put your own in {user_models_dir()} "
                                 "to list them here.")
        note.setTextFormat(Qt.TextFormat.PlainText)
        note.setWordWrap(True)
        self.list = QListWidget()
        for label, path in available_models(recent):
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            item.setToolTip(plain_tooltip(str(path)))
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        else:
            self.list.addItem(QListWidgetItem("(no models found: browse for a file)"))
            self.list.setEnabled(False)
        browse = QPushButton("Browse…")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        buttons.addButton(browse, QDialogButtonBox.ButtonRole.ActionRole)
        lay = QVBoxLayout(self)
        lay.addWidget(note)
        lay.addWidget(self.list, 1)
        lay.addWidget(buttons)
        buttons.accepted.connect(self._accept_selected)
        buttons.rejected.connect(self.reject)
        browse.clicked.connect(self._browse)
        self.list.itemDoubleClicked.connect(lambda _item: self._accept_selected())
        self.resize(520, 300)

    def _accept_selected(self) -> None:
        item = self.list.currentItem()
        path = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if path:
            self.chosen = Path(path)
            self.accept()

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model file", self.start_dir or str(Path.home()),
                                              "SketchStudio models (*.safetensors);;All files (*)")
        if path:
            self.chosen = Path(path)
            self.accept()
