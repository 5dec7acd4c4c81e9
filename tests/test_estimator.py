"""The inference API on a tiny, randomly initialised release: shapes, warnings, large n, units, errors.

A random tiny model is enough for the API's behaviour: its quantile head starts at zero, so its
median is the classical core's MI of the sample and its quantiles are fixed steps around it.
Accuracy of the shipped model is tested in test_shipped_checkpoint.py.
"""

import json
import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import mist
from mist import CheckpointError, EstimateResult, MIEstimator, MISTWarning
from mist.inference import consistency as consistency_mod
from mist.inference import estimator as estimator_mod
from mist.inference.consistency import judge
from mist.inference.estimator import resolve_device
from mist.result import SubsetEstimate
from mist.model import MISTNetwork, NetworkConfig
from mist.release import save_release

RANGES = {"n": [16, 256], "dx": [1, 4], "dy": [1, 4], "mi": [0.0, 10.0], "max_mi_per_dim": 8.0}
LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)


def tiny_network(seed=0):
    torch.manual_seed(seed)
    return MISTNetwork(NetworkConfig(hidden=16, sample_hidden=16, heads=2, blocks=1, sample_blocks=1))


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """A tiny release checkpoint on disk: (path stem, network, card)."""
    path = tmp_path_factory.mktemp("release") / "tiny"
    save_release(tiny_network(), {"trained_ranges": RANGES}, path)
    return path


@pytest.fixture(scope="module")
def est(release):
    return MIEstimator.from_pretrained(release, device="cpu")


def gaussian(n, dx=2, dy=1, rho=0.6, seed=0):
    """x (n, dx), y (n, dy) with min(dx, dy) pairs of correlation rho; exact MI in nats."""
    rng = np.random.default_rng(seed)
    m = min(dx, dy)
    x = rng.standard_normal((n, dx))
    y = rng.standard_normal((n, dy))
    y[:, :m] = rho * x[:, :m] + math.sqrt(1 - rho**2) * y[:, :m]
    return x, y, -m / 2 * math.log1p(-(rho**2))


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MISTWarning)
        return fn(*args, **kwargs)


# --- the result -----------------------------------------------------------------------------------


def test_result_fields(est):
    x, y, mi = gaussian(200)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MISTWarning)  # clean data in range: not a single warning
        r = est.estimate(x, y)
    assert isinstance(r, EstimateResult)
    assert list(r.quantiles) == list(LEVELS)
    values = list(r.quantiles.values())
    assert values == sorted(values) and values[0] >= 0.0
    assert (r.mi, r.lower, r.upper) == (r.quantiles[0.5], r.quantiles[0.05], r.quantiles[0.95])
    assert (r.units, r.n, r.dx, r.dy, r.warnings, r.consistency) == ("nats", 200, 2, 1, [], None)
    assert r.diagnostics == {"core_mi": pytest.approx(r.mi, rel=1e-5), "core_nu": None, "attention_rows": 200,
                             "intrinsic_dims": {"X": 2, "Y": 1}, "knn_mi": None}  # below 3 columns: no manifold check
    assert r.interval_level == pytest.approx(0.9)
    assert abs(r.mi - mi) < 0.15  # the untrained head returns the core's MI
    assert "I(X;Y) =" in str(r) and "90% interval" in r.summary()


def test_to_dict_is_json_ready(est):
    x, y, _ = gaussian(100)
    r = est.estimate(x, y, check=True)
    d = r.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert {"mi", "lower", "upper", "quantiles", "units", "n", "dx", "dy", "warnings", "diagnostics", "consistency"} <= set(d)
    assert d["quantiles"]["0.05"] == r.lower and d["consistency"]["consistent"] is True


def test_module_level_estimate_uses_the_given_checkpoint(release, est):
    x, y, _ = gaussian(100)
    assert mist.estimate(x, y, checkpoint=release, device="cpu") == est.estimate(x, y)
    assert mist.estimate(x, y, checkpoint=str(release) + ".json", device="cpu").mi == est.estimate(x, y).mi


