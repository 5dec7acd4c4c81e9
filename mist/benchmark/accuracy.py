"""Accuracy suites outside the generator grid: BMI's 40 tasks, and warped Gaussians around the done-when figures.

Each suite is a list of `mist.contract.Case`s (samples with exact MI); the harness
(`mist.benchmark.harness.run_suite`) runs every column on every case into `Row`s; `tables`
turns rows into Markdown (overall and per family).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from mist.contract import Case, Row

__all__ = ["tables", "metrics_by", "warped_gaussian_cases", "bmi_accuracy_cases"]


def bmi_accuracy_cases(folder: str, n: Sequence[int] | None = None, seeds: Sequence[int] | None = None) -> list[Case]:
    """BMI's exported tasks (`mist.benchmark.bmi`) as accuracy cases; family = the task id."""
    from mist.benchmark.bmi import load_bmi_cases

    return [Case(c.case_id, c.task_id, c.n, c.dx, c.dy, c.mi_true, c.load, suite="bmi")
            for c in load_bmi_cases(folder, n=None if n is None else list(n), seeds=None if seeds is None else list(seeds))]


def warped_gaussian_cases(ns: Sequence[int] = (300, 1000, 5000), dims: Sequence[tuple[int, int]] = ((1, 1), (3, 3), (10, 10)),
                          mis: Sequence[float] = (0.0, 0.5, 1.0, 2.0), seeds: int = 3) -> list[Case]:
    """Jointly Gaussian pairs with elementwise monotone warps (the copula is Gaussian): exact MI.

    MI is spread evenly over min(dx, dy) correlated coordinate pairs; X goes through exp and Y
    through a cubic, which change nothing in MI.
    """
    out = []
    for n in ns:
        for dx, dy in dims:
            for mi in mis:
                for s in range(seeds):
                    k = min(dx, dy)
                    rho = math.sqrt(-math.expm1(-2.0 * mi / k))

                    def load(n=n, dx=dx, dy=dy, rho=rho, k=k, seed=s):
                        rng = np.random.default_rng([n, dx, dy, int(rho * 1e6), seed])
                        x = rng.standard_normal((n, dx))
                        y = rng.standard_normal((n, dy))
                        y[:, :k] = rho * x[:, :k] + math.sqrt(1.0 - rho * rho) * y[:, :k]
                        return np.exp(x), y**3 + y

                    out.append(Case(f"gauss/n{n}/{dx}x{dy}/mi{mi:g}/s{s}", f"gaussian-{dx}x{dy}", n, dx, dy, mi, load, suite="gaussian"))
    return out


def _metrics(rows: Sequence[Row]) -> dict[str, float | None]:
    err = np.array([r.error for r in rows if r.mi is not None])
    cov = [r.covered for r in rows if r.covered is not None]
    widths = [r.upper - r.lower for r in rows if r.lower is not None]
    return {
        "mae": float(np.mean(np.abs(err))),
        "bias": float(np.mean(err)),
        "cover90": float(np.mean(cov)) if cov else None,
        "width90": float(np.mean(widths)) if widths else None,
        "median_width90": float(np.median(widths)) if widths else None,
        "seconds": float(np.median([r.seconds for r in rows if r.seconds is not None])),
        "cases": len(rows),
    }


def metrics_by(rows: Sequence[Row], key: Callable[[Row], object]) -> dict[object, dict[str, dict[str, float | None]]]:
    """{group: {column: metrics}} with metrics mae, bias, cover90, width90, median_width90, seconds, cases."""
    groups: dict[object, dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        groups[key(r)][r.column].append(r)
    return {g: {c: _metrics(rs) for c, rs in cols.items()} for g, cols in groups.items()}


def _fmt(v: float | None, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def tables(rows: Sequence[Row], columns: Sequence[str], by: Sequence[tuple[str, Callable[[Row], object]]]) -> str:
    """Markdown: an overall table (MAE, bias, 90% coverage and width per column), then MAE per group."""
    overall = metrics_by(rows, lambda r: "all")["all"]
    lines = ["| column | MAE | bias | cover90 | mean width90 | median width90 | median s | cases |",
             "|---|---|---|---|---|---|---|---|"]
    for c in columns:
        m = overall[c]
        lines.append(f"| {c} | {_fmt(m['mae'])} | {_fmt(m['bias'])} | {_fmt(m['cover90'], 2)} | {_fmt(m['width90'])} | "
                     f"{_fmt(m['median_width90'])} | {_fmt(m['seconds'], 3)} | {m['cases']} |")
    for title, key in by:
        groups = metrics_by(rows, key)
        lines += ["", f"MAE (nats) by {title}; true MI is the mean over the group's cases", "",
                  "| " + title + " | true MI | " + " | ".join(columns) + " |", "|---" * (len(columns) + 2) + "|"]
        for g in sorted(groups, key=str):
            truth = np.mean([r.true_mi for r in rows if key(r) == g and r.column == columns[0]])
            lines.append(f"| {g} | {truth:.3f} | " + " | ".join(_fmt(groups[g].get(c, {}).get("mae")) for c in columns) + " |")
    return "\n".join(lines) + "\n"
