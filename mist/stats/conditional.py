"""The elliptical core of conditional MI: the chain rule over one fitted copula.

I(X;Y|Z) = I(X; (Y, Z)) - I(X; Z). Fitting the copula of (X, Y, Z) once, with one correlation
matrix R and one nu, and reading both terms from it makes their errors cancel instead of adding:
under a Gaussian copula the difference is 0.5 log(det R_xz det R_yz / (det R_z det R_xyz)),
whatever the noise in the part of R that both terms share; under a t copula each term also
carries the Student-t term of the same nu (`t_correction(nu, dx, dy + dz) - t_correction(nu, dx,
dz)`, not zero where the partial correlation is). Each term is bias-corrected as the MI core
is (`gaussian_term`: rank noise and Wishart bias).

Where X or Y depends on Z nonlinearly (`mist.stats.residuals.smooth_gain`), linear partialling
cannot remove the dependence through Z; there the estimate moves to the MI core of the
additive-noise residuals of X and Y given Z (`additive_residuals`), exact when X = f(Z) + E_x and
Y = g(Z) + E_y. The move is gradual: none while a neighbour average explains under a tenth of
what the linear fit leaves, all of it from a fifth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mist.numerics.student_t import t_correction
from mist.stats.elliptical import RANK_NOISE, RANK_NOISE_T, EllipticalFit, fit_elliptical, gaussian_term
from mist.stats.residuals import additive_residuals, neighbours, smooth_gain
from mist.stats.scores import normal_scores, subset_rows

__all__ = ["ConditionalCore", "conditional_core", "NONLINEAR_GAIN"]

# smooth_gain at which the estimate starts to move to the residuals, and where it has moved fully
NONLINEAR_GAIN = (0.1, 0.2)
GAIN_ROWS = 1000  # rows the nonlinearity verdict reads (a subset fixed by the data: `subset_rows`)


@dataclass(frozen=True)
class ConditionalCore:
    """The core's I(X;Y|Z) of one sample, nats.

    Attributes:
        cmi: the estimate, >= 0: the copula's chain rule, moved toward `residual_cmi` by `weight`.
        joint, marginal: the two terms, I(X; (Y, Z)) and I(X; Z), from the same fit.
        nu: the fitted degrees of freedom (inf: Gaussian copula).
        se: the delta-method standard error of the joint term (an upper bound on the
            difference's: the shared part cancels).
        copula_cmi: the chain rule over the copula alone, >= 0.
        gain: `smooth_gain`, how nonlinear the dependence on Z is (None: not measured).
        residual_cmi: the MI core of the additive-noise residuals (None where `weight` is 0).
        weight: the share of `residual_cmi` in `cmi`, 0-1.
    """

    cmi: float
    joint: float
    marginal: float
    nu: float
    se: float
    copula_cmi: float = 0.0
    gain: float | None = None
    residual_cmi: float | None = None
    weight: float = 0.0


def conditional_core(z: np.ndarray, dx: int, dy: int, raw: tuple[np.ndarray, np.ndarray] | None = None,
                     fit: EllipticalFit | None = None) -> ConditionalCore:
    """The core's I(X;Y|Z) from normal scores z (n, dx + dy + dz), columns ordered X, Y, Z.

    `raw`: X and Y in their own units. With them, a nonlinear dependence on Z moves the estimate
    to the additive-noise residuals (see the module docstring); without them, the copula alone.
    `fit`: `fit_elliptical(z, dx)` when it was already computed on these scores.
    """
    n = z.shape[0]
    dz = z.shape[1] - dx - dy
    if fit is None:
        fit = fit_elliptical(z, dx)  # X against (Y, Z): R and nu of the whole copula
    keep = np.r_[np.arange(dx), np.arange(dx + dy, dx + dy + dz)]
    share = 1.0 if math.isinf(fit.nu) else RANK_NOISE_T / RANK_NOISE
    _, marginal, _ = gaussian_term(fit.corr[np.ix_(keep, keep)], dx, n, share)
    if not math.isinf(fit.nu):
        marginal += t_correction(fit.nu, dx, dz)
    joint = fit.gaussian_mi + fit.correction
    copula = max(joint - marginal, 0.0)
    if raw is None:
        return ConditionalCore(copula, joint, marginal, fit.nu, fit.se, copula)
    rows = subset_rows(z, GAIN_ROWS)  # the verdict needs no more rows than this
    part = z[rows]
    near = neighbours(part[:, dx + dy :])
    gain = smooth_gain(part[:, :dx], part[:, dx : dx + dy], part[:, dx + dy :], near)
    lo, hi = NONLINEAR_GAIN
    weight = float(np.clip((gain - lo) / (hi - lo), 0.0, 1.0))
    if weight == 0.0:
        return ConditionalCore(copula, joint, marginal, fit.nu, fit.se, copula, gain)
    sz = z[:, dx + dy :]
    if len(rows) < n:  # the verdict read a subset; the residuals need every row's neighbours
        near = neighbours(sz)
    rx, ry = additive_residuals(raw[0], raw[1], sz, near)
    res = fit_elliptical(normal_scores(np.hstack([rx, ry])), dx)
    residual = max(res.gaussian_mi + res.correction, 0.0)
    cmi = (1.0 - weight) * copula + weight * residual
    return ConditionalCore(cmi, joint, marginal, fit.nu, fit.se, copula, gain, residual, weight)
