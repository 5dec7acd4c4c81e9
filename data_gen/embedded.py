"""Low-dimensional dependence embedded in many dimensions, with exact MI.

The test case of high-dimensional estimation (embeddings, neural representations): a Gaussian
pair (S_x, S_y) of k dims each with I(S_x; S_y) = mi spread evenly over k canonical pairs, each
side padded with d - k independent standard normal noise columns and mixed by its own random
rotation. Scaling and rotating are invertible, so I(X;Y) = mi exactly. `signal_sd` sets how
much variance the signal directions carry against unit noise: at 1 the signal hides among the
noise directions, above 1 it leads the principal components.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["embedded_gaussian"]


def embedded_gaussian(
    rng: np.random.Generator, n: int, d: int, mi: float, k: int = 4, signal_sd: float = 1.0, dy: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Samples (x of shape (n, d), y of shape (n, dy or d)) with I(X;Y) = mi nats exactly.

    Arguments:
        rng: the random stream.
        n: samples.
        d: columns of X (and of Y unless `dy` is given), at least k.
        mi: nats of MI, carried by k canonical pairs of correlation sqrt(1 - exp(-2 mi / k)).
        k: dimension of the dependent subspace.
        signal_sd: standard deviation of the signal directions (the noise has 1).
        dy: columns of Y, at least k (default d).

    Example:
        >>> x, y = embedded_gaussian(np.random.default_rng(0), 100, 64, mi=2.0)
        >>> x.shape, y.shape
        ((100, 64), (100, 64))
    """
    dy = d if dy is None else dy
    if min(d, dy) < k or k < 1 or mi < 0 or signal_sd <= 0:
        raise ValueError(f"embedded_gaussian needs d, dy >= k >= 1, mi >= 0 and signal_sd > 0; got d={d}, dy={dy}, k={k}, "
                         f"mi={mi}, signal_sd={signal_sd}")
    rho = math.sqrt(-math.expm1(-2.0 * mi / k))
    sx = rng.standard_normal((n, k))
    sy = rho * sx + math.sqrt(1.0 - rho**2) * rng.standard_normal((n, k))

    def embed(s: np.ndarray, width: int) -> np.ndarray:
        z = np.concatenate([signal_sd * s, rng.standard_normal((n, width - k))], axis=1)
        rotation, _ = np.linalg.qr(rng.standard_normal((width, width)))
        return z @ rotation

    return embed(sx, d), embed(sy, dy)
