"""Additive uniform noise: pairs X_i ~ U(0, 1), Y_j = X_i + U(0, a_i); other coordinates
independent U(0, 1). Coordinates are then centred and scaled to unit variance (exactly).

For one pair, h(Y) - h(Y | X) gives I = a/2 - log a for a <= 1 and 1 / (2a) for a >= 1 (nats);
the width solving I = m is a = 1 / (2m) for m <= 1/2, else a = -2 W0(-exp(-m) / 2).

References:
    Czyz et al. (2023), Beyond Normal: On the Evaluation of Mutual Information Estimators,
    NeurIPS (the additive-uniform benchmark task).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from data_gen.families.base import Family, Joint, pair_layout, split_mi
from data_gen.registry import register_family

__all__ = ["UniformNoise", "UniformNoiseJoint", "uniform_pair_mi", "uniform_width"]

_SQRT12 = math.sqrt(12.0)


def uniform_pair_mi(a: np.ndarray) -> np.ndarray:
    """I(X; X + U(0, a)) in nats for X ~ U(0, 1), elementwise in the width a > 0."""
    a = np.asarray(a, dtype=float)
    small = np.minimum(a, 1.0)
    return np.where(a <= 1.0, 0.5 * small - np.log(small), 0.5 / np.maximum(a, 1.0))


def uniform_width(m: np.ndarray) -> np.ndarray:
    """The noise width a with uniform_pair_mi(a) = m nats, elementwise (m > 0)."""
    m = np.asarray(m, dtype=float)
    wide = 0.5 / np.maximum(m, 1e-300)
    narrow = -2.0 * np.real(special.lambertw(-0.5 * np.exp(-np.maximum(m, 0.5)), 0))
    return np.where(m <= 0.5, wide, narrow)


class UniformNoiseJoint(Joint):
    def __init__(self, dx: int, dy: int, ix: np.ndarray, iy: np.ndarray, width: np.ndarray):
        self.dx, self.dy, self.ix, self.iy = int(dx), int(dy), np.asarray(ix), np.asarray(iy)
        self.width = np.asarray(width, dtype=float)
        self.pair_mi = uniform_pair_mi(self.width)
        self.mi = float(self.pair_mi.sum())
        # Y_j = X_i + a U has mean (1 + a) / 2 and variance (1 + a^2) / 12
        self.y_width = np.ones(dy)
        self.y_width[self.iy] = self.width
        self.params = {"pair_mi": [round(float(v), 12) for v in self.pair_mi],
                       "width": [float(v) for v in self.width],
                       "pairs": [[int(a), int(b)] for a, b in zip(self.ix, self.iy)]}

    def _y_affine(self):
        mean = np.full(self.dy, 0.5)
        mean[self.iy] = 0.5 * (1 + self.width)
        sd = np.full(self.dy, 1 / _SQRT12)
        sd[self.iy] = np.sqrt((1 + self.width**2) / 12)
        return mean, sd

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.uniform(size=(n, self.dx))
        y = rng.uniform(size=(n, self.dy))
        y[:, self.iy] = x[:, self.ix] + self.width * y[:, self.iy]
        mean, sd = self._y_affine()
        return (x - 0.5) * _SQRT12, (y - mean) / sd

    def log_ratio(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """log p(y | x) - log p(y) = -log |[y - a, y] & [0, 1]| per pair (on the support)."""
        mean, sd = self._y_affine()
        yy = (np.asarray(y, float) * sd + mean)[:, self.iy]
        overlap = np.minimum(yy, 1.0) - np.maximum(yy - self.width, 0.0)
        return -np.log(np.clip(overlap, 1e-300, None)).sum(axis=1)


@register_family
class UniformNoise(Family):
    """Additive uniform noise on a random number of coordinate pairs."""

    name = "uniform_noise"
    defaults: dict = {}

    def draw(self, rng, dx, dy, mi, max_mi_per_dim, options):
        pair_mi = split_mi(rng, mi, min(dx, dy), max_mi_per_dim)
        ix, iy = pair_layout(rng, dx, dy, len(pair_mi))
        return UniformNoiseJoint(dx, dy, ix, iy, uniform_width(np.maximum(pair_mi, 1e-12)))
