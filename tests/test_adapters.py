"""Adding a style keeps the styles a model had (issue 13): style-gated adapters in the
transformer, style columns in the renderer, and the fine-tuning that trains only those."""
import pytest
import torch

from sketchstudio.core.checkpoint import load_model, save_model
from sketchstudio.core.config import FS2K_STYLES, ModelConfig
from sketchstudio.core.transformer import AdaptedLinear
from sketchstudio.data.cache import Source
from sketchstudio.train.pipeline import PipelineOptions, run_pipeline
from sketchstudio.train.surgery import add_renderer
from sketchstudio.train.base import StageOptions
from sketchstudio.train.styles import add_adapters, add_styles
from conftest import make_tiny
from datagen import make_drawings


@pytest.fixture(scope="module")
def drawings(tmp_path_factory):
    return make_drawings(tmp_path_factory.mktemp("mine") / "inkwash", n=6, size=48, strays=False)


def logits_in(model, style: str | dict, seed: int = 0):
    """The model's logits for a fixed photo and tokens in `style` (a name or {name: weight})."""
    g = torch.Generator().manual_seed(seed)
    photo = torch.rand(2, 3, model.photo_size, model.photo_size, generator=g)
    tokens = torch.randint(0, 32, (2, model.cfg.num_tokens), generator=g)
    w = torch.zeros(2, len(model.styles))
    for name, v in ({style: 1.0} if isinstance(style, str) else style).items():
        w[:, model.styles.index(name)] = v
    with torch.no_grad():
        return model.logits(tokens, model.condition(photo), w)


def test_adapted_linear_is_a_plain_linear_without_a_gate():
    torch.manual_seed(0)
    layer = AdaptedLinear(8, 6, slots=2, rank=3)
    torch.nn.init.normal_(layer.lora_b)
    x = torch.randn(3, 5, 8)
    plain = torch.nn.functional.linear(x, layer.weight, layer.bias)
    assert torch.equal(layer(x), plain)
    assert torch.equal(layer(x, torch.zeros(3, 2))[:, :], plain + 0.0)
    # A gate scales its adapter linearly, per sample.
    one = layer(x, torch.tensor([[1.0, 0.0]] * 3)) - plain
    half = layer(x, torch.tensor([[0.5, 0.0]] * 3)) - plain
    assert one.abs().max() > 1e-3 and torch.allclose(half, one / 2, atol=1e-6)


def test_an_added_adapter_changes_nothing_until_trained_and_survives_a_round_trip(tmp_path):
    base = make_tiny(0)
    grown = add_adapters(add_styles(base, ("inkwash",)), ("inkwash",), rank=4)
    t = grown.cfg.transformer
    assert t.adapter_styles == ("inkwash",) and t.adapter_rank == 4
    for style in FS2K_STYLES:
        assert torch.equal(logits_in(base, style), logits_in(grown, style))
    # The new style starts as the old ones' average look (mean row) with a zero adapter.
    assert torch.allclose(logits_in(add_styles(base, ("inkwash",)), "inkwash"), logits_in(grown, "inkwash"), atol=1e-5)
    save_model(grown, tmp_path / "m.safetensors")
    back, _ = load_model(tmp_path / "m.safetensors")
    assert back.cfg == grown.cfg
    assert torch.equal(logits_in(back, "inkwash"), logits_in(grown, "inkwash"))
    # A second added style gets its own slot; the first keeps its tensors.
    with torch.no_grad():
        for n, p in grown.named_parameters():
            if n.endswith("lora_b"):
                p.normal_()
    two = add_adapters(add_styles(grown, ("woodcut",)), ("woodcut",), rank=8)
    assert two.cfg.transformer.adapter_styles == ("inkwash", "woodcut") and two.cfg.transformer.adapter_rank == 4
    assert torch.equal(logits_in(two, "inkwash"), logits_in(grown, "inkwash"))


def test_config_rejects_adapters_of_unknown_styles():
    cfg = make_tiny(0).cfg
    bad = cfg.to_dict()
    bad["transformer"]["adapter_rank"] = 4
    bad["transformer"]["adapter_styles"] = ["nope"]
    with pytest.raises(ValueError, match="adapter styles"):
        ModelConfig.from_dict(bad)