def test_deterministic(est):
    x, y, _ = gaussian(3000)  # above the trained n and the attention's rows
    a, b = quiet(est.estimate, x, y), quiet(est.estimate, x.copy(), y.copy())
    assert a == b and a.diagnostics["attention_rows"] == 1024
    fresh = MIEstimator(tiny_network(), {"trained_ranges": RANGES}, device="cpu")
    assert quiet(fresh.estimate, x, y) == a


def test_containers_and_scale(est):
    x, y, _ = gaussian(150)
    ref = est.estimate(x, y)
    assert est.estimate(torch.from_numpy(x), torch.from_numpy(y)) == ref
    assert est.estimate(pd.DataFrame(x, columns=["a", "b"]), pd.Series(y[:, 0])) == ref
    assert est.estimate(x.tolist(), y[:, 0].tolist()) == ref
    # invariant to monotone maps and exactly so to offsets float32 could not resolve
    assert est.estimate(x * 1e-3 + 1e4, np.exp(y)) == ref


def test_units(est):
    x, y, _ = gaussian(200)
    nats, bits = est.estimate(x, y, check=True), est.estimate(x, y, units="bits", check=True)
    assert bits.units == "bits"
    ln2 = math.log(2)
    for a, b in [(nats.mi, bits.mi), (nats.lower, bits.lower), (nats.upper, bits.upper)]:
        assert b == pytest.approx(a / ln2)
    assert list(bits.quantiles.values()) == pytest.approx([v / ln2 for v in nats.quantiles.values()])
    assert bits.consistency.full.mi == pytest.approx(nats.consistency.full.mi / ln2)
    assert bits.consistency.quarters[2].upper == pytest.approx(nats.consistency.quarters[2].upper / ln2)
    with pytest.raises(ValueError, match="units must be 'nats' or 'bits'"):
        est.estimate(x, y, units="dits")


# --- batches and large n ----------------------------------------------------------------------------


def test_estimate_batch_equals_single_estimates(est):
    cases = [gaussian(100, seed=1)[:2], gaussian(100, seed=2)[:2], gaussian(150, dx=1, seed=3)[:2], gaussian(600, dx=3, dy=2, seed=4)[:2]]
    batch = quiet(est.estimate_batch, cases)
    for (x, y), r in zip(cases, batch):
        single = quiet(est.estimate, x, y)
        assert (r.n, r.dx, r.dy, r.diagnostics, r.warnings) == (single.n, single.dx, single.dy, single.diagnostics, single.warnings)
        assert list(r.quantiles.values()) == pytest.approx(list(single.quantiles.values()), rel=1e-5, abs=1e-6)


def test_estimate_batch_reads_class_labels_like_estimate(est):
    rng = np.random.default_rng(5)
    cases = []
    for n in (300, 500):
        labels = rng.integers(0, 3, n)
        cases.append((labels[:, None] + rng.standard_normal((n, 2)), labels))
    batch = quiet(est.estimate_batch, cases, y_discrete=True, units="bits")
    for (x, y), r in zip(cases, batch):
        single = quiet(est.estimate, x, y, y_discrete=True, units="bits")
        assert (r.n, r.mi, r.lower, r.upper) == (single.n, single.mi, single.lower, single.upper)
    with pytest.raises(ValueError, match=r"pairs\[1\]: "):
        est.estimate_batch([cases[0], (cases[1][0], cases[1][1][:-1])], y_discrete=True)


def test_estimate_batch_names_the_bad_pair(est):
    good = gaussian(100)[:2]
    with pytest.raises(ValueError, match=r"pairs\[1\]: x has 100 samples but y has 99"):
        est.estimate_batch([good, (good[0], good[1][:99])])
    with pytest.raises(ValueError, match=r"pairs\[0\] is not an \(x, y\) pair"):
        est.estimate_batch([good[0]])


