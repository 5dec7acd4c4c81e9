"""The contract every estimator and every benchmark shares. Imports nothing from mist.

An `Estimator` has the shape of the BMI benchmark's estimators (Czyz et al., NeurIPS 2023):
`estimate(x, y)` gives I(X; Y) as a number in nats and `estimate_with_info(x, y)` gives an
`Estimate` (the point value, and an interval and quantiles where the estimator has them).
mist's `MIEstimator`, its classical core (`mist.baselines.EllipticalCopula`) and every baseline
implement it, so anything written against the protocol takes any of them.

mist's `estimate` returns its full `EstimateResult`, which converts with `float()`; a classical
estimator's returns a float. Both satisfy `SupportsFloat`, and code that needs the number writes
`float(est.estimate(x, y))`.

A benchmark is `Case`s (samples with exact MI, drawn on demand) run through estimators into
`Row`s (`mist.benchmark.harness`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, SupportsFloat, runtime_checkable

__all__ = ["Estimate", "PointEstimate", "Estimator", "PointEstimator", "ConditionalEstimator", "Sample", "Case", "Row"]


@runtime_checkable
class Estimate(Protocol):
    """An estimate of I(X; Y): `mi`, a 90% interval `[lower, upper]` (None where the estimator
    has none) and `quantiles` ({level: value}, empty where it has none)."""

    @property
    def mi(self) -> float: ...

    @property
    def lower(self) -> float | None: ...

    @property
    def upper(self) -> float | None: ...

    @property
    def quantiles(self) -> Mapping[float, float]: ...


@dataclass(frozen=True)
class PointEstimate:
    """The `Estimate` of an estimator without mist's learned quantiles, in nats."""

    mi: float
    lower: float | None = None
    upper: float | None = None
    quantiles: Mapping[float, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def __float__(self) -> float:
        return float(self.mi)


@runtime_checkable
class Estimator(Protocol):
    """Anything that estimates I(X; Y) from x of shape (n, dx) or (n,) and y of shape (n, dy) or
    (n,), paired row by row."""

    def estimate(self, x: Any, y: Any) -> SupportsFloat:
        """I(X; Y) in nats: `float()` of it is the point estimate."""
        ...

    def estimate_with_info(self, x: Any, y: Any) -> Estimate:
        """The point estimate with what else the estimator knows (interval, quantiles)."""
        ...


class PointEstimator:
    """Base of the estimators that give a point value only: `estimate_with_info` wraps `estimate`."""

    def estimate(self, x: Any, y: Any) -> float:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def estimate_with_info(self, x: Any, y: Any) -> PointEstimate:
        """`estimate(x, y)` as a `PointEstimate` without an interval."""
        return PointEstimate(float(self.estimate(x, y)))


@runtime_checkable
class ConditionalEstimator(Protocol):
    """Anything that estimates the conditional MI I(X; Y | Z) in nats from paired x, y and z."""

    def estimate(self, x: Any, y: Any, z: Any) -> SupportsFloat: ...


@dataclass(frozen=True)
class Sample:
    """What a case draws: x (n, dx), y (n, dy), the exact MI in nats, and what made them."""

    x: Any
    y: Any
    mi: float
    family: str = ""
    transform: str = ""


@dataclass(frozen=True)
class Case:
    """One dataset of a benchmark, drawn on demand by `draw()`.

    Attributes:
        case_id: unique within a suite.
        family: the kind of dependence (the group its errors are reported by).
        n, dx, dy: samples and the dimensions of X and Y.
        mi: the exact MI in nats when known before drawing; None where only the draw knows it
            (the generator grid draws its MI within a band; `Sample.mi` is exact).
        load: returns the samples: (x, y), or a `Sample` (or anything with x, y, mi, family
            and transform, as `data_gen.SampleSet`).
        suite: the suite it belongs to.
        heldout: whether its family or transforms were held out of training.
        seed: what regenerates the data (0 where the loader fixes it).
        meta: what else identifies the case (a grid cell's MI band and seed index).
    """

    case_id: str
    family: str
    n: int
    dx: int
    dy: int
    mi: float | None
    load: Callable[[], Any]
    suite: str = ""
    heldout: bool = False
    seed: int = 0
    meta: Mapping[str, Any] = field(default_factory=dict)

    def draw(self) -> Sample:
        """The samples with their exact MI."""
        out = self.load()
        if isinstance(out, Sample):
            return out
        if hasattr(out, "mi") and hasattr(out, "x"):
            return Sample(out.x, out.y, float(out.mi), str(out.family), str(out.transform))
        x, y = out
        if self.mi is None:
            raise ValueError(f"case {self.case_id}: load() gave (x, y) but the case has no exact MI; return a Sample")
        return Sample(x, y, float(self.mi), self.family)


@dataclass(frozen=True)
class Row:
    """One estimate of one case by one estimator, in nats and seconds.

    `estimate` is None where the estimator was skipped or failed (`status` "skipped" or "error",
    `note` says why); `lower`/`upper` are None without an interval.
    """

    case_id: str
    family: str
    n: int
    dx: int
    dy: int
    true_mi: float
    column: str
    mi: float | None
    lower: float | None
    upper: float | None
    seconds: float | None
    quantiles: Mapping[float, float] = field(default_factory=dict)
    status: str = "ok"
    note: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def error(self) -> float:
        """estimate - true MI (NaN without an estimate)."""
        return math.nan if self.mi is None else self.mi - self.true_mi

    @property
    def covered(self) -> bool | None:
        """Whether the interval holds the true MI; None without an interval."""
        return None if self.lower is None or self.upper is None else self.lower <= self.true_mi <= self.upper
