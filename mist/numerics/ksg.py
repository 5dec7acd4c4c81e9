"""The Kraskov-Stögbauer-Grassberger (KSG) nearest-neighbour MI estimate on float arrays.

The computation only: validation, options and warnings live in `mist.baselines.ksg.KSG`, and the
estimator's own KSG features (`mist.stats.summary`) call it on rows already checked. KD-trees
in low joint dimension; exact pairwise distances in blocks with torch (imported only there)
above.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

__all__ = ["count_closer", "ksg_mi"]

AUTO_KDTREE_MAX_DIM = 10  # "auto" uses KD-trees up to this joint dimension, pairwise distances above


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
    return eps, count_closer(x, eps, workers), count_closer(y, eps, workers)


def count_closer(m: np.ndarray, eps: np.ndarray, workers: int = 1) -> np.ndarray:
    """Per row of m (n, d), the other rows strictly closer than eps (n,) in max-norm; 0 where eps
    is 0 (a duplicate: no point is strictly closer than 0, itself included).

    KSG's marginal counts (and conditional KSG's): binary search in one column, KD-trees above.
    """
    zero = eps == 0
    if m.shape[1] == 1:
        c = _count_closer_1d(m[:, 0], eps)
    else:
        r = _strict_radius(eps)
        r[zero] = 0.0
        c = np.asarray(cKDTree(m).query_ball_point(m, r, p=np.inf, return_length=True, workers=workers), dtype=np.int64) - 1
    c[zero] = 0
    return c


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


def ksg_mi(x: np.ndarray, y: np.ndarray, k: int, *, standardize: bool = True, noise: float = 1e-10, seed: int = 0,
           workers: int = 1, algorithm: str = "auto") -> tuple[float, bool]:
    """KSG estimator 1 (nats, unclipped) of float arrays x (n, dx) and y (n, dy), n > k.

    The options are `mist.baselines.ksg.KSG`'s. Returns the estimate and whether some sample's
    nearest neighbour is a copy of it (up to the jitter): repeated points, on which KSG
    overestimates.
    """
    x, y, jitter = _prepare(x, y, standardize, noise, seed)
    nearest: list = []
    if algorithm == "auto":
        algorithm = "kdtree" if x.shape[1] + y.shape[1] <= AUTO_KDTREE_MAX_DIM else "pairwise"
    if algorithm == "kdtree":
        _, nx, ny = _ksg_counts(x, y, k, workers, nearest)
    else:
        _, nx, ny = _ksg_counts_pairwise(x, y, k, nearest)
    return _ksg_from_counts(nx, ny, k), bool((nearest[0] <= 10 * jitter).any())
