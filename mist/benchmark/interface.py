"""One protocol for every estimator the benchmark compares: mist, its classical core, baselines.

`estimate(x, y)` gives I(X;Y) in nats; `estimate_with_info(x, y)` gives an `Estimate` with the
interval when the estimator has one. Imports nothing else from the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

__all__ = ["Estimate", "MIEstimatorProtocol", "MistColumn", "CoreColumn", "BaselineColumn", "make_column"]


@dataclass(frozen=True)
class Estimate:
    """One estimate in nats: the point value, a 90% interval (None when the estimator has none), extras."""

    mi: float
    lower: float | None = None
    upper: float | None = None
    info: dict[str, Any] = field(default_factory=dict)


class MIEstimatorProtocol(Protocol):
    """What the benchmark calls: x (n, dx) and y (n, dy) in, nats out."""

    name: str

    def estimate(self, x: np.ndarray, y: np.ndarray) -> float: ...

    def estimate_with_info(self, x: np.ndarray, y: np.ndarray) -> Estimate: ...


class MistColumn:
    """The pretrained estimator (its median and calibrated 90% interval)."""

    def __init__(self, checkpoint: str | None = None, name: str = "mist"):
        from mist.inference.estimator import MIEstimator

        self.name = name
        self.estimator = MIEstimator.from_pretrained(checkpoint, device="cpu")

    def estimate_with_info(self, x, y) -> Estimate:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = self.estimator.estimate(x, y)
        return Estimate(r.mi, r.lower, r.upper, dict(r.diagnostics))

    def estimate(self, x, y) -> float:
        return self.estimate_with_info(x, y).mi


class CoreColumn:
    """mist's classical core alone (`mist.baselines.EllipticalCopula`), with its delta-method 90% interval."""

    name = "core"

    def __init__(self):
        from mist.baselines import EllipticalCopula

        self.estimator = EllipticalCopula()

    def estimate_with_info(self, x, y) -> Estimate:
        mi, lower, upper = self.estimator.estimate_with_interval(x, y)
        return Estimate(mi, lower, upper)

    def estimate(self, x, y) -> float:
        return self.estimate_with_info(x, y).mi


class BaselineColumn:
    """A registered classical or neural baseline (`mist.baselines`); point estimates only."""

    def __init__(self, kind: str, name: str | None = None, **options):
        from mist.baselines import make_estimator

        self.name = name or kind
        self.estimator = make_estimator(kind, **options)

    def estimate(self, x, y) -> float:
        return float(self.estimator.estimate(x, y))

    def estimate_with_info(self, x, y) -> Estimate:
        return Estimate(self.estimate(x, y))


def make_column(name: str, checkpoint: str | None = None) -> MIEstimatorProtocol:
    """A column by name: "mist", "core", "ksg" (k = 5), "gaussian" (CCA), "gaussian_copula"."""
    if name == "mist":
        return MistColumn(checkpoint)
    if name == "core":
        return CoreColumn()
    if name == "ksg":
        return BaselineColumn("ksg", k=5)
    return BaselineColumn(name)
