"""Issue 13: while a new style trains, the wizard shows the check photo in the new style next
to one old style (drawn by the model in training, between steps), each labelled."""
import numpy as np

from app_fixtures import boxes, make_window, window  # noqa: F401  (fixtures)
from datagen import make_drawings
from sketchstudio.app.logic.style_compare import COMPARE_SIZE
from sketchstudio.app.logic.training_job import JobProgress
from sketchstudio.app.wizard.pages import NAME, RUN
from wizard_helpers import TINY_STEPS, click_next, to_check_page, user_dirs  # noqa: F401


def test_the_run_page_shows_the_new_style_beside_an_old_one(qtbot, window, user_dirs, tmp_path):
    folder = make_drawings(tmp_path / "inkwash", n=5)
    wiz = window.open_training_wizard(preset_steps=TINY_STEPS, batch=2)
    seen: list[JobProgress] = []
    wiz.runner.yielded.connect(seen.append)
    to_check_page(qtbot, wiz, folder)
    click_next(qtbot, wiz)
    wiz.page(NAME).name.setText("inkwash")
    wiz.page(NAME).radios["quick"].setChecked(True)  # 3 steps: previews at steps 1, 2 and 3
    with qtbot.waitSignal(wiz.model_trained, timeout=120000):
        click_next(qtbot, wiz)  # Start training (without waiting for the timing probe)
    assert wiz.currentId() == RUN
    run = wiz.currentPage()
    previews = [p for p in seen if p.event.kind == "preview"]
    assert previews and all(len(p.styles) == 2 for p in previews)  # every preview of the new style's stage
    assert not any(p.styles for p in seen if p.event.kind != "preview")
    for p in previews:
        new, old = p.styles
        assert (new.label, new.style) == ("inkwash (new)", "inkwash")
        assert (old.label, old.style) == ("contour (old)", "contour")
        assert new.image.shape == old.image.shape == (COMPARE_SIZE, COMPARE_SIZE) and new.image.dtype == np.uint8
    # The old style's sketch does not move while only the new style trains (adapters: issue 13).
    assert all(np.array_equal(p.styles[1].image, previews[0].styles[1].image) for p in previews)
    assert run.compare.isVisible()
    assert run.compare.labels() == ["inkwash (new)", "contour (old)"]
    assert all(img.pixmap() is not None and not img.pixmap().isNull() for img in run.compare.images)
