"""Style weights change the sketch, and a blend changes it gradually, on the tiny model.

A freshly built tiny model ignores its style (the adaptive norms start at zero and the style
embeddings near it), so `styled_tiny` gives it a style direction the way training does: the
output's adaptive shift moves the logits towards dark codes as the style's weight on one
coordinate of the style vector grows. Contour sits at 0 on it, charcoal at 4; a blend of the two
sits between, through the real style vector, sampler and decoder."""
import numpy as np
import pytest
import torch

from sketch_measures import ink_fraction
from sketchstudio.core import SamplerSettings, build_model, preset, sample
from sketchstudio.core.imaging import tensor_to_image
from sketchstudio.core.styles import parse_style

DIRECTION = 0  # the coordinate of the style vector that carries the style


def make_tiny(seed: int):
    """The tiny preset with weights drawn under `seed` (as conftest's tiny_model)."""
    torch.manual_seed(seed)
    return build_model(preset("tiny")).eval()


def styled_tiny(strength: float = 6.0):
    m = make_tiny(0).eval()
    t = m.transformer
    C = t.head.weight.shape[1]
    with torch.no_grad():
        K = t.head.weight.shape[0]
        ids = torch.arange(K)[:, None].expand(K, m.cfg.num_tokens)  # every code, drawn alone
        brightness = m.decode(ids).mean(dim=(1, 2, 3))  # (K,)
        b = (brightness - brightness.mean()) / brightness.std()
        u = torch.linalg.solve(t.head.weight, b)  # head.weight @ u = b: a shift along u favours bright codes
        t.ada_out.weight.zero_()
        t.ada_out.bias.zero_()
        t.ada_out.weight[:C, DIRECTION] = -strength * u  # shift = -strength * silu(style[DIRECTION]) * u
        t.style_emb[:, DIRECTION] = torch.tensor([0.0, 4.0, 2.0])  # contour, charcoal, pencil
    return m


def draw(model, style: str, seed: int = 0) -> np.ndarray:
    g = torch.Generator().manual_seed(1)
    photo = torch.rand(1, 3, model.photo_size, model.photo_size, generator=g)
    weights = torch.tensor(parse_style(style, model.styles))
    last = sample(model, photo, weights, SamplerSettings(steps=8, seed=seed, preview="none"))
    with torch.inference_mode():
        return np.asarray(tensor_to_image(model.decode(last.tokens)[0]))


@pytest.fixture(scope="module")
def model():
    return styled_tiny()


def test_two_styles_draw_clearly_different_sketches(model):
    a, b = draw(model, "contour"), draw(model, "charcoal")
    assert np.abs(a.astype(np.int16) - b).mean() > 20  # grey levels, on average
    assert ink_fraction(b) > ink_fraction(a) + 0.2


def test_a_blend_sits_between_its_two_styles(model):
    ink = {t: ink_fraction(draw(model, f"contour={1 - t},charcoal={t}")) for t in (0.0, 0.25, 0.5, 0.75, 1.0)}
    assert ink[0.0] < ink[0.5] < ink[1.0], ink  # the middle is neither end
    assert ink[0.0] + 0.1 < ink[0.5] < ink[1.0] - 0.1, ink  # and clearly between them
    assert ink[0.0] <= ink[0.25] <= ink[0.5] <= ink[0.75] <= ink[1.0], ink  # changing gradually
