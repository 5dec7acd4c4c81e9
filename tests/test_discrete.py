"""I(T;Y) for a continuous T and class labels: `mist.estimate(t, labels, y_discrete=True)`.

The specification: the ground truth of `data_gen.labels` is right; the estimate is within a
measured tolerance of it; labels are categories (strings = integers, relabelling changes
nothing, whole-number floats are integers); monotone maps of T's columns change nothing; bad
input fails with one line that names the fix.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

import mist
from data_gen.labels import gaussian_classes, random_instance, student_t_classes, warped
from mist.discrete import MAX_CLASSES, as_labels, estimate_discrete

# |estimate - truth| on one set, measured on the Gaussian families (scripts/benchmark_labels.py):
# MAE about 0.07 at n = 300-1000 (worst at d = 16-32 with high MI), 0.03 at low d.
TOL_LOW_D = 0.08
TOL_HIGH_D = 0.25


def _sample(inst, n, seed):
    return inst.sample(n, np.random.default_rng(seed))


# ------------------------------------------------------------------ ground truth
def test_truth_matches_quadrature_for_two_gaussians_in_1d():
    inst = gaussian_classes(np.random.default_rng(0), 1, 2, 1.0, unequal=True)
    mu, p = inst.means[:, 0, 0], inst.priors

    def integrand(t):
        f = p * np.exp(-0.5 * (t - mu) ** 2) / math.sqrt(2 * math.pi)
        post = f / f.sum()
        return f.sum() * float(-(post * np.log(np.maximum(post, 1e-300))).sum())

    h_cond, _ = integrate.quad(integrand, -30, 30, limit=200)
    exact = inst.entropy_y - h_cond
    mi, se = inst.mutual_information(mc=40_000, seed=1)
    assert se < 0.003
    assert abs(mi - exact) < 4 * se + 1e-4


def test_truth_limits_zero_and_entropy():
    rng = np.random.default_rng(1)
    same = gaussian_classes(rng, 3, 4, 0.0)
    assert same.mutual_information(mc=5_000)[0] == pytest.approx(0.0, abs=1e-12)
    apart = gaussian_classes(rng, 3, 4, 200.0, unequal=True)
    mi, _ = apart.mutual_information(mc=5_000)
    assert mi == pytest.approx(apart.entropy_y, abs=1e-6)


def test_truth_standard_error_is_honest():
    inst = student_t_classes(np.random.default_rng(2), 4, 5, 0.8, df=3.0)
    runs = [inst.mutual_information(mc=4_000, seed=s) for s in range(12)]
    spread = np.std([m for m, _ in runs], ddof=1)
    se = np.mean([s for _, s in runs])
    assert 0.5 * se < spread < 2.0 * se


def test_warped_instances_keep_the_truth():
    inst = random_instance(np.random.default_rng(3), "gaussian", 3, 3)
    w = warped(inst, np.random.default_rng(4))
    assert w.mutual_information(mc=5_000, seed=0) == inst.mutual_information(mc=5_000, seed=0)
    t, _ = _sample(w, 500, 0)
    assert np.isfinite(t).all()


# ------------------------------------------------------------------ accuracy
@pytest.mark.parametrize(
    "d, k, sep, unequal, tol",
    [
        (1, 2, 1.0, False, TOL_LOW_D),
        (2, 4, 0.7, True, TOL_LOW_D),
        (4, 10, 8.0, False, TOL_LOW_D),  # well separated: MI close to log 10
        (16, 5, 0.4, True, TOL_HIGH_D),
        (32, 3, 0.0, False, TOL_LOW_D),  # independence
    ],
)
def test_estimate_is_close_to_the_exact_mi(d, k, sep, unequal, tol):
    inst = gaussian_classes(np.random.default_rng(10 + d), d, k, sep, unequal=unequal)
    truth, _ = inst.mutual_information(mc=20_000)
    t, y = _sample(inst, 1500, d)
    r = estimate_discrete(t, y)
    assert abs(r.mi - truth) < tol
    assert r.lower <= r.mi <= r.upper
    assert 0.0 <= r.lower and r.upper <= r.diagnostics["entropy_y"] + k / 1500


def test_close_to_log_k_when_classes_separate():
    inst = gaussian_classes(np.random.default_rng(5), 8, 20, 30.0)
    t, y = _sample(inst, 2000, 1)
    r = estimate_discrete(t, y)
    assert r.mi == pytest.approx(r.diagnostics["entropy_y"], abs=0.05)
    assert abs(r.mi - math.log(20)) < 0.1


def test_held_out_family_student_t():
    inst = student_t_classes(np.random.default_rng(6), 3, 4, 1.5, df=2.0, unequal=True)
    truth, _ = inst.mutual_information(mc=20_000)
    t, y = _sample(inst, 2000, 2)
    r = estimate_discrete(t, y)
    assert abs(r.mi - truth) < TOL_LOW_D


# ------------------------------------------------------------------ labels are categories
@pytest.fixture(scope="module")
def sample():
    inst = gaussian_classes(np.random.default_rng(7), 3, 4, 1.0, unequal=True)
    return _sample(inst, 600, 3)


def test_string_labels_equal_integer_labels(sample):
    t, y = sample
    names = np.array(["cat", "dog", "emu", "ant"])[y]
    a, b = estimate_discrete(t, y), estimate_discrete(t, names)
    assert a.mi == pytest.approx(b.mi, abs=1e-9)
    assert a.lower == pytest.approx(b.lower, abs=1e-9) and a.upper == pytest.approx(b.upper, abs=1e-9)
    assert estimate_discrete(t, list(names)).mi == pytest.approx(a.mi, abs=1e-9)


def test_relabelling_classes_changes_nothing(sample):
    t, y = sample
    perm = np.array([3, 0, 2, 1])
    assert estimate_discrete(t, perm[y] * 7 - 5).mi == pytest.approx(estimate_discrete(t, y).mi, abs=1e-9)


def test_whole_number_floats_are_integer_labels(sample):
    t, y = sample
    assert estimate_discrete(t, y.astype(float)).mi == pytest.approx(estimate_discrete(t, y).mi, abs=1e-12)


def test_monotone_maps_of_t_columns_change_nothing(sample):
    t, y = sample
    u = np.column_stack([np.exp(t[:, 0]), -(t[:, 1] ** 3), 5.0 * t[:, 2] + 2.0])
    assert estimate_discrete(u, y).mi == pytest.approx(estimate_discrete(t, y).mi, abs=1e-6)


def test_bits_and_result_fields(sample):
    t, y = sample
    r, b = estimate_discrete(t, y), estimate_discrete(t, y, units="bits")
    assert b.mi == pytest.approx(r.mi / math.log(2))
    assert (r.n, r.dx, r.dy, r.units) == (600, 3, 1, "nats")
    assert r.interval_level == pytest.approx(0.9)
    assert r.diagnostics["method"].startswith("max(LDA, QDA, Ross kNN)")
    assert set(r.diagnostics["components"]) == {"lda", "qda", "knn"}
    assert r.diagnostics["classes"] == 4 and r.diagnostics["lower_bound"] is False


def test_public_api_and_estimator_method(sample):
    t, y = sample
    r = mist.estimate(t, y, y_discrete=True)
    assert isinstance(r, mist.EstimateResult)
    assert r.mi == pytest.approx(estimate_discrete(t, y).mi)


def test_more_than_32_dims_is_reduced_and_says_lower_bound():
    inst = gaussian_classes(np.random.default_rng(8), 40, 3, 0.5)
    t, y = _sample(inst, 400, 4)
    with pytest.warns(mist.MISTWarning, match="lower bound"):
        r = mist.estimate(t, y, y_discrete=True)
    assert r.diagnostics["reduced_from"] == 40 and r.diagnostics["lower_bound"] is True


def test_cli_y_discrete(tmp_path, sample, capsys):
    from mist.cli import main

    t, y = sample
    path = tmp_path / "d.csv"
    np.savetxt(path, np.column_stack([t, y]), delimiter=",", header="a,b,c,label", comments="")
    assert main(["estimate", str(path), "--x", "a,b,c", "--y", "label", "--y-discrete", "--json"]) == 0
    assert '"mi"' in capsys.readouterr().out


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "labels, match",
    [
        (np.zeros(50, int), "single class"),
        (np.arange(49) % 3, "x has 50 samples but the labels have 49"),
        (np.arange(50) % 3 + 0.5, "fractional values.*drop y_discrete"),
        (np.where(np.arange(50) == 7, np.nan, np.arange(50) % 3), "NaN.*row 7"),
        (np.array(["a"] * 49 + ["b"]), "fewer than 2 samples.*'b'"),
        (np.array([None] + ["a", "b"] * 24 + ["a"], dtype=object), "missing value.*row 0"),
        (np.zeros((50, 2)), "shape \\(50, 2\\)"),
    ],
)
def test_bad_labels_give_one_line_errors(labels, match):
    t = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(ValueError, match=match) as e:
        estimate_discrete(t, labels)
    assert "\n" not in str(e.value)


def test_too_many_classes():
    y = np.repeat(np.arange(MAX_CLASSES + 1), 2)
    with pytest.raises(ValueError, match=f"at most {MAX_CLASSES}.*merge rare classes"):
        as_labels(y)


def test_bad_t_and_units():
    y = np.arange(40) % 2
    t = np.random.default_rng(0).normal(size=(40, 2))
    t[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        estimate_discrete(t, y)
    with pytest.raises(ValueError, match="units"):
        estimate_discrete(np.ones((40, 1)), y, units="bans")
    with pytest.raises(ValueError, match="at least 10"):
        estimate_discrete(np.arange(8.0), np.arange(8) % 2)
