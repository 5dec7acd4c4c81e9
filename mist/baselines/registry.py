"""The estimator protocol and the registry the benchmark loops over."""

from __future__ import annotations

from functools import partial
from typing import Protocol, runtime_checkable
from collections.abc import Callable

from .elliptical import EllipticalCopula
from .gaussian import Gaussian
from .ksg import KSG
from .neural import MINE, NWJ, InfoNCE

__all__ = ["Estimator", "ESTIMATORS", "make_estimator"]


@runtime_checkable
class Estimator(Protocol):
    """Anything with `estimate(x, y) -> float`: x of shape (n, dx) or (n,), y of shape (n, dy)
    or (n,), paired row by row; the result is I(X; Y) in nats."""

    def estimate(self, x, y) -> float: ...


ESTIMATORS: dict[str, Callable[..., Estimator]] = {
    "ksg": KSG,
    "gaussian": Gaussian,
    "gaussian_copula": partial(Gaussian, copula=True),
    "elliptical_copula": EllipticalCopula,
    "infonce": InfoNCE,
    "nwj": NWJ,
    "mine": MINE,
}
"""Name -> factory: `ESTIMATORS[name](**options)` returns an `Estimator` with default budget."""


def make_estimator(name: str, **options) -> Estimator:
    """Build a registered estimator by name.

    Arguments:
        name: A key of `ESTIMATORS`: "ksg", "gaussian", "gaussian_copula", "infonce", "nwj" or
            "mine".
        options: Fields of that estimator (for example `k=5` or `steps=2000`).

    Returns:
        The estimator; call `.estimate(x, y)` for I(X; Y) in nats.

    Example:
        >>> make_estimator("ksg", k=5)
        KSG(k=5, standardize=True, noise=1e-10, seed=0, workers=1, algorithm='auto')
    """
    try:
        factory = ESTIMATORS[name]
    except KeyError:
        raise ValueError(f"unknown estimator {name!r}; choose one of {sorted(ESTIMATORS)}") from None
    return factory(**options)
