"""Accuracy suite for conditional mutual information I(X; Y | Z), with exact labels.

Every kind of `data_gen.conditional` at each n: the four kinds with CMI > 0 (`gaussian`,
`warped`, `student_t`, `additive_nonlinear`) at 8 targets spread over 0.1-2 nats, and the four
zero-CMI kinds (Markov chains and common causes, linear and nonlinear) at 4 cases each, so a third
of the cases have CMI = 0. dz cycles over 1, 2, 4, 8 and (dx, dy) over pairs in 1..4.

Every case's data depend only on its key, so the suite reruns identically.
"""

from __future__ import annotations

import dataclasses
import math
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from data_gen.conditional import CONDITIONAL_KINDS, ZERO_CMI_KINDS, draw_conditional

__all__ = ["ConditionalCase", "conditional_cases", "conditional_rows"]

_TARGETS = tuple(float(v) for v in np.linspace(0.1, 2.0, 8))  # nats, for the kinds with CMI > 0
_ZERO_PER_KIND = 4
_DZ = (1, 2, 4, 8)
_DXY = ((1, 1), (2, 1), (1, 3), (2, 2), (3, 2), (4, 4), (1, 4))


@dataclasses.dataclass(frozen=True)
class ConditionalCase:
    """Samples with an exact I(X; Y | Z) in nats: `load()` gives x (n, dx), y (n, dy), z (n, dz)."""

    case_id: str
    family: str
    n: int
    dx: int
    dy: int
    dz: int
    cmi: float
    load: Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray]]


def _seed(*parts) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


def _case(kind: str, n: int, dx: int, dy: int, dz: int, target: float | None, i: int, seed: int) -> ConditionalCase:
    key = _seed(kind, n, i, seed)

    def load(kind=kind, key=key, n=n, dx=dx, dy=dy, dz=dz, target=target):
        s = draw_conditional(kind, np.random.default_rng(key), n, dx, dy, dz, cmi=target)
        return s.x, s.y, s.z

    # the structure is drawn before the samples, so 10 rows give the same label as n rows
    cmi = draw_conditional(kind, np.random.default_rng(key), 10, dx, dy, dz, cmi=target).cmi
    return ConditionalCase(f"{kind}/n{n}/{dx}x{dy}x{dz}/{i}", kind, n, dx, dy, dz, cmi, load)


def conditional_cases(ns: Sequence[int] = (500, 1000, 2000, 5000), seed: int = 0) -> list[ConditionalCase]:
    """48 cases per n (192 by default): 8 per kind with CMI > 0 at targets 0.1 to 2 nats, 4 per
    zero-CMI kind; family = the kind."""
    out = []
    for j, n in enumerate(ns):
        for k, kind in enumerate(CONDITIONAL_KINDS):
            zero = kind in ZERO_CMI_KINDS
            targets = [None] * _ZERO_PER_KIND if zero else _TARGETS
            for i, target in enumerate(targets):
                dx, dy = _DXY[(i + k) % len(_DXY)]
                dz = _DZ[(i + j) % len(_DZ)]
                out.append(_case(kind, n, dx, dy, dz, target, i, seed))
    return out


def conditional_rows(cases: Sequence[ConditionalCase],
                     estimators: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], Any]],
                     progress: bool = False) -> list[dict]:
    """Every estimator on every case: one dict per (case, estimator) with the estimate, its error
    (estimate - true CMI, nats), its 90% interval (`lower`, `upper`: None for a plain float) and
    seconds. An estimator returns a float or a result with `mi`, `lower` and `upper` (an
    `EstimateResult`). An estimator's ValueError is recorded in `failure` (estimate NaN) rather
    than stopping the suite.

    Example:
        >>> from mist.baselines.conditional import GaussianCMI
        >>> rows = conditional_rows(conditional_cases(ns=(500,))[:2], {"gaussian": GaussianCMI().estimate})
        >>> sorted(rows[0])[:4]
        ['case_id', 'cmi', 'column', 'dx']
    """
    rows = []
    if progress:
        from rich.progress import track

        cases = track(cases, description="conditional suite")
    for case in cases:
        x, y, z = case.load()
        for name, estimate in estimators.items():
            failure, lower, upper = None, None, None
            start = time.perf_counter()
            try:
                out = estimate(x, y, z)
                value = float(out.mi) if hasattr(out, "mi") else float(out)
                if hasattr(out, "lower"):
                    lower, upper = float(out.lower), float(out.upper)
            except ValueError as err:
                value, failure = math.nan, str(err)
            seconds = time.perf_counter() - start
            rows.append({"case_id": case.case_id, "family": case.family, "n": case.n, "dx": case.dx, "dy": case.dy,
                         "dz": case.dz, "true_cmi": case.cmi, "column": name, "cmi": value, "lower": lower,
                         "upper": upper, "error": value - case.cmi, "seconds": seconds, "failure": failure})
    return rows
