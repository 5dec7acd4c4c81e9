"""Kraskov-Stögbauer-Grassberger (KSG) nearest-neighbour estimator of mutual information."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from ._inputs import as_samples

__all__ = ["KSG", "ksg"]


def _prepare(x: np.ndarray, y: np.ndarray, standardize: bool, noise: float, seed: int):
    """Standardise the columns and add the tie-breaking jitter (see `KSG`).

    Returns:
        (x, y, jitter): the prepared samples and the largest jitter scale of any column.
    """
    sx, sy = x.std(axis=0), y.std(axis=0)
    sx[sx == 0], sy[sy == 0] = 1.0, 1.0  # constant columns stay as they are
    if standardize:
        x, y = (x - x.mean(axis=0)) / sx, (y - y.mean(axis=0)) / sy
        sx, sy = np.ones_like(sx), np.ones_like(sy)
    if noise > 0:
        rng = np.random.default_rng(seed)
        x = x + noise * sx * rng.standard_normal(x.shape)
        y = y + noise * sy * rng.standard_normal(y.shape)
    return x, y, noise * max(sx.max(), sy.max())


def _strict_radius(eps: np.ndarray) -> np.ndarray:
    """The largest float below each radius, so that `dist <= r` means `dist < eps` exactly."""
    return np.nextafter(eps, -np.inf)


def _ksg_counts(x: np.ndarray, y: np.ndarray, k: int, workers: int = 1, nearest: list | None = None):
    """Joint k-th neighbour distances and strict marginal counts, with KD-trees (max-norm).

    Returns:
        (eps, nx, ny): eps, shape (n,), the max-norm distance from each point to its k-th nearest
        neighbour in the joint space; nx and ny, shape (n,), the number of other points strictly
        closer than eps in X and in Y. If `nearest` is a list, the distances to the nearest
        other point, shape (n,), are appended to it.
    """
    z = np.hstack([x, y])
    dist, _ = cKDTree(z).query(z, k=k + 1, p=np.inf, workers=workers)
    eps = dist[:, k]  # the point itself is among the k + 1 at distance 0
    if nearest is not None:
        nearest.append(dist[:, 1])
    r = _strict_radius(eps)
    zero = eps == 0  # duplicates: no point is strictly closer than 0, itself included
    r[zero] = 0.0
    counts = []
    for m in (x, y):
        if m.shape[1] == 1:
            c = _count_closer_1d(m[:, 0], eps)
        else:
            c = cKDTree(m).query_ball_point(m, r, p=np.inf, return_length=True, workers=workers)
            c = np.asarray(c, dtype=np.int64) - 1  # the point itself
        c[zero] = 0
        counts.append(c)
    return eps, counts[0], counts[1]


def _count_closer_1d(v: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """For each i, the number of j != i with |v[j] - v[i]| < eps[i], by binary search.

    The float difference v[j] - v[i] is monotone in v[j], so in sorted order the points closer
    than eps form one run; its ends are found by a vectorised binary search on exactly the same
    float comparisons as the definition (no rounding slack from computing v[i] + eps).
    """
    s = np.sort(v)
    n = s.size

    def first_false(pred):  # per i, the first index m where pred(m) fails; pred is monotone
        lo, hi = np.zeros(n, dtype=np.int64), np.full(n, n, dtype=np.int64)
        while True:
            active = lo < hi
            if not active.any():
                return lo
            mid = (lo + hi) // 2
            ok = pred(np.minimum(mid, n - 1)) & active
            lo = np.where(ok, mid + 1, lo)
            hi = np.where(active & ~ok, mid, hi)

    upper = first_false(lambda m: s[m] - v < eps)  # points below v + eps (in float arithmetic)
    lower = first_false(lambda m: v - s[m] >= eps)  # points at least eps below v
    return upper - lower - 1  # minus the point itself (callers reset eps == 0 rows)


def _ksg_counts_pairwise(x: np.ndarray, y: np.ndarray, k: int, nearest: list | None = None, budget: int = 4_000_000):
    """The same quantities as `_ksg_counts` from all pairwise distances, in row blocks with torch.

    O(n^2 (dx + dy)) time and O(budget) memory; faster than KD-trees in high joint dimension,
    where the trees degrade to the same quadratic cost with a larger constant.
    """
    import torch

    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    n = x.shape[0]
    rows = max(1, min(n, budget // n))
    eps, nx, ny = np.empty(n), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    near = np.empty(n)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        dx = torch.cdist(xt[start:stop], xt, p=float("inf"))
        dy = torch.cdist(yt[start:stop], yt, p=float("inf"))
        dz = torch.maximum(dx, dy)
        block = torch.arange(stop - start)
        dz[block, block + start] = float("inf")  # not its own neighbour
        smallest = torch.topk(dz, k, dim=1, largest=False).values
        e = smallest[:, -1]
        itself = (e > 0).long()  # the point itself is strictly closer than e unless e == 0
        eps[start:stop] = e.numpy()
        near[start:stop] = smallest[:, 0].numpy()
        nx[start:stop] = ((dx < e[:, None]).sum(dim=1) - itself).numpy()
        ny[start:stop] = ((dy < e[:, None]).sum(dim=1) - itself).numpy()
    if nearest is not None:
        nearest.append(near)
    return eps, nx, ny


def _ksg_counts_brute(x: np.ndarray, y: np.ndarray, k: int):
    """The same quantities as `_ksg_counts` by the O(n^2) definition (reference for tests)."""
    dx = np.abs(x[:, None, :] - x[None, :, :]).max(axis=2)
    dy = np.abs(y[:, None, :] - y[None, :, :]).max(axis=2)
    dz = np.maximum(dx, dy)
    np.fill_diagonal(dz, np.inf)
    eps = np.partition(dz, k - 1, axis=1)[:, k - 1]
    np.fill_diagonal(dx, np.inf)
    np.fill_diagonal(dy, np.inf)
    nx = (dx < eps[:, None]).sum(axis=1)
    ny = (dy < eps[:, None]).sum(axis=1)
    return eps, nx, ny


def _ksg_from_counts(nx: np.ndarray, ny: np.ndarray, k: int) -> float:
    n = nx.shape[0]
    return float(digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1)))


@dataclass(frozen=True)
class KSG:
    """KSG estimator 1: mutual information from k-nearest-neighbour distances in max-norm.

    For each sample, eps is the max-norm distance to its k-th nearest neighbour in the joint
    space (x, y); n_x and n_y count the other samples strictly closer than eps in X and in Y.
    Then I = psi(k) + psi(n) - mean(psi(n_x + 1) + psi(n_y + 1)), in nats. The value is not
    clipped: it can be slightly negative on independent data. KSG is biased low at high MI and
    in high dimension.

    Cost: KD-trees make it about O(n log n) in low joint dimension (n = 100,000 with dx = dy = 1
    in about a second). In high joint dimension trees degrade towards O(n^2) with a large
    constant, so above dx + dy = 10 the default switches to exact pairwise distances computed
    in blocks with torch (O(n^2 (dx + dy)) time, bounded memory, torch's thread setting). Both
    algorithms give identical results.

    Ties: with `noise > 0` (the default, as scikit-learn's `mutual_info_regression` does) a
    deterministic Gaussian jitter of `noise` standard deviations per column (seeded by `seed`)
    is added, so exactly repeated points are ordered arbitrarily but reproducibly. With
    `noise=0` ties follow the definition exactly (strict inequality; a point whose k-th
    neighbour sits at distance 0 gets n_x = n_y = 0). Either way repeated points are zero or
    near-zero distance neighbours and inflate the estimate: on discrete or heavily rounded data
    KSG is not meaningful, and a warning is issued whenever a sample's nearest neighbour is a
    copy of it (up to the jitter).

    Arguments:
        k: The number of neighbours, at least 1; 3 is the common choice.
        standardize: Centre each column and divide it by its standard deviation first, so the
            estimate does not depend on the units of each coordinate (max-norm KSG does
            otherwise). Constant columns are left as they are.
        noise: Standard deviation of the tie-breaking jitter, relative to each column's.
        seed: Seed of the jitter.
        workers: Threads for the KD-tree queries (-1: all cores).
        algorithm: "kdtree", "pairwise" or "auto" (KD-trees when dx + dy <= 10).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal(2000)
        >>> y = 0.8 * x + 0.6 * rng.standard_normal(2000)  # I = -log(0.6) = 0.51 nats
        >>> round(KSG(k=3).estimate(x, y), 1)
        0.5

    References:
        Kraskov, Stögbauer and Grassberger, "Estimating mutual information", Phys. Rev. E 69,
        066138 (2004).
    """

    k: int = 3
    standardize: bool = True
    noise: float = 1e-10
    seed: int = 0
    workers: int = 1
    algorithm: str = "auto"

    def __post_init__(self):
        if self.algorithm not in ("auto", "kdtree", "pairwise"):
            raise ValueError(f"algorithm must be 'auto', 'kdtree' or 'pairwise', got {self.algorithm!r}")
        if not (isinstance(self.k, (int, np.integer)) and self.k >= 1):
            raise ValueError(f"k must be an integer >= 1, got {self.k!r}")
        if not self.noise >= 0:
            raise ValueError(f"noise must be >= 0, got {self.noise!r}")

    def estimate(self, x, y) -> float:
        """Estimate I(X; Y) in nats.

        Arguments:
            x: Samples of X, shape (n, dx) or (n,).
            y: Samples of Y, shape (n, dy) or (n,), paired with x row by row; n > k.

        Returns:
            The KSG estimate in nats (unclipped).
        """
        x, y = as_samples(x, y, min_n=self.k + 1, why=f"KSG with k={self.k} needs k + 1; lower k or pass more samples")
        x, y, jitter = _prepare(x, y, self.standardize, self.noise, self.seed)
        nearest: list = []
        algorithm = self.algorithm
        if algorithm == "auto":
            algorithm = "kdtree" if x.shape[1] + y.shape[1] <= 10 else "pairwise"
        if algorithm == "kdtree":
            eps, nx, ny = _ksg_counts(x, y, self.k, self.workers, nearest)
        else:
            eps, nx, ny = _ksg_counts_pairwise(x, y, self.k, nearest)
        if (nearest[0] <= 10 * jitter).any():  # a repeated point (up to the jitter)
            warnings.warn(
                "KSG: some samples have their k-th neighbour at (near) zero distance (repeated "
                "points); KSG overestimates MI on discrete or rounded data and on resamples drawn "
                "with replacement",
                UserWarning,
                stacklevel=2,
            )
        return _ksg_from_counts(nx, ny, self.k)


def ksg(x, y, k: int = 3, **options) -> float:
    """Estimate I(X; Y) in nats with `KSG` (shorthand for `KSG(k, **options).estimate(x, y)`).

    Arguments:
        x: Samples of X, shape (n, dx) or (n,).
        y: Samples of Y, shape (n, dy) or (n,).
        k: The number of neighbours.
        options: Other fields of `KSG`.

    Returns:
        The KSG estimate in nats.

    Example:
        >>> rng = np.random.default_rng(1)
        >>> round(ksg(rng.standard_normal((1000, 2)), rng.standard_normal(1000)), 1)
        0.0

    References:
        Kraskov, Stögbauer and Grassberger, Phys. Rev. E 69, 066138 (2004).
    """
    return KSG(k=k, **options).estimate(x, y)
