"""The mixed continuous-discrete nearest-neighbour estimator of I(T;Y) (Ross 2014), per sample.

For sample i of class y_i: d_i is the distance to its k-th nearest neighbour among the other
samples of the same class, m_i the number of samples of any class (itself excluded) within d_i,
N_{y_i} the size of its class. Then

    I(T;Y) ~ psi(n) + psi(k) - mean_i psi(N_{y_i}) - mean_i psi(m_i),

and each sample contributes one term, whose spread gives a standard error.

References:
    Ross, Mutual information between discrete and continuous data sets, PLoS ONE 9 (2014) e87357.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

__all__ = ["mixed_ksg", "mixed_ksg_terms"]


_TREE_DIMS = 8  # KD-trees above this many dimensions are slower than blocked brute force
_BLOCK = 512  # rows per block of the brute-force distance matrix


def _count_within(t: np.ndarray, radius: np.ndarray, p: float) -> np.ndarray:
    """For each row i, the number of other rows within distance radius[i] (brute force, in blocks)."""
    out = np.empty(t.shape[0], dtype=np.int64)
    sq = (t * t).sum(axis=1)
    for s in range(0, t.shape[0], _BLOCK):
        b = t[s : s + _BLOCK]
        if p == 2:
            dist = np.sqrt(np.maximum(sq[s : s + _BLOCK, None] - 2.0 * b @ t.T + sq[None], 0.0))
        else:
            dist = np.zeros((b.shape[0], t.shape[0]))
            for j in range(t.shape[1]):  # one column at a time: no (block, n, d) array
                diff = np.abs(b[:, j, None] - t[None, :, j])
                dist = np.maximum(dist, diff) if p == np.inf else dist + diff**p
            if p != np.inf:
                dist = dist ** (1.0 / p)
        out[s : s + _BLOCK] = (dist <= radius[s : s + _BLOCK, None]).sum(axis=1) - 1
    return out


def mixed_ksg_terms(t: np.ndarray, codes: np.ndarray, k: int = 3, p: float = 2.0) -> np.ndarray:
    """Per-sample terms of the Ross estimator; their mean is the estimate in nats.

    Arguments:
        t: samples of T, float64, shape (n, d), no duplicate rows within a class.
        codes: class of each sample, int, shape (n,), values 0..K-1, every class at least 2 samples.
        k: neighbours within the class (lowered to N_y - 1 for classes smaller than k + 1).
        p: the Minkowski norm (2: Euclidean; inf: max-norm, as scikit-learn).

    Returns:
        Terms, shape (n,): psi(n) + psi(k_i) - psi(N_{y_i}) - psi(m_i).
    """
    n = t.shape[0]
    counts = np.bincount(codes)
    radius = np.empty(n)
    kk = np.empty(n, dtype=np.int64)
    for c in np.flatnonzero(counts):
        idx = np.flatnonzero(codes == c)
        kc = int(min(k, idx.size - 1))
        dist, _ = cKDTree(t[idx]).query(t[idx], k=kc + 1, p=p)
        radius[idx] = dist[:, kc]
        kk[idx] = kc
    radius = radius * (1.0 + 1e-9)  # so that rounding never drops the k-th neighbour itself (Ross counts it)
    if t.shape[1] <= _TREE_DIMS:
        m = np.asarray(cKDTree(t).query_ball_point(t, radius, p=p, return_length=True), dtype=np.int64) - 1
    else:
        m = _count_within(t, radius, p)
    m = np.maximum(m, kk)
    return digamma(n) + digamma(kk) - digamma(counts[codes]) - digamma(m)


def mixed_ksg(t: np.ndarray, codes: np.ndarray, k: int = 3, p: float = 2.0) -> float:
    """The Ross estimate of I(T;Y) in nats (see `mixed_ksg_terms`)."""
    return float(mixed_ksg_terms(t, codes, k, p).mean())
