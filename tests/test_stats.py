"""The classical statistics: copula scores, the elliptical core against closed forms, the
Wishart and rank-noise bias corrections, and the invariances of the features."""

import math

import numpy as np
import pytest
from scipy.special import ndtr, stdtrit

from data_gen import DatasetSampler
from data_gen.families.gaussian import mixing_matrix
from mist.baselines.gaussian import Gaussian
from mist.stats import (
    FEATURE_NAMES,
    NUM_FEATURES,
    fit_elliptical,
    normal_scores,
    subset_rows,
    summarize,
)
from mist.numerics.linalg import correlation
from mist.stats.elliptical import (
    RANK_SIM_MAX_SHRINK,
    rank_noise_correction,
    simulated_rank_spread,
    t_correction,
    t_scores,
    wishart_bias,
)


def _gaussian(rng, n, rho, dx=None, dy=None):
    """Paired coordinates with correlations rho (exact MI -0.5 sum log(1 - rho^2)), padded with noise."""
    rho = np.asarray(rho, float)
    k = len(rho)
    dx, dy = dx or k, dy or k
    x = rng.normal(size=(n, dx))
    y = rng.normal(size=(n, dy))
    y[:, :k] = rho * x[:, :k] + np.sqrt(1 - rho**2) * y[:, :k]
    return x, y, float(-0.5 * np.log1p(-(rho**2)).sum())


def test_normal_scores_average_ties_and_mirror_under_reversal():
    z = np.array([[3.0], [1.0], [1.0], [2.0]])
    s = normal_scores(z)
    assert s[1, 0] == s[2, 0]  # tied values share one score
    np.testing.assert_array_equal(normal_scores(-z), -s)
    np.testing.assert_array_equal(normal_scores(np.exp(z)), s)


def test_subset_rows_depend_on_the_data_not_on_their_order():
    z = normal_scores(np.random.default_rng(0).normal(size=(1000, 3)))
    a = subset_rows(z, 100)
    assert len(a) == 100 and np.all(np.diff(a) > 0)
    perm = np.random.default_rng(1).permutation(1000)
    chosen = {tuple(r) for r in z[a]}
    assert {tuple(r) for r in z[perm][subset_rows(z[perm], 100)]} == chosen  # the same rows, wherever they sit
    assert {tuple(r) for r in (-z[:, ::-1])[subset_rows(-z[:, ::-1], 100)]} == {tuple(-np.array(r)[::-1]) for r in chosen}
    np.testing.assert_array_equal(subset_rows(z[:50], 100), np.arange(50))


@pytest.mark.parametrize("nu", [1.0, 2.5, 30.0])
def test_t_scores_match_the_t_quantile_function(nu):
    z = np.linspace(-5.5, 5.5, 1001)
    exact = -np.sign(z) * stdtrit(nu, ndtr(-np.abs(z)))  # the accurate tail on both sides
    np.testing.assert_allclose(t_scores(z, nu), exact, rtol=3e-4, atol=1e-9)


def test_wishart_bias_is_the_mean_gaussian_mi_at_independence():
    rng = np.random.default_rng(0)
    n, dx, dy = 60, 3, 2
    raw = []
    for _ in range(400):
        z = normal_scores(rng.normal(size=(n, dx + dy)))
        raw.append(fit_elliptical(z, dx).raw_gaussian_mi)
    expected = wishart_bias(n - 1, dx, dy)
    assert expected == pytest.approx(dx * dy / (2 * n), rel=0.25)  # the familiar first-order value
    assert np.mean(raw) == pytest.approx(expected, rel=0.1)
    assert math.isnan(wishart_bias(5, 3, 2))  # undefined unless dof > dx + dy


@pytest.mark.parametrize("n,mi", [(256, 3.0), (1000, 4.0), (4000, 5.0)])
def test_rank_noise_correction_removes_the_low_reading_of_a_strong_pair(n, mi):
    """One pair near rho = 1, twelve draws: normal-score correlations read it low (ranks of two
    nearly equal variates swap); the corrected core is unbiased within its sampling error."""
    rng = np.random.default_rng(7)
    rho = math.sqrt(-math.expm1(-2.0 * mi))
    raw, core = [], []
    for _ in range(12):
        x, y, _ = _gaussian(rng, n, [rho])
        fit = summarize(x, y).fit
        raw.append(fit.raw_gaussian_mi)
        core.append(fit.mi)
    assert np.mean(raw) < mi - 0.1  # the bias being corrected
    assert np.mean(core) == pytest.approx(mi, abs=0.05)


