"""The shipped model, loaded as a user loads it: `sketchstudio sketch` on the sample face with no
--model, in every FS2K style. Checked against its model card's "Checks" block (models/README.md):
the file's hash, each style's ink fraction and edge density (a drawing: not blank, not noise), and
how the styles differ. A corrupt, truncated, replaced or rejected model file fails here."""
import hashlib
import json
from itertools import combinations

import numpy as np
import pytest
from PIL import Image

from sketch_measures import ROOT, edge_density, ink_fraction, model_card_checks
from sketchstudio.sketch_file import SKETCH_META_KEY
from sketchstudio.cli import main as cli_main
from sketchstudio.paths import default_model_path

CHECKS = model_card_checks()
MODEL = ROOT / "models" / CHECKS["file"]


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@pytest.fixture(scope="module")
def sketches(tmp_path_factory):
    """style -> (greyscale array, PNG settings) of the CLI's sketch of the sample photo."""
    out = tmp_path_factory.mktemp("shipped")
    made = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SKETCHSTUDIO_MODEL", raising=False)  # the model a user gets: the shipped one
        assert default_model_path().resolve() == MODEL.resolve()
        for style in CHECKS["styles"]:
            photo = ROOT / CHECKS["photo"]
            assert cli_main(["sketch", str(photo), "--out", str(out / style), "--style", style, "-q"]) == 0
            with Image.open(out / style / f"{photo.stem}.png") as im:
                made[style] = (np.asarray(im.convert("L")), json.loads(im.text[SKETCH_META_KEY]))
    return made


def test_the_shipped_file_is_the_one_the_model_card_describes():
    assert MODEL.is_file(), f"{MODEL} is missing"
    assert sha256(MODEL) == CHECKS["sha256"], "the shipped model is not the file its model card describes"


def test_the_card_checks_every_fs2k_style():
    assert set(CHECKS["styles"]) == {"contour", "charcoal", "pencil"} == set(CHECKS["ink_order"])


@pytest.mark.slow
@pytest.mark.parametrize("style", sorted(CHECKS["styles"]))
def test_each_style_draws_a_drawing_in_the_cards_range(sketches, style):
    grey, meta = sketches[style]
    assert meta["model"].endswith("@" + CHECKS["sha256"][:12])  # the CLI loaded the shipped file
    assert meta["style"] == style and grey.shape == (512, 512)
    want = CHECKS["styles"][style]
    ink, edges = ink_fraction(grey), edge_density(grey)
    assert want["ink"][0] <= ink <= want["ink"][1], f"{style}: ink fraction {ink:.4f} outside {want['ink']}"
    assert want["edges"][0] <= edges <= want["edges"][1], f"{style}: edge density {edges:.4f} outside {want['edges']}"


@pytest.mark.slow
def test_the_styles_differ_as_the_model_card_says(sketches):
    ink = {s: ink_fraction(sketches[s][0]) for s in CHECKS["ink_order"]}
    order = CHECKS["ink_order"]
    for lighter, darker in zip(order, order[1:]):
        assert ink[darker] - ink[lighter] >= CHECKS["min_ink_gap"], ink
    for a, b in combinations(order, 2):
        diff = np.abs(sketches[a][0].astype(np.int16) - sketches[b][0]).mean()
        assert diff >= CHECKS["min_mean_difference"], f"{a} and {b} differ by only {diff:.1f} grey levels"
