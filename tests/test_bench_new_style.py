"""tools/bench/bench_new_style.py end to end on the tiny model and generated FS2K-layout data (seconds)."""
import json

import numpy as np
import pytest

from datagen import face_photo, make_fs2k
from tools_loader import TOOLS, load_tool

TOOL = TOOLS / "bench" / "bench_new_style.py"


@pytest.fixture(scope="module")
def bench():
    if not TOOL.exists() or not (TOOL.parent / "style_classifier.py").exists():
        pytest.skip("tools/bench/bench_new_style.py or tools/bench/style_classifier.py is absent")
    pytest.importorskip("cv2")
    return load_tool("bench/bench_new_style.py")


def test_ink_drawing_is_bold_black_and_white(bench):
    photo = np.asarray(face_photo(3, size=96))
    ink = bench.ink_drawing(photo)
    assert ink.shape == photo.shape[:2] and ink.dtype == np.uint8
    assert set(np.unique(ink).tolist()) == {0, 255}
    assert np.array_equal(ink, bench.ink_drawing(photo))  # deterministic


def test_tiny_run_writes_a_drawings_folder_and_a_summary(bench, tiny_checkpoint, tmp_path, capsys):
    data = make_fs2k(tmp_path / "fs2k", per_style=5)
    out = tmp_path / "out"
    result = bench.main(["--tiny", "--model", str(tiny_checkpoint), "--data", str(data), "--out", str(out),
                         "--pairs", "6", "--check", "3", "--steps", "3", "--every", "2", "--json"])
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(result))

    photos = {p.stem for p in (out / "my-drawings" / "photos").iterdir()}
    drawings = {p.stem for p in (out / "my-drawings" / "drawings").iterdir()}
    assert len(photos) == 6 and photos == drawings
    assert (out / "run" / "finetune.losses.csv").exists()  # trained through the wizard's pipeline
    assert (out / "strip.png").stat().st_size > 0

    for key in ("minutes_to_recognisable", "steps", "seconds_per_step", "classifier_accuracy", "setup_s",
                "baseline", "final", "history", "stopped_because"):
        assert key in result
    assert [r["step"] for r in result["history"]] == [0, 2, 3]  # step 0, every 2, and the last step
    assert result["steps"] == 3 and result["seconds_per_step"]["finetune"] > 0
    assert result["stopped_because"] == "preset finished"  # the whole plan runs unless --stop-early
    # The tiny model has no renderer, so the wizard's plan is fine-tuning with adapters only:
    # the old styles' sketches never move.
    assert all(r["stage"] == "finetune" and r["old_moved"] == 0 for r in result["history"])
    assert all(0 <= r["old_scoot"] <= 1 for r in result["history"])
    assert 0 <= result["classifier_accuracy"] <= 1 and set(result["classifier_per_class"]) <= {
        "contour", "charcoal", "pencil", "new"}
    assert all(0 <= r["new"] <= 1 and 0 <= r["old"] <= 1 for r in result["history"])
    assert result["settings"]["pairs"] == 6 and result["settings"]["check"] == 3
