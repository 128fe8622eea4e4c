import numpy as np
import pytest
import torch

from sketchstudio.core.metrics import _glcm, _quantize, scoot, scoot_features, ssim, ssim_uint8


def sketchy(seed=0, shape=(64, 48)):
    rng = np.random.default_rng(seed)
    a = np.full(shape, 255, np.uint8)
    for _ in range(12):
        r, c = rng.integers(0, shape[0]), rng.integers(0, shape[1] - 10)
        a[r, c:c + 10] = rng.integers(0, 120)
    return a


def test_scoot_identical_is_one_and_blank_is_lower():
    s = sketchy()
    assert scoot(s, s) == pytest.approx(1.0)
    blank = np.full_like(s, 255)
    assert scoot(s, blank) < 0.9


def test_scoot_rejects_size_mismatch():
    with pytest.raises(ValueError):
        scoot(sketchy(shape=(64, 48)), sketchy(shape=(48, 64)))


def test_quantize_matches_matlab_graycomatrix_scaling():
    # MATLAB: round((NumLevels-1) * x / 255) + 1 with GrayLimits [0 255]; we are 0-based.
    assert _quantize(np.array([0, 25, 26, 128, 255]), 6).tolist() == [0, 0, 1, 3, 5]


def test_glcm_counts_offsets_like_matlab():
    q = np.array([[0, 1], [1, 1]])
    g = _glcm(q, 0, 1, 2)  # right neighbour: pairs (0,1) and (1,1)
    assert g.tolist() == [[0, 1], [0, 1]]
    g = _glcm(q, -1, 0, 2)  # the pixel above: pairs (1,0) and (1,1)
    assert g.tolist() == [[0, 0], [1, 1]]


def test_scoot_features_shape():
    assert scoot_features(sketchy()).shape == (32,)  # 4x4 blocks x (contrast, energy)


def test_ssim_identical_is_one_and_is_symmetric():
    a, b = sketchy(1), sketchy(2)
    assert ssim_uint8(a, a) == pytest.approx(1.0)
    assert ssim_uint8(a, b) == pytest.approx(ssim_uint8(b, a), abs=1e-9)
    assert ssim_uint8(a, b) < 0.99


def test_ssim_batch():
    x = torch.rand(3, 1, 20, 20)
    assert ssim(x, x).shape == (3,)
