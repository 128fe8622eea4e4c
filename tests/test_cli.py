"""`sketchstudio` end to end on the tiny model: sketch files, metadata, errors, exit codes, bench."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from sketchstudio.cli import main
from sketchstudio.core.imaging import read_png_text
from sketchstudio.sketch_file import SKETCH_META_KEY


@pytest.fixture
def photos(make_photo):
    return [make_photo("colour.png", (40, 50)), make_photo("grey.jpg", (30, 20), "L"),
            make_photo("clear.png", (24, 36), "RGBA")]


def sketch(*args, model, out):
    return main(["sketch", *map(str, args), "--out", str(out), "--model", str(model), "--crop", "none"])


def test_one_png_per_photo_at_its_own_size(photos, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "out"
    assert sketch(*photos, "--seed", "3", "--steps", "4", model=tiny_checkpoint, out=out) == 0
    for photo in photos:
        png = out / f"{photo.stem}.png"
        with Image.open(photo) as src, Image.open(png) as im:
            assert im.format == "PNG" and im.size == src.size and im.mode == "L"
        meta = json.loads(read_png_text(png)[SKETCH_META_KEY])
        assert (meta["seed"], meta["steps"], meta["style"], meta["crop"]) == (3, 4, "contour", "none")
        assert meta["model"].startswith("tiny@")
    assert "wrote 3 sketches" in capsys.readouterr().err


def test_default_face_crop(photos, tiny_checkpoint, tmp_path):
    out = tmp_path / "out"
    assert main(["sketch", str(photos[0]), "--out", str(out), "--model", str(tiny_checkpoint),
                 "--steps", "2", "-q"]) == 0
    with Image.open(out / "colour.png") as im:
        assert im.size == (32, 32)  # the framed crop at the tiny model's sketch size
    assert json.loads(read_png_text(out / "colour.png")[SKETCH_META_KEY])["crop"] == "face"


def test_runs_are_byte_identical(photos, tiny_checkpoint, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert sketch(photos[0], "--seed", "3", "--steps", "3", "-q", model=tiny_checkpoint, out=a) == 0
    assert sketch(photos[0], "--seed", "3", "--steps", "3", "-q", model=tiny_checkpoint, out=b) == 0
    assert (a / "colour.png").read_bytes() == (b / "colour.png").read_bytes()
    assert sketch(photos[0], "--seed", "4", "--steps", "3", "-q", model=tiny_checkpoint, out=b) == 0
    assert (a / "colour.png").read_bytes() != (b / "colour.png").read_bytes()


def test_unreadable_photo_is_reported_and_the_rest_written(photos, tiny_checkpoint, tmp_path, capsys):
    bad = tmp_path / "x.jpg"
    bad.write_text("not a picture")
    out = tmp_path / "out"
    assert sketch(photos[0], bad, photos[1], "--steps", "2", model=tiny_checkpoint, out=out) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(bad) in errors[0]
    assert sorted(p.name for p in out.glob("*.png")) == ["colour.png", "grey.png"]
    assert "1 failed" in err


def test_save_steps(photos, tiny_checkpoint, tmp_path):
    out = tmp_path / "out"
    assert sketch(photos[0], "--steps", "3", "--save-steps", "-q", model=tiny_checkpoint, out=out) == 0
    steps = sorted(p.name for p in (out / "colour").iterdir())
    assert steps == ["step_01.png", "step_02.png", "step_03.png"]
    assert (out / "colour.png").is_file()


@pytest.mark.parametrize("spec, stored", [("contour=0.5,pencil=0.5", "contour=0.5,pencil=0.5"),
                                          ("fs2k-1", "charcoal"), ("Pencil", "pencil"),
                                          ("contour=1,pencil=3", "contour=0.25,pencil=0.75")])
def test_style_names_mixes_and_aliases(photos, tiny_checkpoint, tmp_path, spec, stored):
    out = tmp_path / "out"
    assert sketch(photos[0], "--style", spec, "--steps", "2", "-q", model=tiny_checkpoint, out=out) == 0
    meta = json.loads(read_png_text(out / "colour.png")[SKETCH_META_KEY])
    assert meta["style"] == stored
    assert sum(meta["style_weights"].values()) == pytest.approx(1.0)


def one_error_line(capsys):
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("sketchstudio: error:")
    return lines[0]


@pytest.mark.parametrize("spec", ["watercolour", "pencil=-1", "pencil=lots", "contour=0"])
def test_bad_style_is_a_one_line_usage_error(photos, tiny_checkpoint, tmp_path, capsys, spec):
    assert sketch(photos[0], "--style", spec, model=tiny_checkpoint, out=tmp_path / "out") == 2
    one_error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_unknown_style_names_the_choices(photos, tiny_checkpoint, tmp_path, capsys):
    assert sketch(photos[0], "--style", "watercolour", model=tiny_checkpoint, out=tmp_path / "out") == 2
    line = one_error_line(capsys)
    assert "watercolour" in line and "contour, charcoal, pencil" in line


def test_missing_model(photos, tmp_path, capsys):
    missing = tmp_path / "none.safetensors"
    assert sketch(photos[0], model=missing, out=tmp_path / "out") == 2
    assert str(missing) in one_error_line(capsys)


def test_missing_shipped_model(photos, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SKETCHSTUDIO_MODEL", str(tmp_path / "shipped.safetensors"))
    assert main(["sketch", str(photos[0]), "--out", str(tmp_path / "out")]) == 2
    assert "--model" in one_error_line(capsys)


def test_bad_steps(photos, tiny_checkpoint, tmp_path, capsys):
    assert sketch(photos[0], "--steps", "0", model=tiny_checkpoint, out=tmp_path / "out") == 2
    one_error_line(capsys)


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("sketchstudio 0.")


def test_installed_command(photos, tiny_checkpoint, tmp_path):
    exe = Path(sys.executable).parent / "sketchstudio"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "sketchstudio.cli"]
    out = tmp_path / "out"
    proc = subprocess.run(
        [*cmd, "sketch", str(photos[1]), "--out", str(out), "--model", str(tiny_checkpoint),
         "--crop", "none", "--steps", "2", "--seed", "3"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    with Image.open(out / "grey.png") as im:
        assert im.size == (30, 20)


def test_bench_json(capsys):
    assert main(["bench", "--preset", "tiny", "--repeats", "1", "--ar-tokens", "4", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    for key in ("decode_ms_median", "first_preview_ms", "ar_over_maskgit", "peak_rss_mb"):
        assert isinstance(res[key], (int, float)) and res[key] > 0, key
    assert res["preset"] == "tiny" and res["ar_tokens_timed"] == 4


def test_bench_times_a_new_photo_s_face_analysis_for_a_map_model(monkeypatch):
    """A v10-shaped model is timed as users meet it: every timed decode analyses the face again."""
    import sketchstudio.core.face_structure as fs
    from sketchstudio.bench import run
    from sketchstudio.core import build_model, preset
    from sketchstudio.train.surgery import add_renderer, add_structure

    calls = []
    real = fs.square_structure
    monkeypatch.setattr(fs, "square_structure", lambda rgb, size, models=None: calls.append(size) or real(rgb, size))
    plain = run(build_model(preset("tiny")), repeats=1, ar_tokens=2)
    assert not plain["face_structure_per_photo"] and plain["face_structure_ms"] > 0
    calls.clear()
    model = add_renderer(add_structure(build_model(preset("tiny")), 6), 2, 4, photo=True, structure=6).eval()
    res = run(model, repeats=2, ar_tokens=2)
    assert res["face_structure_per_photo"]
    # face structure, encoder, finished sketch, decode, first preview: 2 warm-ups + 2 timed each, analysed each time
    assert len(calls) >= 5 * 4


@pytest.mark.parametrize("name", ["huge", "paper"])  # paper needs a local CLIP weights file
def test_bench_preset_errors_are_one_line(capsys, name):
    assert main(["bench", "--preset", name, "--repeats", "1"]) == 2
    one_error_line(capsys)


def test_photos_with_the_same_stem_get_distinct_outputs(tmp_path, tiny_checkpoint, make_photo):
    from sketchstudio.cli import main as cli_main

    a = make_photo("face.png")
    (tmp_path / "other").mkdir()
    b = make_photo("other/face.png")
    out = tmp_path / "out"
    assert cli_main(["sketch", str(a), str(b), "--out", str(out), "--model", str(tiny_checkpoint),
                     "--crop", "none", "-q"]) == 0
    assert len(list(out.glob("*.png"))) == 2


def test_the_face_crop_is_levelled_and_recorded(tiny_checkpoint, tmp_path, capsys):
    from sketchstudio.paths import resources_dir

    sample = Image.open(resources_dir() / "sample_face.png").convert("RGB")
    turned = tmp_path / "turned.png"
    sample.rotate(25, resample=Image.BICUBIC, fillcolor=(200, 210, 220)).save(turned)  # counter-clockwise
    out = tmp_path / "out"
    assert main(["sketch", str(turned), "--out", str(out), "--model", str(tiny_checkpoint), "--steps", "2", "-q"]) == 0
    meta = json.loads(read_png_text(out / "turned.png")[SKETCH_META_KEY])
    x0, y0, x1, y1 = meta["crop_box"]
    assert x1 - x0 == y1 - y0 > 100 and abs(meta["crop_roll"] + 25) < 4  # turned back by 25 degrees
    assert "no face" not in capsys.readouterr().err


def test_no_face_says_so_and_sketches_the_centre(tiny_checkpoint, tmp_path, capsys):
    wall = tmp_path / "wall.png"
    Image.new("RGB", (90, 60), (120, 120, 120)).save(wall)
    out = tmp_path / "out"
    assert main(["sketch", str(wall), "--out", str(out), "--model", str(tiny_checkpoint), "--steps", "2", "-q"]) == 0
    assert "no face" in capsys.readouterr().err
    meta = json.loads(read_png_text(out / "wall.png")[SKETCH_META_KEY])
    assert meta["crop_box"] == [15, 0, 75, 60] and meta["crop_roll"] == 0.0
