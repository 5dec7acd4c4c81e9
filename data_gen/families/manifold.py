"""Low-dimensional latents embedded in many columns: the shape of activations and embeddings.

A Gaussian latent pair (S_x, S_y) of kx and ky dims (`CanonicalGaussian`, min(kx, ky) canonical
pairs carrying the target) is mapped into dx and dy columns without noise by
X = [c S_x, h(S_x)] Q, with h a smooth map into dx - kx further columns and Q a random rotation.
S_x is read back from the first kx coordinates of X Q^T, so the map is injective and
I(X; Y) = I(S_x; S_y) exactly, whatever h is, though X's columns span a curved kx-dim manifold
and their correlation matrix is nearly singular. Kinds of h (option `maps`): "tanh" and
"fourier" (a random one-layer network with tanh or sine units), "quadratic" (products of random
projections), "relu2" (a random two-layer ReLU network, piecewise linear). c sets how much of
the latent shows linearly.
"""

from __future__ import annotations

import math

import numpy as np

from data_gen.families.base import Family, Joint, check_choice_option, check_range_option, haar_orthogonal, pair_layout, split_mi
from data_gen.families.gaussian import CanonicalGaussian
from data_gen.registry import register_family

__all__ = ["Manifold", "ManifoldJoint", "Embedding"]

MAPS = ("tanh", "fourier", "quadratic", "relu2")
_PAIR_CAP = 4.0


class Embedding:
    """An injective smooth map of k latent dims into d >= k columns (see the module docstring)."""

    def __init__(self, rng: np.random.Generator, k: int, d: int, kind: str):
        self.k, self.d, self.kind = k, d, kind
        self.c = float(np.exp(rng.uniform(math.log(0.2), math.log(2.0))))
        self.q = haar_orthogonal(rng, d)
        m = d - k
        gain = float(rng.uniform(0.5, 2.5))
        self.w1 = rng.standard_normal((k, max(m, 1))) * gain / math.sqrt(k)
        self.b1 = rng.uniform(-1.0, 1.0, max(m, 1)) * (math.pi if kind == "fourier" else 1.0)
        self.w2 = rng.standard_normal((k, max(m, 1))) / math.sqrt(k)
        self.w3 = rng.standard_normal((max(m, 1), max(m, 1))) / math.sqrt(max(m, 1))

    def features(self, s: np.ndarray) -> np.ndarray:
        u = s @ self.w1 + self.b1
        if self.kind == "tanh":
            return np.tanh(u)
        if self.kind == "fourier":
            return np.sin(u)
        if self.kind == "quadratic":
            return 0.5 * u * (s @ self.w2)
        return np.maximum(np.maximum(u, 0.0) @ self.w3 + 0.3 * self.b1, 0.0)  # relu2

    def forward(self, s: np.ndarray) -> np.ndarray:
        if self.d == self.k:
            return (self.c * s) @ self.q
        return np.concatenate([self.c * s, self.features(s)], axis=1) @ self.q

    def inverse(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, float) @ self.q.T)[:, : self.k] / self.c


class ManifoldJoint(Joint):
    def __init__(self, latent: CanonicalGaussian, ex: Embedding, ey: Embedding):
        self.latent, self.ex, self.ey = latent, ex, ey
        self.dx, self.dy, self.mi = ex.d, ey.d, latent.mi
        self.params = {"latent_dims": [ex.k, ey.k], "maps": [ex.kind, ey.kind], "linear_share": [ex.c, ey.c],
                       "pair_mi": latent.params["pair_mi"]}

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        sx, sy = self.latent.sample(rng, n)
        return self.ex.forward(sx), self.ey.forward(sy)

    def log_ratio(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.latent.log_ratio(self.ex.inverse(x), self.ey.inverse(y))


@register_family
class Manifold(Family):
    """Latents of `latent_dims` [lo, hi] dims a side, embedded by maps of the kinds `maps`."""

    name = "manifold"
    defaults = {"latent_dims": [1, 4], "maps": ["tanh", "fourier", "quadratic"]}

    def check_options(self, options, where):
        super().check_options(options, where)
        check_range_option(options, "latent_dims", where, 1, 64)
        check_choice_option(options, "maps", where, MAPS)

    def max_mi(self, dx, dy, max_mi_per_dim):
        return min(dx, dy, self.defaults["latent_dims"][1]) * min(max_mi_per_dim, _PAIR_CAP)

    def draw(self, rng, dx, dy, mi, max_mi_per_dim, options):
        cap = min(max_mi_per_dim, _PAIR_CAP)
        lo, hi = options["latent_dims"]
        need = max(int(lo), math.ceil(mi / cap - 1e-9), 1)
        kx = int(rng.integers(min(need, dx), max(min(hi, dx), min(need, dx)) + 1))
        ky = int(rng.integers(min(need, dy), max(min(hi, dy), min(need, dy)) + 1))
        pair_mi = split_mi(rng, mi, min(kx, ky), cap)
        ix, iy = pair_layout(rng, kx, ky, len(pair_mi))
        latent = CanonicalGaussian(kx, ky, ix, iy, pair_mi)
        maps = options["maps"]
        return ManifoldJoint(latent, Embedding(rng, kx, dx, str(rng.choice(maps))), Embedding(rng, ky, dy, str(rng.choice(maps))))
