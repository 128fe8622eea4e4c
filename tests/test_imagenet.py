"""Frozen ImageNet features in the photo encoder (core/imagenet.py, model v13): folded norms that
compute what torchvision computes, a checked weights file, a path that starts at zero, a cache
the training stage draws from, a backbone no step changes, and a model file that carries it."""
import hashlib
from pathlib import Path

import pytest
import torch
from torchvision.models import mobilenet_v2

from sketchstudio.core import imagenet
from sketchstudio.core.checkpoint import load_model, save_model
from sketchstudio.core.imagenet import ImageNetFeatures, ImageNetWeightsError, fold_batch_norms
from sketchstudio.data.cache import Source, build_training_data
from sketchstudio.data.datasets import DataReport
from sketchstudio.train.base import StageOptions, to_float
from sketchstudio.train.finetune import FinetuneStage
from sketchstudio.train.surgery import add_imagenet
from datagen import make_fs2k
from test_training import SIZE, tiny_model

REAL_WEIGHTS = Path.home() / ".cache" / "sketchstudio" / imagenet.WEIGHTS_FILE


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    fs2k = make_fs2k(tmp_path_factory.mktemp("data") / "fs2k", per_style=3)
    return build_training_data([Source(fs2k)], SIZE, DataReport())[0]


@pytest.fixture()
def fake_weights(tmp_path, monkeypatch):
    """A torchvision-layout MobileNetV2 checkpoint with random weights and norm statistics, taken
    for the real one (its SHA-256 patched in)."""
    torch.manual_seed(1)
    net = mobilenet_v2()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_(0, 0.1)
    path = tmp_path / imagenet.WEIGHTS_FILE
    torch.save(net.state_dict(), path)
    monkeypatch.setattr(imagenet, "WEIGHTS_SHA256", hashlib.sha256(path.read_bytes()).hexdigest())
    return path, net.eval()


def test_folded_norms_compute_what_the_conv_and_norm_pairs_compute(fake_weights):
    _, net = fake_weights
    trunk = net.features[:imagenet.STRIDE16_BLOCKS]
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        want = trunk(x)
        folded = fold_batch_norms(mobilenet_v2().features[:imagenet.STRIDE16_BLOCKS])
        folded.load_state_dict(fold_batch_norms(trunk).state_dict())
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
        torch.testing.assert_close(folded(x), want, atol=1e-4, rtol=1e-4)


def test_the_features_are_torchvisions_stride_16_map_and_frozen(fake_weights):
    path, net = fake_weights
    f = ImageNetFeatures()
    f.load_torchvision_weights(path)
    photo = torch.rand(2, 3, 256, 256)
    with torch.no_grad():
        want = net.features[:imagenet.STRIDE16_BLOCKS]((photo - f.mean) / f.std)
    got = f(photo)
    assert got.shape == (2, 96, 16, 16) and not got.requires_grad
    # channels-last weights (oneDNN's fast layout for the depthwise convs), plain maps out
    assert f.trunk[0][0].weight.is_contiguous(memory_format=torch.channels_last) and got.is_contiguous()
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
    assert not f.train().training and not any(p.requires_grad for p in f.parameters())


def test_a_missing_or_foreign_weights_file_is_a_one_line_error(tmp_path):
    f = ImageNetFeatures()
    with pytest.raises(ImageNetWeightsError, match="not found"):
        f.load_torchvision_weights(tmp_path / "nothing.pth")
    other = tmp_path / "other.pth"
    torch.save({"a": torch.zeros(1)}, other)
    with pytest.raises(ImageNetWeightsError, match="not torchvision"):
        f.load_torchvision_weights(other)


@pytest.mark.skipif(not REAL_WEIGHTS.is_file(), reason="tools/build/fetch_imagenet_weights.py has not been run")
def test_the_real_checkpoint_loads_and_tells_a_face_from_flat_paper():
    f = ImageNetFeatures()
    f.load_torchvision_weights(REAL_WEIGHTS)
    flat = torch.full((1, 3, 256, 256), 0.9)
    noisy = torch.rand(1, 3, 256, 256)
    assert (f(noisy) - f(flat)).abs().mean() > 0.05


def test_the_path_starts_at_zero_is_cached_by_the_stage_and_learns_while_the_backbone_stays(data, fake_weights, tmp_path):
    path, _ = fake_weights
    model = tiny_model(data.styles).eval()
    grown = add_imagenet(model, path).eval()
    assert grown.uses_imagenet and not model.uses_imagenet and add_imagenet(grown, path) is grown
    photo = to_float(data.photos[:2])
    with torch.no_grad():  # zero-initialised: the same memory as before
        assert torch.equal(grown.condition(photo).tokens, model.condition(photo).tokens)
    trunk_before = {k: v.clone() for k, v in grown.encoder.imagenet.state_dict().items()}
    stage = FinetuneStage(grown.train(), data, StageOptions(batch=4, lr=3e-3, warmup=1, keep_weight=0.0), 5)
    plain, mirrored = stage.imagenet
    assert plain.shape == (len(data.photos), 96, grown.cfg.encoder.grid, grown.cfg.encoder.grid)
    with torch.no_grad():  # the cache holds what the encoder would compute, for the photo and its mirror
        x = to_float(data.photos[:2])
        torch.testing.assert_close(plain[:2].float(), grown.encoder.imagenet_features(x), atol=2e-2, rtol=1e-2)
        torch.testing.assert_close(mirrored[:2].float(), grown.encoder.imagenet_features(x.flip(-1)),
                                   atol=2e-2, rtol=1e-2)
    draw = stage.draw_batch()
    k = stage.photo_idx[draw.j]
    want = torch.where(draw.flip.view(-1, 1, 1, 1), mirrored[k], plain[k]).float()
    assert torch.equal(draw.imagenet, want)
    for i in range(3):
        stage.train_step(i)
    assert grown.encoder.imagenet_embed.weight.abs().sum() > 0  # the features reach the loss
    for k, v in grown.encoder.imagenet.state_dict().items():
        assert torch.equal(v, trunk_before[k]), k  # frozen
    save_model(grown, tmp_path / "m.safetensors")
    back, _ = load_model(tmp_path / "m.safetensors")
    assert back.uses_imagenet
    with torch.no_grad():
        torch.testing.assert_close(back.eval().condition(photo).tokens, grown.eval().condition(photo).tokens)