def test_rank_noise_correction_vanishes_away_from_rho_one_and_below_sixteen_rows():
    rho = np.array([0.0, 0.3, 0.999])
    s = rank_noise_correction(rho, 1000)
    assert s[0] == pytest.approx(1.0) and s[1] == pytest.approx(math.sqrt(1 - 0.09), rel=1e-4)
    assert s[2] < math.sqrt(1 - 0.999**2)  # near one the pair reads stronger once corrected
    np.testing.assert_allclose(rank_noise_correction(rho, 16), np.sqrt(1 - rho**2))  # the model fails at tiny n
    np.testing.assert_allclose(rank_noise_correction(rho, 1000, k=0.0), np.sqrt(1 - rho**2))


def _mixed(rng, n, pair_mi, dx, dy):
    """Canonical pairs carrying pair_mi nats, each side seen through a dense invertible map of
    condition 10 (data_gen's gaussian_dense), so every coordinate mixes every shared variate and
    the coordinates' rank noise cannot cancel."""
    x, y, exact = _gaussian(rng, n, np.sqrt(-np.expm1(-2.0 * np.asarray(pair_mi))), dx, dy)
    return x @ mixing_matrix(rng, dx, 10.0).T, y @ mixing_matrix(rng, dy, 10.0).T, exact


def test_core_removes_the_rank_noise_of_strong_pairs_mixed_across_coordinates():
    """Two pairs of 2.5 nats seen through dense maps, n = 5,000: normal scores read them low and the
    one-pair model removes little of it; the simulated rank noise brings the core within 0.08 of
    the truth on every draw, and its standard error counts the correction."""
    rng = np.random.default_rng(3)
    one_pair, core = [], []
    for _ in range(6):
        x, y, exact = _mixed(rng, 5000, [2.5, 2.5], 2, 2)
        fit = summarize(x, y).fit
        one_pair.append(float(-np.log(rank_noise_correction(fit.rho, 5000)).sum()) - wishart_bias(4999, 2, 2) - exact)
        core.append(fit.mi - exact)
        assert fit.se > math.sqrt(float((fit.rho**2).sum()) / 5000)  # more than the delta method alone
    assert np.mean(one_pair) < -0.08  # the bias being corrected
    assert np.max(np.abs(core)) < 0.08 and abs(np.mean(core)) < 0.03


def test_simulated_rank_spread_leaves_weak_pairs_and_tiny_sets_alone_and_is_bounded():
    rng = np.random.default_rng(5)
    x, y, _ = _mixed(rng, 2000, [0.05, 0.02], 2, 2)  # leading rho^2 below 0.2: nothing to remove
    r = correlation(normal_scores(np.hstack([x, y])))
    rho = np.linalg.svd(np.linalg.solve(np.linalg.cholesky(r[:2, :2]), r[:2, 2:]) @ np.linalg.inv(np.linalg.cholesky(r[2:, 2:])).T,
                        compute_uv=False)
    np.testing.assert_allclose(simulated_rank_spread(r, 2, 2000), np.sqrt(1 - rho**2), rtol=1e-9)
    x, y, _ = _mixed(rng, 16, [3.0], 1, 2)  # 16 rows: rank and sampling noise are inseparable
    r = correlation(normal_scores(np.hstack([x, y])))
    read = simulated_rank_spread(r, 1, 10**9)  # ... and at huge n there is no rank noise left
    np.testing.assert_allclose(simulated_rank_spread(r, 1, 16), read, rtol=1e-6)
    x, y, _ = _mixed(rng, 300, [5.0, 5.0], 2, 2)  # swamped by rank noise: the pairs gain at most the cap
    r = correlation(normal_scores(np.hstack([x, y])))
    spread = simulated_rank_spread(r, 2, 300)
    assert np.all(spread**2 >= (np.sort(simulated_rank_spread(r, 2, 10**9)) ** 2) / RANK_SIM_MAX_SHRINK * (1 - 1e-9))
    np.testing.assert_array_equal(simulated_rank_spread(r, 2, 300), spread)  # a fixed seed: the same answer