@pytest.mark.parametrize("v10", [False, True], ids=["v8", "v10"])
def test_adding_a_style_with_adapters_leaves_the_old_styles_bit_for_bit(drawings, tmp_path, v10):
    """The wizard's new-style job: finetune then render, with adapters. Every old style's
    logits and finished sketch stay exactly; the new style learns. v10: a model whose encoder
    and renderer take the face-structure map (the new style's photos get their maps too)."""
    from sketchstudio.train.surgery import add_structure

    torch.manual_seed(0)
    base = add_structure(make_tiny(0), 6) if v10 else make_tiny(0)
    base = add_renderer(base, 2, 4, photo=v10, structure=6 if v10 else 0).eval()
    with torch.no_grad():  # a trained-looking model: non-zero renderer output, style columns, map paths
        for p in base.tokenizer.renderer.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        if v10:
            base.encoder.structure_embed.weight.add_(torch.randn_like(base.encoder.structure_embed.weight) * 0.05)
    base_path = tmp_path / "base.safetensors"
    save_model(base, base_path)
    base, _ = load_model(base_path)
    opts = PipelineOptions(stages=("finetune", "render"), config="tiny", steps={"finetune": 6, "render": 4},
                           init=str(base_path), checkpoint_every=3, preview_every=6,
                           stage_options=StageOptions(batch=2, warmup=1, adapter_rank=4, adapter_lr=2e-2,
                                                      new_style_lr=2e-2))
    list(run_pipeline([Source(drawings, "inkwash")], tmp_path / "run", opts))
    model, _ = load_model(tmp_path / "run" / "render.safetensors")
    assert model.styles == FS2K_STYLES + ("inkwash",)
    assert model.cfg.transformer.adapter_styles == ("inkwash",)
    old, new = base.state_dict(), model.state_dict()
    moved = {k for k in old if not torch.equal(old[k], new[k])}
    assert moved == {"transformer.style_emb", "tokenizer.renderer.style_film.weight"}  # both grew for the new style
    assert torch.equal(new["transformer.style_emb"][:3], old["transformer.style_emb"])
    film_old, film_new = old["tokenizer.renderer.style_film.weight"], new["tokenizer.renderer.style_film.weight"]
    assert torch.equal(film_new[:, :3], film_old)
    assert not torch.allclose(film_new[:, 3], film_old.mean(1), atol=1e-5)  # the new column learned
    assert any(new[k].abs().max() > 0 for k in new if k.endswith("lora_b"))  # the adapter learned
    ids = torch.randint(0, 32, (1, model.cfg.num_tokens), generator=torch.Generator().manual_seed(1))
    photo = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(2)) if v10 else None
    assert model.uses_structure == v10 and model.tokenizer.renderer.takes_structure == v10
    for style in FS2K_STYLES:
        assert torch.equal(logits_in(base, style), logits_in(model, style))
        w_old = torch.nn.functional.one_hot(torch.tensor(base.styles.index(style)), 3).float()
        w_new = torch.nn.functional.one_hot(torch.tensor(model.styles.index(style)), 4).float()
        assert torch.equal(base.decode(ids, (40, 40), style=w_old, photo=photo),
                           model.decode(ids, (40, 40), style=w_new, photo=photo))
    grown = add_adapters(add_styles(base, ("inkwash",)), ("inkwash",), rank=4)
    assert not torch.allclose(logits_in(grown, "inkwash"), logits_in(model, "inkwash"), atol=1e-4)
    # A mix with the new style runs its adapter in proportion: between the pure styles.
    mix = logits_in(model, {"contour": 0.5, "inkwash": 0.5})
    assert not torch.allclose(mix, logits_in(model, "contour"), atol=1e-4)


def test_rename_and_remove_a_style_touch_only_that_style():
    from sketchstudio.core.style_edit import remove_style, rename_style
    from sketchstudio.core.styles import StyleError

    base = add_renderer(make_tiny(0), 2, 4).eval()
    model = add_adapters(add_styles(base, ("inkwash", "woodcut")), ("inkwash", "woodcut"), rank=4)
    with torch.no_grad():  # trained-looking adapters and renderer columns
        for n, p in model.named_parameters():
            if n.endswith("lora_b") or n.endswith("style_film.weight"):
                p.normal_(0, 0.1)
    renamed = rename_style(model, "inkwash", "Ink wash")
    assert renamed.styles == FS2K_STYLES + ("Ink wash", "woodcut")
    assert renamed.cfg.transformer.adapter_styles == ("Ink wash", "woodcut")
    assert torch.equal(logits_in(renamed, "Ink wash"), logits_in(model, "inkwash"))
    for bad in ("pencil", "a,b", " "):
        with pytest.raises(StyleError):
            rename_style(model, "inkwash", bad)
    ids = torch.randint(0, 32, (1, model.cfg.num_tokens), generator=torch.Generator().manual_seed(1))
    for gone in ("inkwash", "charcoal"):
        smaller = remove_style(model, gone)
        assert gone not in smaller.styles and len(smaller.styles) == 4
        assert gone not in smaller.cfg.transformer.adapter_styles
        for style in smaller.styles:
            assert torch.equal(logits_in(smaller, style), logits_in(model, style))
            w_a = torch.nn.functional.one_hot(torch.tensor(smaller.styles.index(style)), 4).float()
            w_b = torch.nn.functional.one_hot(torch.tensor(model.styles.index(style)), 5).float()
            assert torch.equal(smaller.decode(ids, (24, 24), style=w_a), model.decode(ids, (24, 24), style=w_b))
    last = remove_style(remove_style(model, "inkwash"), "woodcut")
    assert last.cfg.transformer.adapter_styles == () and last.cfg.transformer.adapter_rank == 0
    assert not any(n.endswith("lora_a") for n, _ in last.named_parameters())
    with pytest.raises(StyleError):
        remove_style(model, "nope")
