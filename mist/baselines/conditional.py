"""Classical estimators of conditional mutual information I(X; Y | Z), in nats.

`ConditionalKSG`: the Frenzel-Pompe nearest-neighbour estimator (KSG conditioned on Z).
`GaussianCMI`: the CMI of the Gaussian fitted to the samples, or with `copula=True` to the normal
scores of each column's ranks (the Gaussian-copula CMI).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from mist.inputs import as_matrix
from mist.numerics.ksg import count_closer
from mist.stats.scores import normal_scores

from .gaussian import _sines

__all__ = ["ConditionalKSG", "GaussianCMI", "CONDITIONAL_ESTIMATORS", "as_triple"]


def as_triple(x, y, z, *, min_n: int = 2, why: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate a paired sample (x, y, z) and return it as three float64 matrices.

    Arguments:
        x, y, z: Samples of shapes (n, d) or (n,), paired row by row (numpy, lists or torch).
        min_n: The smallest number of samples the caller can work with.
        why: Why the caller needs min_n samples, quoted in the error message.

    Raises:
        ValueError: On non-numeric input, a wrong number of dimensions, an empty side, NaN or
            infinite values, different numbers of rows, or fewer than min_n rows.
    """
    out = []
    for a, name in ((x, "x"), (y, "y"), (z, "z")):
        try:
            out.append(as_matrix(a, name)[0])
        except ValueError as err:
            raise ValueError(str(err).replace("in both x and y", "in x, y and z")) from None
    rows = [m.shape[0] for m in out]
    if len(set(rows)) > 1:
        raise ValueError(f"x, y and z have {rows[0]}, {rows[1]} and {rows[2]} samples; they must be paired row by "
                         "row (rows are samples, columns are coordinates)")
    if rows[0] < min_n:
        because = f" ({why})" if why else ""
        raise ValueError(f"need at least {min_n} samples{because}, got {rows[0]}")
    return tuple(np.ascontiguousarray(m) for m in out)


def _cmi_counts(x: np.ndarray, y: np.ndarray, z: np.ndarray, k: int, workers: int = 1):
    """(eps, n_xz, n_yz, n_z, nearest): the joint k-th neighbour max-norm distance of each row, the
    other rows strictly closer than it in (x, z), (y, z) and z, and the nearest-neighbour distance."""
    xyz = np.hstack([x, y, z])
    dist, _ = cKDTree(xyz).query(xyz, k=k + 1, p=np.inf, workers=workers)
    eps = dist[:, k]  # the point itself is among the k + 1 at distance 0
    counts = [count_closer(m, eps, workers) for m in (np.hstack([x, z]), np.hstack([y, z]), z)]
    return eps, counts[0], counts[1], counts[2], dist[:, 1]


def _cmi_counts_brute(x: np.ndarray, y: np.ndarray, z: np.ndarray, k: int):
    """The same (eps, n_xz, n_yz, n_z) by the O(n^2) definition (reference for tests)."""
    def cheb(a):
        return np.abs(a[:, None, :] - a[None, :, :]).max(axis=2)

    dx, dy, dz = cheb(x), cheb(y), cheb(z)
    d = np.maximum(np.maximum(dx, dy), dz)
    np.fill_diagonal(d, np.inf)
    eps = np.partition(d, k - 1, axis=1)[:, k - 1]
    dxz, dyz = np.maximum(dx, dz), np.maximum(dy, dz)
    for m in (dxz, dyz, dz):
        np.fill_diagonal(m, np.inf)
    return eps, *((m < eps[:, None]).sum(axis=1) for m in (dxz, dyz, dz))


def _cmi_from_counts(nxz: np.ndarray, nyz: np.ndarray, nz: np.ndarray, k: int) -> float:
    return float(digamma(k) - np.mean(digamma(nxz + 1) + digamma(nyz + 1) - digamma(nz + 1)))


