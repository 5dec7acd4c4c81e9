"""Accuracy suites beyond elliptical copulas, and the small-n elliptical grid.

`structure_cases`: dependence the elliptical core cannot describe, in the kinds that training
never draws (`configs/generator/structures_heldout.yaml`): clusters on a ring, shells whose
radius drives a coordinate, sawtooth waves, contamination by wide outliers, Gaussian pairs through
spirals, and low-dimensional latents embedded in 16-256 columns by two-layer ReLU maps. The best
classical estimator on these is KSG; the suite's goal is mist's MAE against it and mist's 90%
coverage per kind.

`small_n_cases`: dense and sparse Gaussians and Student-t with monotone warps, n 10-500, 2-32
dims a side: where the elliptical core is right and the learned part must leave it alone.

Every case's data depend only on its key, so a suite reruns identically.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

import numpy as np

from data_gen import FAMILIES, DatasetSampler
from mist.contract import Case

__all__ = ["STRUCTURE_KINDS", "structure_cases", "small_n_cases", "SMALL_N_RANGES"]

_WARPS = {"warp_asinh": 1.0, "warp_power": 1.0, "warp_wiggly": 1.0}

# kind -> (generator config, [(dx, dy), ...], MI range in nats)
STRUCTURE_KINDS: dict[str, tuple[dict, list[tuple[int, int]], tuple[float, float]]] = {
    "clusters": ({"families": ["clusters"], "transforms": _WARPS, "family_options": {"clusters": {"layout": ["ring"]}}},
                 [(1, 1), (2, 2), (3, 5), (8, 8), (25, 1)], (0.2, 2.2)),
    "shells": ({"families": ["shells"], "transforms": _WARPS, "family_options": {"shells": {"kind": ["radial-linear"]}}},
               [(2, 1), (3, 3), (5, 2), (10, 10), (25, 1)], (0.2, 2.0)),
    "periodic": ({"families": ["periodic"], "transforms": _WARPS, "family_options": {"periodic": {"wave": ["sawtooth"]}}},
                 [(1, 1), (2, 2), (3, 3), (6, 4)], (0.2, 2.5)),
    "contamination": ({"families": ["contaminated"], "transforms": _WARPS,
                       "family_options": {"contaminated": {"kind": ["outliers"]}}},
                      [(1, 1), (2, 2), (4, 4), (10, 10)], (0.1, 2.5)),
    "spirals": ({"families": ["gaussian_dense", "gaussian_sparse"], "transforms": {"spiral": 1.0, "swirl": 1.0},
                 "min_chain": 1, "max_chain": 1},
                [(2, 2), (3, 3), (5, 5)], (0.2, 2.5)),
    "manifold": ({"families": ["manifold"], "transforms": {}, "max_chain": 0,
                  "family_options": {"manifold": {"maps": ["relu2"]}}},
                 [(16, 16), (64, 64), (256, 256), (16, 64)], (0.2, 2.5)),
}
# latent dims a side for the manifold kind, cycled over its cases (the 1, 2 or 4)
_LATENT = (1, 2, 4)

SMALL_N_RANGES = ((10, 100), (100, 300), (300, 500))


def _seed(*parts) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


def _case(case_id: str, family: str, cfg: dict, n: int, dx: int, dy: int, mi: float, seed: int, suite: str) -> Case:
    mi = min(mi, 0.95 * min(FAMILIES[f].max_mi(dx, dy, 8.0) for f in cfg["families"]))  # what the family carries here
    sampler = DatasetSampler({**cfg, "mi_prior": [{"weight": 1.0, "low": mi, "high": mi + 1e-9}]})
    # the label is fixed when the case is listed; load() draws the same set again
    s = sampler.sample(np.random.default_rng(seed), n=n, dx=dx, dy=dy)

    def load(sampler=sampler, seed=seed, n=n, dx=dx, dy=dy):
        t = sampler.sample(np.random.default_rng(seed), n=n, dx=dx, dy=dy)
        return t.x.astype(np.float64), t.y.astype(np.float64)

    return Case(case_id, family, n, dx, dy, float(s.mi), load, suite=suite)


def structure_cases(ns: Sequence[int] = (1000, 5000), per_kind: int = 13, seed: int = 0,
                    kinds: Sequence[str] | None = None) -> list[Case]:
    """`per_kind` cases of each kind at each n (6 kinds x 13 x 2 n = 156 by default); family = the kind.

    Targets spread evenly over each kind's MI range; dims cycle over its list.
    """
    out = []
    for kind in kinds or STRUCTURE_KINDS:
        cfg, dims, (lo, hi) = STRUCTURE_KINDS[kind]
        for n in ns:
            for i in range(per_kind):
                dx, dy = dims[i % len(dims)]
                mi = lo + (hi - lo) * (i + 0.5) / per_kind
                c = cfg
                if kind == "manifold":
                    k = _LATENT[i % len(_LATENT)]
                    c = {**cfg, "family_options": {"manifold": {"maps": ["relu2"], "latent_dims": [k, k]}}}
                    mi = min(mi, 4.0 * k)
                out.append(_case(f"{kind}/n{n}/{dx}x{dy}/{i}", kind, c, n, dx, dy, mi, _seed(kind, n, i, seed), "structures"))
    return out


def small_n_cases(ns: Sequence[int] = (10, 30, 60, 100, 200, 300, 400, 500), dims: Sequence[int] = (2, 4, 8, 16, 32),
                  seeds: int = 2, seed: int = 0) -> list[Case]:
    """Elliptical copulas at small n (family = "<family>"): dense and sparse Gaussians and Student-t,
    equal dims a side, MI targets 0.5 / 2 / 5 nats capped at 2 nats per dim, monotone warps."""
    out = []
    for family in ("gaussian_dense", "gaussian_sparse", "student_t"):
        cfg = {"families": [family], "transforms": _WARPS, "min_chain": 1, "max_chain": 1}
        for n in ns:
            for d in dims:
                for target in (0.5, 2.0, 5.0):
                    mi = min(target, 2.0 * d)
                    for s in range(seeds):
                        out.append(_case(f"{family}/n{n}/{d}x{d}/mi{target:g}/s{s}", family, cfg, n, d, d, mi,
                                         _seed(family, n, d, target, s, seed), "small_n"))
    return out


def mse_by_range(rows, column: str, ranges=SMALL_N_RANGES) -> dict[tuple[int, int], float]:
    """Mean squared error of `column` per n range [lo, hi) (the last range includes hi)."""
    out = {}
    for i, (lo, hi) in enumerate(ranges):
        last = i == len(ranges) - 1
        err = [r.error**2 for r in rows if r.column == column and lo <= r.n and (r.n < hi or (last and r.n == hi))]
        out[(lo, hi)] = float(np.mean(err)) if err else math.nan
    return out
