"""Shared cluster labels: a hidden label C picks a cluster centre for X and one for Y.

C takes K values with weights w; X | C ~ N(mu_C, (s a_x)^2 I), Y | C ~ N(nu_C, (s a_y)^2 I),
conditionally independent given C. All the dependence is which cluster a point belongs to, so
the correlation of X and Y (and of their copula scores) is near zero while I(X; Y) reaches
H(C). No closed form: p(x, y), p(x) and p(y) are Gaussian mixtures, so the information density
is exact and the label is its Monte Carlo mean (`monte_carlo_mi`, standard error recorded).
The noise scale s is solved for the target MI on common random numbers.

Centre layouts (option `layout`): "gaussian" draws the centres i.i.d. N(0, I) per side;
"ring" puts them on a circle in a random plane (dims >= 2; a 1-D side uses a line).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from data_gen.families.base import Family, Joint, check_choice_option, check_range_option, haar_orthogonal, monte_carlo_mi
from data_gen.registry import register_family

__all__ = ["Clusters", "ClusterJoint"]

LAYOUTS = ("gaussian", "ring")


class ClusterJoint(Joint):
    """The shared-label Gaussian mixture with weights w (K,), centres mu (K, dx) and nu (K, dy),
    noise sd sx and sy."""

    def __init__(self, w: np.ndarray, mu: np.ndarray, nu: np.ndarray, sx: float, sy: float, layout: str):
        self.w, self.mu, self.nu, self.sx, self.sy = np.asarray(w, float), mu, nu, float(sx), float(sy)
        self.dx, self.dy = mu.shape[1], nu.shape[1]
        self.mi, self.mi_se = 0.0, 0.0
        self.params = {"clusters": int(len(w)), "layout": layout, "noise_x": self.sx, "noise_y": self.sy}

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        c = rng.choice(len(self.w), size=n, p=self.w)
        x = self.mu[c] + self.sx * rng.standard_normal((n, self.dx))
        y = self.nu[c] + self.sy * rng.standard_normal((n, self.dy))
        return x, y

    def _component_logpdf(self, z: np.ndarray, centres: np.ndarray, sd: float) -> np.ndarray:
        """log N(z; centre_k, sd^2 I) for every row and component, shape (n, K)."""
        d = z.shape[1]
        sq = (z * z).sum(1)[:, None] - 2.0 * z @ centres.T + (centres * centres).sum(1)[None, :]
        return -0.5 * np.maximum(sq, 0.0) / sd**2 - d * math.log(sd) - 0.5 * d * math.log(2 * math.pi)

    def log_ratio(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        lw = np.log(self.w)[None, :]
        lx = self._component_logpdf(np.asarray(x, float), self.mu, self.sx)
        ly = self._component_logpdf(np.asarray(y, float), self.nu, self.sy)
        return logsumexp(lw + lx + ly, axis=1) - logsumexp(lw + lx, axis=1) - logsumexp(lw + ly, axis=1)


def _centres(rng: np.random.Generator, k: int, d: int, layout: str) -> np.ndarray:
    if layout == "ring" and d >= 2:
        angle = 2 * math.pi * (np.arange(k) + rng.uniform()) / k
        plane = haar_orthogonal(rng, d)[:, :2]
        return np.stack([np.cos(angle), np.sin(angle)], 1) @ plane.T * 1.5
    if layout == "ring":
        return (np.arange(k) - (k - 1) / 2.0)[:, None] * 3.0 / k
    return rng.standard_normal((k, d))


@register_family
class Clusters(Family):
    """Shared cluster labels; options: `clusters` [lo, hi] (K), `layout` (centre layouts drawn from)."""

    name = "clusters"
    exact = False
    defaults = {"clusters": [2, 16], "layout": ["gaussian", "ring"]}

    def check_options(self, options, where):
        super().check_options(options, where)
        check_range_option(options, "clusters", where, 2, 256)
        check_choice_option(options, "layout", where, LAYOUTS)

    def max_mi(self, dx, dy, max_mi_per_dim):
        return min(math.log(self.defaults["clusters"][1]) * 0.9, dx * max_mi_per_dim, dy * max_mi_per_dim)

    def draw(self, rng, dx, dy, mi, max_mi_per_dim, options):
        lo, hi = options["clusters"]
        need = min(hi, max(lo, math.ceil(math.exp(mi) * 1.3)))  # H(C) <= log K must clear the target
        k = int(rng.integers(need, hi + 1))
        w = rng.dirichlet(np.full(k, 4.0))  # near-uniform weights, some spread
        layout = str(rng.choice(options["layout"]))
        mu, nu = _centres(rng, k, dx, layout), _centres(rng, k, dy, layout)
        ax, ay = np.exp(rng.uniform(-0.5, 0.5, 2))
        # solve the noise scale s for the target on fixed draws (common random numbers)
        m = 1000
        c = rng.choice(k, size=m, p=w)
        ex, ey = rng.standard_normal((m, dx)), rng.standard_normal((m, dy))

        def mc(log_s: float) -> float:
            s = math.exp(log_s)
            j = ClusterJoint(w, mu, nu, s * ax, s * ay, layout)
            return float(j.log_ratio(mu[c] + j.sx * ex, nu[c] + j.sy * ey).mean())

        a, b = -7.0, 4.0
        for _ in range(16):  # MI falls as the clusters blur
            mid = 0.5 * (a + b)
            a, b = (mid, b) if mc(mid) > mi else (a, mid)
        s = math.exp(0.5 * (a + b))
        joint = ClusterJoint(w, mu, nu, s * ax, s * ay, layout)
        joint.mi, joint.mi_se = monte_carlo_mi(joint, rng)
        joint.mi = max(joint.mi, 0.0)
        joint.params["mi_se"] = joint.mi_se
        return joint
