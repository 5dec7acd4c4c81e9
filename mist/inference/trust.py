"""When not to believe the elliptical core: sides that are curved low-dimensional manifolds.

A side whose columns are smooth functions of a few latent dimensions (network activations,
embeddings, redundant sensors) has a correlation matrix that is nearly singular, yet curved:
its principal components need many more directions than its intrinsic dimension. The Gaussian
term of the core then reads the nonlinear residue of one column on the others as signal (a
1-dim latent in 16 columns read 18 nats for 0.5), and nothing trained on full-dimensional
data can tell. Nearest-neighbour estimates adapt to the intrinsic dimension and read such
sets within about 0.1 nats at one or two latent dimensions, though they read low as the latent
dimension and the MI grow. So where a side is curved and low-dimensional and the estimate
stands far above a KSG read, a warning says why, and where the joint intrinsic dimension is low
enough for KSG's bias to stay moderate, the estimate falls back to the midpoint of the core and
KSG (on more rows) in log(1 + nats): on the training kinds of the manifold family the core reads
0.28 high there and KSG 0.31 low, their midpoint 0.02 low (scripts/fit_manifold_fallback.py).
Linear low-rank sides (a Gaussian factor model with little noise) have as many principal
directions as intrinsic dimensions and are left to the core, which is right there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist

from mist.stats.neighbours import NEIGHBOUR_ROWS, ksg_on_rows, two_nn_dimension
from mist.stats.scores import subset_rows

__all__ = ["CURVE_RATIO", "FALLBACK_ROWS", "ManifoldCheck", "fallback_quantiles", "linear_dimension", "manifold_check"]

CURVE_RATIO = 0.5  # a side is curved when intrinsic dimension + 1 <= this x its principal dimension
MIN_COLUMNS = 3  # fewer columns cannot show a curved low-dimensional side
MAX_INTRINSIC = 8.0  # TwoNN on 512 rows reads far below the truth above this (a 256-dim Gaussian reads ~65): no verdict
FALLBACK_ROWS = 1024  # rows the fallback KSG reads (min(n, this))
FALLBACK_MAX_DIM = 6.0  # KSG is trusted over the core only up to this joint intrinsic dimension (its bias grows with it)
KSG_ONLY_DIM = 3.0  # ... and alone up to this one (one latent dimension a side); above, the midpoint with the core
_VARIANCE = 0.99  # share of the variance the principal dimension explains
# quantiles of the fallback's error in log(1 + nats) where the check falls back, on the training
# kinds of the manifold family (scripts/fit_manifold_fallback.py, seeds 1-4, 100-150 sets each)
FALLBACK_LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
# KSG alone at joint intrinsic dimension <= KSG_ONLY_DIM: one latent dimension a side, 88 sets
# (-0.11, -0.04, -0.02, -0.005, +0.01), widened by KSG's own spread on 1,024 rows (sd about 0.04)
KSG_ERROR = (-0.17, -0.07, -0.02, 0.02, 0.08)
# the midpoint above it: pooled over the four seeds (latents of 1-4 dims), the 0.95 quantile widened
# from 0.29 to 0.5 for one-dim latents read at an intrinsic dimension above 3 (midpoint +0.35 to +0.67)
MIDPOINT_ERROR = (-0.46, -0.2, -0.02, 0.12, 0.5)


def linear_dimension(z: np.ndarray) -> int:
    """How many principal directions explain 99% of the variance of the columns of z (m, d)."""
    if z.shape[1] == 1:
        return 1
    w = np.clip(np.linalg.eigvalsh(np.cov(z, rowvar=False)), 0.0, None)[::-1]
    total = w.sum()
    if total <= 0:
        return 0
    return int(np.searchsorted(np.cumsum(w) / total, _VARIANCE) + 1)


@dataclass(frozen=True)
class ManifoldCheck:
    """What the check found (dimensions per side: intrinsic (TwoNN), principal, columns).

    Attributes:
        curved: names of the sides ("X", "Y") that are curved low-dimensional manifolds.
        knn: KSG on up to FALLBACK_ROWS rows of the copula scores (nats), when a side is curved.
        core: the elliptical core's estimate (nats).
        above: whether the estimate or the core stands far above `knn` (then it is not to be trusted).
        fallback: whether the estimate falls back (above, and the joint intrinsic dimension at
            most FALLBACK_MAX_DIM): to KSG alone up to KSG_ONLY_DIM, else to the midpoint of the
            core and KSG in log(1 + MI).
        dims: {"X": (intrinsic, principal, columns), "Y": ...}.
    """

    curved: tuple[str, ...]
    knn: float | None
    core: float
    above: bool
    fallback: bool
    dims: dict[str, tuple[float, int, int]]

    def apply(self, q: np.ndarray, levels: tuple[float, ...]) -> np.ndarray:
        """Quantiles (nats, ascending) after the check: the fallback's where it falls back; else,
        where the estimate stands far above KSG, the lowest quantile moved down to KSG's read."""
        if not self.above:
            return q
        if self.fallback:
            return fallback_quantiles(self.core, self.knn, levels, self.ksg_only)
        out = np.array(q, dtype=float)
        out[0] = min(out[0], self.knn)
        return out

    @property
    def ksg_only(self) -> bool:
        """Whether the fallback is KSG alone (one latent dimension a side), not the midpoint."""
        return self.dims["X"][0] + self.dims["Y"][0] <= KSG_ONLY_DIM

    def warning(self, estimate: float, scale: float, units: str) -> str | None:
        """Why the estimate is not the network's (or cannot be trusted), or None."""
        if not self.above:
            return None
        sides = " and ".join(f"{s} ({self.dims[s][2]} columns, intrinsic dimension about {self.dims[s][0]:.1f})"
                             for s in self.curved)
        what = (f"{sides} look{'s' if len(self.curved) == 1 else ''} like smooth functions of a few latent dimensions, "
                f"and an estimate built on an elliptical core reads such nonlinear redundancy as dependence: it read "
                f"{estimate / scale:.3g} {units} where a nearest-neighbour estimate (KSG on the copula scores) reads "
                f"{self.knn / scale:.3g}")
        if self.fallback:
            how = ("that KSG estimate" if self.ksg_only else
                   f"the midpoint of the core ({self.core / scale:.3g}) and KSG in log(1 + MI)")
            return (f"{what}; the result is {how}, with an interval from its measured error. Reducing the side to its "
                    "latent coordinates gives a sharper answer")
        return (f"{what}; at this intrinsic dimension KSG reads low too, so the truth may lie anywhere between: the "
                "interval's lower end was moved down to KSG's. Do not trust the point estimate")


