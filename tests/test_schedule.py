"""MaskGIT schedule maths: γ end points, mask counts, lowest-k selection, training masks."""
import pytest
import torch

from sketchstudio.core.schedule import (
    SCHEDULES, gamma, gumbel_noise, lowest_k_mask, mask_counts, random_training_mask,
)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_gamma_end_points_and_monotone(name):
    g = gamma(name)
    assert g(0.0) == pytest.approx(1.0) and g(1.0) == pytest.approx(0.0, abs=1e-12)
    values = [g(i / 20) for i in range(21)]
    assert all(a >= b for a, b in zip(values, values[1:]))


@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("n, steps", [(64, 8), (64, 1), (256, 12), (3, 8), (0, 4), (5, 5)])
def test_mask_counts(name, n, steps):
    counts = mask_counts(n, steps, name)
    assert len(counts) == steps and counts[-1] == 0
    prev = n
    for c in counts:
        assert 0 <= c <= prev
        if prev > 0:
            assert c < prev  # every step fixes at least one token while any remain
        prev = c


def test_mask_counts_follow_cosine():
    # floor(64 * cos(pi/2 * t/4)) for t = 1..3, then 0.
    assert mask_counts(64, 4, "cosine") == [59, 45, 24, 0]
    assert mask_counts(64, 4, "linear") == [48, 32, 16, 0]


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown schedule"):
        gamma("exponential")
    with pytest.raises(ValueError):
        mask_counts(10, 0)


def test_lowest_k_mask():
    scores = torch.tensor([[0.5, 0.1, 0.9, 0.3], [4.0, 3.0, 2.0, 1.0]])
    m = lowest_k_mask(scores, torch.tensor([2, 0]))
    assert m.tolist() == [[False, True, False, True], [False, False, False, False]]
    m = lowest_k_mask(scores, torch.tensor([4, 1]))
    assert m.tolist() == [[True] * 4, [False, False, False, True]]


def test_gumbel_noise_is_seeded_and_finite():
    a = gumbel_noise((1000,), torch.Generator().manual_seed(0))
    b = gumbel_noise((1000,), torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and torch.isfinite(a).all()
    assert abs(a.mean().item() - 0.5772) < 0.15  # Euler-Mascheroni: the Gumbel mean


def test_random_training_mask():
    m = random_training_mask(64, 100, generator=torch.Generator().manual_seed(0))
    assert m.shape == (64, 100) and m.dtype == torch.bool
    per_row = m.sum(dim=1)
    assert per_row.min() >= 1 and per_row.max() <= 100
    assert per_row.float().std() > 0  # ratios vary across the batch
