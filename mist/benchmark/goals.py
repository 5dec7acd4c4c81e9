"""The accuracy goals a release must meet, read off one release run (`benchmark.py --suite release`).

Each goal is a measured value against its target, on the same cases for mist and the baseline it
is compared with: BMI at n = 5,000 (MAE, 90% coverage, mean width, and the full model against its
own classical core); warped Gaussians (mist within 0.03 nats of the Gaussian-copula estimate at
every n, near zero at MI = 0, narrow intervals at n >= 1,000); the generator grid (MAE at most
0.7x the Gaussian copula's in distribution and held out, and 85-95% coverage at every n).
Speed is measured apart, on idle cores (`scripts/bench_model.py`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from mist.benchmark.accuracy import Row

__all__ = ["Goal", "bmi_goals", "gaussian_goals", "goals_markdown", "grid_goals"]

COVERAGE = (0.85, 0.95)  # the band a 90% interval's coverage must fall in


@dataclasses.dataclass(frozen=True)
class Goal:
    """One release goal: what was measured, its value, the target, and whether it is met."""

    suite: str
    measure: str
    value: str
    target: str
    met: bool


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return float(np.mean(values)) if values else float("nan")


def _in_band(value: float, band: tuple[float, float] = COVERAGE) -> bool:
    return band[0] - 1e-9 <= value <= band[1] + 1e-9  # coverage is a ratio of counts: 114 / 120 is 0.95


def bmi_goals(rows: Sequence[Row], n: int = 5000) -> list[Goal]:
    """BMI at n: mist's MAE <= 0.07, coverage 85-95%, mean width <= 1 nat, and below the core's MAE."""
    mist = [r for r in rows if r.column == "mist" and r.n == n]
    core = [r for r in rows if r.column == "core" and r.n == n]
    if not mist:
        return [Goal("bmi", f"n = {n}", "no mist rows", "-", False)]
    mae = _mean(abs(r.error) for r in mist)
    cover = _mean(bool(r.covered) for r in mist)
    width = _mean(r.upper - r.lower for r in mist)
    goals = [
        Goal("bmi", f"MAE, n = {n} ({len(mist)} cases)", f"{mae:.3f}", "<= 0.07", mae <= 0.07),
        Goal("bmi", f"90% coverage, n = {n}", f"{cover:.3f}", "0.85-0.95", _in_band(cover)),
        Goal("bmi", f"mean 90% width, n = {n}", f"{width:.2f}", "<= 1", width <= 1.0),
    ]
    if core:
        core_mae = _mean(abs(r.error) for r in core)
        goals.append(Goal("bmi", f"MAE against the core alone, n = {n}", f"{mae:.3f} vs {core_mae:.3f}", "below the core",
                          mae < core_mae))
    return goals


def gaussian_goals(rows: Sequence[Row]) -> list[Goal]:
    """Warped Gaussians: per n, mist's MAE at most the copula's + 0.03; mean |mist| at MI = 0 <= 0.05;
    median 90% width at n >= 1,000 <= 0.5."""
    goals = []
    for n in sorted({r.n for r in rows}):
        mist = _mean(abs(r.error) for r in rows if r.column == "mist" and r.n == n)
        copula = _mean(abs(r.error) for r in rows if r.column == "gaussian_copula" and r.n == n)
        goals.append(Goal("gaussian", f"MAE, n = {n}: mist vs Gaussian copula", f"{mist:.3f} vs {copula:.3f}",
                          "mist <= copula + 0.03", mist <= copula + 0.03))
    zero = _mean(abs(r.mi) for r in rows if r.column == "mist" and r.true_mi == 0.0)
    widths = [r.upper - r.lower for r in rows if r.column == "mist" and r.n >= 1000 and r.lower is not None]
    width = float(np.median(widths)) if widths else float("nan")
    goals += [Goal("gaussian", "mean abs(mist) at MI = 0", f"{zero:.3f}", "<= 0.05", zero <= 0.05),
              Goal("gaussian", "median 90% width, n >= 1,000", f"{width:.3f}", "<= 0.5", width <= 0.5)]
    return goals


def grid_goals(estimates: Sequence[dict[str, Any]]) -> list[Goal]:
    """Generator grid (rows of estimates.csv): mist's MAE <= 0.7x the Gaussian copula's on the
    cases both answered, in distribution and held out; 90% coverage 85-95% at every n."""
    ok = [r for r in estimates if r["status"] == "ok"]
    by_case: dict[str, dict[str, dict[str, Any]]] = {}
    for r in ok:
        by_case.setdefault(r["case_id"], {})[r["estimator"]] = r
    both = [c for c in by_case.values() if "mist" in c and "gaussian_copula" in c]
    goals = []
    for name, held in (("in distribution", False), ("held out", True)):
        cases = [c for c in both if str(c["mist"]["heldout"]) == str(held)]
        mist = _mean(float(c["mist"]["abs_error"]) for c in cases)
        copula = _mean(float(c["gaussian_copula"]["abs_error"]) for c in cases)
        ratio = mist / copula if copula > 0 else float("nan")
        goals.append(Goal("grid", f"MAE {name} ({len(cases)} cases): mist / Gaussian copula",
                          f"{mist:.3f} / {copula:.3f} = {ratio:.2f}x", "<= 0.7x", ratio <= 0.7))
    mist_rows = [r for r in ok if r["estimator"] == "mist" and r.get("q0.05") not in (None, "")]
    for n in sorted({int(r["n"]) for r in mist_rows}):
        at_n = [r for r in mist_rows if int(r["n"]) == n]
        cover = _mean(float(r["q0.05"]) <= float(r["true_mi"]) <= float(r["q0.95"]) for r in at_n)
        goals.append(Goal("grid", f"90% coverage, n = {n} ({len(at_n)} cases)", f"{cover:.3f}", "0.85-0.95", _in_band(cover)))
    return goals


def goals_markdown(goals: Sequence[Goal], command: str) -> str:
    """A Markdown table of every goal, and how many are met."""
    lines = ["# Release goals", "", f"`{command}`", "", "| suite | measure | value | target | met |", "|---|---|---|---|---|"]
    lines += [f"| {g.suite} | {g.measure} | {g.value} | {g.target} | {'yes' if g.met else '**no**'} |" for g in goals]
    met = sum(g.met for g in goals)
    lines += ["", f"{met} of {len(goals)} goals met. Speed is measured apart, on idle cores: `python scripts/bench_model.py`.", ""]
    return "\n".join(lines)
