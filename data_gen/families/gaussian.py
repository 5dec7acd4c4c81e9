"""Multivariate Gaussian families: dense, sparse (paired) and low-rank latent-factor structure.

Any joint Gaussian is, up to invertible linear maps of X and of Y, a set of independent
canonical pairs with correlations rho_i, so I(X; Y) = -1/2 sum_i log(1 - rho_i^2) nats.
A pair carrying m nats has rho = sqrt(1 - exp(-2 m)) and conditional noise exp(-m).

References:
    Cover & Thomas, Elements of Information Theory, 2nd ed., ch. 8 (Gaussian MI).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from data_gen.families.base import Family, Joint, check_range_option, haar_orthogonal, pair_layout, split_mi
from data_gen.registry import register_family

__all__ = ["CanonicalGaussian", "LowRankGaussian", "GaussianDense", "GaussianSparse", "GaussianLowRank",
           "mixing_matrix"]


def mixing_matrix(rng: np.random.Generator, d: int, max_condition: float) -> np.ndarray:
    """A dense invertible (d, d) matrix with unit-norm rows (so unit-variance outputs from white
    inputs), built from Haar rotations and singular values spread over [1/sqrt(c), sqrt(c)]."""
    if d == 1:
        return np.ones((1, 1))
    half = 0.5 * math.log(max_condition)
    s = np.exp(rng.uniform(-half, half, d))
    m = (haar_orthogonal(rng, d) * s) @ haar_orthogonal(rng, d).T
    return m / np.linalg.norm(m, axis=1, keepdims=True)


class CanonicalGaussian(Joint):
    """X = A Mx^T, Y = B My^T where (A, B) are standard normal with A[:, ix[i]] and B[:, iy[i]]
    correlated (pair i carries pair_mi[i] nats) and all else independent. Mx, My: invertible
    (identity when None)."""

    def __init__(self, dx: int, dy: int, ix: np.ndarray, iy: np.ndarray, pair_mi: np.ndarray,
                 mx: np.ndarray | None = None, my: np.ndarray | None = None):
        self.dx, self.dy = int(dx), int(dy)
        self.ix, self.iy = np.asarray(ix, dtype=int), np.asarray(iy, dtype=int)
        self.pair_mi = np.asarray(pair_mi, dtype=float)
        self.rho = np.sqrt(-np.expm1(-2.0 * self.pair_mi))
        self.noise = np.exp(-self.pair_mi)  # sqrt(1 - rho^2), exact even when rho -> 1
        self.mx, self.my = mx, my
        self.mi = float(self.pair_mi.sum())
        self.params = {
            "pair_mi": [round(float(v), 12) for v in self.pair_mi],
            "pairs": [[int(a), int(b)] for a, b in zip(self.ix, self.iy)],
            "mixed": mx is not None,
        }

    def sample_canonical(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        a = rng.standard_normal((n, self.dx))
        b = rng.standard_normal((n, self.dy))
        b[:, self.iy] = self.rho * a[:, self.ix] + self.noise * b[:, self.iy]
        return a, b

    def mix(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = a if self.mx is None else a @ self.mx.T
        y = b if self.my is None else b @ self.my.T
        return x, y

    def unmix(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = x if self.mx is None else np.linalg.solve(self.mx, x.T).T
        b = y if self.my is None else np.linalg.solve(self.my, y.T).T
        return a, b

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        return self.mix(*self.sample_canonical(rng, n))

    def log_ratio(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        a, b = self.unmix(np.asarray(x, float), np.asarray(y, float))
        u, v = a[:, self.ix], b[:, self.iy]
        z = (v - self.rho * u) / self.noise
        return (self.pair_mi - 0.5 * z**2 + 0.5 * v**2).sum(axis=1)


class LowRankGaussian(Joint):
    """X = D_x^-1 (Z A^T + s E_x), Y = D_y^-1 (Z B^T + s E_y): Z ~ N(0, I_r) shared latent
    factors, E independent standard normal noise, D diagonal scalings to unit variance.

    MI = -1/2 sum log(1 - lambda_i), lambda = eig(Pa^1/2 Pb Pa^1/2) with
    Pa = A^T (A A^T + s^2 I)^-1 A (r x r), computed through the SVD of A and B.
    """

    def __init__(self, a: np.ndarray, b: np.ndarray, noise: float):
        self.a, self.b, self.s = a, b, float(noise)
        self.dx, self.dy, self.rank = a.shape[0], b.shape[0], a.shape[1]
        self.direction_mi = low_rank_direction_mi(a, b, np.array([self.s]))[0]
        self.mi = float(self.direction_mi.sum())
        self.sx = np.sqrt((a**2).sum(axis=1) + self.s**2)
        self.sy = np.sqrt((b**2).sum(axis=1) + self.s**2)
        self.params = {"rank": int(self.rank), "noise": float(self.s),
                       "direction_mi": [round(float(v), 12) for v in np.sort(self.direction_mi)[::-1]]}

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        z = rng.standard_normal((n, self.rank))
        x = z @ self.a.T + self.s * rng.standard_normal((n, self.dx))
        y = z @ self.b.T + self.s * rng.standard_normal((n, self.dy))
        return x / self.sx, y / self.sy

    def log_ratio(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float) * self.sx
        y = np.asarray(y, float) * self.sy
        w = np.concatenate([self.a, self.b])
        cov = w @ w.T + self.s**2 * np.eye(self.dx + self.dy)
        xy = np.concatenate([x, y], axis=1)
        return (_gauss_logpdf(xy, cov) - _gauss_logpdf(x, cov[: self.dx, : self.dx])
                - _gauss_logpdf(y, cov[self.dx:, self.dx:]))


def _gauss_logpdf(z: np.ndarray, cov: np.ndarray) -> np.ndarray:
    chol = np.linalg.cholesky(cov)
    w = np.linalg.solve(chol, z.T)
    return -0.5 * (w**2).sum(axis=0) - np.log(np.diag(chol)).sum() - 0.5 * z.shape[1] * math.log(2 * math.pi)


def low_rank_direction_mi(a: np.ndarray, b: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Per canonical direction MI (nats) of the low-rank model for each noise level.

    Arguments:
        a: (dx, r), b: (dy, r) loadings; noise: (m,) noise standard deviations.

    Returns:
        (m, r) array; row j sums to the MI at noise[j].
    """
    spectrum = _Spectrum(a, b)
    return np.array([spectrum.direction_mi(s) for s in np.atleast_1d(noise)])