@dataclass(frozen=True)
class ConditionalKSG:
    """Frenzel-Pompe estimator: conditional mutual information from k-nearest neighbours (max-norm).

    For each sample, eps is the max-norm distance to its k-th nearest neighbour in the joint
    space (x, y, z); n_xz, n_yz and n_z count the other samples strictly closer than eps in
    (x, z), (y, z) and z. Then I(X; Y | Z) = psi(k) - mean(psi(n_xz + 1) + psi(n_yz + 1)
    - psi(n_z + 1)), in nats, unclipped (slightly negative on conditionally independent data is
    normal). Like KSG it is biased low at high CMI and degrades as dx + dy + dz grows, and a
    strong dependence on Z biases it (the neighbourhoods in Z are not small).

    Columns are standardised and a deterministic jitter of `noise` standard deviations breaks
    ties, as in `KSG`; a warning is issued when some sample's nearest neighbour is a copy of it
    (discrete or rounded data, resamples with replacement), where the estimate is not meaningful.

    Arguments:
        k: The number of neighbours, at least 1.
        standardize: Centre each column and divide it by its standard deviation first.
        noise: Standard deviation of the tie-breaking jitter, relative to each column's.
        seed: Seed of the jitter.
        workers: Threads for the KD-tree queries (-1: all cores).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> z = rng.standard_normal(2000)
        >>> x, y = z + rng.standard_normal(2000), z + rng.standard_normal(2000)  # I(X; Y | Z) = 0
        >>> abs(ConditionalKSG().estimate(x, y, z)) < 0.05
        True

    References:
        Frenzel and Pompe, "Partial mutual information for coupling analysis of multivariate
        time series", Phys. Rev. Lett. 99, 204101 (2007); Kraskov, Stögbauer and Grassberger,
        Phys. Rev. E 69, 066138 (2004).
    """

    k: int = 5
    standardize: bool = True
    noise: float = 1e-10
    seed: int = 0
    workers: int = 1

    def __post_init__(self):
        if not (isinstance(self.k, (int, np.integer)) and self.k >= 1):
            raise ValueError(f"k must be an integer >= 1, got {self.k!r}")
        if not self.noise >= 0:
            raise ValueError(f"noise must be >= 0, got {self.noise!r}")

    def estimate(self, x, y, z) -> float:
        """Estimate I(X; Y | Z) in nats.

        Arguments:
            x: Samples of X, shape (n, dx) or (n,).
            y: Samples of Y, shape (n, dy) or (n,).
            z: Samples of Z, shape (n, dz) or (n,), paired with x and y row by row; n > k.

        Returns:
            The Frenzel-Pompe estimate in nats (unclipped).
        """
        x, y, z = as_triple(x, y, z, min_n=self.k + 1,
                            why=f"ConditionalKSG with k={self.k} needs k + 1; lower k or pass more samples")
        parts = [x, y, z]
        sd = [np.where(p.std(axis=0) == 0, 1.0, p.std(axis=0)) for p in parts]  # constant columns stay
        if self.standardize:
            parts = [(p - p.mean(axis=0)) / s for p, s in zip(parts, sd)]
            sd = [np.ones_like(s) for s in sd]
        jitter = self.noise * max(s.max() for s in sd)
        if self.noise > 0:
            rng = np.random.default_rng(self.seed)
            parts = [p + self.noise * s * rng.standard_normal(p.shape) for p, s in zip(parts, sd)]
        eps, nxz, nyz, nz, nearest = _cmi_counts(*parts, self.k, self.workers)
        if (nearest <= 10 * jitter).any():
            warnings.warn(
                "ConditionalKSG: some samples have a (near) copy among their neighbours (repeated points); "
                "nearest-neighbour CMI is not meaningful on discrete or rounded data or on resamples drawn "
                "with replacement",
                UserWarning,
                stacklevel=2,
            )
        return _cmi_from_counts(nxz, nyz, nz, self.k)


