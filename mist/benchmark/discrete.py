"""Discrete and heavily tied data with exact MI: independence and dependence.

Independent kinds (MI = 0): binary, 3-level and rounded-normal columns, 1 + 1 to 3 + 3. The
goal is an estimate near 0 whose interval contains 0, as a test of independence would.

Dependent kinds, each with its MI exact from a finite sum:
- `xor`: binary columns, y_j = x_j XOR Bernoulli(eps_j): sum_j (ln 2 - H_b(eps_j));
- `table`: 2-9 values a side written as binary or ternary digits, the joint table a mixture of
  independence and a Dirichlet table: the table's own MI;
- `rounded`: pairs of correlated normals rounded to integers: the rounded pairs' MI from the
  bivariate normal's cell probabilities.

Every case's data depend only on its key, so the suite reruns identically.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

import numpy as np
from scipy.stats import multivariate_normal

from mist.contract import Case

__all__ = ["INDEPENDENT_KINDS", "DEPENDENT_KINDS", "discrete_cases", "rounded_pair_mi", "table_mi_exact"]

INDEPENDENT_KINDS = ("binary", "ternary", "rounded")
DEPENDENT_KINDS = ("xor", "table", "rounded_pairs")
_INDEPENDENT_DIMS = ((1, 1), (1, 2), (2, 2), (2, 3), (3, 3))
_DEPENDENT_DIMS = ((1, 1), (2, 2), (2, 3))
_EDGE = 5  # rounded normals: values beyond +-_EDGE are folded into the outer cells (their mass is below 1e-6)


def _seed(*parts) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


def _hb(p: float) -> float:
    return 0.0 if p in (0.0, 1.0) else -p * math.log(p) - (1 - p) * math.log(1 - p)


def table_mi_exact(p: np.ndarray) -> float:
    """The MI in nats of a joint probability table."""
    px, py = p.sum(axis=1, keepdims=True), p.sum(axis=0, keepdims=True)
    nz = p > 0
    return float((p[nz] * np.log(p[nz] / (px @ py)[nz])).sum())


def rounded_pair_mi(rho: float, scale: float = 1.0) -> float:
    """I(round(X / scale); round(Y / scale)) for standard normals with correlation rho."""
    edges = (np.arange(-_EDGE, _EDGE + 1) + 0.5) * scale  # cell k is (edges[k-1], edges[k]]
    grid = np.concatenate([[-np.inf], edges, [np.inf]])
    inner = np.clip(grid, -12.0, 12.0)
    xx, yy = np.meshgrid(inner, inner, indexing="ij")
    cdf = multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]]).cdf(np.stack([xx, yy], axis=-1))
    cells = np.diff(np.diff(cdf, axis=0), axis=1)
    return table_mi_exact(np.clip(cells, 0.0, None) / cells.sum())


def _digits(codes: np.ndarray, base: int, width: int) -> np.ndarray:
    return np.stack([(codes // base**i) % base for i in range(width)], axis=1).astype(np.float64)


def _independent(kind: str, rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    if kind == "binary":
        return rng.integers(0, 2, (n, d)).astype(np.float64)
    if kind == "ternary":
        return rng.integers(0, 3, (n, d)).astype(np.float64)
    scales = np.where(np.arange(d) % 2 == 0, 1.0, 0.5)  # 1 or 2 standard deviations per integer step
    return np.round(rng.normal(size=(n, d)) / scales)


def _xor(rng: np.random.Generator, n: int, dx: int, dy: int, eps: np.ndarray):
    x = rng.integers(0, 2, (n, dx))
    y = rng.integers(0, 2, (n, dy))
    k = min(dx, dy)
    y[:, :k] = x[:, :k] ^ (rng.random((n, k)) < eps[:k])
    return x.astype(np.float64), y.astype(np.float64)


def _table(rng: np.random.Generator, base: int, dx: int, dy: int) -> np.ndarray:
    kx, ky = base**dx, base**dy
    px, py = rng.dirichlet(np.full(kx, 2.0)), rng.dirichlet(np.full(ky, 2.0))
    mix = rng.uniform(0.2, 0.9)
    return (1.0 - mix) * np.outer(px, py) + mix * rng.dirichlet(np.full(kx * ky, 0.5)).reshape(kx, ky)


def _dependent_case(kind: str, n: int, dx: int, dy: int, i: int, seed: int) -> Case:
    params = np.random.default_rng(_seed("params", kind, n, dx, dy, i, seed))
    data_seed = _seed("data", kind, n, dx, dy, i, seed)
    if kind == "xor":
        eps = params.uniform(0.02, 0.3, min(dx, dy))
        mi = sum(math.log(2.0) - _hb(float(e)) for e in eps)

        def load():
            return _xor(np.random.default_rng(data_seed), n, dx, dy, eps)
    elif kind == "table":
        base = 2 if i % 2 == 0 else 3
        dx, dy = min(dx, 2), min(dy, 2)  # at most 9 values a side
        p = _table(params, base, dx, dy)
        mi = table_mi_exact(p)

        def load():
            rng = np.random.default_rng(data_seed)
            cells = rng.choice(p.size, size=n, p=p.reshape(-1) / p.sum())
            return _digits(cells // p.shape[1], base, dx), _digits(cells % p.shape[1], base, dy)
    else:
        k = min(dx, dy)
        rho = params.uniform(0.3, 0.95, k) * params.choice([-1.0, 1.0], k)
        mi = sum(rounded_pair_mi(float(r)) for r in rho)

        def load():
            rng = np.random.default_rng(data_seed)
            x, y = rng.normal(size=(n, dx)), rng.normal(size=(n, dy))
            y[:, :k] = rho * x[:, :k] + np.sqrt(1.0 - rho**2) * y[:, :k]
            return np.round(x), np.round(y)
    return Case(f"{kind}/n{n}/{dx}x{dy}/{i}", kind, n, dx, dy, float(mi), load, suite="discrete")


def discrete_cases(ns: Sequence[int] = (500, 1000, 2000, 5000), seed: int = 0) -> list[Case]:
    """Independent cases (family "independent/<kind>", 3 kinds x 5 dims x len(ns)) and dependent ones
    (family "<kind>", 3 kinds x 3 dims x 2 draws x len(ns)): 60 and 72 cases by default."""
    out = []
    for kind in INDEPENDENT_KINDS:
        for n in ns:
            for dx, dy in _INDEPENDENT_DIMS:
                s = _seed("independent", kind, n, dx, dy, seed)

                def load(kind=kind, n=n, dx=dx, dy=dy, s=s):
                    rng = np.random.default_rng(s)
                    return _independent(kind, rng, n, dx), _independent(kind, rng, n, dy)

                out.append(Case(f"independent/{kind}/n{n}/{dx}x{dy}", f"independent/{kind}", n, dx, dy, 0.0, load, suite="discrete"))
    for kind in DEPENDENT_KINDS:
        for n in ns:
            for dx, dy in _DEPENDENT_DIMS:
                for i in range(2):
                    out.append(_dependent_case(kind, n, dx, dy, i, seed))
    return out