def test_small_batch_budget_gives_the_same_result(release):
    x, y, _ = gaussian(1000)
    big = MIEstimator.from_pretrained(release, device="cpu")
    small = MIEstimator.from_pretrained(release, device="cpu", batch_tokens=300)  # one set per forward pass
    a, b = quiet(big.estimate, x, y), quiet(small.estimate, x, y)
    assert list(a.quantiles.values()) == pytest.approx(list(b.quantiles.values()), rel=1e-5, abs=1e-6)


def test_above_the_trained_n_the_statistics_use_every_row(est):
    x, y, mi = gaussian(20000, rho=0.8)
    r = quiet(est.estimate, x, y)
    (w,) = r.warnings
    assert "above the largest sample size the checkpoint was trained on (256)" in w and "all rows" in w
    assert abs(r.mi - mi) < 0.02  # the core on all 20000 rows, not an average of small chunks
    small = quiet(est.estimate, x[:2000], y[:2000])
    assert small.upper - small.lower >= r.upper - r.lower  # the interval never widens with n
    order = np.argsort(x[:, 0])  # sorted rows: the attention's subset is still spread over all rows
    assert abs(quiet(est.estimate, x[order], y[order]).mi - r.mi) < 0.01


def test_a_million_samples(tmp_path):
    micro = MISTNetwork(NetworkConfig(hidden=4, sample_hidden=4, heads=1, blocks=0, sample_blocks=0, inducing_points=2))
    ranges = dict(RANGES, n=[16, 4096])
    est = MIEstimator(micro, {"trained_ranges": ranges}, device="cpu")
    x, y, mi = gaussian(10**6, dx=1, dy=1, rho=0.8)
    r = quiet(est.estimate, x, y)
    assert r.n == 10**6 and r.diagnostics["attention_rows"] == 1024
    assert abs(r.mi - mi) < 0.005  # the core's precision at a million rows


# --- warnings ---------------------------------------------------------------------------------------


def _warned(est, x, y, fragment, **kw):
    with pytest.warns(MISTWarning, match=re.escape(fragment)) as record:
        r = est.estimate(x, y, **kw)
    assert any(fragment in w for w in r.warnings), r.warnings
    assert any(rec.filename == __file__ for rec in record), "warnings must point at the caller"
    return r


def test_warning_constant_column(est):
    x, y, _ = gaussian(100)
    x[:, 1] = 3.0
    _warned(est, x, y, "x column 1 is constant")


def test_warning_heavy_ties(est):
    x, y, _ = gaussian(200)
    _warned(est, np.round(x), y, "heavy ties")


def test_warning_n_below_trained(est):
    x, y, _ = gaussian(12)
    _warned(est, x, y, "n = 12 is below the smallest sample size the checkpoint was trained on (16)")


def test_warning_dimension_outside_trained(est):
    x, y, _ = gaussian(100, dx=6)
    _warned(est, x, y, "dx = 6 is outside the dimensions the checkpoint was trained on (1 to 4)")


def test_warning_estimate_above_trained_mi():
    x, y, _ = gaussian(200, rho=0.95)  # about 1.2 nats
    est = MIEstimator(tiny_network(), {"trained_ranges": dict(RANGES, mi=[0.0, 0.5])}, device="cpu")
    _warned(est, x, y, "above the largest MI the checkpoint was trained on")
    bits = quiet(est.estimate, x, y, units="bits")
    assert "0.721 bits" in bits.warnings[0]  # the trained maximum, in the result's units


