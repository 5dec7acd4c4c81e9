"""Cross-fitted PCA: high-dimensional X or Y reduced to what the estimator was trained on.

By the data-processing inequality I(f(X); g(Y)) <= I(X;Y) for any maps f, g fixed before the
data they are applied to are seen. So each side above `max_dim` columns is projected on its
leading principal components fitted on one half of the rows and applied to the other half, in
both directions (cross-fitting): two reduced sample sets of n/2 rows each, whose MI estimates
are averaged. The result estimates a lower bound: tight when the dependence lives in directions
of high variance (embeddings whose signal dominates their noise), loose when it hides in
low-variance directions (then no method sees it at this n without knowing where to look).

The number of components kept per side is the count of eigenvalues above the Marchenko-Pastur
edge of isotropic noise, sigma^2 (1 + sqrt(d / m))^2 with sigma^2 the mean of the remaining
eigenvalues, at least 1 and at most `max_dim`: components at noise level carry nothing but
estimation error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mist.numerics.linalg import standardize
from mist.stats.scores import subset_rows

__all__ = ["MAX_FULL_DIMS", "Reduction", "needs_reduction", "reduce_pair"]

MAX_FULL_DIMS = 256  # above this many columns in all (or n / 10), the core is not run on all of them
_OVERSAMPLE = 8  # extra directions of the randomized range finder
_POWER_ITERATIONS = 3
_EDGE_MARGIN = 1.2  # a kept component's eigenvalue exceeds the noise edge by this factor


@dataclass(frozen=True)
class Reduction:
    """What `reduce_pair` did.

    Attributes:
        method: a short description, for results and reports.
        x_dims, y_dims: (columns before, columns after) for each side.
        halves: rows in each of the two cross-fitted halves.
    """

    method: str
    x_dims: tuple[int, int]
    y_dims: tuple[int, int]
    halves: tuple[int, int]

    def to_dict(self) -> dict:
        return {"method": self.method, "x_dims": list(self.x_dims), "y_dims": list(self.y_dims),
                "halves": list(self.halves), "lower_bound": True}


def needs_reduction(n: int, dx: int, dy: int, max_dim: int) -> bool:
    """True when a side exceeds `max_dim` and the two sides together are too many columns for
    the classical core on all of them (more than MAX_FULL_DIMS, or more than n / 10)."""
    return (dx > max_dim or dy > max_dim) and dx + dy > min(MAX_FULL_DIMS, n // 10)


def reduce_pair(x: np.ndarray, y: np.ndarray, max_dim: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], Reduction]:
    """Two cross-fitted reduced sample sets of (x, y), and what was done.

    Arguments:
        x, y: paired samples, shapes (n, dx) and (n, dy), n >= 4.
        max_dim: the most columns a side may keep; a side with at most this many is kept whole.

    Returns:
        ([(x_b, y_b) reduced with maps fitted on half a, (x_a, y_a) with maps fitted on b],
        the Reduction). The halves are chosen by a rule of the data, so the result does not
        depend on the order of the rows.
    """
    n = x.shape[0]
    xs, ys = standardize(x), standardize(y)
    first = np.zeros(n, bool)
    first[subset_rows(np.concatenate([xs, ys], axis=1), n // 2)] = True
    halves = (np.flatnonzero(first), np.flatnonzero(~first))
    fits = []  # per half: (directions, count) per side, or None for a side kept whole
    for fit in halves:
        fits.append(tuple(_components(s[fit], max_dim) if s.shape[1] > max_dim else None for s in (xs, ys)))
    # both halves keep the same number of components, so that the two sets are estimated alike
    keep = [max(f[side][1] for f in fits) if fits[0][side] else None for side in (0, 1)]
    out = []
    for (fx, fy), apply in zip(fits, halves[::-1]):
        out.append((
            xs[apply] @ fx[0][:, : keep[0]] if fx else x[apply],
            ys[apply] @ fy[0][:, : keep[1]] if fy else y[apply],
        ))
    kx, ky = out[0][0].shape[1], out[0][1].shape[1]
    reduction = Reduction(
        method=f"PCA per side above {max_dim} columns (Marchenko-Pastur component count), cross-fitted on two halves",
        x_dims=(x.shape[1], kx),
        y_dims=(y.shape[1], ky),
        halves=(len(halves[0]), len(halves[1])),
    )
    return out, reduction


def _components(a: np.ndarray, max_dim: int) -> tuple[np.ndarray, int]:
    """Leading principal directions of standardized rows a (m, d), shape (d, max_dim) by
    decreasing variance, and how many of them clear the noise edge (1 to max_dim).

    A randomized range finder with power iterations (Halko, Martinsson and Tropp, 2011): O(m d k).
    """
    m, d = a.shape
    width = min(d, max_dim + _OVERSAMPLE)
    rng = np.random.default_rng(0)  # a fixed sketch: the same data, the same answer
    q = np.linalg.qr(a.T @ (a @ rng.standard_normal((d, width))))[0]
    for _ in range(_POWER_ITERATIONS):
        q = np.linalg.qr(a.T @ (a @ q))[0]
    _, s, vt = np.linalg.svd(a @ q, full_matrices=False)
    directions = (q @ vt.T)[:, :max_dim]
    eig = s**2 / max(m - 1, 1)
    total = float(d)  # the trace of the correlation matrix
    for k in range(min(max_dim, len(eig)) - 1, -1, -1):  # the largest k whose k-th eigenvalue clears the edge
        noise = max(total - float(eig[: k + 1].sum()), 1e-12) / max(d - k - 1, 1)
        if eig[k] > _EDGE_MARGIN * noise * (1.0 + math.sqrt(d / m)) ** 2:
            return directions, k + 1
    return directions, 1
