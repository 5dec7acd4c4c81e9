"""One estimator protocol (`mist.contract.Estimator`): mist, its core and every baseline implement it."""

import numpy as np
import pytest

from mist.baselines import ESTIMATORS, EllipticalCopula, make_estimator
from mist.contract import Case, Estimate, Estimator, PointEstimate, Row, Sample
from mist.inference import MIEstimator
from mist.result import EstimateResult

FAST = {"infonce": {"steps": 20}, "nwj": {"steps": 20}, "mine": {"steps": 20}}


def _pair(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))
    return x, 0.8 * x + 0.6 * rng.standard_normal((n, 2))


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_every_baseline_is_an_estimator_whose_two_calls_agree(name):
    est = make_estimator(name, **FAST.get(name, {}))
    assert isinstance(est, Estimator)
    x, y = _pair()
    info = est.estimate_with_info(x, y)
    assert isinstance(info, Estimate)
    if name in ("ksg", "gaussian", "gaussian_copula", "elliptical_copula"):  # deterministic: the same number twice
        assert float(est.estimate(x, y)) == info.mi


def test_the_core_reports_its_interval_around_its_estimate():
    info = EllipticalCopula().estimate_with_info(*_pair(2000))
    assert info.lower < info.mi < info.upper
    assert 2 * -np.log(0.6) - 0.3 < info.mi < 2 * -np.log(0.6) + 0.3


def test_the_shipped_estimator_is_an_estimator_and_its_result_is_a_number():
    shipped = MIEstimator.from_pretrained(device="cpu")
    assert isinstance(shipped, Estimator)
    x, y = _pair(1000)
    result = shipped.estimate_with_info(x, y)
    assert isinstance(result, EstimateResult) and isinstance(result, Estimate)
    assert float(shipped.estimate(x, y)) == result.mi
    assert result.lower <= result.mi <= result.upper and 0.5 in result.quantiles


def test_a_case_draws_its_sample_with_the_exact_mi():
    x, y = _pair(50)
    case = Case("c", "gaussian", 50, 2, 2, 1.02, lambda: (x, y))
    sample = case.draw()
    assert isinstance(sample, Sample) and sample.mi == 1.02 and sample.family == "gaussian"
    unknown = Case("c", "", 50, 2, 2, None, lambda: (x, y))
    with pytest.raises(ValueError, match="no exact MI"):
        unknown.draw()


def test_a_row_knows_its_error_and_whether_its_interval_covers():
    row = Row("c", "f", 100, 1, 1, 1.0, "mist", 1.2, 0.9, 1.5, 0.01)
    assert row.error == pytest.approx(0.2) and row.covered is True
    assert Row("c", "f", 100, 1, 1, 1.0, "ksg", 1.2, None, None, 0.01).covered is None
    assert np.isnan(Row("c", "f", 100, 1, 1, 1.0, "ksg", None, None, None, None, status="error").error)
    assert float(PointEstimate(0.3)) == 0.3