class _Spectrum:
    """SVDs of the loadings, computed once; `direction_mi(s)` per noise level."""

    def __init__(self, a: np.ndarray, b: np.ndarray):
        _, self.sa, self.va = np.linalg.svd(a, full_matrices=False)
        _, self.sb, self.vb = np.linalg.svd(b, full_matrices=False)

    def direction_mi(self, s: float) -> np.ndarray:
        # Pa = A^T (A A^T + s^2 I)^-1 A = I - Ea with Ea = Va^T diag(s^2 / (sa^2 + s^2)) Va. The
        # 1 - lambda are the eigenvalues of Ea + Pa^1/2 Eb Pa^1/2, accurate as the noise -> 0.
        sa, va, sb, vb = self.sa, self.va, self.sb, self.vb
        ha = (va.T * (sa / np.sqrt(sa**2 + s**2))) @ va
        ea = (va.T * (s**2 / (sa**2 + s**2))) @ va
        eb = (vb.T * (s**2 / (sb**2 + s**2))) @ vb
        comp = np.clip(np.linalg.eigvalsh(ea + ha @ eb @ ha), 1e-300, 1.0)
        return -0.5 * np.log(comp)


def _solve_noise(a: np.ndarray, b: np.ndarray, target: float) -> float:
    """The noise s with MI(s) = target (MI decreases in s), by Brent's method on log s."""
    from scipy.optimize import brentq

    spectrum = _Spectrum(a, b)
    return math.exp(brentq(lambda t: spectrum.direction_mi(math.exp(t)).sum() - target, -40.0, 40.0,
                           xtol=1e-12, rtol=1e-14))


@register_family
class GaussianDense(Family):
    """Joint Gaussian with every canonical pair correlated and dense within-X, within-Y
    covariance (unit marginal variances)."""

    name = "gaussian_dense"
    elliptical = True
    defaults = {"max_condition": 10.0}

    def check_options(self, options: Mapping[str, Any], where: str) -> None:
        super().check_options(options, where)
        if "max_condition" in options and not float(options["max_condition"]) >= 1:
            raise ValueError(f"generator config '{where}.max_condition' must be >= 1, got {options['max_condition']}")

    def draw(self, rng, dx, dy, mi, max_mi_per_dim, options):
        k = min(dx, dy)
        pair_mi = split_mi(rng, mi, k, max_mi_per_dim, active=k)
        ix, iy = pair_layout(rng, dx, dy, len(pair_mi))
        c = float(options["max_condition"])
        return CanonicalGaussian(dx, dy, ix, iy, pair_mi, mixing_matrix(rng, dx, c), mixing_matrix(rng, dy, c))


@register_family
class GaussianSparse(Family):
    """Joint Gaussian made of a few correlated coordinate pairs (X_i, Y_j); every other
    coordinate is independent standard normal. The number of pairs is uniform between the
    fewest that can carry the target and min(dx, dy)."""

    name = "gaussian_sparse"
    elliptical = True
    defaults: Mapping[str, Any] = {}

    def draw(self, rng, dx, dy, mi, max_mi_per_dim, options):
        pair_mi = split_mi(rng, mi, min(dx, dy), max_mi_per_dim)
        ix, iy = pair_layout(rng, dx, dy, len(pair_mi))
        return CanonicalGaussian(dx, dy, ix, iy, pair_mi)


@register_family
class GaussianLowRank(Family):
    """Latent-factor Gaussian: r shared factors load on X and on Y, plus isotropic noise whose
    level is solved for the target MI. Loadings have singular values in `loading_spread`."""

    name = "gaussian_lowrank"
    elliptical = True
    defaults = {"loading_spread": [0.5, 2.0]}

    def check_options(self, options, where):
        super().check_options(options, where)
        check_range_option(options, "loading_spread", where, 1e-3, 1e3)

    def draw(self, rng, dx, dy, mi, max_mi_per_dim, options):
        k = min(dx, dy)
        lo, hi = (math.log(float(v)) for v in options["loading_spread"])
        r = int(rng.integers(min(k, max(1, math.ceil(2 * mi / max_mi_per_dim))), k + 1))
        for attempt in range(8):
            if attempt < 7:
                a = (haar_orthogonal(rng, dx)[:, :r] * np.exp(rng.uniform(lo, hi, r))) @ haar_orthogonal(rng, r)
                b = (haar_orthogonal(rng, dy)[:, :r] * np.exp(rng.uniform(lo, hi, r))) @ haar_orthogonal(rng, r)
            else:  # orthonormal loadings: equal canonical correlations, target / k <= cap always
                r = k
                a, b = haar_orthogonal(rng, dx)[:, :r], haar_orthogonal(rng, dy)[:, :r]
            joint = LowRankGaussian(a, b, _solve_noise(a, b, mi) if mi > 0 else 1e12)
            if joint.direction_mi.max() <= max_mi_per_dim * (1 + 1e-9):
                return joint
            r = min(k, r + 1)
        raise AssertionError("unreachable: equal loadings always fit")  # pragma: no cover
