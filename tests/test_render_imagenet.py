"""The renderer on the photo's ImageNet maps and the perceptual term (issue 32, item 3): a path
that starts at zero, a crop that sees what the full render sees, maps computed once per photo,
and a render stage that trains the path with the term."""
import pytest
import torch

from sketchstudio.core import imagenet
from sketchstudio.core.checkpoint import load_model, save_model
from sketchstudio.core.imagenet import RENDERER_CHANNELS, perceptual_distance
from sketchstudio.core.renderer import imagenet_blocks, paper_grain
from sketchstudio.data.cache import Source
from sketchstudio.train.base import StageOptions
from sketchstudio.train.pipeline import PipelineOptions, run_pipeline
from sketchstudio.train.surgery import add_imagenet, add_renderer

from test_imagenet import fake_weights  # noqa: F401 - a fixture
from test_render import native_data, tiny_model


def renderer_model(weights, styles=None, perturb=True):
    """A tiny model with the ImageNet trunk (random weights) and a renderer that sees the photo,
    its weights perturbed so every path draws something."""
    torch.manual_seed(1)
    model = add_renderer(add_imagenet(tiny_model(styles), weights), 2, 8, photo=True).eval()
    if perturb:
        with torch.no_grad():
            for p in model.tokenizer.renderer.parameters():
                p.add_(torch.randn_like(p) * 0.05)
    return model


def with_imagenet_path(model, scale=0.3):
    grown = add_renderer(model, 2, 8, photo=True, imagenet=RENDERER_CHANNELS).eval()
    with torch.no_grad():
        w = grown.tokenizer.renderer.imagenet_mid.weight
        w.add_(torch.randn(w.shape, generator=torch.Generator().manual_seed(3)) * scale)
    return grown


def test_the_path_needs_the_trunk_starts_at_zero_and_travels_in_the_file(fake_weights, tmp_path):  # noqa: F811
    with pytest.raises(ValueError, match="ImageNet"):
        add_renderer(add_renderer(tiny_model(), 2, 8, photo=True), 2, 8, photo=True, imagenet=RENDERER_CHANNELS)
    base = renderer_model(fake_weights[0])
    grown = add_renderer(base, 2, 8, photo=True, imagenet=RENDERER_CHANNELS).eval()
    r = grown.tokenizer.renderer
    assert r.imagenet_channels == RENDERER_CHANNELS and not r.imagenet_mid.weight.any()
    assert add_renderer(grown, 2, 8, photo=True, imagenet=RENDERER_CHANNELS) is grown
    ids = torch.randint(0, base.cfg.tokenizer.codebook_size, (2, base.cfg.num_tokens),
                        generator=torch.Generator().manual_seed(0))
    w, photo = torch.eye(3)[:2], torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(grown.decode(ids, (40, 30), style=w, photo=photo),
                           base.decode(ids, (40, 30), style=w, photo=photo))
    save_model(grown, tmp_path / "g.safetensors")
    back, _ = load_model(tmp_path / "g.safetensors")
    assert back.tokenizer.renderer.imagenet_channels == RENDERER_CHANNELS


