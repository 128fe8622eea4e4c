"""The studio window's menu bar: File (open, paste, recent files, the exports, batch, model, quit),
Sketch (stop decoding, new seed) and Train (a new style from the user's drawings).

The menus hold actions only; what they do is the window's (opening files), the export
actions' (export_actions.py) and the studio's (decoding).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from .. import messages
from .export_actions import ExportActions


class WindowMenus:
    def __init__(self, window: QMainWindow, exports: ExportActions, *, open_file: Callable[[], None],
                 paste: Callable[[], None], choose_model: Callable[[], None], stop_decoding: Callable[[], None],
                 new_seed: Callable[[], None], train: Callable[[], object]):
        m = window.menuBar().addMenu("&File")

        def act(text, slot, shortcut=None, menu: QMenu = m) -> QAction:
            a = QAction(text, window)
            if shortcut:
                a.setShortcut(shortcut)
            a.triggered.connect(slot)
            menu.addAction(a)
            return a

        act("&Open photo or sketch…", open_file, QKeySequence.StandardKey.Open)
        act("&Paste image", paste, QKeySequence.StandardKey.Paste)
        self.recent_menu = m.addMenu("Open &recent")
        m.addSeparator()
        self.export_actions = [  # enabled once there is a finished sketch
            act("&Export sketch PNG…", exports.ask_export_png, QKeySequence.StandardKey.Save),
            act("Export sketch as &vector paths (SVG)…", exports.ask_export_svg),
            act("Export decoding &animation (GIF)…", exports.ask_export_gif),
            act("Export style &sweep sheet…", exports.ask_export_sweep),
        ]
        act("&Batch sketch a folder…", exports.ask_batch)
        act("Batch sketch a folder, with SV&Gs…", lambda: exports.ask_batch(svg=True))
        m.addSeparator()
        self.model_action = act("Choose &model…", choose_model)
        act("&Quit", window.close, QKeySequence.StandardKey.Quit)
        d = window.menuBar().addMenu("&Sketch")
        self.cancel_action = act("&Stop decoding", stop_decoding, Qt.Key.Key_Escape, d)
        act("New &seed", new_seed, "Ctrl+R", d)
        t = window.menuBar().addMenu("&Train")
        self.train_action = act("New style from my &drawings…", train, menu=t)

    def set_recent(self, paths: list[str], open_path: Callable[[str], object]) -> None:
        """File > Open recent: `paths`, newest first, each opened by `open_path`."""
        self.recent_menu.clear()
        for p in paths:
            a = self.recent_menu.addAction(Path(p).name)
            a.setToolTip(messages.plain_tooltip(p))
            a.triggered.connect(lambda _=False, p=p: open_path(p))
        self.recent_menu.setEnabled(bool(paths))
