from pathlib import Path

import pytest
from PIL import Image

from sketchstudio.data.datasets import DataReport, load_drawings, load_fs2k, split_by_style
from datagen import face_photo, make_fs2k

SHARED_FS2K = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fs2k-train"


def test_fs2k_layout_loads_with_style_names(tmp_path):
    root = make_fs2k(tmp_path / "fs2k", per_style=2)
    pairs = load_fs2k(root)
    assert len(pairs) == 6
    assert [p.style for p in pairs].count("charcoal") == 2


def test_fs2k_missing_files_are_reported_not_dropped_silently(tmp_path):
    root = make_fs2k(tmp_path / "fs2k", per_style=2)
    (root / "sketches" / "sketch0000.png").unlink()
    report = DataReport()
    pairs = load_fs2k(root, report)
    assert len(pairs) == 5
    assert any("sketch0000" in line and "missing" in line for line in report.lines())


def test_drawings_folder_matches_by_stem_and_reports_the_rest(tmp_path):
    root = tmp_path / "mine"
    (root / "photos").mkdir(parents=True)
    (root / "drawings").mkdir()
    for name in ("a", "b", "only_photo"):
        face_photo(0, 32).save(root / "photos" / f"{name}.jpg")
    for name in ("a", "b", "only_drawing"):
        Image.new("L", (32, 32), 255).save(root / "drawings" / f"{name}.png")
    (root / "drawings" / "notes.docx").write_text("x")
    report = DataReport()
    pairs = load_drawings(root, "mine", report)
    assert [p.photo.stem for p in pairs] == ["a", "b"] and all(p.style == "mine" for p in pairs)
    text = "\n".join(report.lines())
    assert "only_photo" in text and "only_drawing" in text and "notes.docx" in text


def test_split_is_stratified_and_disjoint(tmp_path):
    pairs = load_fs2k(make_fs2k(tmp_path / "fs2k", per_style=10))
    train, val = split_by_style(pairs, 0.1, seed=0)
    assert len(val) == 3 and {p.style for p in val} == {"contour", "charcoal", "pencil"}
    assert not {p.photo for p in train} & {p.photo for p in val}
    assert split_by_style(pairs, 0.1, seed=0) == (train, val)  # deterministic


@pytest.mark.shared_data
@pytest.mark.skipif(not (SHARED_FS2K / "pairs.csv").exists(), reason="../shared/data is absent")
def test_shared_fs2k_loads():
    report = DataReport()
    pairs = load_fs2k(SHARED_FS2K, report)
    assert len(pairs) == 1058 and len(report) == 0
    counts = {s: sum(p.style == s for p in pairs) for s in ("contour", "charcoal", "pencil")}
    assert counts == {"contour": 357, "charcoal": 350, "pencil": 351}


def test_unique_stems_disambiguates_repeats():
    from sketchstudio.data.datasets import unique_stems

    names = unique_stems([Path("a/x.jpg"), Path("b/x.png"), Path("c/y.jpg"), Path("a/x.png")])
    assert names[2] == "y" and len(set(names)) == 4
    assert names[0] == "a-x" and names[1] == "b-x"
