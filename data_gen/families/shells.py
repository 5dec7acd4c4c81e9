"""Concentric shells: the dependence lives in the radius, the directions are independent noise.

X = R_x U_x with U_x uniform on the unit sphere of R^dx (a random sign when dx = 1) and
log R_x = m_x + s_x A; Y likewise from B ("shell"), or Y's first coordinate is B itself and its
others independent N(0, 1) ("radial-linear"). (A, B) are standard normal with correlation rho.
X is an invertible function of (A, U_x) and the directions are independent of everything else,
so I(X; Y) = I(A; B) = -1/2 log(1 - rho^2) exactly, while every correlation of X with Y, and of
their copula scores, is zero by symmetry. A small s makes thin, distinct shells.
"""

from __future__ import annotations

import math

import numpy as np

from data_gen.families.base import Family, Joint, check_choice_option
from data_gen.registry import register_family

__all__ = ["Shells", "ShellJoint"]

KINDS = ("shell", "radial-linear")


def _directions(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    u = rng.standard_normal((n, d))
    return u / np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-300)


class ShellJoint(Joint):
    """Radii (or Y's first coordinate) driven by a Gaussian pair carrying `mi` nats."""

    def __init__(self, dx: int, dy: int, mi: float, kind: str, mx: float, sx: float, my: float, sy: float):
        self.dx, self.dy, self.kind = int(dx), int(dy), kind
        self.mi = float(mi)
        self.rho, self.noise = math.sqrt(-math.expm1(-2.0 * mi)), math.exp(-mi)
        self.mx, self.sx, self.my, self.sy = mx, sx, my, sy
        self.params = {"kind": kind, "log_radius_sd_x": sx, "log_radius_sd_y": sy}

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        a = rng.standard_normal(n)
        b = self.rho * a + self.noise * rng.standard_normal(n)
        x = np.exp(self.mx + self.sx * a)[:, None] * _directions(rng, n, self.dx)
        if self.kind == "shell":
            y = np.exp(self.my + self.sy * b)[:, None] * _directions(rng, n, self.dy)
        else:
            y = rng.standard_normal((n, self.dy))
            y[:, 0] = b
        return x, y

    def log_ratio(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        a = (np.log(np.maximum(np.linalg.norm(np.asarray(x, float), axis=1), 1e-300)) - self.mx) / self.sx
        y = np.asarray(y, float)
        if self.kind == "shell":
            b = (np.log(np.maximum(np.linalg.norm(y, axis=1), 1e-300)) - self.my) / self.sy
        else:
            b = y[:, 0]
        z = (b - self.rho * a) / self.noise
        return self.mi - 0.5 * z**2 + 0.5 * b**2


@register_family
class Shells(Family):
    """Concentric shells; option `kind`: the Y sides drawn from ("shell", "radial-linear")."""

    name = "shells"
    defaults = {"kind": list(KINDS)}

    def check_options(self, options, where):
        super().check_options(options, where)
        check_choice_option(options, "kind", where, KINDS)

    def max_mi(self, dx, dy, max_mi_per_dim):
        return min(max_mi_per_dim, 5.0)  # one pair; beyond ~5 nats the radii need float64 resolution

    def draw(self, rng, dx, dy, mi, max_mi_per_dim, options):
        kind = str(rng.choice(options["kind"]))
        sx, sy = np.exp(rng.uniform(math.log(0.05), math.log(0.6), 2))
        return ShellJoint(dx, dy, mi, kind, float(rng.uniform(-0.5, 0.5)), float(sx), float(rng.uniform(-0.5, 0.5)), float(sy))
