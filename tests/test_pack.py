"""The training pack (data/pack.py): a small file that expands to the TrainingData the sources
build, exactly for the drawings and everything but the photos, within a stated tolerance for
the JPEG photos and the synthetic sketches drawn again from them; the pipeline and the CLI
take it as --data."""
import csv

import pytest
import torch
from PIL import Image

from sketchstudio.cli import main as cli_main
from sketchstudio.data import cache
from sketchstudio.data.cache import Source, TrainingData, build_training_data
from sketchstudio.data.datasets import DataReport
from sketchstudio.data.pack import is_pack, load_pack, pack_training_data
from sketchstudio.train.pipeline import PipelineOptions, run_pipeline
from datagen import make_drawings, make_fs2k, make_photo_folder

SIZE = 32  # the tiny preset's sketch size
FIELDS = [k for k in TrainingData.__dataclass_fields__ if k not in ("styles", "structure_version")]
EXACT = ("real_photo", "real_style", "synth_photo", "synth_style", "val_style", "real_native_size", "val_native_size")
# The stated tolerance of a lossy pack (WebP, the default qualities), in grey levels (0-255),
# mean absolute difference per tensor: photos, drawings (their squares and own sizes), and the
# synthetic sketches made again from the lossy photos.
# Measured on these tiny images: photos 4.4-4.7 (32 px faces of flat colours: all edges),
# drawings 0.8-1.2, synthetic sketches 1.3; FS2K's: docs/BENCHMARKS.md.
TOLERANCE = {"photos": 7.5, "val_photo": 7.5, "real_sketch": 2.0, "val_sketch": 2.0, "real_native": 2.0,
             "val_native": 2.0, "synth_sketch": 3.0}


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    fs2k = make_fs2k(root / "fs2k", per_style=3)
    # Drawings of other sizes than their squares (FS2K has 250x250, 223x318, 475x340).
    for i in (1, 4):
        for sub, name in (("photos", f"image{i:04d}.jpg"), ("sketches", f"sketch{i:04d}.png")):
            Image.open(fs2k / sub / name).resize((70, 50), Image.BICUBIC).save(fs2k / sub / name)
    (fs2k / "photos" / "image0002.jpg").write_text("not a jpeg")  # reported, and the report travels
    return [Source(fs2k), Source(make_drawings(root / "ink"), "ink"), Source(make_photo_folder(root / "photos", 2))]


def built(sources):
    report = DataReport()
    data, val = build_training_data(sources, SIZE, report, native=True)
    return data, val, report


def mean_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.float() - b.float()).abs().mean().item()


def test_a_lossless_pack_expands_to_exactly_the_training_data_its_sources_build(sources, tmp_path):
    data, val, report = built(sources)
    path = tmp_path / "train.pack"
    n = pack_training_data(data, val, path, report, photo_quality=None, drawing_quality=None)
    assert is_pack(path) and n == path.stat().st_size and not is_pack(tmp_path)
    back, back_val, back_report = load_pack(path, SIZE, workers=3)
    assert back.styles == data.styles and len(data.synth_style) and len(data.val_style) and len(data.real_native)
    for k in FIELDS:
        assert getattr(back, k).dtype == getattr(data, k).dtype and torch.equal(getattr(back, k), getattr(data, k)), k
    assert [(p.photo.name, p.sketch.name, p.style) for p in back_val] == [(p.photo.name, p.sketch.name, p.style)
                                                                       for p in val]
    assert back_report.lines() == report.lines() and "image0002.jpg" in " ".join(report.lines())
    # Without native drawings, as build_training_data(native=False) gives.
    plain, _, _ = load_pack(path, SIZE, native=False)
    assert len(plain.real_native) == 0 and torch.equal(plain.real_sketch, data.real_sketch)