@pytest.mark.parametrize("n,rho", [(20000, [0.9, 0.5]), (2000, [0.6]), (500, [0.3, 0.3, 0.3])])
def test_core_matches_the_gaussian_closed_form_under_warps(n, rho):
    rng = np.random.default_rng(1)
    x, y, exact = _gaussian(rng, n, rho)
    fit = summarize(np.exp(x), y**3 + y).fit  # monotone warps change nothing
    assert math.isinf(fit.nu)
    assert fit.mi == pytest.approx(exact, abs=3.0 / math.sqrt(n) + 0.01)


def test_core_keeps_the_heavy_tails_of_a_strong_t_pair_mixed_across_coordinates():
    """One pair of 4.9 nats with nu = 3, both sides mixed by dense maps, n = 20,000: the t scatter's
    fixed-point steps overshot near the singular R (its likelihood fell below the Gaussian
    copula's) and the core read 1.1 nats as a Gaussian copula; a step that lowers the likelihood
    is not taken."""
    from data_gen.families.student_t import StudentT

    family = StudentT()
    rng = np.random.default_rng(2)
    joint = family.draw(rng, 2, 2, 5.0, 5.0, {**family.defaults, "dense_prob": 1.0, "dof": [2.0, 10.0]})
    x, y = joint.sample(rng, 20000)
    fit = summarize(x, y).fit
    assert fit.nu == pytest.approx(joint.params["dof"], rel=0.1)
    assert fit.mi > joint.mi - 1.0


def test_core_reads_high_mi_up_to_what_n_ranks_resolve():
    """8 nats on one pair: the core reads at least the Gaussian copula's reading (no fixed cap)
    and is no further from the truth, and where every rank agrees it stops near log(n) instead
    of going to infinity."""
    rng = np.random.default_rng(3)
    for n in (5000, 20000):
        x, y, exact = _gaussian(rng, n, [math.sqrt(1 - math.exp(-16.0))])
        copula = Gaussian(copula=True).estimate(x, y)
        fit = summarize(x, y).fit
        assert fit.mi > copula - 0.1 and abs(fit.mi - exact) < abs(copula - exact) + 0.1
        assert fit.mi > 0.85 * exact
    x = rng.standard_normal((100, 1))
    fit = summarize(x, x**3).fit  # identical ranks: the data say only "at least about log n"
    assert math.isfinite(fit.mi) and 3.5 < fit.mi <= math.log(100)


def test_core_reads_high_student_t_mi_where_heavy_tails_are_fitted():
    """A t copula at 5.45 nats (rho = 0.99999, nu = 3), n = 500, eight draws: the t scatter,
    fitted on the profile's rows, keeps eigenvalues down to what those rows resolve. A fixed
    floor of 1e-4 capped every draw at 4.48 nats."""
    rng = np.random.default_rng(0)
    rho, nu, n = 0.99999, 3.0, 500
    exact = -0.5 * math.log1p(-rho**2) + t_correction(nu, 1, 1)
    reads = []
    for _ in range(8):
        g = rng.standard_normal((n, 2))
        g[:, 1] = rho * g[:, 0] + math.sqrt(1 - rho**2) * g[:, 1]
        x = g / np.sqrt(rng.chisquare(nu, n) / nu)[:, None]
        fit = summarize(x[:, :1], x[:, 1:]).fit
        assert math.isfinite(fit.nu)
        reads.append(fit.mi)
    assert np.median(reads) == pytest.approx(exact, abs=0.2)
    assert min(reads) > exact - 0.5


def test_core_keeps_the_gaussian_copula_at_independence():
    rng = np.random.default_rng(2)
    fits = [summarize(*_gaussian(rng, 500, [0.0], 3, 4)[:2]).fit for _ in range(40)]
    assert sum(math.isinf(f.nu) for f in fits) >= 38  # a spurious finite nu adds MI at independence
    assert np.mean([f.mi for f in fits]) < 0.02


