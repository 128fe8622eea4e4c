"""What a sketch draws (core/drawn_parts.py) and where `eval` reports it."""
import json

import cv2
import numpy as np
import pytest
from PIL import Image

from sketchstudio.cli import main
from sketchstudio.core.drawn_parts import INK, ink_outside, mid_grey_share, part_inking
from sketchstudio.core.face_structure import PARTS, default_models
from sketchstudio.paths import resources_dir


@pytest.fixture(scope="module")
def parts():
    rgb = np.asarray(Image.open(resources_dir() / "sample_face.png").convert("RGB"))
    face = default_models().analyse(rgb)
    return rgb.shape[:2], default_models().part_segments(face), face.eye_centre


def drawn(shape, segments, which, centre=(0, 0), scale=1.0, width=2) -> np.ndarray:
    """The parts' lines on white paper, optionally scaled about `centre` (a line drawn off the face's)."""
    paper = np.full(shape, 255, np.uint8)
    for part in which:
        for a, b in (segments[part] - centre) * scale + centre:
            cv2.line(paper, tuple(int(v) for v in a), tuple(int(v) for v in b), 20, width)
    return paper


def test_a_drawn_part_is_inked_and_a_missing_one_is_not(parts):
    shape, seg, _ = parts
    ink = part_inking(drawn(shape, seg, ("jaw", "eyes")), seg)
    assert set(ink) == set(PARTS)
    assert ink["jaw"] > 0.95 and ink["eyes"] > 0.95
    assert ink["nose"] < 0.3 and ink["brows"] < 0.3  # not drawn (a neighbour's line may come near)
    assert part_inking(np.full(shape, 255, np.uint8), seg) == {p: 0.0 for p in PARTS}


def test_a_line_a_little_off_still_counts_and_one_far_off_does_not(parts):
    shape, seg, centre = parts
    # The jaw is 70-140 px from the eyes here, 40-80 px at the measure's 250: 3 % out is 1-2 px, 25 % 10-20 px.
    near = part_inking(drawn(shape, seg, ("jaw",), centre, 1.03), seg)["jaw"]
    far = part_inking(drawn(shape, seg, ("jaw",), centre, 1.25), seg)["jaw"]
    assert near > 0.9 and far < 0.1


def test_tonal_wash_and_ink_outside_the_person():
    wash = np.full((100, 100), 128, np.uint8)
    assert mid_grey_share(wash) == 1.0 and mid_grey_share(np.full((100, 100), 255, np.uint8)) == 0.0
    person = np.zeros((100, 100), np.float32)
    person[:, :50] = 1.0
    sketch = np.full((100, 100), 255, np.uint8)
    sketch[:20, 50:] = INK - 50  # lettering behind the person: 1,000 of the 5,000 pixels there
    assert ink_outside(sketch, person) == pytest.approx(0.2)
    assert np.isnan(ink_outside(sketch, np.ones((100, 100))))


def test_eval_reports_the_drawings_and_the_model_per_part(tmp_path, tiny_checkpoint, capsys):
    from datagen import make_fs2k

    fs2k = make_fs2k(tmp_path / "fs2k", per_style=1)
    sample = Image.open(resources_dir() / "sample_face.png").convert("RGB").resize((48, 48))
    sample.save(fs2k / "photos" / "image0000.jpg")  # a photo where a face is found
    assert main(["eval", "--data", str(fs2k), "--model", str(tiny_checkpoint), "--limit", "3", "--no-fsim",
                 "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)["scores"]
    assert {"drawing", "model", "xdog"} <= set(scores)
    for name in ("drawing", "model", "xdog"):
        assert {f"all/ink_{p}" for p in PARTS} | {"all/midgrey", "all/ink_out"} <= set(scores[name])
    assert "all/scoot" in scores["model"] and "all/scoot" not in scores["drawing"]