def test_a_lossy_pack_is_exact_but_for_its_images_and_those_within_the_tolerance(sources, tmp_path):
    data, val, report = built(sources)
    path = tmp_path / "train.pack"
    lossy = pack_training_data(data, val, path, report)
    assert lossy < pack_training_data(data, val, tmp_path / "lossless.pack", report, None, None)
    back, _, _ = load_pack(path, SIZE, workers=3)
    for k in EXACT:
        assert torch.equal(getattr(back, k), getattr(data, k)), k
    for k, limit in TOLERANCE.items():
        a, b = getattr(back, k), getattr(data, k)
        assert a.shape == b.shape and a.dtype == torch.uint8
        assert 0 < mean_abs(a, b) <= limit, (k, mean_abs(a, b))
    # Unpacking is deterministic, whatever the number of threads.
    again, _, _ = load_pack(path, SIZE, workers=1)
    for k in FIELDS:
        assert torch.equal(getattr(again, k), getattr(back, k)), k


def test_drawings_kept_shrunk_bring_their_squares_along(sources, tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "NATIVE_MAX", 40)  # the 48 px drawings are kept shrunk to 40 px
    data, val, report = built(sources[:1])
    assert data.real_native_size.max() == 40
    pack_training_data(data, val, tmp_path / "p.pack", report, None, None)
    back, _, _ = load_pack(tmp_path / "p.pack", SIZE)
    for k in FIELDS:
        assert torch.equal(getattr(back, k), getattr(data, k)), k


def test_a_pack_for_another_size_or_beside_other_sources_is_a_clear_error(sources, tmp_path):
    data, val, report = built(sources[:1])
    pack_training_data(data, val, tmp_path / "p.pack", report)
    with pytest.raises(ValueError, match="holds 32 px training images; this model trains at 256 px"):
        load_pack(tmp_path / "p.pack", 256)
    opts = PipelineOptions(stages=("tokenizer",), config="tiny", steps={"tokenizer": 1})
    with pytest.raises(ValueError, match="only --data source"):
        list(run_pipeline([Source(tmp_path / "p.pack"), sources[2]], tmp_path / "run", opts))


def test_the_cli_packs_and_trains_from_the_pack(sources, tmp_path, capsys):
    pack = tmp_path / "fs2k.pack"
    assert cli_main(["pack", "--data", str(sources[0].path), "--out", str(pack), "--config", "tiny", "-q"]) == 0
    err = capsys.readouterr().err
    assert "wrote" in err and "MB" in err and "synthetic sketches" in err and pack.exists()
    run = tmp_path / "run"
    assert cli_main(["train", "tokenizer", "--data", str(pack), "--out", str(run), "--config", "tiny",
                     "--max-steps", "2", "--batch", "2", "--device", "cpu", "-q"]) == 0
    assert (run / "tokenizer.safetensors").exists()
    # The run's data cache is what the pack expands to; the held-out split and the report are written.
    cached = TrainingData.load(run / "data.safetensors")
    direct, _, _ = load_pack(pack, SIZE, native=False)
    for k in FIELDS:
        assert torch.equal(getattr(cached, k), getattr(direct, k)), k
    with open(run / "val" / "pairs.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(direct.val_style) and all(r["photo"].endswith(".jpg") for r in rows)
    assert "image0002.jpg" in (run / "data_report.txt").read_text()


def test_pack_qualities_on_the_command_line(sources, tmp_path):
    out = tmp_path / "lossless.pack"
    assert cli_main(["pack", "--data", str(sources[0].path), "--out", str(out), "--config", "tiny",
                     "--photo-quality", "lossless", "--drawing-quality", "lossless", "-q"]) == 0
    data, _, _ = built(sources[:1])
    back, _, _ = load_pack(out, SIZE)
    for k in FIELDS:
        assert torch.equal(getattr(back, k), getattr(data, k)), k
    with pytest.raises(SystemExit):
        cli_main(["pack", "--data", str(sources[0].path), "--out", str(out), "--photo-quality", "0"])
