"""Package boundaries: only sketchstudio.app may import Qt, and not its logic package
(import-linter contracts in pyproject.toml)."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_core_cli_and_data_never_load_qt():
    """Import every module outside sketchstudio.app, and sketchstudio.app.logic (what the Qt side
    drives: policy, jobs, framing, files, settings), in a fresh interpreter: no PySide6 may load."""
    code = textwrap.dedent("""
        import importlib, pkgutil, sys
        import sketchstudio, sketchstudio.core, sketchstudio.cli, sketchstudio.data

        QT_PACKAGES = {"sketchstudio.app.studio", "sketchstudio.app.wizard", "sketchstudio.app.workers",
                       "sketchstudio.app.main", "sketchstudio.app.self_test", "sketchstudio.app.messages",
                       "sketchstudio.app.qt_images"}

        def walk(path, prefix):
            for m in pkgutil.iter_modules(path, prefix):
                if m.name not in QT_PACKAGES:
                    module = importlib.import_module(m.name)
                    if m.ispkg:
                        walk(module.__path__, m.name + ".")

        walk(sketchstudio.__path__, "sketchstudio.")
        assert "sketchstudio.core.sampler" in sys.modules and "sketchstudio.data.prepare" in sys.modules
        assert "sketchstudio.app.logic.training_job" in sys.modules
        qt = sorted(m for m in sys.modules if m.split(".")[0] == "PySide6")
        assert not qt, qt
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_import_linter_contracts_hold():
    exe = Path(sys.executable).parent / "lint-imports"
    if not exe.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    proc = subprocess.run([str(exe), "--no-cache"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout
