"""Ground truth for conditional mutual information I(X; Y | Z) and the classical CMI baselines.

The specification of `data_gen.conditional` (exact labels), `mist.baselines.conditional`
(Frenzel-Pompe KSG, Gaussian and Gaussian-copula CMI) and `mist.benchmark.conditional`.
"""

import math

import numpy as np
import pytest
from scipy.stats import multivariate_t

from data_gen.conditional import (CONDITIONAL_KINDS, ZERO_CMI_KINDS, draw_conditional, gaussian_cmi,
                                  student_t_cmi_term)
from mist.numerics.student_t import t_correction
from mist.baselines import KSG
from mist.baselines.conditional import (CONDITIONAL_ESTIMATORS, ConditionalKSG, GaussianCMI, _cmi_counts,
                                        _cmi_counts_brute)
from mist.benchmark.conditional import conditional_cases, conditional_rows


def draw(kind, seed, n, dx, dy, dz, cmi=None):
    return draw_conditional(kind, np.random.default_rng(seed), n, dx, dy, dz, cmi=cmi)


def partial_canonical_cmi(cov, dx, dy):
    """-1/2 sum log(1 - rho^2) over the canonical correlations of the conditional covariance of
    (X, Y) given Z (a Schur complement): an independent route to the Gaussian CMI."""
    k = dx + dy
    c = cov[:k, :k] - cov[:k, k:] @ np.linalg.solve(cov[k:, k:], cov[k:, :k])
    wx = np.linalg.inv(np.linalg.cholesky(c[:dx, :dx]))
    wy = np.linalg.inv(np.linalg.cholesky(c[dx:, dx:]))
    rho = np.linalg.svd(wx @ c[:dx, dx:] @ wy.T, compute_uv=False)
    return float(-0.5 * np.sum(np.log1p(-(rho**2))))


# ------------------------------------------------------------------ the data


@pytest.mark.parametrize("kind", CONDITIONAL_KINDS)
def test_every_kind_respects_the_shapes_and_labels(kind):
    for i, (dx, dy, dz) in enumerate([(1, 1, 1), (3, 1, 8), (8, 8, 2), (2, 5, 4)]):
        s = draw(kind, i, 10, dx, dy, dz, cmi=0.7)
        assert (s.x.shape, s.y.shape, s.z.shape) == ((10, dx), (10, dy), (10, dz))
        assert s.x.dtype == s.y.dtype == s.z.dtype == np.float64 and s.kind == kind
        assert all(np.isfinite(a).all() for a in (s.x, s.y, s.z))
        assert s.cmi == 0.0 if kind in ZERO_CMI_KINDS else s.cmi == pytest.approx(0.7, abs=1e-9)
    assert draw(kind, 5, 10, 2, 2, 2).cmi == draw(kind, 5, 4000, 2, 2, 2).cmi  # the label does not depend on n


def test_gaussian_label_is_the_closed_form_of_the_drawn_covariance():
    for i, ((dx, dy, dz), target) in enumerate([((1, 1, 1), 0.1), ((3, 2, 4), 1.3), ((8, 8, 8), 2.0), ((1, 8, 2), 0.0)]):
        s = draw("gaussian", i, 100_000 if i == 1 else 10, dx, dy, dz, cmi=target)
        cov = s.params["cov"]
        assert s.cmi == gaussian_cmi(cov, dx, dy, dz)
        assert s.cmi == pytest.approx(target, abs=1e-9)
        assert partial_canonical_cmi(cov, dx, dy) == pytest.approx(target, abs=1e-9)
        if i == 1:  # the samples follow that covariance
            emp = np.cov(np.hstack([s.x, s.y, s.z]), rowvar=False)
            assert np.abs(emp - cov).max() < 0.03 * np.abs(cov).max()


def test_gaussian_cmi_estimator_is_exact_on_gaussian_data():
    s = draw("gaussian", 1, 100_000, 2, 3, 4, cmi=0.8)
    est = GaussianCMI().estimate(s.x, s.y, s.z)
    assert est == pytest.approx(s.cmi, abs=0.01)  # measured: 0.8045 vs 0.8
    sample_cov = np.cov(np.hstack([s.x, s.y, s.z]), rowvar=False, bias=True)
    assert GaussianCMI(ridge=0).estimate(s.x, s.y, s.z) == pytest.approx(gaussian_cmi(sample_cov, 2, 3, 4), abs=1e-9)


def test_warps_leave_the_gaussian_copula_cmi_unchanged():
    s = draw("warped", 2, 200_000, 2, 2, 3, cmi=1.0)
    assert len(s.params["warps"]) == 7  # one strictly monotone map per column
    assert GaussianCMI(copula=True).estimate(s.x, s.y, s.z) == pytest.approx(s.cmi, abs=0.01)  # measured: 1.0032
    assert abs(GaussianCMI().estimate(s.x, s.y, s.z) - s.cmi) > 0.1  # while the plain Gaussian CMI is misled (0.41)


