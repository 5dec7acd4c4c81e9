"""Every family's closed-form MI against independent checks.

Monte Carlo: the mean of the information density log p(x,y) - log p(x) - log p(y) over n
samples is an unbiased estimate of the MI with standard error sd / sqrt(n); we accept
|mean - mi| <= 5 standard errors + 1e-3 nats. The densities are cross-checked against
scipy.stats where scipy has them, and the 1-D closed forms against numerical integration.
"""

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from data_gen import FAMILIES
from data_gen.families.base import split_mi
from data_gen.families.gamma_exponential import gamma_exponential_mi
from data_gen.families.gaussian import CanonicalGaussian, LowRankGaussian, mixing_matrix
from data_gen.families.student_t import StudentTJoint
from mist.numerics.student_t import t_correction
from data_gen.families.uniform_noise import uniform_pair_mi, uniform_width

CAP = 8.0


def assert_mc_close(joint, rng, n=20_000):
    x, y = joint.sample(rng, n)
    assert x.shape == (n, joint.dx) and y.shape == (n, joint.dy)
    lr = joint.log_ratio(x, y)
    se = lr.std() / math.sqrt(n)
    assert abs(lr.mean() - joint.mi) <= 5 * se + 1e-3, (joint.mi, lr.mean(), se)


CASES = [(1, 1, 0.3), (1, 1, 6.0), (3, 2, 2.0), (2, 5, 12.0), (6, 6, 30.0), (4, 1, 0.05)]


@pytest.mark.parametrize("name", sorted(FAMILIES))
@pytest.mark.parametrize("dx,dy,mi", CASES)
def test_family_hits_target_and_matches_monte_carlo(name, dx, dy, mi):
    rng = np.random.default_rng([dx, dy, int(mi * 100), len(name)])
    family = FAMILIES[name]
    mi = min(mi, family.max_mi(dx, dy, CAP))
    joint = family.draw(rng, dx, dy, mi, CAP, family.options(None))
    if family.exact:
        assert joint.mi == pytest.approx(mi, rel=1e-6, abs=1e-9), "parameters solved for the target MI"
        assert joint.mi_se == 0.0
    else:  # a Monte Carlo label near the target, with its standard error
        assert 0 < joint.mi_se < 0.03
        assert joint.mi == pytest.approx(mi, abs=0.15 * mi + 10 * joint.mi_se)
    assert (joint.dx, joint.dy) == (dx, dy)
    assert_mc_close(joint, rng)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_option_kind_matches_monte_carlo(name):
    """Each listed kind of a family (centre layouts, shell kinds, waves, maps...) keeps its label."""
    family = FAMILIES[name]
    kinds = {k: v for k, v in family.defaults.items() if isinstance(v, list) and v and isinstance(v[0], str)}
    allowed = {"clusters": {"layout": ["gaussian", "ring"]}, "shells": {"kind": ["shell", "radial-linear"]},
               "periodic": {"wave": ["triangle", "sawtooth"], "sides": ["one-sided", "two-sided"]},
               "contaminated": {"kind": ["marginal", "outliers"]},
               "manifold": {"maps": ["tanh", "fourier", "quadratic", "relu2"]}}.get(name, {})
    assert set(kinds) <= set(allowed)
    for key, values in allowed.items():
        for v in values:
            rng = np.random.default_rng([len(name), len(v)])
            joint = family.draw(rng, 3, 2, min(1.2, family.max_mi(3, 2, CAP)), CAP, family.options({key: [v]}))
            assert_mc_close(joint, rng)


def test_max_mi_is_min_dim_times_cap_for_unbounded_families():
    for family in FAMILIES.values():
        if family.name in ("gaussian_dense", "gaussian_sparse", "gaussian_lowrank", "student_t", "uniform_noise"):
            assert family.max_mi(3, 7, CAP) == 3 * CAP
        else:  # a family whose MI saturates says so
            assert 0 < family.max_mi(3, 7, CAP) <= 3 * CAP


def test_structured_families_hide_from_correlation():
    """Clusters, shells, periodic waves and X shapes carry MI that the correlation does not see."""
    for name in ("clusters", "shells", "periodic", "sign_mixture"):
        family = FAMILIES[name]
        rng = np.random.default_rng(len(name))
        opts = family.options({"periods": [6, 6]} if name == "periodic" else None)
        joint = family.draw(rng, 1, 1, 1.0, CAP, opts)
        x, y = joint.sample(rng, 20_000)
        assert joint.mi > 0.9
        assert abs(np.corrcoef(x[:, 0], y[:, 0])[0, 1]) < 0.35, name


def test_manifold_sides_have_the_latent_dimension():
    """X spans a curved manifold of the latent's dimension: its columns' covariance has few large
    eigenvalues only when the map is nearly linear, but X is always an injective image."""
    fam = FAMILIES["manifold"]
    rng = np.random.default_rng(3)
    joint = fam.draw(rng, 16, 16, 0.5, CAP, fam.options({"latent_dims": [1, 1]}))
    assert joint.params["latent_dims"] == [1, 1]
    x, y = joint.sample(rng, 500)
    s = joint.ex.inverse(x)  # the latent is read back exactly
    np.testing.assert_allclose(joint.ex.forward(s), x, atol=1e-8)


