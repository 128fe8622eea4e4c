import numpy as np
import pytest

from sketchstudio.data.synthetic import SYNTHETIC_STYLES, synthetic_sketch
from datagen import face_photo


@pytest.mark.parametrize("style", SYNTHETIC_STYLES)
def test_synthetic_style_is_deterministic_greyscale(style):
    rgb = np.asarray(face_photo(0, 96))
    a, b = synthetic_sketch(rgb, style, seed=3), synthetic_sketch(rgb, style, seed=3)
    assert a.shape == rgb.shape[:2] and a.dtype == np.uint8
    assert np.array_equal(a, b)
    # A sketch, not a blank page nor a black one.
    assert 20 < a.mean() < 250 and a.min() < 128


def test_styles_differ_from_each_other():
    rgb = np.asarray(face_photo(1, 96))
    outs = [synthetic_sketch(rgb, s, seed=0).astype(int) for s in SYNTHETIC_STYLES]
    for i in range(len(outs)):
        for j in range(i + 1, len(outs)):
            assert np.abs(outs[i] - outs[j]).mean() > 2
