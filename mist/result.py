"""What an estimate returns: the median, the interval, the quantiles, warnings and the consistency check."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EstimateResult", "SubsetEstimate", "ConsistencyCheck", "UNITS"]

UNITS = {"nats": 1.0, "bits": math.log(2.0)}  # nats per unit: the units a result can be in


def _fmt(v: float) -> str:
    return f"{v:.3g}"


@dataclass(frozen=True)
class SubsetEstimate:
    """The estimate on one subset of the rows, in the result's units.

    Attributes:
        n: rows in the subset.
        mi: median.
        lower, upper: the interval (lowest and highest quantile levels, 0.05 and 0.95 by default).
    """

    n: int
    mi: float
    lower: float
    upper: float

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "mi": self.mi, "lower": self.lower, "upper": self.upper}


@dataclass(frozen=True)
class ConsistencyCheck:
    """The subsampling consistency check (see `mist.inference.consistency.judge` for the rule).

    Attributes:
        consistent: the verdict; None when the check could not run (too few samples).
        message: the verdict in words, with the figures behind it.
        full: the estimate on all rows (None when not run).
        halves: estimates on two disjoint random halves.
        quarters: estimates on four disjoint random quarters.
    """

    consistent: bool | None
    message: str
    full: SubsetEstimate | None = None
    halves: tuple[SubsetEstimate, ...] = ()
    quarters: tuple[SubsetEstimate, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "consistent": self.consistent,
            "message": self.message,
            "full": None if self.full is None else self.full.to_dict(),
            "halves": [s.to_dict() for s in self.halves],
            "quarters": [s.to_dict() for s in self.quarters],
        }


@dataclass(frozen=True)
class EstimateResult:
    """The MI of one paired sample.

    Attributes:
        mi: the point estimate, the median of the predicted distribution of I(X;Y), in `units`.
        lower: the 0.05 quantile: the lower end of the 90% interval.
        upper: the 0.95 quantile: the upper end of the 90% interval.
        quantiles: every predicted quantile, {level: value}, ascending, in `units`.
        units: "nats" or "bits".
        n: samples used.
        dx, dy: dimensions of X and Y.
        diagnostics: what the estimate rests on: `core_mi` (the classical elliptical-copula
            core, in `units`), `core_nu` (its degrees of freedom; None for the Gaussian copula)
            and `attention_rows` (rows the network's attention read; the statistics use all n).
        warnings: what is off, one sentence each; empty when nothing is (each was also issued
            as a `MISTWarning`).
        consistency: the subsampling check, when asked for (`check=True`), else None.
        reduction: None, or what was done to a side with more columns than the model was
            trained on (`mist.stats.reduction`): method, x_dims and y_dims (before, after),
            halves, and lower_bound (True: the estimate is of a lower bound on I(X;Y)).
        dz: columns of the conditioning set Z; 0 for plain MI. With dz > 0 every figure is the
            conditional MI I(X;Y|Z) (`mist.inference.conditional`).
    """

    mi: float
    lower: float
    upper: float
    quantiles: dict[float, float]
    units: str
    n: int
    dx: int
    dy: int
    diagnostics: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    consistency: ConsistencyCheck | None = None
    reduction: dict[str, Any] | None = None
    dz: int = 0

    def __float__(self) -> float:
        """The point estimate `mi`, so that `float(estimator.estimate(x, y))` is a number in every
        estimator of `mist.contract.Estimator`."""
        return float(self.mi)

    @property
    def conditional(self) -> bool:
        """True when this is I(X;Y|Z) (a conditioning set was given)."""
        return self.dz > 0

    @property
    def interval_level(self) -> float:
        """Nominal coverage of [lower, upper] (0.9 for the 0.05 and 0.95 quantiles)."""
        return max(self.quantiles) - min(self.quantiles)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; quantile levels become strings ("0.05"), as `json.dumps` would make them."""
        return {
            "mi": self.mi,
            "lower": self.lower,
            "upper": self.upper,
            "quantiles": {repr(q): v for q, v in self.quantiles.items()},
            "units": self.units,
            "n": self.n,
            "dx": self.dx,
            "dy": self.dy,
            "diagnostics": dict(self.diagnostics),
            "warnings": list(self.warnings),
            "consistency": None if self.consistency is None else self.consistency.to_dict(),
            "reduction": None if self.reduction is None else dict(self.reduction),
            "dz": self.dz,
        }

    def summary(self) -> str:
        """A few lines for people: estimate, interval, sample, warnings, consistency."""
        u = self.units
        lines = [
            f"{'I(X;Y|Z)' if self.dz else 'I(X;Y)'} = {_fmt(self.mi)} {u}   {self.interval_level:.0%} interval "
            f"[{_fmt(self.lower)}, {_fmt(self.upper)}]",
            "quantiles: " + "  ".join(f"{q:g}: {_fmt(v)}" for q, v in self.quantiles.items()),
            f"n = {self.n}, dx = {self.dx}, dy = {self.dy}" + (f", dz = {self.dz}" if self.dz else ""),
        ]
        if self.reduction is not None:
            r = self.reduction
            lines.append(f"reduced: X {r['x_dims'][0]} -> {r['x_dims'][1]} columns, Y {r['y_dims'][0]} -> {r['y_dims'][1]} "
                         "(PCA, cross-fitted): a lower bound on I(X;Y)")
        if self.consistency is not None:
            verdict = {True: "consistent", False: "INCONSISTENT", None: "not run"}[self.consistency.consistent]
            lines.append(f"consistency check: {verdict}: {self.consistency.message}")
        if self.warnings:
            lines.append("warnings:")
            lines.extend(f"  - {w}" for w in self.warnings)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()
