"""Regression on a conditioning set Z: does a smooth fit beat a linear one, and additive-noise residuals.

The elliptical core of I(X;Y|Z) partials Z out linearly (in copula scores). Where X or Y depends
on Z through a nonlinear map, linear partialling leaves part of that dependence in both residuals
and the core reads it as conditional dependence: 0.02-0.05 nats on a nonlinear Markov chain whose
CMI is 0, most of the CMI missed where Z shifts X and Y nonlinearly. Under an additive-noise
model, X = f(Z) + E_x and Y = g(Z) + E_y with (E_x, E_y) independent of Z,

    I(X; Y | Z) = I(E_x; E_y),

so the residuals of a good regression on Z carry the CMI. `smooth_gain` says whether the
dependence on Z is nonlinear at all (where it is linear in the scores the core is right, and
exact under monotone maps of each column, which residuals in the data's units are not);
`additive_residuals` gives the residuals.

Both regressions are out of sample (leave-one-out ridge, nearest neighbours other than the row
itself), so a flexible fit cannot explain away a row's own noise.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["Neighbours", "smooth_gain", "additive_residuals", "neighbours"]

# rows per polynomial feature below which the cubic (then the quadratic) fit is not tried
_ROWS_PER_FEATURE = 5
_RIDGE = 1e-3  # ridge penalty per row, on standardised features


class Neighbours:
    """The k nearest rows of each row in Z's scores, the row itself left out."""

    def __init__(self, sz: np.ndarray, k: int):
        self.k = int(k)
        _, idx = cKDTree(sz).query(sz, k=self.k + 1)  # one thread: starting more costs more than they save here
        self.idx = idx[:, 1:]

    def smooth(self, t: np.ndarray) -> np.ndarray:
        """The mean of each column of `t` over each row's neighbours (memory O(n d), not O(n k d))."""
        total = np.zeros_like(t, dtype=np.float64)
        for j in range(self.k):
            total += t[self.idx[:, j]]
        return total / self.k


def neighbours(sz: np.ndarray) -> Neighbours:
    """Nearest neighbours in Z with k = max(10, sqrt(n) / 2): wide enough to average the noise
    out, narrow enough to follow a map that turns within Z's range."""
    n = sz.shape[0]
    return Neighbours(sz, min(n - 1, max(10, round(math.sqrt(n) / 2))))


def _design(sz: np.ndarray, degree: int) -> np.ndarray:
    cols = [np.ones(len(sz))]
    for d in range(1, degree + 1):
        cols += [np.prod(sz[:, list(c)], axis=1) for c in itertools.combinations_with_replacement(range(sz.shape[1]), d)]
    return np.stack(cols, axis=1)


def _loo_ridge(t: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Leave-one-out residuals of a ridge fit of each column of t on the columns of a."""
    n = len(a)
    gram = a.T @ a + _RIDGE * n * np.eye(a.shape[1])
    gram[0, 0] -= _RIDGE * n  # the intercept is not penalised
    inv = np.linalg.pinv(gram)
    leverage = np.einsum("ij,jk,ik->i", a, inv, a)
    return (t - a @ (inv @ (a.T @ t))) / np.maximum(1.0 - leverage, 1e-6)[:, None]


def _degrees(n: int, dz: int) -> list[int]:
    """Polynomial degrees 1-3 whose fits have at least `_ROWS_PER_FEATURE` rows per feature."""
    return [d for d in (1, 2, 3) if math.comb(dz + d, d) * _ROWS_PER_FEATURE <= n] or [1]


def smooth_gain(sx: np.ndarray, sy: np.ndarray, sz: np.ndarray, near: Neighbours) -> float:
    """How much of what a linear fit on Z leaves in any column of X or Y a neighbour average explains.

    All arguments are copula scores. Per column: 1 - var(r - smooth(r)) / var(r) + 1/k for the
    linear fit's leave-one-out residual r; about 0 (within a few hundredths) when the column's
    mean given Z is linear in the scores, since smoothing pure noise only adds 1/k of its
    variance. The largest over the columns of X and Y.
    """
    linear = _loo_ridge(np.hstack([sx, sy]), _design(sz, 1))
    left = linear - near.smooth(linear)
    var = np.maximum(linear.var(axis=0), 1e-300)
    return float(np.max(1.0 - left.var(axis=0) / var + 1.0 / near.k))


def additive_residuals(x: np.ndarray, y: np.ndarray, sz: np.ndarray, near: Neighbours) -> tuple[np.ndarray, np.ndarray]:
    """Residuals of X and Y (each column standardised, in the data's own units) given Z's scores.

    Per column, the best out of sample of: a neighbour average alone, or a polynomial ridge fit
    (degree 1-3 where n allows, leave-one-out) followed by a neighbour average of what it
    leaves. The polynomial follows smooth maps across Z's range, the neighbours what it misses
    locally; where a polynomial bends badly in the tails, the neighbours alone win.
    """
    t = np.hstack([x, y])
    t = (t - t.mean(axis=0)) / np.maximum(t.std(axis=0), 1e-300)
    best = t - near.smooth(t)
    for degree in _degrees(len(sz), sz.shape[1]):
        r = _loo_ridge(t, _design(sz, degree))
        r = r - near.smooth(r)
        better = r.var(axis=0) < best.var(axis=0)
        best[:, better] = r[:, better]
    return best[:, : x.shape[1]], best[:, x.shape[1]:]