def manifold_check(z: np.ndarray, dx: int, estimate: float, core: float, rows: int = NEIGHBOUR_ROWS,
                   intrinsic: tuple[float, float] | None = None) -> ManifoldCheck:
    """Check the copula scores z (n, dx + dy), X first, for curved low-dimensional sides.

    Arguments:
        z: normal scores of the set.
        dx: X's columns.
        estimate: the estimate to be checked (nats).
        core: the elliptical core's estimate (nats).
        rows: rows the dimension estimates read.
        intrinsic: TwoNN dimensions of X and Y already measured on the same rows
            (`mist.stats.SetSummary.neighbours`), to save measuring them again.
    """
    m = min(z.shape[0], rows)
    s = z[subset_rows(z, m)] if m < z.shape[0] else z
    dims: dict[str, tuple[float, int, int]] = {}
    curved = []
    for i, (name, part) in enumerate((("X", s[:, :dx]), ("Y", s[:, dx:]))):
        d = part.shape[1]
        if d < MIN_COLUMNS or m < 50:
            dims[name] = (float(d), d, d)
            continue
        dim = intrinsic[i] if intrinsic is not None else two_nn_dimension(cdist(part, part))
        principal = linear_dimension(part)
        dims[name] = (dim, principal, d)
        if 0 < dim <= MAX_INTRINSIC and dim + 1.0 <= CURVE_RATIO * principal:
            curved.append(name)
    if not curved:
        return ManifoldCheck((), None, core, False, False, dims)
    knn = max(0.0, ksg_on_rows(z, dx, rows=FALLBACK_ROWS))
    above = max(estimate, core) > knn + 0.3 + 0.3 * knn
    fallback = above and dims["X"][0] + dims["Y"][0] <= FALLBACK_MAX_DIM
    return ManifoldCheck(tuple(curved), knn, core, above, fallback, dims)


def fallback_quantiles(core: float, knn: float, levels: tuple[float, ...], ksg_only: bool = False) -> np.ndarray:
    """Quantiles (nats) of the truth on a curved side: KSG's read (`ksg_only`) or the midpoint of
    log(1 + core) and log(1 + KSG), minus the measured quantiles of its error, interpolated over
    `levels`."""
    err = np.interp(levels, FALLBACK_LEVELS, KSG_ERROR if ksg_only else MIDPOINT_ERROR)
    centre = math.log1p(knn) if ksg_only else 0.5 * (math.log1p(max(core, 0.0)) + math.log1p(knn))
    return np.expm1(np.clip(centre - err[::-1], 0.0, None))
