"""Photos unlike FS2K's (data/photo_changes.py): each change does what it says and only that, the
training stages draw changed photos at the rate asked (and as before without it), and
`eval --robust` scores every change."""
import json

import numpy as np
import pytest
import torch

from sketchstudio.cli import main
from sketchstudio.data.cache import Source, build_training_data
from sketchstudio.data.datasets import DataReport
from sketchstudio.data.photo_changes import CHANGES, random_change
from sketchstudio.train.base import StageOptions
from sketchstudio.train.finetune import FinetuneStage
from datagen import make_fs2k
from test_cli_train_eval import stage_options_seen  # noqa: F401 (a fixture)
from test_training import SIZE, tiny_model


@pytest.fixture()
def photo():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    person = np.zeros((64, 64), np.float32)
    person[16:64, 16:48] = 1.0  # the person: a block from the bottom edge
    return img, person


@pytest.mark.parametrize("name", [n for n in CHANGES if n.endswith("background")])
def test_a_new_background_leaves_the_person_and_replaces_the_rest(photo, name):
    img, person = photo
    out = CHANGES[name](img, person, np.random.default_rng(1))
    assert out.shape == img.shape and out.dtype == np.uint8
    inside = person > 0.99
    assert np.array_equal(out[inside], img[inside])
    assert np.abs(out[~inside].astype(int) - img[~inside]).mean() > 20


@pytest.mark.parametrize("name", ["colour-cast", "greyscale", "low-quality-jpeg", "few-pixels"])
def test_a_camera_change_changes_the_whole_photo(photo, name):
    img, person = photo
    out = CHANGES[name](img, person, np.random.default_rng(1))
    assert out.shape == img.shape and out.dtype == np.uint8
    for region in (person > 0.5, person < 0.5):
        assert np.abs(out[region].astype(int) - img[region]).mean() > 3
    if name == "greyscale":
        assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])


def test_random_changes_are_reproducible_from_their_seed(photo):
    img, person = photo
    a = random_change(img, person, np.random.default_rng(7))
    assert np.array_equal(a, random_change(img, person, np.random.default_rng(7)))
    assert not np.array_equal(a, random_change(img, person, np.random.default_rng(8)))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    fs2k = make_fs2k(tmp_path_factory.mktemp("data") / "fs2k", per_style=3)
    return build_training_data([Source(fs2k)], SIZE, DataReport())[0]


def test_the_stage_draws_changed_photos_at_the_rate_asked_and_as_before_without(data):
    model = tiny_model(data.styles)
    plain = FinetuneStage(model, data, StageOptions(batch=8, keep_weight=0.0), 5)
    again = FinetuneStage(tiny_model(data.styles), data, StageOptions(batch=8, keep_weight=0.0, photo_changes=0.0), 5)
    assert plain.changed is None
    a, b = plain.draw_batch(), again.draw_batch()
    assert torch.equal(a.photo, b.photo) and torch.equal(a.target, b.target)

    every = FinetuneStage(tiny_model(data.styles), data,
                          StageOptions(batch=8, keep_weight=0.0, photo_changes=1.0, photo_change_variants=2), 5)
    bank = every.changed
    assert bank.photos.shape[0] == 2 * len(torch.unique(every.photo_idx))
    d = every.draw_batch()
    own = data.photos[every.photo_idx[d.j]].float() / 255
    own = torch.where(d.flip.view(-1, 1, 1, 1), own.flip(-1), own)
    assert (d.photo - own).abs().flatten(1).mean(1).min() > 0.01  # every photo changed...
    ids = torch.where(d.flip.view(-1, 1), every.ids_flip[d.j], every.ids[d.j])
    assert torch.equal(d.target, ids)  # ...its drawing's tokens not
    every.train_step(0)


def test_eval_robust_scores_every_change(tmp_path, tiny_checkpoint, capsys):
    fs2k = make_fs2k(tmp_path / "fs2k", per_style=1, size=40)
    assert main(["eval", "--robust", "--data", str(fs2k), "--model", str(tiny_checkpoint), "--limit", "2",
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["pairs"] == 2 and res["changes"] == ["none", *CHANGES]
    t = res["scores"]
    for name in res["changes"]:
        assert 0 < t[f"{name}/scoot"] <= 1 and 0 <= t[f"{name}/paper"] <= 255
    for name in CHANGES:
        assert t[f"{name}/scoot_drop"] == pytest.approx(t["none/scoot"] - t[f"{name}/scoot"])
    assert main(["eval", "--robust", "--data", str(fs2k), "--model", str(tiny_checkpoint), "--limit", "1"]) == 0
    assert "flat-background" in capsys.readouterr().out


def test_train_passes_the_imagenet_and_photo_change_options(tmp_path, stage_options_seen):
    fs2k = make_fs2k(tmp_path / "fs2k", per_style=1, size=40)
    base = ["train", "finetune", "--data", str(fs2k), "--out", str(tmp_path / "run"), "--config", "tiny", "-q"]
    assert main(base + ["--imagenet-weights", "w.pth", "--photo-changes", "0.5", "--photo-change-variants", "3"]) == 0
    assert main(base) == 0
    got = [(o.imagenet_weights, o.photo_changes, o.photo_change_variants) for o in stage_options_seen]
    assert got == [("w.pth", 0.5, 3), (None, 0.0, 2)]
