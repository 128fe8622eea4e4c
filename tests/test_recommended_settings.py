"""A model may recommend sampler settings (info["sampler"]); the CLI, eval and the window use them
unless the user says otherwise, and a malformed recommendation is ignored."""
import json
import math

import pytest

from app_fixtures import boxes, make_window  # noqa: F401  (fixtures)
from sketchstudio.cli import main as cli
from sketchstudio.core.checkpoint import save_model
from sketchstudio.core.imaging import read_png_text
from sketchstudio.core.sampler import SamplerSettings, recommended_settings
from sketchstudio.sketch_file import SKETCH_META_KEY
from conftest import make_tiny
from datagen import face_photo


def test_recommendations_apply_over_the_defaults_and_bad_ones_are_ignored():
    assert recommended_settings(None) == SamplerSettings()
    assert recommended_settings({"sampler": {"style_guidance": 0.75, "steps": 12}}).style_guidance == 0.75
    assert recommended_settings({"sampler": {"steps": 12}}).steps == 12
    base = SamplerSettings(seed=7)
    assert recommended_settings({"sampler": {"temperature": 0.5}}, base) == base.with_(temperature=0.5)
    for bad in ({"sampler": "fast"}, {"sampler": {"style_guidance": "a lot"}}, {"sampler": {"style_guidance": math.nan}},
                {"sampler": {"style_guidance": True}}, {"sampler": {"steps": 0}}, {"sampler": {"steps": -3}},
                {"sampler": {"temperature": 1e9}}, {"sampler": {"seed": 5}}, [], "x"):
        assert recommended_settings(bad) == SamplerSettings(), bad


@pytest.fixture
def recommending_model(tmp_path):
    path = tmp_path / "rec.safetensors"
    save_model(make_tiny(0), path, info={"sampler": {"style_guidance": 0.5}})
    return path


def test_the_cli_uses_the_models_recommendation_unless_told(recommending_model, tmp_path):
    photo = tmp_path / "p.png"
    face_photo(1, 48).save(photo)
    for extra, want in (([], 0.5), (["--style-guidance", "0"], 0.0), (["--style-guidance", "2"], 2.0)):
        out = tmp_path / f"out{len(extra)}{want}"
        assert cli(["sketch", str(photo), "--out", str(out), "--model", str(recommending_model), "-q", *extra]) == 0
        meta = json.loads(read_png_text(out / "p.png")[SKETCH_META_KEY])
        assert meta["style_guidance"] == want


def test_the_window_takes_a_models_recommendation_but_keeps_what_the_user_set(make_window, recommending_model,  # noqa: F811
                                                                              tiny_checkpoint):
    win = make_window()  # the tiny model recommends nothing
    assert win.studio.settings.style_guidance == 0.0
    assert win.load_model(str(recommending_model))
    assert win.studio.settings.style_guidance == 0.5
    assert win.sampler_controls.style_guidance.value() == 0.5
    assert win.load_model(str(tiny_checkpoint))  # back to no recommendation
    assert win.studio.settings.style_guidance == 0.0
    win.sampler_controls.style_guidance.setValue(3.0)  # the user's own choice
    assert win.studio.settings.style_guidance == 3.0
    assert win.load_model(str(recommending_model))
    assert win.studio.settings.style_guidance == 3.0


def test_bench_times_the_recommended_decode_and_the_plain_one(recommending_model, capsys):
    assert cli(["bench", "--model", str(recommending_model), "--repeats", "1", "--ar-tokens", "4", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["style_guidance"] == 0.5 and res["decode_ms_unguided"] > 0 and res["decode_ms_median"] > 0
