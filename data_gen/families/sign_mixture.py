"""X shapes: Y follows +X or -X, by a coin flip independent of everything else.

For each dependent coordinate pair, (A, B) are standard normal with correlation rho and the
pair is (A, S B) with S = +-1 equally likely, so the joint is an even mixture of two Gaussians
with correlations +rho and -rho and the same N(0, 1) marginals: an X shape whose correlation is
zero. Pairs are independent, so I(X; Y) is the sum over pairs of
f(rho), a one-dimensional integral in closed form up to a smooth correction computed
by quadrature (a table over rho, inverted for the target). Other coordinates are
independent N(0, 1).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.special import logsumexp

from data_gen.families.base import Family, Joint, pair_layout, split_mi
from data_gen.registry import register_family

__all__ = ["SignMixture", "SignMixtureJoint", "sign_mixture_mi"]

_MAX_RHO = 0.999


def _pair_log_ratio(a: np.ndarray, b: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """log(0.5 r(a, b) + 0.5 r(a, -b)), r the density ratio of a standard Gaussian pair."""
    var = 1.0 - rho**2
    base = -0.5 * np.log(var) - 0.5 * (a * a * rho * rho + b * b) / var + 0.5 * b * b
    cross = rho * a * b / var
    return base + logsumexp(np.stack([cross, -cross]), axis=0) - math.log(2.0)


def _log_cosh(v: np.ndarray) -> np.ndarray:
    v = np.abs(v)
    return v + np.log1p(np.exp(-2.0 * v)) - math.log(2.0)


@functools.lru_cache(maxsize=1)
def _table() -> tuple[np.ndarray, np.ndarray]:
    """(rho grid, f(rho)). Given A = a, Y is an even mixture of N(+-rho a, s^2), s^2 = 1 - rho^2,
    whose entropy is that of one component plus u^2 - E_{z ~ N(u, 1)} log cosh(u z), u = rho a / s.
    With H(u) = E_{z ~ N(u, 1)} log cosh(u z) - u^2 (from 0 at u = 0 to -log 2), the MI is
    f(rho) = -1/2 log(1 - rho^2) + E_a H(rho |a| / s): H by Gauss-Hermite in z, the outer mean on a
    fine grid in a (H(c a) turns over on the scale 1 / c)."""
    t, w = np.polynomial.hermite_e.hermegauss(200)  # nodes for the weight exp(-t^2 / 2)
    w = w / w.sum()
    u = np.linspace(0.0, 60.0, 6001)
    h = (w[None, :] * _log_cosh(u[:, None] * (u[:, None] + t[None, :]))).sum(1) - u * u
    a = np.linspace(0.0, 9.0, 90001)
    pa = np.exp(-0.5 * a * a) * math.sqrt(2.0 / math.pi) * (a[1] - a[0])
    pa[[0, -1]] *= 0.5
    rho = np.concatenate([np.linspace(0.0, 0.95, 96), 1.0 - np.geomspace(0.05, 1.0 - _MAX_RHO, 60)[1:]])
    f = np.array([-0.5 * math.log1p(-r * r) + float((pa * np.interp(r * a / math.sqrt(1.0 - r * r), u, h)).sum())
                  for r in rho])
    return rho, np.maximum.accumulate(np.maximum(f, 0.0))


def sign_mixture_mi(rho: np.ndarray) -> np.ndarray:
    """I(A; S B) in nats for a standard Gaussian pair of correlation rho and a fair random sign S."""
    grid, f = _table()
    return np.interp(np.abs(np.asarray(rho, float)), grid, f)


def _rho_for(mi: np.ndarray) -> np.ndarray:
    grid, f = _table()
    return np.interp(np.asarray(mi, float), f, grid)


class SignMixtureJoint(Joint):
    def __init__(self, dx: int, dy: int, ix, iy, rho):
        self.dx, self.dy = int(dx), int(dy)
        self.ix, self.iy, self.rho = np.asarray(ix, int), np.asarray(iy, int), np.asarray(rho, float)
        self.pair_mi = sign_mixture_mi(self.rho)
        self.mi = float(self.pair_mi.sum())
        self.params = {"rho": [round(float(r), 12) for r in self.rho], "pairs": [[int(a), int(b)] for a, b in zip(self.ix, self.iy)]}

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        x, y = rng.standard_normal((n, self.dx)), rng.standard_normal((n, self.dy))
        sign = rng.choice([-1.0, 1.0], size=(n, len(self.ix)))
        y[:, self.iy] = sign * (self.rho * x[:, self.ix] + np.sqrt(1.0 - self.rho**2) * y[:, self.iy])
        return x, y

    def log_ratio(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x, y = np.asarray(x, float), np.asarray(y, float)
        return _pair_log_ratio(x[:, self.ix], y[:, self.iy], self.rho).sum(axis=1)


@register_family
class SignMixture(Family):
    """X shapes on a few coordinate pairs."""

    name = "sign_mixture"
    defaults: dict = {}

    def max_mi(self, dx, dy, max_mi_per_dim):
        return min(dx, dy) * min(max_mi_per_dim, float(sign_mixture_mi(np.array([_MAX_RHO]))[0]))

    def draw(self, rng, dx, dy, mi, max_mi_per_dim, options):
        cap = min(max_mi_per_dim, float(sign_mixture_mi(np.array([_MAX_RHO]))[0]))
        pair_mi = split_mi(rng, mi, min(dx, dy), cap, active=int(rng.integers(1, 4)))
        ix, iy = pair_layout(rng, dx, dy, len(pair_mi))
        joint = SignMixtureJoint(dx, dy, ix, iy, _rho_for(pair_mi))
        return joint
