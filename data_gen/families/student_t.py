"""Multivariate Student-t: a canonical Gaussian pair structure divided by one shared
sqrt(chi2_nu / nu) scale, so X and Y share heavy tails.

I(X; Y) = Gaussian term + c(nu, dx, dy), where the Gaussian term is that of the scale matrix
and c > 0 is the Student-t term (`mist.numerics.student_t.t_correction`).

Even uncorrelated coordinates share information through the common scale, so the family
solves for nu when the target MI is below c at the drawn nu.

References:
    Arellano-Valle, Contreras-Reyes & Genton (2013), Shannon entropy and mutual information
    for multivariate skew-elliptical distributions, Scand. J. Statist. 40(1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import special

from data_gen.families.base import Family, Joint, check_range_option, pair_layout, split_mi
from data_gen.families.gaussian import CanonicalGaussian, mixing_matrix
from data_gen.registry import register_family
from mist.numerics.student_t import t_correction

__all__ = ["StudentT", "StudentTJoint", "t_correction"]

_MAX_DOF = 1e8


def _solve_dof(c_target: float, dx: int, dy: int, lo: float) -> float:
    """nu >= lo with t_correction(nu) = c_target (c decreases in nu), by bisection on log nu."""
    a, b = math.log(lo), math.log(_MAX_DOF)
    for _ in range(60):
        m = 0.5 * (a + b)
        if t_correction(math.exp(m), dx, dy) > c_target:
            a = m
        else:
            b = m
    return math.exp(b)


class StudentTJoint(Joint):
    """(X, Y) = (A Mx^T, B My^T) / sqrt(W): (A, B) a `CanonicalGaussian` draw, W ~ chi2_nu / nu."""

    def __init__(self, gauss: CanonicalGaussian, dof: float):
        self.g, self.dof = gauss, float(dof)
        self.dx, self.dy = gauss.dx, gauss.dy
        self.correction = t_correction(self.dof, self.dx, self.dy)
        self.mi = gauss.mi + self.correction
        self.params = {**gauss.params, "dof": self.dof, "dof_mi": self.correction}

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.g.sample_canonical(rng, n)
        scale = 1.0 / np.sqrt(rng.chisquare(self.dof, (n, 1)) / self.dof)
        return self.g.mix(a * scale, b * scale)

    def log_ratio(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        a, b = self.g.unmix(np.asarray(x, float), np.asarray(y, float))
        g, nu = self.g, self.dof
        qx, qy = (a**2).sum(axis=1), (b**2).sum(axis=1)
        u, v = a[:, g.ix], b[:, g.iy]
        # scale matrix of (A, B): q = |a|^2 + |b_unpaired|^2 + sum_pairs (v - rho u)^2 / (1 - rho^2)
        qxy = qx + qy - (v**2).sum(axis=1) + (((v - g.rho * u) / g.noise) ** 2).sum(axis=1)

        def log_norm(d):
            return special.gammaln(0.5 * (nu + d)) - special.gammaln(0.5 * nu) - 0.5 * d * math.log(nu * math.pi)

        dx, dy = self.dx, self.dy
        return (log_norm(dx + dy) - log_norm(dx) - log_norm(dy) + g.mi
                - 0.5 * (nu + dx + dy) * np.log1p(qxy / nu)
                + 0.5 * (nu + dx) * np.log1p(qx / nu) + 0.5 * (nu + dy) * np.log1p(qy / nu))


@register_family
class StudentT(Family):
    """Multivariate Student-t with nu drawn log-uniformly from `dof`; the correlated pairs are
    coordinate-aligned or (with probability `dense_prob`) mixed by dense matrices.

    When the target MI is below c(nu, dx, dy), nu is raised until c equals a uniform fraction
    (0.05 to 0.95) of the target, and the Gaussian term supplies the rest. With probability
    `tail_only_prob`, a target that heavy tails alone can carry (at most c at the lowest nu) is
    carried by them alone: every correlation is 0 and nu solves c(nu) = target (uncorrelated
    coordinates, dependent only through their shared scale, as BMI's "student-identity" tasks).
    """

    name = "student_t"
    elliptical = True
    defaults = {"dof": [1.0, 20.0], "dense_prob": 0.5, "max_condition": 10.0, "tail_only_prob": 0.0}

    def check_options(self, options: Mapping[str, Any], where: str) -> None:
        super().check_options(options, where)
        check_range_option(options, "dof", where, 0.1, 1e4)
        for key in ("dense_prob", "tail_only_prob"):
            if not 0 <= float(options.get(key, 0.0)) <= 1:
                raise ValueError(f"generator config '{where}.{key}' must be in [0, 1]")

    def draw(self, rng, dx, dy, mi, max_mi_per_dim, options):
        lowest = float(options["dof"][0])
        lo, hi = (math.log(float(v)) for v in options["dof"])
        dof = math.exp(rng.uniform(lo, hi))
        c = t_correction(dof, dx, dy)
        tails = float(options["tail_only_prob"])
        tails_only = tails > 0 and rng.uniform() < tails and 0 < mi <= t_correction(lowest, dx, dy)
        if tails_only:
            dof = _solve_dof(mi, dx, dy, lowest)
        elif c > mi:
            dof = _solve_dof(mi * rng.uniform(0.05, 0.95), dx, dy, dof)
        c = t_correction(dof, dx, dy)
        gauss_mi = 0.0 if tails_only else max(0.0, mi - c)
        pair_mi = split_mi(rng, gauss_mi, min(dx, dy), max_mi_per_dim)
        ix, iy = pair_layout(rng, dx, dy, len(pair_mi))
        if rng.uniform() < float(options["dense_prob"]):
            cond = float(options["max_condition"])
            gauss = CanonicalGaussian(dx, dy, ix, iy, pair_mi, mixing_matrix(rng, dx, cond), mixing_matrix(rng, dy, cond))
        else:
            gauss = CanonicalGaussian(dx, dy, ix, iy, pair_mi)
        return StudentTJoint(gauss, dof)
