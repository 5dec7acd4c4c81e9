"""The shared linear algebra (`mist.numerics.linalg`): one home for correlations, whitening and PCA."""

import numpy as np
import pytest

from mist.baselines import canonical_correlations
from mist.numerics.linalg import (
    canonical_correlations_of,
    canonical_pairs,
    correlation,
    nearest_correlation,
    pca_scores,
    standardize,
    whitener,
    whitening_matrix,
)


def _data(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    y = np.column_stack([0.9 * x[:, 0] + 0.3 * rng.standard_normal(n), rng.standard_normal(n)])
    return x, y


def test_canonical_correlations_of_the_matrix_match_those_read_from_samples():
    x, y = _data()
    r = correlation(standardize(np.hstack([x, y])))
    np.testing.assert_allclose(canonical_correlations_of(r, 3), canonical_correlations(x, y), atol=1e-10)
    loads_x, rho, loads_y = canonical_pairs(r, 3)
    np.testing.assert_allclose(rho, canonical_correlations_of(r, 3), atol=1e-10)
    np.testing.assert_allclose((loads_x * rho) @ loads_y.T, r[:3, 3:], atol=1e-10)  # the cross block, rebuilt


def test_the_nearest_correlation_floors_the_eigenvalues_and_keeps_a_unit_diagonal():
    bad = np.array([[1.0, 0.99, 0.0], [0.99, 1.0, 0.99], [0.0, 0.99, 1.0]])  # not positive definite
    fixed = nearest_correlation(bad, 1e-3)
    assert np.linalg.eigvalsh(fixed).min() > 0 and np.allclose(np.diag(fixed), 1.0)
    good = np.eye(3)
    assert nearest_correlation(good) is good  # left alone when already above the floor


@pytest.mark.parametrize("make", [lambda c: whitener(c), lambda c: whitening_matrix(c, 1e-12)])
def test_both_whitenings_give_identity_covariance(make):
    x, _ = _data()
    c = np.cov(x, rowvar=False, bias=True)
    w = make(c)
    np.testing.assert_allclose(np.cov((x - x.mean(0)) @ w, rowvar=False, bias=True), np.eye(3), atol=1e-10)


def test_standardize_and_pca_scores():
    x, _ = _data()
    z = standardize(np.column_stack([x, np.full(len(x), 5.0)]))
    np.testing.assert_allclose(z[:, :3].std(0), 1.0) and np.testing.assert_array_equal(z[:, 3], 0.0)
    scores = pca_scores(x * [10.0, 1.0, 0.1], 2)
    assert scores.shape == (len(x), 2)
    var = scores.var(0)
    assert var[0] > var[1] > 0.5 and abs(np.corrcoef(scores.T)[0, 1]) < 1e-10
    assert pca_scores(x, 3) is x  # nothing to reduce