def test_student_t_label_is_the_chain_rule_with_the_t_term():
    for nu in (2.0, 7.5, 150.0, 5000.0):
        for dx, dy, dz in [(1, 1, 1), (2, 3, 4), (8, 8, 8)]:
            chain = (t_correction(nu, dx, dy + dz) - t_correction(nu, dx, dz))  # I(X; YZ) - I(X; Z), t parts
            assert student_t_cmi_term(nu, dx, dy, dz) == chain > 0
            # given Z, (X, Y) is a t with nu + dz degrees of freedom; and CMI is symmetric in X and Y
            assert chain == pytest.approx(t_correction(nu + dz, dx, dy), rel=1e-6)
            assert chain == pytest.approx(student_t_cmi_term(nu, dy, dx, dz), rel=1e-6)
    s = draw("student_t", 0, 10, 2, 1, 2, cmi=0.6)
    p = s.params
    assert s.cmi == pytest.approx(0.6, abs=1e-9)
    assert s.cmi == p["gaussian_part"] + p["t_part"] and p["gaussian_part"] == gaussian_cmi(p["shape"], 2, 1, 2)
    with pytest.raises(ValueError, match="cmi > 0"):
        draw("student_t", 0, 10, 1, 1, 1, cmi=0.0)


def _log_density_ratio_mean(s, dx, dy, dz):
    """Mean of log p(x, y, z) p(z) / (p(x, z) p(y, z)) under the exact t densities, and its error."""
    shape, nu = s.params["shape"], s.params["dof"]
    v = np.hstack([s.x, s.y, s.z])
    ix, iy, iz = list(range(dx)), list(range(dx, dx + dy)), list(range(dx + dy, dx + dy + dz))

    def logpdf(idx):
        return multivariate_t(np.zeros(len(idx)), shape[np.ix_(idx, idx)], df=nu).logpdf(v[:, idx])

    r = logpdf(ix + iy + iz) + logpdf(iz) - logpdf(ix + iz) - logpdf(iy + iz)
    return r.mean(), r.std() / math.sqrt(r.size)


def test_student_t_cmi_is_positive_at_zero_partial_correlation():
    s = draw("student_t", 3, 200_000, 1, 1, 1, cmi=0.03)
    assert s.params["tails_only"]  # the partial correlation given Z is 0: only the shared scale links X and Y
    assert s.params["gaussian_part"] == 0 and s.cmi == pytest.approx(0.03, abs=1e-9)
    shape = s.params["shape"]
    assert partial_canonical_cmi(shape, 1, 1) == pytest.approx(0.0, abs=1e-12)
    mean, se = _log_density_ratio_mean(s, 1, 1, 1)  # measured: 0.0294 +- 0.0006
    assert abs(mean - s.cmi) < max(4 * se, 0.002)
    # rank-linear partialling sees nothing here; nearest neighbours see the tails (0.018 at n = 20,000)
    assert GaussianCMI(copula=True).estimate(s.x, s.y, s.z) < 0.002
    assert ConditionalKSG().estimate(s.x[:20_000], s.y[:20_000], s.z[:20_000]) > 0.01


def test_student_t_label_matches_the_density_with_correlation():
    s = draw("student_t", 2, 200_000, 2, 1, 2, cmi=0.6)
    assert not s.params["tails_only"] and s.params["t_part"] > 0.02
    mean, se = _log_density_ratio_mean(s, 2, 1, 2)  # measured: 0.5979 +- 0.0021
    assert abs(mean - s.cmi) < 4 * se


def test_additive_nonlinear_label_by_nearest_neighbours():
    s = draw("additive_nonlinear", 0, 20_000, 1, 1, 1, cmi=0.5)
    assert s.cmi == pytest.approx(0.5, abs=1e-9)
    assert ConditionalKSG().estimate(s.x, s.y, s.z) == pytest.approx(0.5, abs=0.04)  # measured: 0.487
    assert GaussianCMI(copula=True).estimate(s.x, s.y, s.z) < 0.1  # non-elliptical: the copula reads 0.034


@pytest.mark.parametrize("kind", ZERO_CMI_KINDS)
def test_zero_cmi_kinds_read_zero_by_conditional_ksg(kind):
    s = draw(kind, 0, 5000, 1, 1, 1, cmi=1.0)  # the target is ignored
    assert s.cmi == 0.0
    assert KSG(k=5).estimate(s.x, s.y) > 0.03  # X and Y are dependent (0.04 to 1.25 nats) ...
    assert abs(ConditionalKSG().estimate(s.x, s.y, s.z)) < 0.03  # ... but not given Z (|CMI| <= 0.016 measured)