def test_warning_upper_bound_near_trained_maximum(est):
    x, y, _ = gaussian(200)
    r = est.estimate(x, y)
    top = (r.mi + r.upper) / 2  # median below it, upper bound above 0.9 of it
    near = MIEstimator(tiny_network(), {"trained_ranges": dict(RANGES, mi=[0.0, top])}, device="cpu")
    _warned(near, x, y, "reaches the largest MI the checkpoint was trained on")
    # the largest trained MI shrinks with the dimensions: min(mi hi, min(dx, dy) * max_mi_per_dim)
    per_dim = MIEstimator(tiny_network(), {"trained_ranges": dict(RANGES, max_mi_per_dim=top)}, device="cpu")
    _warned(per_dim, x, y, "reaches the largest MI")


def test_warning_deterministic_relation(est):
    x, _, _ = gaussian(100)
    _warned(est, x, np.exp(x[:, 0]), "strictly monotone functions of each other")


# --- consistency check ------------------------------------------------------------------------------


def test_check_reports_halves_and_quarters(est):
    x, y, _ = gaussian(240)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MISTWarning)
        r = est.estimate(x, y, check=True)
    c = r.consistency
    assert c.consistent is True and "every half's interval" in c.message
    assert [s.n for s in c.halves] == [120, 120] and [s.n for s in c.quarters] == [60] * 4
    assert c.full.mi == r.mi and c.full.n == 240
    assert all(s.lower <= s.mi <= s.upper for s in (*c.halves, *c.quarters))
    assert est.estimate(x, y, check=True) == r  # deterministic subsets


def test_check_not_run_on_small_samples(est):
    x, y, _ = gaussian(50)  # quarters would be below the trained n (16)
    r = _warned(est, x, y, "consistency check was not run", check=True)
    assert r.consistency.consistent is None and "needs n >= 64" in r.consistency.message


def test_failed_check_is_a_warning(est, monkeypatch):
    real = consistency_mod.judge

    def failing(full, halves, quarters, units):
        c = real(full, halves, quarters, units)
        return type(c)(False, "made up", c.full, c.halves, c.quarters)

    monkeypatch.setattr(estimator_mod, "judge", failing)
    x, y, _ = gaussian(200)
    _warned(est, x, y, "subsampling consistency check failed: made up", check=True)


def _s(n, mi, half_width):
    return SubsetEstimate(n, mi, mi - half_width, mi + half_width)


def test_judge_rule():
    full = _s(1000, 2.0, 0.3)
    ok = judge(full, [_s(500, 1.9, 0.4)] * 2, [_s(250, 1.85, 0.6)] * 4, "nats")
    assert ok.consistent is True
    off = judge(full, [_s(500, 1.9, 0.4), _s(500, 1.4, 0.4)], [_s(250, 1.85, 0.6)] * 4, "nats")
    assert off.consistent is False and "outside the interval of 1 of 2 halves" in off.message
    rising = judge(full, [_s(500, 1.8, 0.4)] * 2, [_s(250, 1.5, 0.6)] * 4, "nats")
    assert rising.consistent is False and "rise with n" in rising.message and "lower bound" in rising.message
    falling = judge(full, [_s(500, 2.2, 0.4)] * 2, [_s(250, 2.5, 0.6)] * 4, "bits")
    assert falling.consistent is False and "fall with n" in falling.message and "bits" in falling.message


# --- calibration, devices, checkpoints ---------------------------------------------------------


