"""The manifold check (`mist.inference.trust`): curved low-dimensional sides are caught, and the
estimate falls back to a nearest-neighbour read with a warning; linear low-rank and full-rank
elliptical sides are left alone. Run against the shipped checkpoint."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mist
from data_gen import FAMILIES
from mist.inference.trust import linear_dimension, manifold_check
from mist.stats import normal_scores


def _draw(family, dx, dy, mi, seed, n=3000, **options):
    f = FAMILIES[family]
    rng = np.random.default_rng(seed)
    joint = f.draw(rng, dx, dy, mi, 8.0, f.options(options or None))
    x, y = joint.sample(rng, n)
    return x, y, joint.mi


def _quiet_estimate(x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mist.MISTWarning)
        return mist.estimate(x, y)


def test_linear_dimension_counts_principal_directions():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(500, 2)) @ rng.normal(size=(2, 10))
    assert linear_dimension(z) == 2
    assert linear_dimension(rng.normal(size=(500, 6))) == 6


@pytest.mark.parametrize("maps", ["tanh", "relu2"])
def test_a_one_dimensional_latent_in_sixteen_columns_falls_back_with_a_warning(maps):
    x, y, truth = _draw("manifold", 16, 16, 0.5, seed=1, latent_dims=[1, 1], maps=[maps])
    check = manifold_check(normal_scores(np.hstack([x, y])), 16, estimate=5.0, core=2.0)
    assert check.curved and check.fallback
    for side in check.curved:
        assert check.dims[side][0] < 2 and check.dims[side][1] >= 4
    r = _quiet_estimate(x, y)
    assert r.mi - truth < 0.5 and r.lower <= truth <= r.upper  # the network alone read 4.3 for 0.5 (tanh)
    assert any("smooth functions of a few latent dimensions" in w for w in r.warnings)
    assert r.diagnostics["knn_mi"] < r.diagnostics["core_mi"] and min(r.diagnostics["intrinsic_dims"].values()) < 2


@pytest.mark.parametrize("family,mi", [("gaussian_lowrank", 6.0), ("gaussian_dense", 2.0), ("student_t", 2.0)])
def test_elliptical_sides_are_left_alone(family, mi):
    x, y, _ = _draw(family, 12, 12, mi, seed=2)
    assert manifold_check(normal_scores(np.hstack([x, y])), 12, estimate=50.0, core=50.0).curved == ()
    r = _quiet_estimate(x, y)
    assert not any("latent dimensions" in w for w in r.warnings)


def test_a_low_rank_side_with_little_noise_is_linear_not_curved():
    rng = np.random.default_rng(3)
    t = rng.normal(size=(3000, 2))
    x = t @ rng.normal(size=(2, 16)) + 1e-3 * rng.normal(size=(3000, 16))
    y = t[:, :1] + 0.5 * rng.normal(size=(3000, 1))
    check = manifold_check(normal_scores(np.hstack([x, y])), 16, estimate=10.0, core=10.0)
    assert check.curved == ()


def test_a_wide_full_rank_side_is_not_mistaken_for_a_manifold():
    """TwoNN on a few hundred rows reads a 256-dim Gaussian far below 256: no verdict up there."""
    from data_gen.embedded import embedded_gaussian

    x, y = embedded_gaussian(np.random.default_rng(0), 1000, 256, mi=2.0, k=4, signal_sd=4.0)
    check = manifold_check(normal_scores(np.hstack([x, y])), 256, estimate=2.0, core=2.0)
    assert check.curved == () and not check.above
