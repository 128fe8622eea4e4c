"""Guidance distillation (train/distill.py): the student learns, in one pass, what its starting
model predicts with style guidance; only the transformer moves."""
import pytest
import torch
import torch.nn.functional as F

from sketchstudio.core.checkpoint import load_model
from sketchstudio.core.config import preset
from sketchstudio.core.model import SketchModel
from sketchstudio.core.sampler import SamplerSettings, _guided_logits
from sketchstudio.data.cache import Source, build_training_data
from sketchstudio.data.datasets import DataReport
from sketchstudio.train.base import StageOptions
from sketchstudio.train.distill import DistillStage, random_style_weights
from datagen import make_fs2k

GUIDANCE = 2.0


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    fs2k = make_fs2k(tmp_path_factory.mktemp("data") / "fs2k", per_style=3)
    return build_training_data([Source(fs2k)], 32, DataReport())[0]


def styled_model(styles):
    """A tiny model whose styles change its predictions clearly (so guidance does too)."""
    torch.manual_seed(0)
    model = SketchModel(preset("tiny").with_styles(styles))
    with torch.no_grad():
        model.transformer.style_emb.mul_(100)
        for b in model.transformer.blocks:
            b.ada.weight.normal_(0, 0.05)
    return model.eval()


def gap_to_guided(student, teacher, photo, style):
    """KL(teacher sampled with style guidance || student sampled without), half the tokens masked."""
    cfg = student.cfg
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, cfg.tokenizer.codebook_size, (len(photo), cfg.num_tokens), generator=g)
    tokens = tokens.masked_fill(torch.rand(tokens.shape, generator=g) < 0.5, cfg.mask_id)
    with torch.no_grad():
        want = _guided_logits(teacher, tokens, teacher.condition(photo), style,
                              SamplerSettings(style_guidance=GUIDANCE)).log_softmax(-1)
        got = _guided_logits(student, tokens, student.condition(photo), style, SamplerSettings()).log_softmax(-1)
    return F.kl_div(got.flatten(0, 1), want.flatten(0, 1), log_target=True, reduction="batchmean").item()


def test_the_student_learns_to_predict_unguided_what_the_teacher_predicts_guided(data):
    model = styled_model(data.styles)
    teacher = styled_model(data.styles)
    photo = data.photos[data.real_photo[:4]].float() / 255
    style = F.one_hot(data.real_style[:4], len(data.styles)).float()
    before = gap_to_guided(model, teacher, photo, style)
    stage = DistillStage(model, data, StageOptions(batch=4, lr=3e-3, warmup=1, distill_guidance=GUIDANCE), 50)
    model.train()
    losses = [stage.train_step(i)["kl"] for i in range(50)]
    model.eval()
    assert sum(losses[-10:]) / 10 < 0.5 * sum(losses[:10]) / 10
    after = gap_to_guided(model, teacher, photo, style)
    assert after < 0.7 * before, (before, after)


def test_only_the_transformer_moves_and_the_teacher_stays(data, tmp_path):
    model = styled_model(data.styles)
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not n.startswith("transformer.")}
    start = {n: p.detach().clone() for n, p in model.transformer.named_parameters()}
    stage = DistillStage(model, data, StageOptions(batch=2, lr=1e-2, warmup=1), 5)
    model.train()
    for i in range(5):
        stage.train_step(i)
    for n, p in model.named_parameters():
        if n in frozen:
            assert torch.equal(p, frozen[n]), n
    assert any(not torch.equal(p, start[n]) for n, p in model.transformer.named_parameters())
    for n, p in stage.teacher.transformer.named_parameters():
        assert torch.equal(p, start[n]), n
    # The finished model says which guidance it learnt, for its card and its recommendation.
    done, info = load_model(stage.finish(tmp_path))
    assert info["distilled_style_guidance"] == pytest.approx(0.75)
    # Its config names the styles that learnt it, so the sampler guides only the others.
    t = done.cfg.transformer
    assert set(t.guided_styles) == {data.styles[i] for i in data.real_style.tolist()} != set(done.styles)
    assert t.learnt_guidance == pytest.approx(0.75)
    with pytest.raises(ValueError, match="already learnt"):
        DistillStage(done, data, StageOptions(batch=2), 5)


def test_no_guidance_to_distil_is_a_clear_error(data):
    with pytest.raises(ValueError, match="distill-guidance"):
        DistillStage(styled_model(data.styles), data, StageOptions(batch=2, distill_guidance=0.0), 5)


def test_random_style_weights_are_one_hot_mixes_or_no_style():
    g = torch.Generator().manual_seed(0)
    styles = torch.randint(0, 3, (2000,), generator=g)
    w = random_style_weights(styles, 3, mix=0.3, none=0.1, generator=g)
    sums = w.sum(1)
    assert (w >= 0).all()
    assert torch.all(((sums - 1).abs() < 1e-6) | (sums == 0))
    none = sums == 0
    assert 0.05 < none.float().mean() < 0.15
    one_hot = (w == 1).any(1)
    # Rows with the pair's own style alone keep it; mixes always include it.
    assert torch.all(w[one_hot].argmax(1) == styles[one_hot])
    mixed = ~none & ~one_hot
    assert 0.12 < mixed.float().mean() < 0.3
    assert torch.all(w[mixed][torch.arange(int(mixed.sum())), styles[mixed]] > 0)