def test_calibration_from_the_card_by_n_bin(est):
    """The card's split-conformal offsets (mist.calibration) shift log(1 + MI) for the bin holding n."""
    shift = [-0.2, -0.05, 0.0, 0.05, 0.2]
    cal = {"method": "split-conformal", "levels": list(LEVELS), "edges": [16, 64, 256, 1024, 4097], "count": [0] * 4,
           "offsets": [[0.0] * 5, shift, [0.0] * 5, [0.0] * 5]}
    calibrated = MIEstimator(tiny_network(), {"trained_ranges": RANGES, "calibration": cal}, device="cpu")
    x, y, _ = gaussian(200, rho=0.95)  # n = 200: the bin [64, 256); MI about 1.2 nats
    a, b = est.estimate(x, y), calibrated.estimate(x, y)
    assert b.mi == pytest.approx(a.mi, rel=1e-6)
    assert b.upper == pytest.approx(math.expm1(math.log1p(a.upper) + 0.2), rel=1e-5)
    assert b.lower == pytest.approx(math.expm1(math.log1p(a.lower) - 0.2), rel=1e-5)
    assert calibrated.estimate(x[:60], y[:60]) == est.estimate(x[:60], y[:60])  # bin [16, 64): no shift
    with pytest.raises(CheckpointError, match="does not fit this checkpoint"):
        MIEstimator(tiny_network(), {"trained_ranges": RANGES, "calibration": dict(cal, offsets=[[0.0] * 3] * 4)})
    # by joint dimension too: 1 + 1 dims takes the first group's offsets
    grouped = dict(cal, dim_edges=[2, 11, 65], offsets=[cal["offsets"], [[0.0] * 5] * 4])
    by_dims = MIEstimator(tiny_network(), {"trained_ranges": RANGES, "calibration": grouped}, device="cpu")
    assert by_dims.estimate(x, y) == b
    with pytest.raises(CheckpointError, match="per group of `dim_edges`"):
        MIEstimator(tiny_network(), {"trained_ranges": RANGES, "calibration": dict(grouped, offsets=cal["offsets"])})


def test_devices():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    for bad, msg in [("banana", "not a device"), ("mps", "not supported")]:
        with pytest.raises(ValueError, match=msg):
            resolve_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="sees no CUDA GPU"):
            resolve_device("cuda")


def test_missing_checkpoint_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(CheckpointError, match="does not exist"):
        MIEstimator.from_pretrained(tmp_path / "nothing")
    x, y, _ = gaussian(100)
    with pytest.raises(CheckpointError, match="does not exist"):
        mist.estimate(x, y, checkpoint=tmp_path / "nothing")
    monkeypatch.setattr(estimator_mod, "default_checkpoint", lambda: tmp_path / "mist-default")
    with pytest.raises(CheckpointError, match="the default checkpoint is missing"):
        MIEstimator.from_pretrained()
    with pytest.raises(CheckpointError, match="the default checkpoint is missing"):
        mist.estimate(x, y)


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "m"
    weights, _ = save_release(tiny_network(), {"trained_ranges": RANGES}, path)
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256"):
        MIEstimator.from_pretrained(path)


def test_card_without_trained_ranges_is_refused(tmp_path):
    save_release(tiny_network(), {"trained_ranges": None}, tmp_path / "m")
    with pytest.raises(CheckpointError, match="trained_ranges"):
        MIEstimator.from_pretrained(tmp_path / "m")


def test_above_the_trained_dims_the_estimate_is_the_core(est):
    x, y, _ = gaussian(500, dx=6, dy=2, rho=0.7)  # trained dx <= 4
    r = quiet(est.estimate, x, y)
    assert r.mi == pytest.approx(r.diagnostics["core_mi"], rel=1e-9)
    assert r.lower < r.mi < r.upper
    assert any("learned correction is not applied" in w for w in r.warnings)


def test_the_statistics_run_on_one_blas_thread_and_the_caller_s_limits_come_back(est, monkeypatch):
    """Many small matrix products are faster on one BLAS thread (`mist.inference.threads`); an
    estimate must not change the thread counts the user's numpy runs with afterwards."""
    from threadpoolctl import threadpool_info

    import mist.stats.summary as summary

    def blas_threads():
        return sorted(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

    before, inside = blas_threads(), []
    original = summary.summarize_scores

    def spy(*args, **kwargs):
        inside.append(blas_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(summary, "summarize_scores", spy)
    rng = np.random.default_rng(0)
    est.estimate(rng.normal(size=(300, 2)), rng.normal(size=(300, 2)))
    assert inside and all(t == [1] * len(t) for t in inside)
    assert blas_threads() == before
