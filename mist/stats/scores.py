"""The empirical Gaussian copula: every column replaced by the normal scores of its ranks."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

__all__ = ["average_ranks", "ranks_and_ties", "normal_scores", "subset_rows"]


def _ranks_by_column(a: np.ndarray, runs: bool = False):
    """(0-based average ranks, shape (d, n), float64; whether any column has ties), and with
    `runs` also (distinct values per column, the longest run of one value per column)."""
    at = np.ascontiguousarray(np.asarray(a).T)  # sorting contiguous rows is several times faster
    d, n = at.shape
    order = np.argsort(at, axis=1)  # ties are averaged below, so the sort need not be stable
    s = np.take_along_axis(at, order, axis=1)
    new = np.ones((d, n), dtype=bool)
    np.not_equal(s[:, 1:], s[:, :-1], out=new[:, 1:])
    ranks = np.empty((d, n))
    if new.all():  # no ties: the position in the sorted order is the rank
        ranks[np.arange(d)[:, None], order] = np.arange(n, dtype=np.float64)
        return (ranks, False, np.full(d, n), np.ones(d, np.intp)) if runs else (ranks, False)
    for j in range(d):
        starts = np.flatnonzero(new[j])
        counts = np.diff(np.append(starts, n))
        ranks[j, order[j]] = (starts + (counts - 1) / 2.0)[np.cumsum(new[j]) - 1]
    if not runs:
        return ranks, True
    starts = np.flatnonzero(new.ravel())  # run starts over all columns; a run ends at the next start or its row's end
    row = starts // n
    lengths = np.minimum(np.append(starts[1:], d * n), (row + 1) * n) - starts
    top = np.zeros(d, np.intp)
    np.maximum.at(top, row, lengths)
    return ranks, True, np.bincount(row, minlength=d), top


def average_ranks(a: np.ndarray) -> np.ndarray:
    """0-based ranks of every column; tied values share the mean of their ranks.

    Arguments:
        a: samples, shape (n, d).

    Returns:
        float64 ranks, shape (n, d).
    """
    return _ranks_by_column(a)[0].T


def ranks_and_ties(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Average ranks (n, d) as `average_ranks`, distinct values per column (d,) and the count of
    the most frequent value per column (d,), from one sort per column."""
    ranks, _, distinct, top = _ranks_by_column(a, runs=True)
    return ranks.T, distinct, top


def _scores_of_ranks(r: np.ndarray, n: int) -> np.ndarray:
    # evaluated on the lower half and mirrored, so reversed ranks give exactly negated scores
    p = (np.minimum(r, n - 1 - r) + 1.0) / (n + 1.0)
    return np.where(r <= (n - 1) / 2.0, 1.0, -1.0) * ndtri(p)


def normal_scores(a: np.ndarray, ranks: np.ndarray | None = None) -> np.ndarray:
    """Normal scores Phi^-1((rank + 1) / (n + 1)) of every column (ties: average ranks).

    A strictly increasing map of a column leaves its scores unchanged and a strictly decreasing
    one negates them exactly, so everything computed from the scores is blind to monotone maps.

    Arguments:
        a: samples, shape (n, d).
        ranks: the average ranks of `a` when already known.

    Returns:
        float64 scores, shape (n, d).

    Example:
        >>> normal_scores(np.array([[10.0], [-3.0], [7.0]])).round(2).ravel().tolist()
        [0.67, -0.67, 0.0]
    """
    n = np.shape(a)[0]
    if ranks is not None:  # average ranks are multiples of 1/2: a table of 2n - 1 scores, then a gather
        table = _scores_of_ranks(np.arange(2 * n - 1, dtype=np.float64) / 2.0, n)
        return table[np.rint(2.0 * np.asarray(ranks)).astype(np.intp)]
    r, ties = _ranks_by_column(a)
    if ties:
        return _scores_of_ranks(r, n).T
    table = _scores_of_ranks(np.arange(n, dtype=np.float64), n)  # no ties: n quantiles, then a gather
    return table[r.astype(np.intp)].T


def subset_rows(z: np.ndarray, m: int) -> np.ndarray:
    """Indices of m rows of normal scores z (n, d) chosen by a pseudo-random rule of the data alone.

    Each row's key is the fractional part of 1e4 x its squared norm, which does not change when
    rows or coordinates are permuted, X and Y are swapped, or columns are flipped by decreasing
    maps; the m rows with the smallest keys are taken. So every statistic computed on the subset
    keeps the estimator's invariances exactly, at any n. All rows when m >= n.

    Returns:
        Sorted row indices, shape (min(n, m),).
    """
    n = z.shape[0]
    if m >= n:
        return np.arange(n)
    key = np.modf(1e4 * np.einsum("ij,ij->i", z, z))[0]
    # the m smallest keys, ties broken by key then position: argpartition is O(n)
    part = np.argpartition(key, m - 1)[:m]
    cut = key[part].max()
    below = np.flatnonzero(key < cut)
    at = np.flatnonzero(key == cut)[: m - below.size]  # equal keys (repeated rows): the first ones
    return np.sort(np.concatenate([below, at]))
