"""The registry of baselines the benchmark loops over (each an `Estimator`, `mist.contract`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from mist.contract import Estimator

from .elliptical import EllipticalCopula
from .gaussian import Gaussian
from .ksg import KSG
from .neural import MINE, NWJ, InfoNCE

__all__ = ["Estimator", "ESTIMATORS", "make_estimator"]


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
        The estimator; `.estimate(x, y)` gives I(X; Y) in nats, `.estimate_with_info(x, y)` a
        `mist.contract.PointEstimate`.

    Example:
        >>> make_estimator("ksg", k=5)
        KSG(k=5, standardize=True, noise=1e-10, seed=0, workers=1, algorithm='auto')
    """
    try:
        factory = ESTIMATORS[name]
    except KeyError:
        raise ValueError(f"unknown estimator {name!r}; choose one of {sorted(ESTIMATORS)}") from None
    return factory(**options)