def test_sign_mixture_closed_form_against_a_large_monte_carlo():
    from data_gen.families.sign_mixture import SignMixtureJoint
    rng = np.random.default_rng(5)
    for rho in (0.6, 0.99, 0.999):
        j = SignMixtureJoint(1, 1, [0], [0], [rho])
        lr = j.log_ratio(*j.sample(rng, 200_000))
        assert abs(lr.mean() - j.mi) < 4 * lr.std() / math.sqrt(lr.size) + 1e-3


# ---------------------------------------------------------------- Gaussian
def _full_cov(g: CanonicalGaussian):
    ca = np.eye(g.dx + g.dy)
    for i, j, r in zip(g.ix, g.iy, g.rho):
        ca[i, g.dx + j] = ca[g.dx + j, i] = r
    m = np.zeros((g.dx + g.dy, g.dx + g.dy))
    m[: g.dx, : g.dx] = np.eye(g.dx) if g.mx is None else g.mx
    m[g.dx:, g.dx:] = np.eye(g.dy) if g.my is None else g.my
    return m @ ca @ m.T


def test_gaussian_closed_form_matches_log_determinants_and_scipy_densities():
    rng = np.random.default_rng(0)
    dx, dy = 3, 4
    g = CanonicalGaussian(dx, dy, [0, 2], [3, 1], [0.7, 2.5], mixing_matrix(rng, dx, 10), mixing_matrix(rng, dy, 10))
    cov = _full_cov(g)
    _, ld = np.linalg.slogdet(cov)
    _, ldx = np.linalg.slogdet(cov[:dx, :dx])
    _, ldy = np.linalg.slogdet(cov[dx:, dx:])
    assert 0.5 * (ldx + ldy - ld) == pytest.approx(g.mi, rel=1e-9)
    x, y = g.sample(rng, 200)
    ref = (stats.multivariate_normal(cov=cov).logpdf(np.hstack([x, y]))
           - stats.multivariate_normal(cov=cov[:dx, :dx]).logpdf(x) - stats.multivariate_normal(cov=cov[dx:, dx:]).logpdf(y))
    np.testing.assert_allclose(g.log_ratio(x, y), ref, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(np.cov(np.hstack(g.sample(rng, 100_000)).T), cov, atol=0.03)


def test_low_rank_closed_form_matches_log_determinants():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 2)), rng.normal(size=(3, 2))
    for noise in (0.01, 0.5, 3.0):
        j = LowRankGaussian(a, b, noise)
        w = np.concatenate([a, b])
        cov = w @ w.T + noise**2 * np.eye(8)
        ld = np.linalg.slogdet(cov)[1]
        mi = 0.5 * (np.linalg.slogdet(cov[:5, :5])[1] + np.linalg.slogdet(cov[5:, 5:])[1] - ld)
        assert j.mi == pytest.approx(mi, rel=1e-8)


def test_low_rank_keeps_each_direction_under_the_cap():
    rng = np.random.default_rng(2)
    fam = FAMILIES["gaussian_lowrank"]
    for _ in range(20):
        j = fam.draw(rng, 6, 9, 40.0, CAP, fam.options(None))
        assert j.direction_mi.max() <= CAP * (1 + 1e-9) and j.mi == pytest.approx(40.0, rel=1e-9)


# ---------------------------------------------------------------- Student-t
def test_student_t_densities_match_scipy_and_mi_matches_monte_carlo():
    rng = np.random.default_rng(3)
    dx, dy, dof = 2, 3, 3.0
    g = CanonicalGaussian(dx, dy, [1], [0], [1.2], mixing_matrix(rng, dx, 5), mixing_matrix(rng, dy, 5))
    t = StudentTJoint(g, dof)
    shape = _full_cov(g)
    x, y = t.sample(rng, 40_000)
    joint = stats.multivariate_t(shape=shape, df=dof)
    ref = (joint.logpdf(np.hstack([x, y])) - stats.multivariate_t(shape=shape[:dx, :dx], df=dof).logpdf(x)
           - stats.multivariate_t(shape=shape[dx:, dx:], df=dof).logpdf(y))
    np.testing.assert_allclose(t.log_ratio(x, y), ref, rtol=1e-7, atol=1e-7)
    se = ref.std() / math.sqrt(len(ref))
    assert abs(ref.mean() - (1.2 + t_correction(dof, dx, dy))) <= 5 * se


def test_student_t_uncorrelated_still_carries_the_dof_term():
    rng = np.random.default_rng(4)
    t = StudentTJoint(CanonicalGaussian(4, 4, [0], [0], [0.0]), dof=2.0)
    assert t.mi == pytest.approx(t_correction(2.0, 4, 4)) and t.mi > 0.3
    assert_mc_close(t, rng, n=40_000)


