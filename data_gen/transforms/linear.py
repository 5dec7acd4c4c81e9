"""Random invertible linear maps and two norm-preserving swirls (spiral, swirl)."""

from __future__ import annotations

import math

import numpy as np

from data_gen.families.base import check_range_option, haar_orthogonal
from data_gen.registry import register_transform
from data_gen.transforms.base import Bijection, Transform, log_uniform

__all__ = ["Linear", "Spiral", "Swirl"]


class _Linear(Bijection):
    name = "linear"

    def __init__(self, u, s, v):
        self.m = (u * s) @ v.T
        self.m_inv = (v / s) @ u.T
        self.params = {"singular_values": [round(float(t), 6) for t in np.sort(s)[::-1]]}

    def forward(self, x):
        return x @ self.m.T.astype(x.dtype, copy=False)

    def inverse(self, y):
        return y @ self.m_inv.T.astype(y.dtype, copy=False)


@register_transform
class Linear(Transform):
    """x -> M x with M = U diag(s) V^T, U and V Haar rotations and s log-uniform with
    max(s) / min(s) <= max_condition and geometric mean 1 (well conditioned by construction)."""

    name = "linear"
    kind = "linear"
    defaults = {"max_condition": 10.0}

    def check_options(self, options, where):
        super().check_options(options, where)
        if "max_condition" in options and not float(options["max_condition"]) >= 1:
            raise ValueError(f"generator config '{where}.max_condition' must be >= 1")

    def draw(self, rng, d, options):
        half = 0.5 * math.log(float(options["max_condition"]))
        s = np.exp(rng.uniform(-half, half, d))
        s /= np.exp(np.log(s).mean())  # geometric mean 1 keeps the scale of the data
        return _Linear(haar_orthogonal(rng, d), s, haar_orthogonal(rng, d))


class _Spiral(Bijection):
    name = "spiral"

    def __init__(self, basis, speed):
        self.q, self.v = basis, speed  # (d, d) rotation, (d // 2,) speeds
        self.params = {"speed": [round(float(t), 6) for t in speed]}

    def _turn(self, x, sign):
        q = self.q.astype(x.dtype, copy=False)
        z = x @ q
        k = len(self.v)
        a, b = z[:, 0 : 2 * k : 2], z[:, 1 : 2 * k : 2]
        # the angle depends on the radius in the plane, which the rotation keeps: invertible.
        # (log(1 + r^2), not log1p: only the angle's absolute error matters, and log is faster)
        theta = (sign * self.v).astype(x.dtype) * np.log(1 + (a * a + b * b))
        c, s = np.cos(theta), np.sin(theta)
        z[:, 0 : 2 * k : 2], z[:, 1 : 2 * k : 2] = c * a - s * b, s * a + c * b
        return z @ q.T

    def forward(self, x):
        return self._turn(x, 1.0)

    def inverse(self, y):
        return self._turn(y, -1.0)


@register_transform
class Spiral(Transform):
    """A swirl: in random orthogonal planes, rotate each point by an angle v log(1 + r^2) that
    grows with its radius r in that plane. Norm preserving and exactly invertible; the angle's
    slow growth keeps float32 precision at large radii."""

    name = "spiral"
    min_dim = 2
    defaults = {"speed": [0.5, 2.0]}

    def draw(self, rng, d, options):
        lo, hi = options["speed"]
        k = d // 2
        speed = rng.uniform(lo, hi, k) * rng.choice([-1.0, 1.0], k)
        return _Spiral(haar_orthogonal(rng, d), speed)


class _Swirl(Bijection):
    name = "swirl"

    def __init__(self, plane, speed):
        d = plane.shape[0]
        self.u, self.v, self.soft = plane, speed / d, 16.0 * d  # (d, 2) orthonormal columns, rad per |x|^2, softening
        self.params = {"speed": round(float(speed), 6)}

    def _turn(self, x, sign):
        x64 = x.astype(np.float64)
        r2 = np.einsum("ij,ij->i", x64, x64)  # the full norm, which the rotation keeps: invertible
        theta = sign * self.v * self.soft * np.log1p(r2 / self.soft)
        p = x64 @ self.u  # (n, 2) coordinates in the plane
        c, s = np.cos(theta), np.sin(theta)
        turned = np.stack([c * p[:, 0] - s * p[:, 1], s * p[:, 0] + c * p[:, 1]], axis=1)
        return (x64 + (turned - p) @ self.u.T).astype(x.dtype, copy=False)

    def forward(self, x):
        return self._turn(x, 1.0)

    def inverse(self, y):
        return self._turn(y, -1.0)


@register_transform
class Swirl(Transform):
    """A swirl driven by the whole vector: in one plane, rotate each point by an angle
    s |x|^2 / d that grows with its squared norm over *all* d coordinates, so coordinates
    outside the plane (independent noise included) steer the turn. This is the shape of BMI's
    spiral tasks (Czyz et al. 2023: s = 1, coordinate planes), which the per-plane `spiral`
    does not draw. The plane is a random pair of coordinates (axis_prob) or a Haar-random
    plane. Norm preserving and exactly invertible; beyond |x|^2 / d ~ 16 the angle grows
    logarithmically, which keeps float32 data a faithful copy of the map at heavy-tailed radii."""

    name = "swirl"
    min_dim = 2
    defaults = {"speed": [0.3, 3.0], "axis_prob": 0.5}

    def check_options(self, options, where):
        super().check_options(options, where)
        check_range_option(options, "speed", where, 1e-3, 10.0)
        if "axis_prob" in options and not 0 <= float(options["axis_prob"]) <= 1:
            raise ValueError(f"generator config '{where}.axis_prob' must be in [0, 1]")

    def draw(self, rng, d, options):
        lo, hi = options["speed"]
        speed = float(log_uniform(rng, lo, hi)) * rng.choice([-1.0, 1.0])
        if rng.random() < float(options["axis_prob"]):
            plane = np.zeros((d, 2))
            plane[rng.choice(d, 2, replace=False), [0, 1]] = 1.0
        else:
            plane = haar_orthogonal(rng, d)[:, :2]
        return _Swirl(plane, speed)
