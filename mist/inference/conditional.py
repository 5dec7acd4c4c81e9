"""Conditional mutual information I(X;Y|Z): the elliptical core's estimate, the network's interval.

    I(X;Y|Z) = I(X; (Y, Z)) - I(X; Z) = I(Y; (X, Z)) - I(Y; Z).

The estimate is the chain rule over one copula fitted to (X, Y, Z) (`mist.stats.conditional`):
both terms come from one correlation matrix and one nu, so their errors cancel. Where X or Y
depends on Z nonlinearly, it moves to the MI of X's and Y's additive-noise residuals given Z.

The interval comes from the network, which reads the two MI terms of one decomposition (the one
whose lead side, X or Y, has fewer columns: the cheaper pair of terms). Its chain rule is noisier
than the core, but its intervals say how uncertain each term is: each quantile's distance from
its term's median is combined in quadrature over the two terms (their errors are neither
independent nor identical), scaled by `SPREAD_SCALE` (fitted for 90% coverage on calibration
cases) and set around the core's estimate, clipped at 0. Where X and Y are conditionally
independent the lower end is 0, which makes the interval a conditional-independence test. Where
the network's chain rule and the core disagree by more than the interval's half-width, the
dependence is likely outside what the core describes or a term is misread: the interval is
widened to take in both readings, and a warning says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from mist.result import UNITS, EstimateResult
from mist.inputs import ColumnStats, Pair, as_matrix, as_pair, same_index
from mist.stats import normal_scores
from mist.stats.conditional import conditional_core

if TYPE_CHECKING:
    from mist.inference.estimator import MIEstimator

__all__ = ["SPREAD_SCALE", "as_triple", "estimate_conditional"]

# factor on the two terms' combined spread: the 0.9 quantile of |error| / spread on the calibration
# cases with CMI > 0 (`python scripts/benchmark_conditional.py --calibrate`: seed 1, n 500 and 2,000, 64 cases)
SPREAD_SCALE = 0.36


def as_triple(x, y, z) -> tuple[Pair, np.ndarray, tuple[str, ...]]:
    """Validate x, y and a conditioning set z: the pair, z as float64 (n, dz), z's column labels.

    Raises:
        ValueError: as `mist.inputs.as_pair`; z with another n, NaN or infinite values, or a
            column of z equal to a column of x or y (conditioning on X itself).
    """
    for other, name in ((x, "x"), (y, "y")):
        try:
            same_index(other, z)
        except ValueError as e:
            raise ValueError(str(e).replace("x and y", f"{name} and z", 1)) from None
    pair = as_pair(x, y)
    zm, labels = as_matrix(z, "z")
    if zm.shape[0] != pair.n:
        raise ValueError(f"z has {zm.shape[0]} samples but x and y have {pair.n}; z must be paired with them row by row")
    for side, m, side_labels in (("x", pair.x, pair.x_labels), ("y", pair.y, pair.y_labels)):
        for j in range(zm.shape[1]):
            same = np.flatnonzero((m == zm[:, j : j + 1]).all(axis=0))
            if same.size:
                raise ValueError(
                    f"{labels[j]} is the same as {side_labels[same[0]]}: given {side.upper()} itself, nothing is left "
                    f"to share, so I(X;Y|Z) would be 0 trivially; leave that column out of z"
                )
    return pair, zm, tuple(labels)


Side = tuple[np.ndarray, ColumnStats, tuple[str, ...]]  # columns, their ranks and ties, their labels


def _joined(x: list[Side], y: list[Side]) -> Pair:
    """The pair of the columns of `x` against those of `y`, with their ranks already known."""
    def cat(parts: list[Side]) -> Side:
        stats = ColumnStats(np.hstack([s.ranks for _, s, _ in parts]), np.concatenate([s.distinct for _, s, _ in parts]),
                            np.concatenate([s.top for _, s, _ in parts]))
        return np.hstack([m for m, _, _ in parts]), stats, tuple(lab for _, _, labels in parts for lab in labels)

    (a, sa, la), (b, sb, lb) = cat(x), cat(y)
    return Pair.with_stats(a, b, la, lb, sa, sb)


def _offsets(joint: EstimateResult, marginal: EstimateResult, levels: Sequence[float]) -> dict[float, float]:
    """Signed distance of each quantile of the difference joint - marginal from its median.

    Level k of the difference pairs level k of the joint term with the mirrored level of the
    conditioning term (its 0.95 quantile with the joint term's 0.05), in quadrature.
    """
    levels = sorted(levels)
    out = {}
    for k, lvl in enumerate(levels):
        mirror = levels[len(levels) - 1 - k]
        spread = math.hypot(joint.quantiles[lvl] - joint.mi, marginal.quantiles[mirror] - marginal.mi)
        out[lvl] = 0.0 if lvl == 0.5 else math.copysign(spread, lvl - 0.5)
    return out


def estimate_conditional(estimator: MIEstimator, x, y, z, *, units: str = "nats") -> EstimateResult:
    """I(X;Y|Z) in `units` with its interval (see the module docstring).

    Arguments:
        estimator: the MI estimator both terms are read with.
        x, y, z: samples of X, Y and the conditioning set Z, paired row by row; any container
            `mist.estimate` accepts.
        units: "nats" or "bits".

    Returns:
        An EstimateResult with `dz` = Z's columns; `diagnostics` holds `core_mi` (the chain rule
        over the classical core), `terms` (each term's median) and `method`.
    """
    pair, zm, z_labels = as_triple(x, y, z)
    # each column is ranked once; the network's terms and the core reuse the ranks
    sx, sy, sz = (pair.x, pair.x_stats, pair.x_labels), (pair.y, pair.y_stats, pair.y_labels), (zm, ColumnStats.of(zm), z_labels)
    lead, other, names = (sx, sy, ("I(X; Y,Z)", "I(X; Z)")) if pair.dx <= pair.dy else (sy, sx, ("I(Y; X,Z)", "I(Y; Z)"))
    read: list = []
    results = estimator.estimate_pairs([_joined([lead], [other, sz]), _joined([lead], [sz])], units=units, issue=False,
                                       summaries=read)
    scale = UNITS[units]
    # the core reads X against (Y, Z); where X leads, the first term's fit is the core's joint fit, on the
    # same scores, when the network read them unchanged
    scores = normal_scores(np.hstack([pair.x, pair.y, zm]), ranks=np.hstack([sx[1].ranks, sy[1].ranks, sz[1].ranks]))
    known = read[0].fit if lead is sx and read[0] is not None and np.array_equal(read[0].scores, scores) else None
    core = conditional_core(scores, pair.dx, pair.dy, raw=(pair.x, pair.y), fit=known)
    point = core.cmi / scale
    offsets = _offsets(results[0], results[1], estimator.levels)
    q = {lvl: max(point + SPREAD_SCALE * off, 0.0) for lvl, off in offsets.items()}
    chain = max(results[0].mi - results[1].mi, 0.0)  # a negative difference reads as 0
    warnings = []
    if chain - point > q[max(q)] - point or point - chain > point - q[min(q)]:
        # the network reads the two MI terms' difference elsewhere: structure the core cannot see, or
        # a misread term; the interval takes in both readings
        q = {lvl: (min(v, chain) if lvl < 0.5 else max(v, chain) if lvl > 0.5 else v) for lvl, v in q.items()}
        warnings.append(
            f"the elliptical core reads I(X;Y|Z) = {point:.3g} {units} and the chain rule over the network "
            f"{chain:.3g}: they disagree by more than the interval's half-width, so the dependence is likely "
            "not elliptical (the core is blind to it) or one of the network's terms is misread; the interval covers both"
        )
    for r, what in zip(results, names):
        warnings += [f"{what}: {w}" for w in r.warnings if f"{what}: {w}" not in warnings]
    return EstimateResult(
        mi=point, lower=q[min(q)], upper=q[max(q)], quantiles=q, units=units, n=pair.n, dx=pair.dx, dy=pair.dy,
        diagnostics={
            "method": ("elliptical core of I(X;Y|Z) (one copula)" if core.weight == 0 else
                       "elliptical core of I(X;Y|Z), moved to the additive-noise residuals given Z (nonlinear in Z)")
                      + "; interval from the network's terms",
            "core_mi": point,
            "copula_cmi": core.copula_cmi / scale,
            "residual_cmi": None if core.residual_cmi is None else core.residual_cmi / scale,
            "nonlinear_gain": core.gain,
            "residual_weight": core.weight,
            "core_nu": None if math.isinf(core.nu) else core.nu,
            "network_chain": chain,
            "terms": {name.replace(" ", "").replace(",", ""): r.mi for name, r in zip(names, results)},
            "spread": {"lower": -offsets[min(offsets)], "upper": offsets[max(offsets)]},  # before SPREAD_SCALE
        },
        warnings=warnings, dz=int(zm.shape[1]),
    )
