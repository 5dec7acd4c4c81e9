"""The classical core of I(X;Y|Z) (`mist.stats.conditional`, `mist.stats.residuals`): the chain
rule over one copula where the dependence on Z is linear in the copula scores, and the
additive-noise residuals where it is not."""

from __future__ import annotations

import math

import numpy as np

from mist.stats import normal_scores
from mist.stats.conditional import conditional_core
from mist.stats.residuals import additive_residuals, neighbours, smooth_gain


def _core(x, y, z):
    return conditional_core(normal_scores(np.hstack([x, y, z])), x.shape[1], y.shape[1], raw=(x, y))


def _additive(n, f, rho, seed):
    """X = f(Z) + E_x, Y = f(Z) + E_y, corr(E_x, E_y) = rho: I(X;Y|Z) = -log(1 - rho^2) / 2."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 1))
    e = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
    return f(z) + 0.5 * e[:, :1], 2 * f(z) + 0.5 * e[:, 1:], z


def test_the_gain_is_near_zero_for_linear_dependence_and_large_for_a_nonlinear_one():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(2000, 3))
    linear = z @ rng.normal(size=(3, 2)) + rng.normal(size=(2000, 2))
    curved = np.sin(2 * z[:, :1]) + 0.3 * rng.normal(size=(2000, 1))
    sz = normal_scores(z)
    near = neighbours(sz)
    assert abs(smooth_gain(normal_scores(linear), normal_scores(linear[:, :1]), sz, near)) < 0.05
    assert smooth_gain(normal_scores(linear), normal_scores(curved), sz, near) > 0.3


def test_additive_residuals_recover_the_noise():
    x, y, z = _additive(3000, lambda u: np.sin(2 * u), 0.0, seed=1)
    rx, ry = additive_residuals(x, y, normal_scores(z), neighbours(normal_scores(z)))
    noise_x = x - np.sin(2 * z)
    assert np.corrcoef(rx[:, 0], noise_x[:, 0])[0, 1] > 0.95
    assert abs(np.corrcoef(rx[:, 0], z[:, 0])[0, 1]) < 0.05


def test_a_nonlinear_common_cause_reads_zero_where_the_copula_reads_above_it():
    x, y, z = _additive(3000, lambda u: u**2, 0.0, seed=2)  # X <- Z -> Y, non-monotone
    core = _core(x, y, z)
    assert core.copula_cmi > 0.05  # linear partialling leaves Z's square in both
    assert core.weight == 1.0 and core.cmi < 0.02


def test_additive_nonlinear_dependence_is_read_from_the_residuals():
    rho = 0.8
    x, y, z = _additive(3000, lambda u: np.abs(u), rho, seed=3)
    core = _core(x, y, z)
    assert abs(core.cmi - (-0.5 * math.log(1 - rho**2))) < 0.1
    assert abs(core.copula_cmi - core.cmi) > 0.1


def test_linear_gaussian_data_keep_the_copula_chain_rule():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(2000, 2))
    x = z[:, :1] + rng.normal(size=(2000, 1))
    y = z[:, 1:] + x + rng.normal(size=(2000, 1))
    core = _core(np.exp(x), y, z)  # a monotone map of X changes nothing
    assert core.weight == 0.0 and core.residual_cmi is None
    assert core.cmi == core.copula_cmi
    assert abs(core.cmi - 0.5 * math.log(2.0)) < 0.05
