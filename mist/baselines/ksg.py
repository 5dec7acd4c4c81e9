"""Kraskov-Stögbauer-Grassberger (KSG) nearest-neighbour estimator of mutual information."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from mist.numerics.ksg import ksg_mi

from mist.contract import PointEstimator

from ._inputs import as_samples

__all__ = ["KSG", "ksg"]


@dataclass(frozen=True)
class KSG(PointEstimator):
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
        value, repeated = ksg_mi(x, y, self.k, standardize=self.standardize, noise=self.noise, seed=self.seed,
                                 workers=self.workers, algorithm=self.algorithm)
        if repeated:
            warnings.warn(
                "KSG: some samples have their k-th neighbour at (near) zero distance (repeated "
                "points); KSG overestimates MI on discrete or rounded data and on resamples drawn "
                "with replacement",
                UserWarning,
                stacklevel=2,
            )
        return value


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
