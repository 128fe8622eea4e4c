"""Message boxes, labels and tooltips: always plain text (file names and contents can hold
markup), never tracebacks.

Tests replace `show_error`, `show_info` and `ask_question` so that nothing blocks.
"""
from __future__ import annotations

from PySide6 import QtGui
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget


def plain_box(parent: QWidget | None, icon: QMessageBox.Icon, title: str, text: str) -> QMessageBox:
    box = QMessageBox(parent)
    box.setIcon(icon)
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text)
    return box


def plain_label(text: str = "") -> QLabel:
    """A label that never renders its text as HTML (style names and paths come from files)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def plain_tooltip(text: str) -> str:
    """`text` as a tooltip shown literally: Qt renders any tooltip that looks like HTML as HTML,
    and a path such as /home/<b>x</b>/m.safetensors does."""
    return QtGui.Qt.convertFromPlainText(text, QtGui.Qt.WhiteSpaceMode.WhiteSpacePre) if text else ""


def show_error(parent: QWidget | None, title: str, text: str) -> None:
    plain_box(parent, QMessageBox.Icon.Warning, title, text).exec()


def show_info(parent: QWidget | None, title: str, text: str) -> None:
    plain_box(parent, QMessageBox.Icon.Information, title, text).exec()


def ask_question(parent: QWidget | None, title: str, text: str) -> bool:
    """Yes / No, No the default; True for Yes."""
    box = plain_box(parent, QMessageBox.Icon.Question, title, text)
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes


def ask_text(parent: QWidget | None, title: str, label: str, text: str = "") -> str | None:
    """One line of text from the user; None when cancelled."""
    from PySide6.QtWidgets import QInputDialog

    value, ok = QInputDialog.getText(parent, title, label, text=text)
    return value if ok else None