@pytest.mark.parametrize("seed", range(4))
def test_core_matches_the_student_t_closed_form(seed):
    sampler = DatasetSampler({"families": ["student_t"], "transforms": ["warp_asinh", "warp_power"],
                              "mi_prior": [{"weight": 1.0, "low": 0.1, "high": 2.0}],
                              "family_options": {"student_t": {"dof": [1.0, 8.0]}}})
    s = sampler.sample(np.random.default_rng(seed), n=5000, dx=3, dy=2)
    fit = summarize(s.x, s.y).fit
    assert not math.isinf(fit.nu)
    assert fit.mi == pytest.approx(s.mi, abs=0.06)


@pytest.mark.parametrize("nu, d", [(2.0, 4), (3.0, 6)])
def test_core_reads_the_degrees_of_freedom_of_tail_only_dependence_without_bias(nu, d):
    """Zero correlation, all the MI in the shared tails (BMI's student-identity tasks): nu is the
    maximum of the profile, not the vertex of a parabola through the grid, which read nu 0.16-0.26
    high here and the MI 0.018 nats low."""
    nus, cs = [], []
    for seed in range(6):
        rng = np.random.default_rng([seed, d])
        x = rng.standard_normal((5000, d)) / np.sqrt(rng.chisquare(nu, size=(5000, 1)) / nu)
        fit = fit_elliptical(normal_scores(x), d // 2)
        nus.append(fit.nu)
        cs.append(fit.correction)
    assert abs(np.mean(nus) - nu) < 0.15
    assert abs(np.mean(cs) - t_correction(nu, d // 2, d // 2)) < 0.012


def test_summary_features_are_named_and_finite_at_tiny_n():
    rng = np.random.default_rng(3)
    assert len(FEATURE_NAMES) == NUM_FEATURES
    for n, dx, dy in [(10, 1, 1), (10, 8, 7), (12, 5, 5), (40, 20, 20)]:
        sm = summarize(rng.normal(size=(n, dx)), rng.normal(size=(n, dy)))
        assert sm.features.shape == (NUM_FEATURES,) and np.isfinite(sm.features).all()
        assert np.isfinite(sm.core_mi) and sm.core_mi >= 0


def test_summary_is_invariant_to_what_mi_is_invariant_to():
    rng = np.random.default_rng(4)
    x, y, _ = _gaussian(rng, 2500, [0.7, 0.4], 3, 2)  # above every subset size: the subsets must be invariant
    y = y + 0.3 * np.sign(y) * y**2  # not Gaussian: every feature is exercised
    base = summarize(x, y)
    perm = rng.permutation(2500)
    variants = {
        "samples": (x[perm], y[perm]),
        "coordinates": (x[:, [2, 0, 1]], y[:, ::-1]),
        "swap": (y, x),
        "monotone": (np.exp(x), -(y**3)),
    }
    for name, (a, b) in variants.items():
        other = summarize(a, b)
        np.testing.assert_allclose(other.features, base.features, atol=1e-8, err_msg=name)
        assert other.core_mi == pytest.approx(base.core_mi, abs=1e-9), name


def test_summary_from_known_ranks_equals_the_summary_from_the_data():
    """The estimator hands the input checks' ranks to the statistics: nothing may change."""
    from mist.stats.scores import average_ranks

    rng = np.random.default_rng(5)
    x = np.round(rng.normal(size=(700, 3)), 1)  # ties
    y = x[:, :2] + rng.normal(size=(700, 2))
    plain = summarize(x, y)
    reused = summarize(x, y, ranks=average_ranks(np.hstack([x, y])))
    np.testing.assert_array_equal(plain.scores, reused.scores)
    np.testing.assert_array_equal(plain.features, reused.features)


def _check_features(spec: dict, sets: int = 5) -> np.ndarray:
    """Mean of the fitted-model check features over a few 2 + 2 sets at n = 3000."""
    from data_gen import DatasetSampler

    sampler = DatasetSampler({**spec, "mi_prior": [{"weight": 1, "low": 1.0, "high": 1.5}]})
    rng = np.random.default_rng(0)
    names = ("radial_direction", "pair_spread", "pair_spread_tails", "pair_spread_centre")
    cols = [FEATURE_NAMES.index(n) for n in names]
    feats = []
    for _ in range(sets):
        s = sampler.sample(rng, n=3000, dx=2, dy=2)
        feats.append(summarize(s.x, s.y).features[cols])
    return np.mean(feats, axis=0)


def test_the_fitted_model_check_is_quiet_on_elliptical_copulas_and_not_elsewhere():
    """Where the core's elliptical copula holds (Gaussian or Student-t, warped), the check reads
    near 0; where it does not (additive uniform noise, a spiral), it does not."""
    for spec in ({"families": ["gaussian_dense"], "transforms": ["warp_asinh"], "min_chain": 1, "max_chain": 1},
                 {"families": ["student_t"], "transforms": ["warp_power"], "min_chain": 1, "max_chain": 1,
                  "family_options": {"student_t": {"dof": [3.0, 3.0]}}}):
        radial, spread, tails, centre = _check_features(spec)
        assert radial < 0.3 and abs(spread) < 0.05 and abs(tails) < 0.15 and abs(centre) < 0.05, spec["families"]
    noise = _check_features({"families": ["uniform_noise"], "transforms": [], "max_chain": 0})
    assert noise[2] > 0.5  # bounded noise: the spread does not follow the model in the tails
    spiral = _check_features({"families": ["gaussian_dense"], "transforms": ["spiral"], "min_chain": 1, "max_chain": 1})
    assert spiral[0] > 0.4  # a swirl: the direction depends on the radius


def _sparse_sets(kind: str, seed: int, n: int = 3000, d: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """d + d dims, two pairs at correlation 0.8; Student-t (nu = 3) or with one plane of X
    turned by its squared radius / d (a swirl, BMI's spiral) when asked."""
    rng = np.random.default_rng(seed)
    x, y, _ = _gaussian(rng, n, [0.8, 0.8], d, d)
    if kind == "student_t":
        w = np.sqrt(rng.chisquare(3.0, n) / 3.0)[:, None]
        x, y = x / w, y / w
    if kind == "swirl":
        a = (x**2).sum(axis=1) / d
        x[:, 0], x[:, 1] = np.cos(a) * x[:, 0] - np.sin(a) * x[:, 1], np.sin(a) * x[:, 0] + np.cos(a) * x[:, 1]
    return x, y


def test_direction_coupling_sees_a_swirled_plane_among_many_coordinates():
    """Under any elliptical copula the squared direction coordinates are coupled only by the
    sphere's -1 / (d - 1); one swirled plane among 16 coordinates stands out."""
    col = FEATURE_NAMES.index("direction_coupling")
    read = {kind: [summarize(*_sparse_sets(kind, s)).features[col] for s in range(3)]
            for kind in ("gaussian", "student_t", "swirl")}
    assert max(read["gaussian"] + read["student_t"]) < 0.55
    assert min(read["swirl"]) > 0.65


@pytest.mark.parametrize("n,d", [(300, 6), (1000, 50), (5000, 10)])
def test_centred_mardia_reads_zero_on_gaussian_copulas_and_high_on_heavy_tails(n, d):
    """The plain Mardia z-score of normal scores drifts with n and the dims (-15 at n = 1,000 and
    50 dims on Gaussian data); centred on its Gaussian-copula expectation it is a z-score at
    every size, and shared heavy tails (Student-t, nu = 5) stand far out of it."""
    rng = np.random.default_rng(4)
    col, plain = FEATURE_NAMES.index("mardia_centred"), FEATURE_NAMES.index("mardia")
    gauss, heavy = [], []
    for _ in range(3):
        x, y, _ = _gaussian(rng, n, [0.8] * (d // 2))
        gauss.append(summarize(np.exp(x), y).features)
        w = np.sqrt(5.0 / rng.chisquare(5.0, n))[:, None]
        heavy.append(summarize(x * w, y * w).features[col])
    z = 4.0 * np.sinh(np.array(gauss))
    assert abs(z[:, col].mean()) < 1.5
    if d == 50:
        assert z[:, plain].mean() < -10.0  # the drift the centring removes
    assert min(heavy) > math.asinh(5.0 / 4.0)
