"""Style weights change the sketch, and a blend changes it gradually, on the tiny model.

A freshly built tiny model ignores its style (the adaptive norms start at zero and the style
embeddings near it), so `styled_tiny` gives it a style direction as training does: the output's
adaptive shift tilts the logits towards one half of the codebook (FAVOURED) as one coordinate of
the style vector grows. Contour sits at 0 on it, charcoal at 4. The measure of a sketch is then the
share of its tokens from that half: about half for contour, nearly all for charcoal, and between
for a blend, through the real style vector, sampler and decoder. (The tiny model's tokenizer is
untrained, so the decoded pixels carry no ink measure of their own; they are compared as images.)"""
import numpy as np
import pytest
import torch

from sketchstudio.core import SamplerSettings, build_model, finished, preset, sample
from sketchstudio.core.imaging import tensor_to_image
from sketchstudio.core.styles import parse_style

DIRECTION = 0  # the coordinate of the style vector that carries the style
TILT = 0.2  # logits of the favoured codes rise by TILT * silu(style[DIRECTION]), the others fall by as much


def styled_tiny():
    torch.manual_seed(0)
    m = build_model(preset("tiny")).eval()
    t = m.transformer
    K, C = t.head.weight.shape
    with torch.no_grad():
        favoured = torch.where(torch.arange(K) < K // 2, 1.0, -1.0)  # (K,)
        u = torch.linalg.solve(t.head.weight, TILT * favoured)  # head.weight @ u = TILT * favoured
        t.ada_out.weight.zero_()
        t.ada_out.bias.zero_()
        t.ada_out.weight[:C, DIRECTION] = u  # shift = silu(style[DIRECTION]) * u
        t.style_emb[:, DIRECTION] = torch.tensor([0.0, 4.0, 2.0])  # contour, charcoal, pencil
    return m


def draw(model, style: str):
    """(tokens (N,), greyscale sketch) for the test photo in `style`."""
    g = torch.Generator().manual_seed(1)
    photo = torch.rand(1, 3, model.photo_size, model.photo_size, generator=g)
    weights = torch.tensor(parse_style(style, model.styles))
    last = sample(model, photo, weights, SamplerSettings(steps=8, seed=0, preview="none"))
    with torch.inference_mode():
        sketch = np.asarray(tensor_to_image(finished(model, last)[0]))
    return last.tokens[0].clone(), sketch


def favoured_share(tokens) -> float:
    return (tokens < preset("tiny").tokenizer.codebook_size // 2).float().mean().item()


@pytest.fixture(scope="module")
def model():
    return styled_tiny()


def test_two_styles_draw_clearly_different_sketches(model):
    (ta, a), (tb, b) = draw(model, "contour"), draw(model, "charcoal")
    assert (ta != tb).float().mean() > 0.25  # many tokens differ
    assert np.abs(a.astype(np.int16) - b).mean() > 10  # grey levels, on average
    assert favoured_share(tb) > favoured_share(ta) + 0.25


def test_a_blend_sits_between_its_two_styles(model):
    share = {t: favoured_share(draw(model, f"contour={1 - t},charcoal={t}")[0]) for t in (0.0, 0.25, 0.5, 0.75, 1.0)}
    assert share[0.0] + 0.1 < share[0.5] < share[1.0] - 0.05, share  # the middle is clearly neither end
    assert share[0.0] < share[0.25] < share[0.5] < share[0.75] <= share[1.0], share  # changing gradually
