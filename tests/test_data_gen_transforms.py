"""Transforms are bijections, and the MI label of transformed, float32-stored data stays exact.

The label check inverts the stored float32 samples through the drawn chains and averages the
family's exact information density there (the Jacobians of the transforms cancel in
log p(x,y) - log p(x) - log p(y)); the mean must match the label within 5 standard errors.
A KSG estimate on a few transforms gives an independent, estimator-based check.
"""

import math

import numpy as np
import pytest
from scipy import special
from scipy.spatial import cKDTree

from data_gen import TRANSFORMS, DatasetSampler

FAST = sorted(k for k in TRANSFORMS if k != "flow")


def _draw(name, d, seed):
    t = TRANSFORMS[name]
    return t.draw(np.random.default_rng(seed), d, t.options(None))


def _heavy(rng, n, d):
    """Mixed-scale test points: normal bulk plus Cauchy-like tails."""
    x = rng.standard_normal((n, d))
    x[: n // 10] /= np.abs(rng.standard_normal((n // 10, 1))) ** 2 + 1e-3
    return x


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@pytest.mark.parametrize("d", [1, 2, 7])
def test_forward_inverse_round_trip(name, d):
    if d < TRANSFORMS[name].min_dim:
        pytest.skip(f"{name} needs d >= {TRANSFORMS[name].min_dim}")
    rng = np.random.default_rng(d)
    b = _draw(name, d, d)
    x = _heavy(rng, 2000, d)
    y = b.forward(x)
    assert y.shape == x.shape and y.dtype == np.float64 and np.isfinite(y).all()
    np.testing.assert_allclose(b.inverse(y), x, rtol=1e-6, atol=1e-8)
    x32 = x.astype(np.float32)
    y32 = b.forward(x32)
    assert y32.dtype == np.float32, "float32 in, float32 out (the fast path the sampler uses)"
    # against the float64 map of the same points: a swirl turns heavy-tailed points by many
    # radians, so the input's own float32 rounding may move them more than the tolerance
    np.testing.assert_allclose(y32, b.forward(x32.astype(np.float64)), rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("name", ["warp_asinh", "warp_power", "warp_wiggly", "warp_steps"])
def test_warps_are_strictly_increasing_per_coordinate(name):
    b = _draw(name, 3, 0)
    grid = np.repeat(np.linspace(-50, 50, 200_001)[:, None], 3, axis=1)
    assert (np.diff(b.forward(grid), axis=0) > 0).all()


def test_spiral_preserves_the_norm_and_actually_turns():
    b = _draw("spiral", 4, 0)
    x = np.random.default_rng(0).standard_normal((500, 4))
    y = b.forward(x)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), np.linalg.norm(x, axis=1), rtol=1e-12)
    assert np.abs(y - x).mean() > 0.1


def test_linear_is_well_conditioned():
    for seed in range(10):
        b = _draw("linear", 8, seed)
        assert np.linalg.cond(b.m) <= 10 * (1 + 1e-9)


def test_flow_is_nonlinear_deterministic_and_leaves_torch_rng_alone():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    before = torch.get_rng_state().clone()
    a, b = _draw("flow", 5, 3), _draw("flow", 5, 3)
    assert torch.equal(before, torch.get_rng_state())
    x = np.random.default_rng(0).standard_normal((400, 5))
    np.testing.assert_array_equal(a.forward(x), b.forward(x))
    y = a.forward(x)  # not affine: the residual of the best affine fit is large
    design = np.hstack([x, np.ones((400, 1))])
    resid = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    assert resid.std() > 0.05 * y.std()


def _stored_mc(sampler, seed, n, dx, dy):
    draw = sampler.draw(np.random.default_rng(seed), n=n, dx=dx, dy=dy)
    s = draw.sample_set
    lr = draw.log_ratio(s.x, s.y)
    return s, lr.mean(), lr.std() / math.sqrt(n)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@pytest.mark.parametrize("family", ["gaussian_dense", "student_t", "uniform_noise", "gamma_exponential"])