@dataclass(frozen=True)
class GaussianCMI:
    """Conditional mutual information of the Gaussian fitted to the samples, in nats.

    I(X; Y | Z) = 1/2 log(det S_xz det S_yz / (det S_z det S_xyz)) for the sample covariance S,
    which equals -1/2 sum_i log(1 - rho_i^2) over the canonical correlations of the residuals of
    X and of Y after least squares on Z (with an intercept); it is computed in that form, from
    principal angles, which stays accurate at high CMI. Consistent for jointly Gaussian data;
    otherwise it sees linear (partial) dependence only, and is no bound either way. Biased up by
    about dx dy / (2 (n - dz)) nats.

    With `copula=True` every column of x, y and z is first replaced by the normal scores of its
    ranks: the Gaussian-copula CMI, invariant under strictly monotone maps of each coordinate
    and consistent wherever the copula of (X, Y, Z) is Gaussian.

    Arguments:
        copula: Rank-transform each column to normal scores first.
        ridge: Shrinkage of the residuals' correlation matrix towards the identity; the default
            1e-12 only keeps the estimate finite when residuals are collinear. 0: the plain
            maximum-likelihood value.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> z = rng.standard_normal(20000)
        >>> x = z + rng.standard_normal(20000)
        >>> y = z + 0.8 * x + 0.6 * rng.standard_normal(20000)  # I(X; Y | Z) = -log(0.6) = 0.51
        >>> round(GaussianCMI().estimate(x, y, z), 1)
        0.5
        >>> round(GaussianCMI(copula=True).estimate(np.exp(x), y**3, z), 1)
        0.5
    """

    copula: bool = False
    ridge: float = 1e-12

    def __post_init__(self):
        if not 0.0 <= self.ridge < 1.0:
            raise ValueError(f"ridge must be in [0, 1), got {self.ridge!r}")

    def estimate(self, x, y, z) -> float:
        """Estimate I(X; Y | Z) in nats.

        Arguments:
            x: Samples of X, shape (n, dx) or (n,).
            y: Samples of Y, shape (n, dy) or (n,).
            z: Samples of Z, shape (n, dz) or (n,), paired row by row; n >= dx + dy + dz + 2.

        Returns:
            The Gaussian (or Gaussian-copula) CMI estimate in nats, >= 0.
        """
        x, y, z = as_triple(x, y, z, min_n=3, why="the Gaussian CMI needs variances and correlations")
        n, need = x.shape[0], x.shape[1] + y.shape[1] + z.shape[1] + 2
        if n < need:
            raise ValueError(f"the Gaussian CMI needs at least dx + dy + dz + 2 = {need} samples, got {n}; "
                             "pass more samples or fewer columns")
        if self.copula:
            x, y, z = normal_scores(x), normal_scores(y), normal_scores(z)
        z = z - z.mean(axis=0)
        q, r = np.linalg.qr(z)
        scale = np.linalg.norm(z, axis=0)
        if (np.abs(np.diag(r)) <= 1e-10 * np.maximum(scale, 1e-300)).any():
            raise ValueError("the columns of z are linearly dependent (or constant); drop the redundant columns of z")
        res = []
        for a, name in ((x, "x"), (y, "y")):
            a = a - a.mean(axis=0)
            e = a - q @ (q.T @ a)  # residuals of least squares on (1, z)
            sd, before = e.std(axis=0), a.std(axis=0)
            flat = sd <= 1e-10 * np.maximum(before, 1e-300)
            if flat.any():
                j = int(np.flatnonzero(flat)[0])
                raise ValueError(f"column {j} of {name} is constant or an exact linear function of z in this sample; "
                                 "the conditional Gaussian is degenerate (infinite CMI), so drop that column")
            res.append(e / sd)
        sin = _sines(res[0], res[1], self.ridge)
        return float(-np.sum(np.log(np.minimum(sin, 1.0))))


CONDITIONAL_ESTIMATORS = {
    "ksg": ConditionalKSG,
    "gaussian": GaussianCMI,
    "gaussian_copula": partial(GaussianCMI, copula=True),
}
