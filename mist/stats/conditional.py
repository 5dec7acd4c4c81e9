"""The elliptical core of conditional MI: the chain rule over one fitted copula.

I(X;Y|Z) = I(X; (Y, Z)) - I(X; Z). Fitting the copula of (X, Y, Z) once, with one correlation
matrix R and one nu, and reading both terms from it makes their errors cancel instead of adding:
under a Gaussian copula the difference is 0.5 log(det R_xz det R_yz / (det R_z det R_xyz)),
whatever the noise in the part of R that both terms share; under a t copula each term also
carries the Student-t term of the same nu (`t_correction(nu, dx, dy + dz) - t_correction(nu, dx,
dz)`, not zero where the partial correlation is). Each term is bias-corrected as the MI core
is (`gaussian_term`: rank noise and Wishart bias).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from data_gen.families.student_t import t_correction
from mist.stats.elliptical import RANK_NOISE, RANK_NOISE_T, fit_elliptical, gaussian_term

__all__ = ["ConditionalCore", "conditional_core"]


@dataclass(frozen=True)
class ConditionalCore:
    """The core's I(X;Y|Z) of one sample, nats.

    Attributes:
        cmi: the estimate, >= 0.
        joint, marginal: the two terms, I(X; (Y, Z)) and I(X; Z), from the same fit.
        nu: the fitted degrees of freedom (inf: Gaussian copula).
        se: the delta-method standard error of the joint term (an upper bound on the
            difference's: the shared part cancels).
    """

    cmi: float
    joint: float
    marginal: float
    nu: float
    se: float


def conditional_core(z: np.ndarray, dx: int, dy: int) -> ConditionalCore:
    """The core's I(X;Y|Z) from normal scores z (n, dx + dy + dz), columns ordered X, Y, Z."""
    n = z.shape[0]
    dz = z.shape[1] - dx - dy
    fit = fit_elliptical(z, dx)  # X against (Y, Z): R and nu of the whole copula
    keep = np.r_[np.arange(dx), np.arange(dx + dy, dx + dy + dz)]
    share = 1.0 if math.isinf(fit.nu) else RANK_NOISE_T / RANK_NOISE
    _, marginal, _ = gaussian_term(fit.corr[np.ix_(keep, keep)], dx, n, share)
    if not math.isinf(fit.nu):
        marginal += t_correction(fit.nu, dx, dz)
    joint = fit.gaussian_mi + fit.correction
    return ConditionalCore(max(joint - marginal, 0.0), joint, marginal, fit.nu, fit.se)