def test_gaussian_copula_reads_nonlinear_chains_above_zero():
    """Nonlinear dependence on Z is not removed by rank-linear partialling: measured 0.077 nats on
    this chain and 0.248 on this common cause (both exactly 0), where ConditionalKSG reads ~0."""
    for kind, seed, dims, floor in [("chain_nonlinear", 6, (2, 2, 2), 0.05), ("common_cause_nonlinear", 5, (1, 1, 1), 0.15)]:
        s = draw(kind, seed, 5000, *dims)
        assert GaussianCMI(copula=True).estimate(s.x, s.y, s.z) > floor
        assert abs(ConditionalKSG().estimate(s.x, s.y, s.z)) < 0.03


@pytest.mark.parametrize("cmi", [0.1, 0.5, 1.0])
def test_conditional_ksg_on_a_small_gaussian(cmi):
    s = draw("gaussian", int(10 * cmi), 5000, 1, 1, 1, cmi=cmi)
    assert ConditionalKSG().estimate(s.x, s.y, s.z) == pytest.approx(s.cmi, abs=0.05)  # measured errors -0.008, +0.012, +0.021


def test_draw_conditional_rejects_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="unknown kind"):
        draw_conditional("fork", rng, 100, 1, 1, 1)
    with pytest.raises(ValueError, match="at least 10"):
        draw_conditional("gaussian", rng, 5, 1, 1, 1)
    with pytest.raises(ValueError, match="at least 1"):
        draw_conditional("gaussian", rng, 100, 1, 0, 1)
    for bad in (-0.1, math.nan, 50.0):
        with pytest.raises(ValueError, match="cmi must be"):
            draw_conditional("gaussian", rng, 100, 2, 1, 1, cmi=bad)


# ------------------------------------------------------------------ the baselines


def test_conditional_ksg_counts_match_the_definition():
    rng = np.random.default_rng(1)
    for dims in [(1, 1, 1), (2, 1, 3), (3, 3, 2)]:
        x, y, z = (rng.standard_normal((300, d)) for d in dims)
        fast, brute = _cmi_counts(x, y, z, 5)[:4], _cmi_counts_brute(x, y, z, 5)
        assert all(np.array_equal(a, b) for a, b in zip(fast, brute))


def test_baselines_check_their_inputs():
    x = np.zeros((50, 2))
    for est in (ConditionalKSG(), GaussianCMI()):
        with pytest.raises(ValueError, match="paired row by row"):
            est.estimate(np.ones((50, 1)), np.ones((50, 1)), np.ones((49, 1)))
        z = np.ones((50, 1))
        z[3] = np.nan
        with pytest.raises(ValueError, match="z contains 1 NaN.*in x, y and z"):
            est.estimate(x, x, z)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((50, 2))
    with pytest.raises(ValueError, match="linear function of z"):
        GaussianCMI().estimate(z[:, :1] - 2 * z[:, 1:], rng.standard_normal(50), z)
    with pytest.raises(ValueError, match="at least dx \\+ dy \\+ dz \\+ 2"):
        GaussianCMI().estimate(rng.standard_normal((6, 2)), rng.standard_normal((6, 2)), rng.standard_normal((6, 2)))
    with pytest.raises(ValueError, match="k must be"):
        ConditionalKSG(k=0)
    assert set(CONDITIONAL_ESTIMATORS) == {"ksg", "gaussian", "gaussian_copula"}
    assert CONDITIONAL_ESTIMATORS["gaussian_copula"]() == GaussianCMI(copula=True)


# ------------------------------------------------------------------ the suite


def test_conditional_cases_cover_the_kinds_and_rerun_identically():
    cases = conditional_cases()
    assert len(cases) >= 120 and len({c.case_id for c in cases}) == len(cases)
    assert {c.family for c in cases} == set(CONDITIONAL_KINDS)
    assert {c.dz for c in cases} == {1, 2, 4, 8} and max(max(c.dx, c.dy) for c in cases) <= 4
    assert all(c.cmi >= 0 for c in cases)
    zero = [c for c in cases if c.cmi == 0]
    assert 0.25 <= len(zero) / len(cases) <= 0.4
    assert {c.family for c in zero} == set(ZERO_CMI_KINDS)
    positive = [c.cmi for c in cases if c.cmi > 0]
    assert min(positive) == pytest.approx(0.1) and max(positive) == pytest.approx(2.0)
    again = conditional_cases()
    assert [(c.case_id, c.cmi) for c in again] == [(c.case_id, c.cmi) for c in cases]
    small = [c for c in cases if c.n == 500][::6]
    for a, b in zip(small, [c for c in again if c.n == 500][::6]):
        assert all(np.array_equal(u, v) for u, v in zip(a.load(), b.load()))
        x, y, z = a.load()
        assert (x.shape, y.shape, z.shape) == ((500, a.dx), (500, a.dy), (500, a.dz))


def test_conditional_rows_score_every_estimator():
    cases = conditional_cases(ns=(500,))[::12]
    rows = conditional_rows(cases, {name: make().estimate for name, make in CONDITIONAL_ESTIMATORS.items()})
    assert len(rows) == 3 * len(cases)
    for r in rows:
        assert r["failure"] is None and r["error"] == pytest.approx(r["cmi"] - r["true_cmi"]) and r["seconds"] >= 0
