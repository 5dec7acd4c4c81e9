"""High-dimensional sides: cross-fitted PCA down to the trained dims, reported as a lower bound."""

import numpy as np
import pytest

import mist
from data_gen.embedded import embedded_gaussian
from mist.stats.reduction import needs_reduction, reduce_pair

MI = 2.0  # nats, in a 4-dim subspace of each side


def embedded(n: int, d: int, signal_sd: float, seed: int = 0):
    return embedded_gaussian(np.random.default_rng(seed), n, d, MI, signal_sd=signal_sd)


def test_reduction_is_needed_only_for_many_columns_beyond_the_trained_dims():
    assert not needs_reduction(5000, 32, 32, 32)
    assert not needs_reduction(5000, 50, 50, 32)  # the core handles 100 columns at n = 5000
    assert needs_reduction(5000, 300, 2, 32)
    assert needs_reduction(500, 40, 40, 32)  # 80 columns are too many for 500 rows


def test_pca_finds_the_signal_subspace_and_reduces_only_the_wide_side():
    x, y = embedded(2000, 128, signal_sd=4.0)
    parts, reduction = reduce_pair(x, y[:, :4] @ np.eye(4), max_dim=32)
    assert reduction.x_dims == (128, 4) and reduction.y_dims == (4, 4)
    assert reduction.halves == (1000, 1000) and reduction.to_dict()["lower_bound"] is True
    assert [(a.shape, b.shape) for a, b in parts] == [((1000, 4), (1000, 4))] * 2


def test_reduced_sets_do_not_depend_on_row_order():
    x, y = embedded(600, 64, signal_sd=3.0)
    perm = np.random.default_rng(1).permutation(600)
    a, _ = reduce_pair(x, y, 32)
    b, _ = reduce_pair(x[perm], y[perm], 32)
    for (xa, _), (xb, _) in zip(a, b):
        assert xa.shape == xb.shape
        # the same rows, in another order; directions agree up to sign
        np.testing.assert_allclose(np.sort(np.abs(xa), axis=0), np.sort(np.abs(xb), axis=0), atol=1e-8)


@pytest.fixture(scope="module")
def wide():
    x, y = embedded(4000, 256, signal_sd=4.0)
    with pytest.warns(mist.MISTWarning, match="lower bound"):
        return mist.estimate(x, y)


def test_a_wide_pair_is_estimated_near_its_mi_and_reported_as_a_lower_bound(wide):
    assert wide.reduction["x_dims"] == [256, 4] and wide.reduction["lower_bound"] is True
    assert MI - 0.3 < wide.mi < MI  # a lower bound, and a tight one when the signal leads the variance
    assert wide.mi == pytest.approx(wide.diagnostics["core_mi"])  # the core of the reduced halves, uncorrected
    assert any("lower bound" in w for w in wide.warnings)
    assert "lower bound" in wide.summary() and wide.to_dict()["reduction"]["halves"] == [2000, 2000]


def test_dependence_hidden_in_low_variance_directions_is_not_invented():
    """Signal at noise level: PCA cannot find it, and the bound stays below the truth."""
    x, y = embedded(4000, 256, signal_sd=1.0)
    with pytest.warns(mist.MISTWarning):
        r = mist.estimate(x, y)
    assert r.mi < 0.5 < MI and r.reduction is not None


def test_the_embedded_family_has_the_mi_of_its_subspace():
    """Rotations are invertible: the Gaussian MI of the full pair (on many samples) is MI."""
    x, y = embedded_gaussian(np.random.default_rng(3), 200_000, 6, MI, signal_sd=2.0)
    c = np.corrcoef(np.concatenate([x, y], axis=1), rowvar=False)
    gaussian_mi = 0.5 * (np.linalg.slogdet(c[:6, :6])[1] + np.linalg.slogdet(c[6:, 6:])[1] - np.linalg.slogdet(c)[1])
    assert gaussian_mi == pytest.approx(MI, abs=0.02)