def test_label_exact_for_stored_float32_data(name, family):
    sampler = DatasetSampler({"families": [family], "transforms": [name], "min_chain": 2, "max_chain": 2,
                              "mi_prior": [{"low": 0.5, "high": 20.0}]})
    s, mean, se = _stored_mc(sampler, len(name) + len(family), 8000, 3, 2)
    assert s.x.dtype == np.float32 and name in s.transform
    assert abs(mean - s.mi) <= 5 * se + 2e-3, (s.transform, s.mi, mean, se)


def test_label_exact_for_random_chains_at_high_mi():
    sampler = DatasetSampler({"families": ["gaussian_sparse", "uniform_noise", "gaussian_lowrank"],
                              "transforms": FAST, "min_chain": 1, "max_chain": 3,
                              "mi_prior": [{"low": 20.0, "high": 40.0}]})
    for seed in range(6):
        s, mean, se = _stored_mc(sampler, seed, 6000, 6, 5)
        assert abs(mean - s.mi) <= 5 * se + 5e-3, (s.family, s.transform, s.mi, mean, se)


def ksg(x, y, k=5):
    """Kraskov-Stoegbauer-Grassberger estimator (algorithm 1, max-norm), nats."""
    n = len(x)
    eps = cKDTree(np.hstack([x, y])).query(np.hstack([x, y]), k + 1, p=np.inf)[0][:, -1]
    nx = cKDTree(x).query_ball_point(x, eps * (1 - 1e-10), p=np.inf, return_length=True)
    ny = cKDTree(y).query_ball_point(y, eps * (1 - 1e-10), p=np.inf, return_length=True)
    return special.digamma(k) + special.digamma(n) - np.mean(special.digamma(nx) + special.digamma(ny))


@pytest.mark.parametrize("name", ["warp_power", "warp_steps", "spiral", "flow"])
def test_ksg_sees_the_same_mi_after_the_transform(name):
    if name == "flow":
        pytest.importorskip("torch")
    sampler = DatasetSampler({"families": ["gaussian_sparse"], "transforms": [name], "min_chain": 1,
                              "max_chain": 1, "mi_prior": [{"low": 0.99, "high": 1.0}]})
    draw = sampler.draw(np.random.default_rng(1), n=4000, dx=2, dy=2)
    s = draw.sample_set
    plain = ksg(draw.x_chain.inverse(s.x.astype(float)), draw.y_chain.inverse(s.y.astype(float)))
    assert plain == pytest.approx(s.mi, abs=0.1)
    assert ksg(s.x.astype(float), s.y.astype(float)) == pytest.approx(s.mi, abs=0.15)


def test_swirl_turns_by_the_whole_norm_and_keeps_it():
    """BMI's spiral shape: the angle in the plane follows |x|^2 over every coordinate."""
    b = _draw("swirl", 6, 1)
    x = np.random.default_rng(0).standard_normal((500, 6))
    y = b.forward(x)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), np.linalg.norm(x, axis=1), rtol=1e-12)
    off_plane = x - (x @ b.u) @ b.u.T
    np.testing.assert_allclose(y - (y @ b.u) @ b.u.T, off_plane, atol=1e-12)  # only the plane turns
    p, q = x @ b.u, y @ b.u
    turn = np.arctan2(p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0], (p * q).sum(1))
    r2 = (x * x).sum(1)
    small = (r2 < 4) & (r2 * abs(b.v) < 3)  # angles below pi (b.v: radians per unit |x|^2), so arctan2 returns them unwrapped
    ratio = turn[small] / (b.v * r2[small])
    assert ratio.min() > 0.95 and ratio.max() <= 1 + 1e-9  # v |x|^2, softened far below 16 d
    moved = x + 0.5 * off_plane  # the same plane coordinates, louder coordinates elsewhere: a different turn
    np.testing.assert_allclose(moved @ b.u, p, atol=1e-12)
    assert np.abs(b.forward(moved) @ b.u - p).mean() != pytest.approx(np.abs(q - p).mean(), rel=0.05)


def test_swirl_rejects_bad_options():
    with pytest.raises(ValueError, match="speed"):
        TRANSFORMS["swirl"].check_options({"speed": [1.0, 0.1]}, "transform_options.swirl")
    with pytest.raises(ValueError, match="axis_prob"):
        TRANSFORMS["swirl"].check_options({"axis_prob": 2}, "transform_options.swirl")
