"""Gamma-exponential pairs: X ~ Gamma(theta, 1), Y | X ~ Exponential(rate X), so that
Y ~ Lomax(theta) and I(X; Y) = psi(theta) - log(theta) + 1 / theta nats (decreasing in
theta, from infinity to 0). Stored as (log X, log Y) centred and scaled to unit variance with
the exact moments (monotone maps, MI unchanged), which keeps tiny theta representable.
Its copula is not Gaussian, so no linear statistic captures all of its dependence.

References:
    Darbellay & Vajda (2000), Entropy expressions for multivariate continuous distributions,
    IEEE Trans. Inf. Theory 46(2).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from data_gen.families.base import Family, Joint, bisect_decreasing, pair_layout, split_mi
from data_gen.registry import register_family

__all__ = ["GammaExponential", "GammaExponentialJoint", "gamma_exponential_mi"]

_EULER = 0.5772156649015329


def gamma_exponential_mi(theta: np.ndarray) -> np.ndarray:
    """psi(theta) - log(theta) + 1/theta in nats, elementwise (asymptotic series past 1e3,
    where the direct difference cancels)."""
    theta = np.asarray(theta, dtype=float)
    big = np.maximum(theta, 1e3)
    series = 0.5 / big - 1.0 / (12 * big**2) + 1.0 / (120 * big**4)
    small = np.minimum(theta, 1e3)
    return np.where(theta > 1e3, series, special.digamma(small) - np.log(small) + 1.0 / small)


def _log_gamma_sample(rng, theta, size):
    """log of Gamma(theta, 1) draws, exact for tiny theta: G = G' U^(1/theta), G' ~ Gamma(theta + 1)."""
    return np.log(rng.gamma(theta + 1.0, size=size)) + np.log(rng.uniform(size=size)) / theta


class GammaExponentialJoint(Joint):
    def __init__(self, dx, dy, ix, iy, theta):
        self.dx, self.dy, self.ix, self.iy = int(dx), int(dy), np.asarray(ix), np.asarray(iy)
        self.theta = np.asarray(theta, dtype=float)
        self.pair_mi = gamma_exponential_mi(self.theta)
        self.mi = float(self.pair_mi.sum())
        # exact moments: E log X = psi(theta), Var = psi1(theta); log Y = log E - log X
        self.mx, self.sx = special.digamma(self.theta), np.sqrt(special.polygamma(1, self.theta))
        self.my, self.sy = -_EULER - self.mx, np.sqrt(np.pi**2 / 6 + special.polygamma(1, self.theta))
        self.params = {"pair_mi": [round(float(v), 12) for v in self.pair_mi],
                       "theta": [float(v) for v in self.theta],
                       "pairs": [[int(a), int(b)] for a, b in zip(self.ix, self.iy)]}

    def sample(self, rng, n):
        # unpaired coordinates are independent of everything else: standard normal (cheap)
        x = rng.standard_normal((n, self.dx))
        y = rng.standard_normal((n, self.dy))
        k = len(self.ix)
        lx = _log_gamma_sample(rng, self.theta, (n, k))
        ly = np.log(rng.standard_exponential((n, k))) - lx  # Y | X ~ Exponential(rate X)
        x[:, self.ix] = (lx - self.mx) / self.sx
        y[:, self.iy] = (ly - self.my) / self.sy
        return x, y

    def log_ratio(self, x, y):
        """log p(y | x) - log p(y) = log x - x y - log theta + (theta + 1) log(1 + y) per pair."""
        lx = np.asarray(x, float)[:, self.ix] * self.sx + self.mx
        ly = np.asarray(y, float)[:, self.iy] * self.sy + self.my
        th = self.theta
        return (lx - np.exp(lx + ly) - np.log(th) + (th + 1) * np.logaddexp(0.0, ly)).sum(axis=1)


@register_family
class GammaExponential(Family):
    """Gamma-exponential dependence on a random number of coordinate pairs; unpaired
    coordinates are independent standard normal."""

    name = "gamma_exponential"
    defaults: dict = {}

    def draw(self, rng, dx, dy, mi, max_mi_per_dim, options):
        pair_mi = split_mi(rng, mi, min(dx, dy), max_mi_per_dim)
        ix, iy = pair_layout(rng, dx, dy, len(pair_mi))
        log_theta = bisect_decreasing(lambda t: gamma_exponential_mi(np.exp(t)), np.maximum(pair_mi, 1e-12), -40.0, 40.0)
        return GammaExponentialJoint(dx, dy, ix, iy, np.exp(log_theta))
