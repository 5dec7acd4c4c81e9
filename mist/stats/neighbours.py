"""Nearest-neighbour evidence at every dimension: KSG mutual information and intrinsic dimension.

Both run on a bounded subset of rows (`NEIGHBOUR_ROWS`, chosen by a rule of the data), so their
cost does not grow with n, and on copula scores, so they keep the estimator's invariance to
monotone maps of columns. They adapt to the intrinsic dimension of the data, which the elliptical
core cannot: a side that is a smooth function of a few latent dimensions (embeddings,
activations) has a nearly singular correlation matrix, and the Gaussian term reads the nonlinear
residue as signal, while KSG reads the MI of the latents. Clusters, shells and periodic
dependence leave the correlation near zero, and KSG sees them too.

References:
    Kraskov, Stögbauer & Grassberger, "Estimating mutual information", Phys. Rev. E 69 (2004).
    Facco, d'Errico, Rodriguez & Laio, "Estimating the intrinsic dimension of datasets by a
    minimal neighborhood information", Scientific Reports 7 (2017) (TwoNN).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist
from scipy.special import digamma

from mist.stats.scores import subset_rows

__all__ = ["NEIGHBOUR_ROWS", "NEIGHBOUR_K", "NeighbourEvidence", "neighbour_evidence", "ksg_on_rows", "ksg_from_distances",
           "two_nn_dimension"]

NEIGHBOUR_ROWS = 512  # rows the neighbour statistics read (min(n, this))
NEIGHBOUR_K = 5  # KSG's k


@dataclass(frozen=True)
class NeighbourEvidence:
    """Nearest-neighbour statistics of one sample set.

    Attributes:
        ksg: KSG (k = NEIGHBOUR_K, max-norm) MI estimate on the rows read, nats (may be < 0).
        dim_x, dim_y: TwoNN intrinsic dimension of each side's rows (at most its column count
            in expectation; 0 where too few distinct rows).
        rows: how many rows were read.
    """

    ksg: float
    dim_x: float
    dim_y: float
    rows: int


def _max_norm_distances(z: np.ndarray) -> np.ndarray:
    """Pairwise max-norm distances of the rows of z (m, d), shape (m, m)."""
    return cdist(z, z, "chebyshev")


def _euclidean_distances(z: np.ndarray) -> np.ndarray:
    """Pairwise Euclidean distances of the rows of z (m, d), shape (m, m), exact at 0 for duplicates."""
    return cdist(z, z)


def ksg_from_distances(dx: np.ndarray, dy: np.ndarray, k: int = NEIGHBOUR_K) -> float:
    """KSG's first estimator (nats) from the max-norm distance matrices of X and Y, each (m, m).

    Ties: points at the same place as their k-th neighbour count no strictly closer points.
    """
    m = dx.shape[0]
    dz = np.maximum(dx, dy)
    np.fill_diagonal(dz, np.inf)
    eps = np.partition(dz, k - 1, axis=1)[:, k - 1]
    nx = (dx < eps[:, None]).sum(1) - 1  # minus the point itself (distance 0 < eps unless eps = 0)
    ny = (dy < eps[:, None]).sum(1) - 1
    nx, ny = np.maximum(nx, 0), np.maximum(ny, 0)
    return float(digamma(k) + digamma(m) - np.mean(digamma(nx + 1) + digamma(ny + 1)))


def two_nn_dimension(d: np.ndarray) -> float:
    """TwoNN maximum-likelihood intrinsic dimension from a Euclidean distance matrix (m, m).

    The ratio of each point's second to first neighbour distance is Pareto with the intrinsic
    dimension as its exponent; rows with a duplicate (first distance 0) are left out. Returns 0
    when fewer than 10 rows remain.
    """
    d = d.copy()
    np.fill_diagonal(d, np.inf)
    two = np.partition(d, 1, axis=1)[:, :2]
    r1, r2 = two.min(1), two.max(1)
    ok = r1 > 0
    if ok.sum() < 10:
        return 0.0
    logs = np.log(r2[ok] / r1[ok])
    return float((ok.sum() - 1) / max(logs.sum(), 1e-12))


def _rows(z: np.ndarray, rows: int) -> np.ndarray:
    """min(n, rows) rows of z, chosen by a rule of the data (`subset_rows`)."""
    return z[subset_rows(z, rows)] if rows < z.shape[0] else z


def ksg_on_rows(z: np.ndarray, dx: int, rows: int = NEIGHBOUR_ROWS) -> float:
    """KSG (nats, may be < 0) on min(n, rows) rows of the scores z (n, dx + dy), X first; 0 when
    there are too few rows for NEIGHBOUR_K neighbours."""
    s = _rows(z, rows)
    if s.shape[0] <= NEIGHBOUR_K + 1:
        return 0.0
    return ksg_from_distances(_max_norm_distances(s[:, :dx]), _max_norm_distances(s[:, dx:]))


def neighbour_evidence(z: np.ndarray, dx: int, rows: int = NEIGHBOUR_ROWS, ksg: float | None = None) -> NeighbourEvidence:
    """KSG and intrinsic dimensions on min(n, rows) rows of the scores z (n, dx + dy), X first.

    `ksg`, when given, is KSG already computed on the same rows (it is not computed again).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> t = rng.normal(size=(2000, 1))
        >>> z = np.hstack([np.cos(t * [1, 2, 3]), t + rng.normal(size=(2000, 1))])  # X: 3 columns of a 1-d latent
        >>> e = neighbour_evidence(z, 3)
        >>> round(e.dim_x), e.rows
        (1, 512)
    """
    s = _rows(z, rows)
    m = s.shape[0]
    if m <= NEIGHBOUR_K + 1:
        return NeighbourEvidence(0.0, 0.0, 0.0, m)
    x, y = s[:, :dx], s[:, dx:]
    if ksg is None:
        ksg = ksg_from_distances(_max_norm_distances(x), _max_norm_distances(y))
    return NeighbourEvidence(ksg, two_nn_dimension(_euclidean_distances(x)), two_nn_dimension(_euclidean_distances(y)), m)
