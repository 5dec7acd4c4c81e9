"""Sides with few distinct values: which estimator is right for them, and ties in the rest.

The network was trained on continuous data. A side whose rows take few distinct values (binary
or ordinal codes, a class label passed as a number) has an MI bounded by its entropy, and the
right estimators are discrete ones:

- both sides discrete: the bias-corrected plug-in of their table (`mist.discrete.tables`);
- one side discrete: the class-label path (`mist.discrete.estimate`), with that side's distinct
  rows as the classes (MI is symmetric, so either side may be the labels).

A side counts as discrete when every column has heavy ties and its distinct rows number at most
`max_levels(n)`: few enough that each holds about MIN_PER_LEVEL rows on average.

Columns with heavy ties in any other side (rounded measurements, ReLU zeros, many-valued codes)
stay with the network, with their ties broken at random: a tied value replaced by a random
rank inside its block is an invertible map of (value, independent noise), so I(X;Y) is exactly
unchanged, and the sample becomes continuous, as the network was trained on. Average ranks
instead give every tied row the same score: a spike the network has never seen (independent
rounded normals read 0.3 nats with it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from mist.discrete.estimate import estimate_labels
from mist.discrete.labels import MIN_PER_CLASS, Labels
from mist.discrete.tables import table_mi
from mist.result import EstimateResult
from mist.inputs import TIE_SHARE, ColumnStats, Pair

__all__ = ["MAX_LEVELS", "MIN_PER_LEVEL", "TIE_SEED", "break_ties", "estimate_discrete_sides", "heavily_tied", "max_levels",
           "side_codes"]

MAX_LEVELS = 256  # the most distinct rows a discrete side may have
MIN_PER_LEVEL = 10  # ... and at least this many rows per distinct row on average
TIE_SEED = 0  # ties are broken by a seeded generator: the same data give the same answer


def max_levels(n: int) -> int:
    """The most distinct rows of a side that is estimated as discrete, at n rows."""
    return min(MAX_LEVELS, n // MIN_PER_LEVEL)


def heavily_tied(stats: ColumnStats, n: int) -> np.ndarray:
    """Per column: its most frequent value holds at least TIE_SHARE of the rows (and at least 3)."""
    return stats.top >= max(3, TIE_SHARE * n)


def side_codes(m: np.ndarray, stats: ColumnStats) -> np.ndarray | None:
    """The code of each row's distinct value when the side is discrete (see the module), else None."""
    n = m.shape[0]
    if not heavily_tied(stats, n).all():
        return None
    _, codes = np.unique(m, axis=0, return_inverse=True)
    codes = codes.reshape(-1).astype(np.int64)
    return codes if codes.max() + 1 <= max_levels(n) else None


def _tie_broken_ranks(ranks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ranks 0..n-1: the average ranks' order, ties in a random order."""
    order = np.lexsort((rng.random(ranks.size), ranks))
    out = np.empty(ranks.size)
    out[order] = np.arange(ranks.size, dtype=np.float64)
    return out


def break_ties(pair: Pair) -> tuple[Pair, list[str]]:
    """The pair with each heavily tied column replaced by its ranks with ties broken at random.

    Returns:
        (the pair, the labels of the columns whose ties were broken); the pair itself when none.
    """
    rng = np.random.default_rng(TIE_SEED)
    sides, broken = [], []
    for m, labels, stats in ((pair.x, pair.x_labels, pair.x_stats), (pair.y, pair.y_labels, pair.y_stats)):
        tied = heavily_tied(stats, pair.n) & (stats.distinct > 1)
        if not tied.any():
            sides.append((m, stats))
            continue
        m, ranks = m.copy(), stats.ranks.copy()
        for j in np.flatnonzero(tied):
            ranks[:, j] = _tie_broken_ranks(stats.ranks[:, j], rng)
            m[:, j] = ranks[:, j]
            broken.append(labels[j])
        distinct = np.where(tied, pair.n, stats.distinct)
        top = np.where(tied, 1, stats.top)
        sides.append((np.ascontiguousarray(m), ColumnStats(ranks, distinct, top)))
    if not broken:
        return pair, []
    return Pair.with_stats(sides[0][0], sides[1][0], pair.x_labels, pair.y_labels,
                           sides[0][1], sides[1][1]), broken


def estimate_discrete_sides(pair: Pair, levels: Sequence[float], units: str, scale: float) -> EstimateResult | None:
    """The estimate of a pair with at least one discrete side, or None when neither side is.

    Arguments:
        pair: a validated pair without constant columns.
        levels: the quantile levels of the result (those of the table estimate; the class-label
            path has its own).
        units, scale: the result's units and nats per unit.

    Returns:
        An EstimateResult whose `diagnostics["method"]` names the estimator, or None.
    """
    cx, cy = side_codes(pair.x, pair.x_stats), side_codes(pair.y, pair.y_stats)
    if cx is None and cy is None:
        return None
    if cx is not None and cy is not None:
        t = table_mi(cx, cy, levels)
        q = {lvl: v / scale for lvl, v in t.quantiles.items()}
        kx, ky = int(cx.max()) + 1, int(cy.max()) + 1
        return EstimateResult(
            mi=t.mi / scale, lower=q[min(q)], upper=q[max(q)], quantiles=q, units=units, n=pair.n, dx=pair.dx, dy=pair.dy,
            diagnostics={"method": "discrete: Grassberger MI of the table, less its mean over shuffled tables",
                         "levels": {"x": kx, "y": ky}, "raw": t.raw / scale, "bias": t.bias / scale,
                         "entropy_bound": t.ceiling / scale},
            warnings=[f"x takes {kx} and y {ky} distinct values: estimated from their {kx} x {ky} table (discrete "
                      "data), not by the network; the MI is at most the smaller side's entropy"],
        )
    codes, other, labelled = (cx, pair.y, "x") if cx is not None else (cy, pair.x, "y")
    counts = np.bincount(codes)
    if counts.min() < MIN_PER_CLASS:  # a value seen once has no neighbour of its own: the network's path
        return None
    r = estimate_labels(other, Labels(codes, np.arange(counts.size), counts), units=units, scale_units=scale)
    return dataclasses.replace(
        r, dx=pair.dx, dy=pair.dy,
        diagnostics={**r.diagnostics, "method": f"discrete {labelled}: {r.diagnostics['method']}", "levels": {labelled: counts.size}},
        warnings=[f"{labelled} takes {counts.size} distinct values: estimated as class labels of the other side "
                  "(discrete data; as y_discrete=True), not by the network; the MI is at most its entropy", *r.warnings],
    )
