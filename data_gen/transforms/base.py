"""What every transform provides: a registry entry that draws random invertible maps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from data_gen.registry import Configurable

__all__ = ["Bijection", "Transform", "Chain", "log_uniform", "solve_increasing"]


class Bijection:
    """One drawn invertible map R^d -> R^d, applied row-wise to (n, d) float64 arrays.

    Attributes:
        name: the registry name of the transform that drew it.
        params: a small JSON-serialisable summary.
    """

    name: str = ""
    params: dict[str, Any] = {}

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(n, d) -> (n, d)."""
        raise NotImplementedError

    def inverse(self, y: np.ndarray) -> np.ndarray:
        """(n, d) -> (n, d), the exact inverse of `forward` (up to float64 rounding)."""
        raise NotImplementedError


class Transform(Configurable):
    """A registry entry: `draw(rng, d, options)` returns a random `Bijection` of R^d.

    Subclasses set `name`, `min_dim` (the smallest d it applies to), `kind` and `defaults`.
    `kind` says what the map keeps of an elliptical joint (`data_gen.copula`): "elementwise"
    (strictly increasing per coordinate: the copula), "linear" (the joint stays elliptical) or
    "other" (neither).
    """

    name: str = ""
    min_dim: int = 1
    kind: str = "other"
    defaults: Mapping[str, Any] = {}

    def draw(self, rng: np.random.Generator, d: int, options: Mapping[str, Any]) -> Bijection:
        raise NotImplementedError


class Chain(Bijection):
    """Bijections applied in order; named "a+b+c" ("identity" when empty)."""

    def __init__(self, parts: Sequence[Bijection]):
        self.parts = list(parts)
        self.name = "+".join(p.name for p in self.parts) or "identity"
        self.params = [{"name": p.name, **p.params} for p in self.parts]

    def forward(self, x):
        for p in self.parts:
            x = p.forward(x)
        return x

    def inverse(self, y):
        for p in reversed(self.parts):
            y = p.inverse(y)
        return y


def log_uniform(rng: np.random.Generator, lo: float, hi: float, size=None) -> np.ndarray:
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size))


def solve_increasing(f, df, y: np.ndarray, lo: np.ndarray, hi: np.ndarray, bisections: int = 24,
                     newton: int = 8) -> np.ndarray:
    """Solve f(x) = y elementwise for x in the bracket [lo, hi], f strictly increasing with
    derivative df: bisection shrinks the bracket 2^24-fold, then Newton steps that stay inside
    it polish the root to float64 precision. Used by the inverses without a closed form (tests
    and checks; sampling only runs forward)."""
    lo, hi = (np.array(np.broadcast_to(np.asarray(t, float), np.shape(y))) for t in (lo, hi))
    for _ in range(bisections):
        mid = 0.5 * (lo + hi)
        below = f(mid) < y
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    x = 0.5 * (lo + hi)
    for _ in range(newton):
        step = x - (f(x) - y) / df(x)
        x = np.where((step >= lo) & (step <= hi), step, x)
    return x
