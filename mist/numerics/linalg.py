"""Linear algebra on correlation matrices and samples, shared by the core, the baselines and the callbacks.

Correlations and their canonical pairs, the nearest correlation matrix with a floor on its
eigenvalues, whitening, standardising, and principal-component scores. numpy only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_RHO", "correlation", "nearest_correlation", "canonical_correlations_of", "canonical_pairs", "whitener",
           "whitening_matrix", "standardize", "pca_scores"]

MAX_RHO = 1.0 - 1e-10  # canonical correlations are clamped below 1 (11.2 nats per pair)


def correlation(z: np.ndarray) -> np.ndarray:
    """Correlation matrix of centred scores z (n, d), shape (d, d); a constant column gets zeros."""
    c = z.T @ z / z.shape[0]
    s = 1.0 / np.sqrt(np.clip(np.diag(c), 1e-300, None))
    return c * s[:, None] * s[None, :]


def nearest_correlation(r: np.ndarray, floor: float = 1e-4) -> np.ndarray:
    """Clip the eigenvalues of a symmetric matrix at `floor` and rescale to unit diagonal."""
    w, v = np.linalg.eigh(0.5 * (r + r.T))
    if w.min() >= floor:
        return r
    c = (v * np.maximum(w, floor)) @ v.T
    s = 1.0 / np.sqrt(np.diag(c))
    return c * s[:, None] * s[None, :]


def canonical_correlations_of(r: np.ndarray, dx: int) -> np.ndarray:
    """Canonical correlations of a positive-definite correlation matrix r split at dx, descending
    (`mist.baselines.canonical_correlations` reads them from samples instead)."""
    lx = np.linalg.cholesky(r[:dx, :dx])
    ly = np.linalg.cholesky(r[dx:, dx:])
    m = np.linalg.solve(lx, np.linalg.solve(ly, r[:dx, dx:].T).T)
    return np.clip(np.linalg.svd(m, compute_uv=False), 0.0, MAX_RHO)


def canonical_pairs(r: np.ndarray, dx: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Rxx^1/2 U, canonical rho, Ryy^1/2 V) of a positive-definite correlation matrix, so that
    R's cross block is (Rxx^1/2 U) diag(rho) (Ryy^1/2 V)^T: the columns are each side's
    correlations with its canonical variates."""
    def roots(a):
        w, v = np.linalg.eigh(a)
        w = np.maximum(w, 1e-300)
        return (v * np.sqrt(w)) @ v.T, (v / np.sqrt(w)) @ v.T
    hx, ihx = roots(r[:dx, :dx])
    hy, ihy = roots(r[dx:, dx:])
    u, rho, vt = np.linalg.svd(ihx @ r[:dx, dx:] @ ihy, full_matrices=False)
    return hx @ u, np.clip(rho, 0.0, MAX_RHO), hy @ vt.T


def whitener(r: np.ndarray) -> np.ndarray:
    """W with W^T W = R^-1 (the transposed inverse Cholesky factor), so |x W|^2 = x^T R^-1 x."""
    return np.linalg.inv(np.linalg.cholesky(r)).T


def whitening_matrix(c: np.ndarray, rel_floor: float) -> np.ndarray:
    """W = V diag(w)^-1/2 of a symmetric covariance c = V diag(w) V^T, its eigenvalues floored at
    rel_floor times the largest, so that x W has identity covariance."""
    w, v = np.linalg.eigh(c)
    w = np.maximum(w, rel_floor * max(w.max(), 1e-12))
    return v / np.sqrt(w)


def standardize(a: np.ndarray) -> np.ndarray:
    """Columns centred and scaled to unit variance (constant columns become 0)."""
    a = a - a.mean(axis=0)
    sd = a.std(axis=0)
    return a / np.where(sd > 0, sd, 1.0)


def pca_scores(a: np.ndarray, k: int) -> np.ndarray:
    """The first k principal-component scores of a (n, d): the centred rows on the leading right
    singular vectors. a itself when d <= k."""
    if a.shape[1] <= k:
        return a
    centred = a - a.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:k].T
