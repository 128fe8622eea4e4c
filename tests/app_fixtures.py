"""Fixtures for the Qt tests (tests/test_app_*.py import them): the studio window on the tiny
model, offscreen, with every message box and file dialog replaced so nothing can block."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFileDialog, QInputDialog

from sketchstudio.app import messages
from sketchstudio.app.logic.settings import AppSettings
from sketchstudio.app.studio.main_window import MainWindow
from sketchstudio.app.studio.studio import Studio
from sketchstudio.paths import resources_dir

SAMPLE = resources_dir() / "sample_face.png"


class Boxes:
    """Message boxes the app tried to show: (kind, title, text)."""

    def __init__(self):
        self.shown: list[tuple[str, str, str]] = []
        self.answer = True  # what ask_question answers
        self.text: str | None = None  # what ask_text answers (None: cancelled)

    @property
    def errors(self) -> list[tuple[str, str]]:
        return [(t, x) for k, t, x in self.shown if k == "error"]


@pytest.fixture(autouse=True)
def boxes(monkeypatch):
    b = Boxes()
    monkeypatch.setattr(messages, "show_error", lambda parent, title, text: b.shown.append(("error", title, text)))
    monkeypatch.setattr(messages, "show_info", lambda parent, title, text: b.shown.append(("info", title, text)))

    def ask(parent, title, text):
        b.shown.append(("question", title, text))
        return b.answer

    monkeypatch.setattr(messages, "ask_question", ask)

    def ask_text(parent, title, label, text=""):
        b.shown.append(("text", title, label))
        return b.text

    monkeypatch.setattr(messages, "ask_text", ask_text)

    def no_dialog(*args, **kwargs):
        raise AssertionError("a test opened a blocking dialog")

    for name in ("getOpenFileName", "getSaveFileName", "getExistingDirectory"):
        monkeypatch.setattr(QFileDialog, name, no_dialog)
    for name in ("getInt", "getText"):
        monkeypatch.setattr(QInputDialog, name, no_dialog)
    return b


@pytest.fixture
def make_window(qtbot, tmp_path, tiny_checkpoint):
    """make_window(model=tiny checkpoint) -> a shown MainWindow; closed (worker stopped) at teardown."""
    made = []

    def make(model=tiny_checkpoint, start=True, **kwargs) -> MainWindow:
        win = MainWindow(AppSettings(path=tmp_path / f"settings{len(made)}.json"), find_cameras=False,
                         grace_s=kwargs.pop("grace_s", 0.02))
        qtbot.addWidget(win)
        win.show()
        if start:
            win.start(str(model) if model else None)
        made.append(win)
        return win

    yield make
    for win in made:
        win.close()


@pytest.fixture
def window(make_window):
    return make_window()


@pytest.fixture
def studio(qtbot, tiny_model):
    s = Studio(grace_s=0.02)
    s.set_model(tiny_model, None, "tiny@test")
    yield s
    s.shutdown()
    # Parentless: delete it here, on the GUI thread, not whenever the garbage collector runs
    # (a QTimer collected on another thread warns "Timers cannot be stopped from another thread").
    s.deleteLater()
    qtbot.wait(1)


def settle(qtbot, studio, timeout=20000):
    """Wait until no decode runs or waits."""
    qtbot.waitUntil(lambda: not studio.busy and studio.policy.pending is None, timeout=timeout)


class Recorder:
    """Everything a Studio emits, in order, with the thread each slot ran on."""

    def __init__(self, studio: Studio):
        from PySide6.QtCore import QThread

        self.events: list[tuple] = []
        self.threads: set = set()

        def rec(name):
            def slot(*args):
                self.threads.add(QThread.currentThread())
                self.events.append((name, *args))
            return slot

        for name in ("decode_started", "step_ready", "sketch_ready", "decode_cancelled", "decode_failed"):
            getattr(studio, name).connect(rec(name))

    def names(self) -> list[str]:
        return [e[0] for e in self.events]

    def count(self, name: str) -> int:
        return self.names().count(name)

    def clear(self) -> None:
        self.events.clear()