def test_block_samples_fall_at_the_block_centres_of_the_whole_output():
    g, H, W = 8, 64, 48
    xs = (torch.arange(g, dtype=torch.float32) + 0.5) / g  # a map that is its own x position, 0..1
    ramp = xs.view(1, 1, 1, g).expand(1, 1, g, g)
    whole = imagenet_blocks(ramp, (H, W), (0, 0), (H // 8, W // 8))
    centres = (8 * torch.arange(W // 8) + 4) / W
    inside = (centres > 0.5 / g) & (centres < 1 - 0.5 / g)  # bilinear is exact for a ramp inside
    torch.testing.assert_close(whole[0, 0, 0, inside], centres[inside], atol=1e-5, rtol=0)
    window = imagenet_blocks(ramp, (H, W), (16, 8), (3, 3))  # a window's blocks are the whole's
    torch.testing.assert_close(window, whole[..., 2:5, 1:4], atol=1e-6, rtol=0)


def test_a_training_crop_draws_what_the_full_render_draws_there(fake_weights, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SKETCHSTUDIO_BF16", "0")
    model = with_imagenet_path(renderer_model(fake_weights[0]))
    r = model.tokenizer.renderer
    H = W = 160
    up = torch.rand(1, 1, H, W, generator=torch.Generator().manual_seed(4))
    grain, w = paper_grain(H, W), torch.eye(3)[:1]
    photo = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    maps = model.renderer_imagenet(photo)
    with torch.no_grad():
        full = r.draw(up, grain, w, None, None, maps)
        t0, l0, c = 8, 24, 128  # an origin on the pooling grid, a window with room either side
        crop = r.draw(up[..., t0:t0 + c, l0:l0 + c], grain[..., t0:t0 + c, l0:l0 + c], w, None, None, maps,
                      origin=(t0, l0), full=(H, W))
        shifted = r.draw(up[..., t0:t0 + c, l0:l0 + c], grain[..., t0:t0 + c, l0:l0 + c], w, None, None, maps)
    m = r.MARGIN
    inner = (..., slice(m, c - m), slice(m, c - m))
    assert c - 2 * m >= 32
    want = full[..., t0:t0 + c, l0:l0 + c]
    torch.testing.assert_close(crop[inner], want[inner], atol=1e-5, rtol=0)
    assert (shifted[inner] - want[inner]).abs().max() > 1e-4  # the origin matters


def test_the_maps_reach_the_sketch_and_the_trunk_runs_once_per_photo(fake_weights, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SKETCHSTUDIO_BF16", "0")
    model = with_imagenet_path(renderer_model(fake_weights[0]), scale=3.0)
    ids = torch.randint(0, model.cfg.tokenizer.codebook_size, (1, model.cfg.num_tokens),
                        generator=torch.Generator().manual_seed(0))
    w = torch.eye(3)[:1]
    a, b = (torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(s)) for s in (7, 8))
    trunk = model.encoder.imagenet.trunk
    calls = []
    handle = trunk[0].register_forward_hook(lambda *_: calls.append(1))
    try:
        with torch.no_grad():
            model.condition(a)
            drawn = model.decode(ids, style=w, photo=a)
            assert len(calls) == 1  # the encoder's maps serve the renderer too
            r, tok = model.tokenizer.renderer, model.tokenizer
            own = r(tok.decode(ids), tuple(drawn.shape[-2:]), w, a, imagenet=model.renderer_imagenet(a)).clamp(0, 1)
            other = r(tok.decode(ids), tuple(drawn.shape[-2:]), w, a, imagenet=model.renderer_imagenet(b)).clamp(0, 1)
    finally:
        handle.remove()
    assert len(calls) == 2  # b is a new photo
    own = own if model.tokenizer.tone is None else model.tokenizer.tone(own, w)
    assert torch.equal(drawn, own)
    assert (other - own).abs().mean() > 1e-4  # another photo's maps draw another sketch


def test_the_perceptual_distance_is_zero_for_the_same_sketch_and_pulls_towards_the_drawing(fake_weights):  # noqa: F811
    model = renderer_model(fake_weights[0], perturb=False)
    trunk = model.encoder.imagenet
    drawing = (torch.rand(2, 1, 48, 48, generator=torch.Generator().manual_seed(1)) > 0.7).float()
    assert perceptual_distance(trunk, drawing, drawing).item() == pytest.approx(0.0, abs=1e-6)
    sketch = torch.full_like(drawing, 0.5).requires_grad_(True)
    d = perceptual_distance(trunk, sketch, drawing)
    assert d.item() > 1e-4
    d.backward()
    assert sketch.grad.abs().sum() > 0 and not any(p.grad is not None for p in trunk.parameters())
    with torch.no_grad():  # a step down the gradient brings the sketch closer
        closer = sketch - 0.02 * sketch.grad / sketch.grad.abs().max()
    assert perceptual_distance(trunk, closer, drawing).item() < d.item()


def test_render_stage_trains_the_imagenet_path_with_the_perceptual_term(fake_weights, tmp_path):  # noqa: F811
    fs2k, data = native_data(tmp_path)
    base = renderer_model(fake_weights[0], styles=data.styles, perturb=False)
    save_model(base, tmp_path / "base.safetensors")
    opts = dict(stages=("render",), config="tiny", init=str(tmp_path / "base.safetensors"), checkpoint_every=2,
                preview_every=4, stage_options=StageOptions(batch=2, render_sampled=0.5, render_imagenet=True,
                                                            render_perceptual=1.0))
    events = list(run_pipeline([Source(fs2k)], tmp_path / "a", PipelineOptions(steps={"render": 4}, **opts)))
    losses = [e.losses for e in events if e.kind == "step" and e.stage == "render"]
    assert all(step["perceptual"] > 0 for step in losses)
    trained, _ = load_model(tmp_path / "a" / "render.safetensors")
    r = trained.tokenizer.renderer
    assert r.imagenet_channels == RENDERER_CHANNELS and r.imagenet_mid.weight.abs().sum() > 0
    before = base.state_dict()
    moved = [k for k, v in trained.state_dict().items() if k in before and not torch.equal(v, before[k])]
    assert moved and all(k.startswith("tokenizer.renderer.") for k in moved)  # the trunk stays frozen
    assert imagenet.RENDERER_CHANNELS == imagenet.STRIDE8_CHANNELS + imagenet.STRIDE16_CHANNELS
