"""The empirical Gaussian copula: every column replaced by the normal scores of its ranks."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

__all__ = ["average_ranks", "normal_scores", "subset_rows"]


def average_ranks(a: np.ndarray) -> np.ndarray:
    """0-based ranks of every column; tied values share the mean of their ranks.

    Arguments:
        a: samples, shape (n, d).

    Returns:
        float64 ranks, shape (n, d).
    """
    n, d = a.shape
    order = np.argsort(a, axis=0, kind="stable")
    s = np.take_along_axis(a, order, axis=0)
    new = np.ones((n, d), dtype=bool)
    np.not_equal(s[1:], s[:-1], out=new[1:])
    if new.all():  # no ties: the position in the sorted order is the rank
        ranks = np.empty((n, d))
        np.put_along_axis(ranks, order, np.arange(n, dtype=np.float64)[:, None], axis=0)
        return ranks
    ranks = np.empty((n, d))
    for j in range(d):
        starts = np.flatnonzero(new[:, j])
        counts = np.diff(np.append(starts, n))
        ranks[order[:, j], j] = (starts + (counts - 1) / 2.0)[np.cumsum(new[:, j]) - 1]
    return ranks


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
    n = a.shape[0]
    r = average_ranks(np.asarray(a)) if ranks is None else ranks
    # evaluated on the lower half and mirrored, so reversed ranks give exactly negated scores
    p = (np.minimum(r, n - 1 - r) + 1.0) / (n + 1.0)
    return np.where(r <= (n - 1) / 2.0, 1.0, -1.0) * ndtri(p)


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
    return np.sort(np.argsort(key, kind="stable")[:m])
