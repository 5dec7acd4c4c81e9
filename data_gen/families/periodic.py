"""Periodic dependence: Y follows X up and down a wave of several periods.

For each dependent coordinate pair, (A, B) are standard normal with correlation rho and
U = Phi(A) in (0, 1). X's coordinate is J + w_J(U) with J uniform on {0, ..., m - 1} (the
period) and w_J the rising or falling half of a wave: "triangle" alternates U and 1 - U from one
period to the next (a zigzag), "sawtooth" always rises. Y's coordinate is B ("one-sided"), or
B put through the same construction ("two-sided"). (J, U) <-> X is a bijection and J is
independent of everything else, so each pair carries exactly I(A; B) = -1/2 log(1 - rho^2)
nats; with a few periods the correlation of X and Y is near zero. Other coordinates are
independent N(0, 1). Coordinates are centred and scaled to unit variance.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr, ndtri

from data_gen.families.base import Family, Joint, check_choice_option, check_range_option, pair_layout, split_mi
from data_gen.registry import register_family

__all__ = ["Periodic", "PeriodicJoint"]

WAVES = ("triangle", "sawtooth")
SIDES = ("one-sided", "two-sided")
_PAIR_CAP = 4.0  # nats per pair: U = Phi(A) keeps float32 resolution below this


def _wave(j: np.ndarray, u: np.ndarray, wave: str) -> np.ndarray:
    return j + (np.where(j % 2 == 1, 1.0 - u, u) if wave == "triangle" else u)


def _unwave(v: np.ndarray, m: int, wave: str) -> np.ndarray:
    j = np.clip(np.floor(v), 0, m - 1)
    f = np.clip(v - j, 1e-15, 1.0 - 1e-15)
    return np.where(j % 2 == 1, 1.0 - f, f) if wave == "triangle" else f


class PeriodicJoint(Joint):
    def __init__(self, dx: int, dy: int, ix, iy, pair_mi, periods_x, periods_y, wave: str, sides: str):
        self.dx, self.dy = int(dx), int(dy)
        self.ix, self.iy = np.asarray(ix, int), np.asarray(iy, int)
        self.pair_mi = np.asarray(pair_mi, float)
        self.rho, self.noise = np.sqrt(-np.expm1(-2.0 * self.pair_mi)), np.exp(-self.pair_mi)
        self.px, self.py = np.asarray(periods_x, int), np.asarray(periods_y, int)
        self.wave, self.sides = wave, sides
        self.mi = float(self.pair_mi.sum())
        self.params = {"wave": wave, "sides": sides, "periods_x": self.px.tolist(), "periods_y": self.py.tolist(),
                       "pair_mi": [round(float(v), 12) for v in self.pair_mi]}

    @staticmethod
    def _scale(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return m / 2.0, m / math.sqrt(12.0)  # mean and sd of J + U (uniform on [0, m))

    def _to_wave(self, rng, a: np.ndarray, m: np.ndarray) -> np.ndarray:
        j = rng.integers(0, m, size=a.shape)
        mean, sd = self._scale(m)
        return (_wave(j, ndtr(a), self.wave) - mean) / sd

    def _from_wave(self, v: np.ndarray, m: np.ndarray) -> np.ndarray:
        mean, sd = self._scale(m)
        u = np.stack([_unwave(v[:, i] * sd[i] + mean[i], int(m[i]), self.wave) for i in range(len(m))], 1)
        return ndtri(u)

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        x, y = rng.standard_normal((n, self.dx)), rng.standard_normal((n, self.dy))
        a = rng.standard_normal((n, len(self.ix)))
        b = self.rho * a + self.noise * rng.standard_normal(a.shape)
        x[:, self.ix] = self._to_wave(rng, a, self.px)
        y[:, self.iy] = self._to_wave(rng, b, self.py) if self.sides == "two-sided" else b
        return x, y

    def log_ratio(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x, y = np.asarray(x, float), np.asarray(y, float)
        a = self._from_wave(x[:, self.ix], self.px)
        b = self._from_wave(y[:, self.iy], self.py) if self.sides == "two-sided" else y[:, self.iy]
        z = (b - self.rho * a) / self.noise
        return (self.pair_mi - 0.5 * z**2 + 0.5 * b**2).sum(axis=1)


@register_family
class Periodic(Family):
    """Periodic dependence; options: `periods` [lo, hi], `wave` and `sides` (kinds drawn from)."""

    name = "periodic"
    defaults = {"periods": [2, 8], "wave": ["triangle"], "sides": list(SIDES)}

    def check_options(self, options, where):
        super().check_options(options, where)
        check_range_option(options, "periods", where, 1, 1000)
        check_choice_option(options, "wave", where, WAVES)
        check_choice_option(options, "sides", where, SIDES)

    def max_mi(self, dx, dy, max_mi_per_dim):
        return min(dx, dy) * min(max_mi_per_dim, _PAIR_CAP)

    def draw(self, rng, dx, dy, mi, max_mi_per_dim, options):
        pair_mi = split_mi(rng, mi, min(dx, dy), min(max_mi_per_dim, _PAIR_CAP), active=int(rng.integers(1, 4)))
        ix, iy = pair_layout(rng, dx, dy, len(pair_mi))
        lo, hi = options["periods"]
        px, py = rng.integers(int(lo), int(hi) + 1, size=(2, len(pair_mi)))
        return PeriodicJoint(dx, dy, ix, iy, pair_mi, px, py, str(rng.choice(options["wave"])),
                             str(rng.choice(options["sides"])))
