"""Split-conformal calibration (mist.calibration): scaled offsets keep narrow intervals narrow."""

import numpy as np
import pytest
import torch

from mist.calibration import apply_calibration, coverage, fit_calibration

LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
Z = np.array([-1.6449, -0.6745, 0.0, 0.6745, 1.6449])
EDGES = [16, 10**6]


def _sets(rng, m):
    """Predictions whose spread is half the true noise: too narrow by the same factor everywhere."""
    sd = np.where(rng.random(m) < 0.5, 0.01, 1.0)  # half the sets easy, half hard
    centre = rng.uniform(0, 2, m)
    pred = centre[:, None] + 0.5 * sd[:, None] * Z
    target = centre + sd * rng.standard_normal(m)
    return pred, target, sd


def _calibrated(pred, cal):
    return np.stack([apply_calibration(torch.from_numpy(p)[None], 1000, cal)[0].numpy() for p in pred])


def test_scaled_offsets_cover_easy_and_hard_sets_and_keep_the_easy_ones_narrow():
    rng = np.random.default_rng(0)
    pred, target, _ = _sets(rng, 4000)
    cal = fit_calibration(pred, target, np.full(len(target), 1000), LEVELS, EDGES)
    assert cal["scaled"] is True
    pred, target, sd = _sets(rng, 4000)
    q = _calibrated(pred, cal)
    for group in (sd < 0.1, sd > 0.1):
        assert 0.86 <= coverage(q[group], target[group], LEVELS, 0.05, 0.95) <= 0.94
    width = q[:, -1] - q[:, 0]
    assert width[sd < 0.1].mean() < 0.05
    assert width[sd > 0.1].mean() > 2.5


def test_additive_offsets_widen_every_set_alike():
    rng = np.random.default_rng(1)
    pred, target, _ = _sets(rng, 4000)
    cal = fit_calibration(pred, target, np.full(len(target), 1000), LEVELS, EDGES, scaled=False)
    pred, _, sd = _sets(rng, 2000)
    q = _calibrated(pred, cal)
    assert (q[:, -1] - q[:, 0])[sd < 0.1].mean() > 0.5  # the easy sets pay for the hard ones (0.03 wide at most)


def test_cards_without_the_scaled_flag_hold_additive_offsets():
    cal = {"edges": EDGES, "offsets": [[-0.1, 0.0, 0.2, 0.0, 0.1]], "levels": list(LEVELS)}
    pred = torch.tensor([[0.0, 0.5, 1.0, 1.5, 2.0]])
    out = apply_calibration(pred, 100, cal)
    assert torch.allclose(out, pred + torch.tensor([-0.1, 0.0, 0.2, 0.0, 0.1]))
    scaled = apply_calibration(pred, 100, dict(cal, scaled=True))  # width 2: offsets doubled
    assert torch.allclose(scaled, pred + 2 * torch.tensor([-0.1, 0.0, 0.2, 0.0, 0.1]))


@pytest.mark.parametrize("scaled", [True, False])
def test_calibrated_quantiles_stay_ordered(scaled):
    cal = {"edges": EDGES, "offsets": [[0.5, -0.5, 0.3, -0.4, -0.6]], "levels": list(LEVELS), "scaled": scaled}
    out = apply_calibration(torch.tensor([[0.0, 0.1, 0.2, 0.3, 0.4]]), 100, cal)
    assert torch.all(out[:, 1:] >= out[:, :-1])
