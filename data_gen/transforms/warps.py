"""Elementwise strictly monotone warps: each coordinate gets its own random parameters.

All are defined on the whole real line, grow at most polynomially and never saturate, so
float32 storage keeps neighbouring values apart (MI of the stored data stays the label).
"""

from __future__ import annotations

import numpy as np

from data_gen.registry import register_transform
from data_gen.transforms.base import Bijection, Transform, log_uniform, solve_increasing

__all__ = ["WarpAsinh", "WarpPower", "WarpWiggly", "WarpSteps"]


def _as(a: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Parameters in the dtype of the data (float32 math is several times faster and exact
    enough: its rounding is that of the float32 storage)."""
    return a.astype(like.dtype, copy=False)


def _summary(**arrays) -> dict:
    return {k: [round(float(v), 6) for v in np.ravel(a)] for k, a in arrays.items()}


class _Asinh(Bijection):
    name = "warp_asinh"

    def __init__(self, scale, shift):
        self.s, self.c = scale, shift
        self.params = _summary(scale=scale, shift=shift)

    def forward(self, x):
        s = _as(self.s, x)
        return s * np.arcsinh((x - _as(self.c, x)) / s)

    def inverse(self, y):
        s = _as(self.s, y)
        return _as(self.c, y) + s * np.sinh(y / s)


@register_transform
class WarpAsinh(Transform):
    """x -> s asinh((x - c) / s): linear near c, logarithmic tails (compresses heavy tails)."""

    name = "warp_asinh"
    kind = "elementwise"
    defaults = {"scale": [0.2, 2.0]}

    def draw(self, rng, d, options):
        lo, hi = options["scale"]
        return _Asinh(log_uniform(rng, lo, hi, d), rng.normal(0.0, 0.5, d))


class _Power(Bijection):
    name = "warp_power"

    def __init__(self, power):
        self.p = power
        self.params = _summary(power=power)

    def forward(self, x):
        return _signed_power(x, _as(self.p, x))

    def inverse(self, y):
        return _signed_power(y, _as(1.0 / self.p, y))


def _signed_power(x, p):
    with np.errstate(divide="ignore"):  # log(0) = -inf -> exp(-inf) = 0
        return np.copysign(np.exp(p * np.log(np.abs(x))), x)


@register_transform
class WarpPower(Transform):
    """x -> sign(x) |x|^p with p log-uniform in [1/max_power, max_power] (p > 1 stretches tails)."""

    name = "warp_power"
    kind = "elementwise"
    defaults = {"max_power": 1.8}

    def draw(self, rng, d, options):
        m = float(options["max_power"])
        return _Power(log_uniform(rng, 1.0 / m, m, d))


class _Wiggly(Bijection):
    name = "warp_wiggly"

    def __init__(self, amp, freq, phase):
        self.a, self.w, self.ph = amp, freq, phase  # (k, d) each
        self.params = _summary(slope_bound=(amp * freq).sum(axis=0))

    def forward(self, x):
        a, w, ph = (_as(t, x)[:, None, :] for t in (self.a, self.w, self.ph))
        return x + (a * np.sin(w * x[None] + ph)).sum(axis=0)

    def slope(self, x):
        return 1 + (self.a[:, None, :] * self.w[:, None, :] * np.cos(self.w[:, None, :] * x[None] + self.ph[:, None, :])).sum(axis=0)

    def inverse(self, y):
        bound = self.a.sum(axis=0)  # |forward(x) - x| <= bound
        return solve_increasing(self.forward, self.slope, y, y - bound, y + bound)


@register_transform
class WarpWiggly(Transform):
    """x -> x + sum_k a_k sin(w_k x + phi_k) with sum_k a_k w_k < 1 (so the slope stays > 0)."""

    name = "warp_wiggly"
    kind = "elementwise"
    defaults = {"components": 3, "max_slope_loss": 0.9}

    def draw(self, rng, d, options):
        k = int(options["components"])
        freq = log_uniform(rng, 0.5, 4.0, (k, d))
        raw = rng.uniform(0.1, 1.0, (k, d))
        budget = rng.uniform(0.3, float(options["max_slope_loss"]), d)
        amp = raw / (raw * freq).sum(axis=0) * budget
        return _Wiggly(amp, freq, rng.uniform(0, 2 * np.pi, (k, d)))


class _Steps(Bijection):
    name = "warp_steps"

    def __init__(self, slope, amp, centre, width):
        self.b, self.a, self.c, self.w = slope, amp, centre, width
        self.params = _summary(slope=slope)

    def forward(self, x):
        a, c, w = (_as(t, x)[:, None, :] for t in (self.a, self.c, self.w))
        return _as(self.b, x) * x + (a * np.tanh((x[None] - c) / w)).sum(axis=0)

    def slope(self, x):
        t = np.tanh((x[None] - self.c[:, None, :]) / self.w[:, None, :])
        return self.b + (self.a[:, None, :] / self.w[:, None, :] * (1 - t * t)).sum(axis=0)

    def inverse(self, y):
        bound = self.a.sum(axis=0)  # |forward(x) - b x| <= bound
        return solve_increasing(self.forward, self.slope, y, (y - bound) / self.b, (y + bound) / self.b)


@register_transform
class WarpSteps(Transform):
    """x -> b x + sum_k a_k tanh((x - c_k) / w_k): a staircase with gentle floors of slope b > 0,
    plateaus that bunch values together (near-ties) between steep steps."""

    name = "warp_steps"
    kind = "elementwise"
    defaults = {"components": 3, "min_slope": 0.05}

    def draw(self, rng, d, options):
        k = int(options["components"])
        b = rng.uniform(float(options["min_slope"]), 0.3, d)
        return _Steps(b, rng.uniform(0.3, 1.0, (k, d)), rng.normal(0, 1, (k, d)), log_uniform(rng, 0.05, 0.5, (k, d)))
