"""Contaminated dependence: a share of the rows carries no dependence at all.

With probability 1 - eps a row comes from a Gaussian with canonical pairs (`CanonicalGaussian`),
with probability eps from independent N(0, w^2) coordinates: w = 1 ("marginal": independent
rows with the same marginals, so p(x) and p(y) are those of the clean part) or w > 1
("outliers": wide independent rows). Every density is a two-component mixture in closed form,
so the information density is exact and the label is its Monte Carlo mean (standard error
recorded); the clean part's MI is solved for the target on common random numbers.
"""

from __future__ import annotations

import math

import numpy as np

from data_gen.families.base import Family, Joint, check_choice_option, check_range_option, monte_carlo_mi, pair_layout, split_mi
from data_gen.families.gaussian import CanonicalGaussian
from data_gen.registry import register_family

__all__ = ["Contaminated", "ContaminatedJoint"]

KINDS = ("marginal", "outliers")
_PAIR_CAP = 5.0


def _log_normal(z: np.ndarray, sd: float) -> np.ndarray:
    return -0.5 * (z * z).sum(1) / sd**2 - z.shape[1] * (math.log(sd) + 0.5 * math.log(2 * math.pi))


class ContaminatedJoint(Joint):
    def __init__(self, clean: CanonicalGaussian, eps: float, width: float, kind: str):
        self.clean, self.eps, self.width, self.kind = clean, float(eps), float(width), kind
        self.dx, self.dy = clean.dx, clean.dy
        self.mi, self.mi_se = 0.0, 0.0
        self.params = {"kind": kind, "eps": self.eps, "width": self.width, "clean_mi": clean.mi}

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.clean.sample(rng, n)
        bad = rng.uniform(size=n) < self.eps
        x[bad] = self.width * rng.standard_normal((int(bad.sum()), self.dx))
        y[bad] = self.width * rng.standard_normal((int(bad.sum()), self.dy))
        return x, y

    def log_ratio(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x, y = np.asarray(x, float), np.asarray(y, float)
        lc, le = math.log1p(-self.eps), math.log(self.eps)
        px0, py0 = _log_normal(x, 1.0), _log_normal(y, 1.0)  # the clean part's marginals are standard normal
        pxe, pye = _log_normal(x, self.width), _log_normal(y, self.width)
        joint = np.logaddexp(lc + px0 + py0 + self.clean.log_ratio(x, y), le + pxe + pye)
        return joint - np.logaddexp(lc + px0, le + pxe) - np.logaddexp(lc + py0, le + pye)


@register_family
class Contaminated(Family):
    """Gaussian dependence with a share `eps` [lo, hi] of independent rows of the kinds `kind`."""

    name = "contaminated"
    exact = False
    defaults = {"eps": [0.05, 0.5], "kind": ["marginal"], "width": [3.0, 10.0]}

    def check_options(self, options, where):
        super().check_options(options, where)
        check_range_option(options, "eps", where, 1e-3, 0.95)
        check_range_option(options, "width", where, 1.0, 1e3)
        check_choice_option(options, "kind", where, KINDS)

    def max_mi(self, dx, dy, max_mi_per_dim):
        return min(dx, dy, 3) * min(max_mi_per_dim, 1.5)  # reachable for every eps <= 1/2 with the clean pairs below _PAIR_CAP

    def draw(self, rng, dx, dy, mi, max_mi_per_dim, options):
        eps = float(rng.uniform(*options["eps"]))
        kind = str(rng.choice(options["kind"]))
        width = float(np.exp(rng.uniform(*np.log(options["width"])))) if kind == "outliers" else 1.0
        k = min(dx, dy, 3)
        cap = min(max_mi_per_dim, _PAIR_CAP)
        shares = split_mi(rng, 1.0, k, 1.0)
        ix, iy = pair_layout(rng, dx, dy, len(shares))
        m = 4000
        seed = int(rng.integers(2**63))  # the same draws at every step of the search

        def joint_for(t: float) -> ContaminatedJoint:
            return ContaminatedJoint(CanonicalGaussian(dx, dy, ix, iy, np.minimum(shares * t, cap)), eps, width, kind)

        def mc(t: float) -> float:
            j = joint_for(t)
            return float(j.log_ratio(*j.sample(np.random.default_rng(seed), m)).mean())

        a, b = 0.0, cap * len(shares)
        for _ in range(16):  # the contaminated MI grows with the clean part's
            mid = 0.5 * (a + b)
            a, b = (a, mid) if mc(mid) > mi else (mid, b)
        joint = joint_for(0.5 * (a + b))
        joint.mi, joint.mi_se = monte_carlo_mi(joint, rng)
        joint.mi = max(joint.mi, 0.0)
        joint.params["mi_se"] = joint.mi_se
        return joint
