"""Helpers for the training wizard tests: user folders in tmp_path, tiny step counts, page driving."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QWizard

from sketchstudio.app.wizard.pages import CHECK, CHOOSE, FOLDERS, NAME, RUN

TINY_STEPS = {"quick": 3, "standard": 4, "thorough": 6}


@pytest.fixture
def user_dirs(monkeypatch, tmp_path):
    """platformdirs reads XDG_* on every call: models and runs go to tmp_path."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    from sketchstudio.paths import user_models_dir

    assert str(user_models_dir()).startswith(str(tmp_path))
    return tmp_path / "xdg-data" / "SketchStudio"


def click_next(qtbot, wiz: QWizard) -> None:
    """Press Next (or the commit button) like a user: it must be there and enabled."""
    page = wiz.currentPage()
    which = QWizard.WizardButton.CommitButton if page.isCommitPage() else QWizard.WizardButton.NextButton
    button = wiz.button(which)
    assert button.isVisible() and button.isEnabled(), f"{which} not available on {type(page).__name__}"
    button.click()
    qtbot.wait(1)


def to_check_page(qtbot, wiz, folder, job="new_style"):
    assert wiz.currentId() == CHOOSE
    wiz.page(CHOOSE).radios[job].setChecked(True)
    click_next(qtbot, wiz)
    assert wiz.currentId() == FOLDERS
    field = wiz.page(FOLDERS).photos if job == "pretrain" else wiz.page(FOLDERS).pairs
    field.edit.setText(str(folder))
    click_next(qtbot, wiz)
    assert wiz.currentId() == CHECK
    return wiz.page(CHECK)


def start_run(qtbot, wiz, folder, name="inkwash", preset="quick", job="new_style"):
    to_check_page(qtbot, wiz, folder, job)
    click_next(qtbot, wiz)
    page = wiz.page(NAME)
    page.name.setText(name)
    page.radios[preset].setChecked(True)
    qtbot.waitUntil(lambda: page.probe is not None, timeout=20000)
    click_next(qtbot, wiz)
    assert wiz.currentId() == RUN
    return wiz.page(RUN)