def test_t_correction_is_continuous_and_has_the_right_asymptote():
    for dx, dy in [(1, 1), (5, 32), (32, 32)]:
        direct = lambda nu, dx=dx, dy=dy: float(  # noqa: E731 - the four-term formula, fine at moderate nu
            sum(s * (special.gammaln(h) - h * special.digamma(h))
                for s, h in [(1, nu / 2), (1, (nu + dx + dy) / 2), (-1, (nu + dx) / 2), (-1, (nu + dy) / 2)]))
        for nu in (200.0, 200.0001, 350.0):
            assert t_correction(nu, dx, dy) == pytest.approx(direct(nu), rel=1e-6)
        assert t_correction(1e7, dx, dy) == pytest.approx(dx * dy / (2 * 1e7**2), rel=1e-3)
    values = [t_correction(nu, 3, 4) for nu in np.geomspace(0.5, 1e6, 50)]
    assert all(a > b > 0 for a, b in zip(values, values[1:]))


def test_student_t_solves_dof_for_small_targets():
    rng = np.random.default_rng(5)
    fam = FAMILIES["student_t"]
    for target in (1e-4, 0.01, 0.2):
        j = fam.draw(rng, 32, 32, target, CAP, fam.options(None))
        assert j.mi == pytest.approx(target, rel=1e-6, abs=1e-10) and j.dof >= 1.0


# ---------------------------------------------------------------- uniform noise
@pytest.mark.parametrize("a", [0.01, 0.3, 1.0, 2.5, 40.0])
def test_uniform_closed_form_matches_numerical_entropy(a):
    def p(y):  # density of X + a U on [0, 1 + a]
        return (min(y, 1.0) - max(y - a, 0.0)) / a

    h_y = -integrate.quad(lambda y: p(y) * math.log(p(y)) if p(y) > 0 else 0.0, 0, 1 + a,
                          points=sorted({min(a, 1.0), max(a, 1.0)}), limit=200)[0]
    assert float(uniform_pair_mi(a)) == pytest.approx(h_y - math.log(a), rel=1e-7, abs=1e-10)


def test_uniform_width_inverts_the_closed_form():
    m = np.geomspace(1e-6, 12, 200)
    np.testing.assert_allclose(uniform_pair_mi(uniform_width(m)), m, rtol=1e-10)


# ---------------------------------------------------------------- gamma-exponential
@pytest.mark.parametrize("theta", [0.05, 0.7, 3.0, 50.0])
def test_gamma_exponential_closed_form_matches_numerical_integration(theta):
    # I = h(Y) - h(Y | X), Y ~ Lomax(theta): h(Y) by quadrature; h(Y | X) = E[1 - log X] = 1 - psi(theta)
    def neg_plogp(y):
        logp = math.log(theta) - (theta + 1) * math.log1p(y)
        return -math.exp(logp) * logp

    h_y = integrate.quad(neg_plogp, 0, np.inf, limit=400)[0]
    assert float(gamma_exponential_mi(theta)) == pytest.approx(h_y - (1 - special.digamma(theta)), rel=1e-6)


def test_gamma_exponential_mi_is_monotone_through_the_series_switch():
    th = np.geomspace(1e-3, 1e8, 2000)
    mi = gamma_exponential_mi(th)
    assert np.all(np.diff(mi) < 0) and np.all(mi > 0)


# ---------------------------------------------------------------- helpers
def test_split_mi_respects_total_cap_and_count():
    rng = np.random.default_rng(6)
    for total, k in [(0.0, 3), (7.9, 1), (39.0, 5), (100.0, 32), (1e-3, 32)]:
        for _ in range(20):
            s = split_mi(rng, total, k, CAP)
            assert 1 <= len(s) <= k and s.sum() == pytest.approx(total, abs=1e-9)
            assert s.max() <= CAP + 1e-12 and s.min() >= 0
    with pytest.raises(ValueError):
        split_mi(rng, 9.0, 1, CAP)


def test_student_t_can_carry_the_mi_by_its_tails_alone():
    """Uncorrelated coordinates, dependent only through the shared scale (BMI's student-identity):
    every correlation 0, the label all dof correction, and the label still exact."""
    fam = FAMILIES["student_t"]
    opts = fam.options({"tail_only_prob": 1.0})
    rng = np.random.default_rng(0)
    joint = fam.draw(rng, 2, 2, 0.4, 8.0, opts)
    assert joint.g.mi == 0.0 and joint.mi == pytest.approx(0.4, rel=1e-9)
    assert joint.mi == pytest.approx(t_correction(joint.dof, 2, 2))
    a, b = joint.g.sample_canonical(rng, 20000)  # the Gaussian under the shared scale: X, Y uncorrelated
    assert np.abs(a.T @ b / len(a)).max() < 0.05
    x, y = joint.sample(rng, 20000)
    lr = joint.log_ratio(x, y)
    assert abs(lr.mean() - joint.mi) < 5 * lr.std() / math.sqrt(len(lr))
    heavy = fam.draw(rng, 2, 2, 3.0, 8.0, opts)  # more than the tails can carry at the lowest nu
    assert heavy.g.mi > 0
    with pytest.raises(ValueError, match="tail_only_prob"):
        fam.check_options({"tail_only_prob": 1.5}, "family_options.student_t")
