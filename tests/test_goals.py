"""The release goals (mist.benchmark.goals): each measured on the rows of one run, against its target."""

from mist.contract import Row
from mist.benchmark.goals import bmi_goals, gaussian_goals, goals_markdown, grid_goals


def _row(column, mi, true_mi, n=5000, lower=None, upper=None, case="c"):
    return Row(case, "family", n, 1, 1, true_mi, column, mi, lower, upper, 0.01)


def _bmi(covered: int, cases: int = 120, error: float = 0.05, width: float = 0.4, core_error: float = 0.08):
    rows = []
    for i in range(cases):
        lo = 1.0 - width / 2 if i < covered else 2.0  # the misses' intervals lie above the truth
        rows += [_row("mist", 1.0 + error, 1.0, lower=lo, upper=lo + width, case=str(i)),
                 _row("core", 1.0 - core_error, 1.0, case=str(i))]
    return rows


def _met(goals):
    return {g.measure.split(",")[0].split(" (")[0]: g.met for g in goals}


def test_bmi_goals_count_114_of_120_as_95_percent_and_compare_with_the_core():
    assert all(g.met for g in bmi_goals(_bmi(covered=114)))
    met = _met(bmi_goals(_bmi(covered=116)))  # 0.967: the intervals over-cover
    assert met["90% coverage"] is False and met["MAE"] is True
    met = _met(bmi_goals(_bmi(covered=100, error=0.09, width=1.5, core_error=0.05)))
    assert not any(met.values())
    assert bmi_goals(_bmi(covered=114), n=1000)[0].met is False  # no rows at that n: not met


def test_gaussian_goals_allow_mist_within_0_03_of_the_copula_at_each_n():
    rows = []
    for n, mist_err, copula_err in ((300, 0.06, 0.04), (1000, 0.02, 0.03)):
        rows += [_row("mist", 1.0 + mist_err, 1.0, n=n, lower=0.9, upper=1.2), _row("gaussian_copula", 1.0 + copula_err, 1.0, n=n),
                 _row("mist", 0.01, 0.0, n=n, lower=0.0, upper=0.1), _row("gaussian_copula", 0.05, 0.0, n=n)]
    goals = gaussian_goals(rows)
    assert [g.met for g in goals] == [True, True, True, True]
    rows.append(_row("mist", 1.5, 1.0, n=5000, lower=0.2, upper=2.5))
    rows.append(_row("gaussian_copula", 1.0, 1.0, n=5000))
    met = [g.met for g in gaussian_goals(rows)]
    assert met[2] is False  # n = 5,000: 0.5 against the copula's 0.0


def test_grid_goals_compare_on_the_cases_both_answered_and_check_every_n():
    def est(case, estimator, err, heldout, n=100, lo="0.5", hi="1.5", status="ok"):
        return {"case_id": case, "estimator": estimator, "abs_error": str(err), "heldout": str(heldout), "n": str(n),
                "status": status, "true_mi": "1.0", "q0.05": lo if estimator == "mist" else "", "q0.95": hi if estimator == "mist" else ""}

    rows = []
    for i in range(20):
        held = i % 2 == 1
        rows += [est(f"c{i}", "mist", 0.3, held, n=100 if i < 10 else 1000, lo="0.5" if i not in (0, 10) else "1.1"),
                 est(f"c{i}", "gaussian_copula", 0.6, held)]
    rows.append(est("c99", "mist", 5.0, False, status="error"))  # failed estimates do not count
    rows.append(est("c98", "mist", 5.0, False))  # the copula has no row here: not compared
    goals = grid_goals(rows)
    assert [g.met for g in goals[:2]] == [True, True] and "0.50x" in goals[0].value
    assert [g.measure.split(" (")[0] for g in goals[2:]] == ["90% coverage, n = 100", "90% coverage, n = 1000"]
    assert goals[2].value == "0.909"  # 10 of 11 mist rows at n = 100 cover, the one without a copula row too
    rows += [est(f"d{i}", "mist", 0.6, False, n=1000) for i in range(10)] + [est(f"d{i}", "gaussian_copula", 0.3, False) for i in range(10)]
    assert grid_goals(rows)[0].met is False  # in distribution now 0.45 against 0.45


def test_goals_markdown_marks_the_unmet_and_counts():
    text = goals_markdown(bmi_goals(_bmi(covered=116)), "python scripts/benchmark.py --suite release")
    assert "| bmi | 90% coverage, n = 5000 | 0.967 | 0.85-0.95 | **no** |" in text
    assert "3 of 4 goals met" in text and "--suite release" in text
