"""Imports cost what they are used for (issue 25), each checked in a fresh interpreter: the
window's entry module and the command line import no torch, and the window shows without it."""
from test_clip_vision import HEAVY, run


def test_the_entry_modules_import_no_torch():
    out = run("import sys, sketchstudio.cli, sketchstudio.app.main\n"
              f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    assert out == "[]"


def test_the_window_shows_before_torch_is_imported(tmp_path):
    out = run(f"""
import sys
from PySide6.QtWidgets import QApplication
from sketchstudio.app.logic.settings import AppSettings
from sketchstudio.app.studio.main_window import MainWindow
app = QApplication([])
win = MainWindow(AppSettings(path={str(tmp_path / 's.json')!r}), find_cameras=False)
win.show()
for _ in range(20):
    app.processEvents()
print(win.isVisible(), 'torch' in sys.modules)
win.close()
""")
    assert out == "True False"
