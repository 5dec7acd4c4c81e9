"""The classical core: mutual information of an elliptical (Student-t) copula fitted to the data.

For a Student-t copula with correlation R and nu degrees of freedom, I(X;Y) is the Gaussian
term of R plus a closed-form term c(nu, dx, dy); the Gaussian copula is the limit nu = infinity
with c = 0. nu is chosen by the t copula's profile pseudo-likelihood on a fixed subset of rows
(a grid, then a bounded search between the grid's neighbours of its best point), and a finite
nu must beat the Gaussian copula by a likelihood-ratio margin, so Gaussian data keep c = 0 (a
spurious finite nu would add information at independence). R uses
every row: normal-score correlations for the Gaussian copula, the Student-t scatter (fixed-point
iteration at the chosen nu) of the t-scores otherwise. Kendall's tau (R = sin(pi tau / 2)) would
give R for any nu, but costs O(n^2 d^2) and is less efficient than either. The Gaussian term is
corrected for the rank noise of the scores (measured by simulation) and for its finite-sample
bias with the exact expected log-determinant of a Wishart matrix.

References:
    Demarta & McNeil, "The t copula and related copulas", Int. Stat. Review (2005).
    Arellano-Valle, Contreras-Reyes & Genton, "Shannon entropy and mutual information for
    multivariate skew-elliptical distributions", Scand. J. Statist. (2013).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import digamma, gammaln, ndtr, stdtrit

from mist.numerics.linalg import (
    canonical_correlations_of,
    canonical_pairs,
    correlation,
    nearest_correlation,
    whitener,
)
from mist.numerics.student_t import t_correction
from mist.stats.scores import normal_scores, subset_rows

__all__ = [
    "EllipticalFit", "fit_elliptical", "t_scores", "gaussian_term",
    "wishart_bias", "eigen_floor", "rank_noise_correction", "simulated_rank_spread", "RANK_NOISE", "RANK_NOISE_T",
    "NU_GRID", "LR_THRESHOLD", "LR_PER_DIM",
]

NU_GRID = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 9.0, 14.0, 22.0, 35.0)  # finite degrees of freedom tried
LR_THRESHOLD = 10.0  # 2 x log pseudo-likelihood gain over the Gaussian copula a finite nu needs ...
LR_PER_DIM = 1.0  # ... plus this per coordinate (a noisier R in more dims fakes heavy tails)
PROFILE_ROWS = 2000  # rows (a fixed random subset) for the nu profile
EM_STEPS = 12  # fixed-point steps of the Student-t scatter (fewer when a step would lower its likelihood)
RANK_NOISE = 0.88  # one-pair model of rank noise in 1 - rho^2: RANK_NOISE ln(n) / n x s rho^4 (scripts/fit_rank_noise.py)
RANK_NOISE_T = 0.6  # ... its constant for the Student-t scatter (scripts/fit_rank_noise.py --student-t), whose
#                      rank noise the core takes as RANK_NOISE_T / RANK_NOISE of the normal scores'
T_RESOLVED_SPREAD = 3.0  # ... fitted on pairs read with n sqrt(1 - rho^2) >= this (beyond, the t scatter reads high)
RANK_NOISE_RAMP = (16, 64)  # rank noise is removed in full from 64 rows, not at all at 16 (see rank_noise_correction)
RANK_SIM_ROWS = 2048  # rows per simulated set in simulated_rank_spread (its noise is rescaled by ln n / n beyond)
RANK_SIM_SETS = 4  # simulated sets per step ...
RANK_SIM_STEPS = 2  # ... and fixed-point steps
RANK_SIM_MAX_SHRINK = 10.0  # a pair's 1 - rho^2 shrinks at most this much (+1.15 nats): beyond, noise swamps it
RANK_SIM_ROWS_PER_DIM = (2, 4)  # ... and when n is 4 x the dims or more, not at all at 2 x (sampling noise rules)
RANK_SIM_RHO2 = (0.2, 0.4)  # applied in full when the leading rho^2 read is 0.4 or more, not at all below 0.2
RANK_SIM_SEED = 20261203  # the simulated sets are fixed: the same data give the same estimate
RANK_SE_SHARE = 0.5  # the core's standard error counts this share of what the rank-noise step added
_Z_GRID = np.linspace(-9.0, 0.0, 1801)


@dataclass(frozen=True)
class EllipticalFit:
    """The core's estimate for one sample set.

    Attributes:
        mi: core MI in nats, >= 0: bias-corrected Gaussian term plus the nu term.
        gaussian_mi: bias-corrected Gaussian term of the fitted R, nats (may be < 0 by noise).
        raw_gaussian_mi: the same without the bias correction, nats.
        nu: fitted degrees of freedom (inf: Gaussian copula).
        lr: 2 x (profile log pseudo-likelihood at the best finite nu - at nu = inf).
        correction: c(nu, dx, dy) in nats (0 for the Gaussian copula).
        rho: canonical correlations of the fitted R, descending, shape (min(dx, dy),).
        se: approximate standard error of `mi` in nats (delta method).
        corr: the fitted correlation matrix, shape (dx + dy, dx + dy): of the normal scores
            (shrunk when n is close to the dims), or the t scatter's at a finite nu.
    """

    mi: float
    gaussian_mi: float
    raw_gaussian_mi: float
    nu: float
    lr: float
    correction: float
    rho: np.ndarray
    se: float
    corr: np.ndarray


@functools.lru_cache(maxsize=64)
def _t_table(nu: float) -> np.ndarray:
    """t_nu^{-1}(Phi(z)) on _Z_GRID (z <= 0; odd in z)."""
    return stdtrit(nu, ndtr(_Z_GRID))


def t_scores(z: np.ndarray, nu: float) -> np.ndarray:
    """Student-t scores t_nu^{-1}(Phi(z)) of normal scores z (any shape), by linear interpolation
    in a table on a uniform grid (relative error below 3e-4 for |z| < 8)."""
    table = _t_table(float(nu))
    step = _Z_GRID[1] - _Z_GRID[0]
    u = (-np.abs(z) - _Z_GRID[0]) / step
    i = np.clip(u.astype(np.int64), 0, len(_Z_GRID) - 2)
    f = u - i
    return np.copysign(table[i] * (1.0 - f) + table[i + 1] * f, z)


def gaussian_term(r: np.ndarray, dx: int, n: int, share: float = 1.0) -> tuple[float, float, np.ndarray]:
    """(raw, bias-corrected) Gaussian MI of a positive-definite correlation matrix split at dx,
    in nats, and its canonical correlations (as read). Corrected: the rank noise removed from
    each canonical pair (`simulated_rank_spread`, `share` of the normal scores' noise), then the
    Wishart bias subtracted (skipped when n - 1 <= d)."""
    rho = canonical_correlations_of(r, dx)
    raw = float(-0.5 * np.log1p(-rho**2).sum())
    clean = float(-np.log(simulated_rank_spread(r, dx, n, share)).sum())
    bias = wishart_bias(n - 1, dx, r.shape[0] - dx)
    return raw, (clean - bias if math.isfinite(bias) else clean), rho


def rank_noise_correction(rho: np.ndarray, n: int, k: float = RANK_NOISE, min_spread: float = 0.0) -> np.ndarray:
    """sqrt(1 - rho_true^2) per canonical pair, given the rho read from n rows' rank scores.

    Scores are functions of ranks, and the ranks of two nearly equal variates differ by noise of
    order their spread, so 1 - rho^2 reads too large near rho = 1, where MI = -log s is most
    sensitive to it. Model: s_read^2 = s^2 + (k ln(n) / n) s rho^4, the rank noise growing like
    s (the spread of X - Y) and fading away from rho = 1 (where it is negligible beside s^2).
    scripts/fit_rank_noise.py fits k: for normal-score correlations (RANK_NOISE) on bivariate
    Gaussian copulas, n 64 to 4,000, MI 0.25 to 6 nats (0.88 to 0.91 by seed; the mean bias left
    is within 0.06 nats at n >= 256 and 0.12 at n = 64, against up to -1.1 and -1.7
    uncorrected); for the Student-t scatter, which down-weights the tails where most of that
    noise lives (RANK_NOISE_T), on t copulas. Pairs read with n s_read < min_spread are left as
    read (the t scatter beyond what its rows resolve reads high already).
    Below 64 rows rank and sampling noise are inseparable and the model over-corrects (+1.2 nats
    at 4 nats and n = 16): its weight ramps from 0 at n = 16 to 1 at n = 64. Solved for s by
    bisection (the left side increases in s for n >= 16).
    """
    s2 = 1.0 - np.asarray(rho, np.float64) ** 2
    c = k * math.log(max(n, 2)) / n * _ramp(n, *RANK_NOISE_RAMP)
    lo, hi = np.zeros_like(s2), np.sqrt(s2)
    for _ in range(48):
        mid = 0.5 * (lo + hi)
        below = mid * mid + c * mid * (1.0 - mid * mid) ** 2 < s2
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    s = np.where(n * np.sqrt(s2) < min_spread, np.sqrt(s2), 0.5 * (lo + hi))
    return np.maximum(s, 1e-300)


def _ramp(v: float, lo: float, hi: float) -> float:
    return min(max((v - lo) / (hi - lo), 0.0), 1.0)


@functools.lru_cache(maxsize=4)  # at most 4 x 16 MB at 2,048 rows and 256 columns
def _simulation_draws(rows: int, d: int) -> np.ndarray:
    """The fixed standard-normal draws of `simulated_rank_spread`, shape (RANK_SIM_SETS, rows, d),
    made once per shape (read-only)."""
    draws = np.random.default_rng(RANK_SIM_SEED).standard_normal((RANK_SIM_SETS, rows, d))
    draws.flags.writeable = False
    return draws


def simulated_rank_spread(r: np.ndarray, dx: int, n: int, share: float = 1.0) -> np.ndarray:
    """sqrt(1 - rho_true^2) per canonical pair of a Gaussian copula whose normal-score correlation
    matrix read from n rows is r, the rank noise measured by simulation.

    Scores are functions of each coordinate's ranks, whose error is a smooth random warp of every
    coordinate of order 1 / sqrt(n). When the shared variates are mixtures of coordinates (dense
    structure) the coordinates' errors do not cancel, and a strong pair reads far too weak: 6 nats
    on 2 + 2 mixed coordinates read 0.6-0.8 nats low at n = 5,000 (`rank_noise_correction`, a model of
    one unmixed pair, removes 0.03 of it). So the noise is measured: Gaussian sets with the
    canonical structure of r are drawn at min(n, RANK_SIM_ROWS) rows, and the excess of 1 - rho^2
    read from their normal scores over that read from the same draws' Pearson correlation (common
    random numbers, so sampling noise cancels) is the rank noise, rescaled by ln(n) / n. 1 - rho^2 =
    read - noise(rho) is solved by fixed-point steps, and shrinks at most RANK_SIM_MAX_SHRINK-fold:
    where rank noise swamps a pair, the pair is not resolved. The draws use a fixed seed and a
    coordinate order and signs that only r decides, so the result keeps the estimator's
    invariances (rows, coordinates, monotone maps, X and Y swapped). Cost: RANK_SIM_SETS x
    RANK_SIM_STEPS rankings of at most RANK_SIM_ROWS rows. `share` scales the noise removed (the
    t scatter, which down-weights the tails where most of it lives, takes RANK_NOISE_T / RANK_NOISE).
    """
    d = r.shape[0]
    hu, rho, hv = canonical_pairs(r, dx)
    spread = np.sqrt(1.0 - rho**2)
    weight = (_ramp(n, *RANK_NOISE_RAMP) * _ramp(n / d, *RANK_SIM_ROWS_PER_DIM)
              * _ramp(float(rho[0] ** 2) if rho.size else 0.0, *RANK_SIM_RHO2))
    if weight == 0.0:
        return np.maximum(spread, 1e-300)
    # an order and signs of the coordinates that only r decides: each side's coordinates by their
    # correlation with its leading canonical variate, signed to make it positive, the smaller side first
    sides = [np.arange(dx), np.arange(dx, d)]
    loads = [hu[:, 0], hv[:, 0]]
    keys = [np.sort(np.abs(v))[::-1] for v in loads]
    first = 0 if (dx, *keys[0].tolist()) <= (d - dx, *keys[1].tolist()) else 1
    order, signs, dims = [], [], []
    for side in (first, 1 - first):
        k = np.argsort(-np.abs(loads[side]), kind="stable")
        order.extend(sides[side][k].tolist())
        signs.extend(np.where(loads[side][k] < 0.0, -1.0, 1.0).tolist())
        dims.append(len(k))
    order, signs = np.array(order), np.array(signs)
    rs = r[np.ix_(order, order)] * signs[:, None] * signs[None, :]
    da = dims[0]
    hu, rho, hv = canonical_pairs(rs, da)
    rows = min(n, RANK_SIM_ROWS)
    floor = eigen_floor(rows)
    scale = share * weight * (math.log(n) / n) / (math.log(rows) / rows)
    draws = _simulation_draws(rows, d)
    read = 1.0 - rho**2
    s2 = read.copy()
    for _ in range(RANK_SIM_STEPS):
        sim = rs.copy()
        sim[:da, da:] = (hu * np.sqrt(1.0 - s2)) @ hv.T
        sim[da:, :da] = sim[:da, da:].T
        chol = np.linalg.cholesky(nearest_correlation(sim, 1e-12))
        noise = np.zeros_like(s2)
        for w in draws:
            g = w @ chol.T
            pearson = nearest_correlation(correlation(g), floor)
            ranked = nearest_correlation(correlation(normal_scores(g)), floor)
            noise += canonical_correlations_of(pearson, da) ** 2 - canonical_correlations_of(ranked, da) ** 2
        s2 = np.clip(read - scale * noise / RANK_SIM_SETS, read / RANK_SIM_MAX_SHRINK, 1.0)
    return np.maximum(np.sqrt(s2), 1e-300)


def eigen_floor(n: int) -> float:
    """The smallest eigenvalue a correlation matrix read from n ranks keeps: min(1e-4, 1 / n^2).

    Rank-based scores resolve 1 - rho down to about 1 / n^2 (neighbouring ranks swapping), so a
    canonical pair may read up to about log(n) - 0.35 nats: 6.6 at n = 1,000, 9.6 at 20,000.
    A fixed floor of 1e-4 capped every pair at 4.3 nats whatever n, below the Gaussian-copula
    estimate at high MI."""
    return min(1e-4, 1.0 / (float(n) * float(n)))


def wishart_bias(dof: float, dx: int, dy: int) -> float:
    """The bias, in nats, of the Gaussian MI of a sample covariance with `dof` degrees of freedom.

    It is the same at every true covariance: 0.5 (b(dx) + b(dy) - b(dx + dy)) with
    b(k) = sum_{i<k} psi((dof - i) / 2), from the expected log-determinant of a Wishart matrix
    (about dx dy / (2 dof) for large dof). NaN when dof <= dx + dy.
    """
    d = dx + dy
    if dof <= d:
        return float("nan")
    b = np.cumsum(digamma((dof - np.arange(d)) / 2.0))
    return float(0.5 * (b[dx - 1] + b[dy - 1] - b[d - 1]))


def _t_copula_loglik(z: np.ndarray, white: np.ndarray, logdet: float, nu: float) -> float:
    """Log pseudo-likelihood of normal scores z (m, d) under the t copula (R^-1 = W W^T)."""
    m, d = z.shape
    if math.isinf(nu):
        w = z @ white
        return float(-0.5 * m * logdet - 0.5 * ((w * w).sum() - (z * z).sum()))
    x = t_scores(z, nu)
    w = x @ white
    q = (w * w).sum(axis=1)
    const = gammaln(0.5 * (nu + d)) + (d - 1) * gammaln(0.5 * nu) - d * gammaln(0.5 * (nu + 1))
    return float(m * (const - 0.5 * logdet) - 0.5 * (nu + d) * np.log1p(q / nu).sum()
                 + 0.5 * (nu + 1) * np.log1p(x * x / nu).sum())


def _profile(z: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, float, Callable[[float], float]]:
    """Log pseudo-likelihoods of z under the t copula with correlation r: at each nu of NU_GRID,
    at nu = infinity, and as a function of nu (R whitened once)."""
    white = whitener(r)
    logdet = -2.0 * float(np.log(np.diag(white)).sum())

    def loglik(nu: float) -> float:
        return _t_copula_loglik(z, white, logdet, nu)

    return np.array([loglik(nu) for nu in NU_GRID]), loglik(math.inf), loglik


def _best_nu(ll: np.ndarray, loglik: Callable[[float], float]) -> float:
    """The nu that maximises the profile (`ll` on NU_GRID, `loglik` anywhere): a bounded search in
    log nu between the grid's neighbours of its best point. A parabola through those three points
    read nu 0.1-0.3 too high on BMI's tail-only Student-t tasks (the profile is skewed in log nu),
    and c(nu) 0.01-0.03 nats too low, 2-8 times the spread of nu itself."""
    k = int(np.argmax(ll))
    lo, hi = NU_GRID[max(k - 1, 0)], NU_GRID[min(k + 1, len(NU_GRID) - 1)]
    found = minimize_scalar(lambda v: -loglik(math.exp(v)), bounds=(math.log(lo), math.log(hi)),
                            method="bounded", options={"xatol": 5e-3})
    nu = math.exp(found.x) if -found.fun >= ll[k] else NU_GRID[k]
    return float(round(nu, 3))


def _fit_nu(z: np.ndarray, gaussian_r: np.ndarray,
            floor: float) -> tuple[float, float, np.ndarray | None]:
    """(nu, lr, t scatter on z) chosen on the rows z; nu = inf unless lr clears the threshold.
    `floor`: the eigenvalue floor of the scatter (`eigen_floor` of z's rows).

    The Gaussian copula is scored with its own estimate of R (normal-score correlations), a t
    copula with the t scatter at its nu: each model at its best, so that a noisy R cannot make
    heavy tails look likely.
    """
    ll, gauss, loglik = _profile(z, gaussian_r)
    if ll.max() <= gauss:  # not even a hint of heavy tails
        return math.inf, 2.0 * (float(ll.max()) - gauss), None
    nu = _best_nu(ll, loglik)
    scatter = _t_scatter(t_scores(z, nu), nu, gaussian_r, floor)
    ll, _, loglik = _profile(z, scatter)  # once more with R fitted under the t copula
    nu = _best_nu(ll, loglik)
    lr = 2.0 * (float(ll.max()) - gauss)
    if lr < LR_THRESHOLD + LR_PER_DIM * z.shape[1]:
        return math.inf, lr, None
    return nu, lr, scatter


def _t_scatter(x: np.ndarray, nu: float, start: np.ndarray, floor: float) -> np.ndarray:
    """Correlation form of the Student-t scatter of t-scores x (n, d) by fixed-point iteration;
    `floor`: the eigenvalue floor (`eigen_floor` of the rows the scores come from)."""
    n, d = x.shape

    def fit(s):  # (the t log-likelihood of x under the correlation s, up to terms free of s; weights)
        white = whitener(s)
        q = ((x @ white) ** 2).sum(axis=1)
        return float(np.log(np.diag(white)).sum() * n - 0.5 * (nu + d) * np.log1p(q / nu).sum()), (nu + d) / (nu + q)

    s = start
    best, wt = fit(s)
    for _ in range(EM_STEPS):
        step = (x * wt[:, None]).T @ x / n
        sd = 1.0 / np.sqrt(np.diag(step))
        step = nearest_correlation(step * sd[:, None] * sd[None, :], floor)
        ll, step_wt = fit(step)
        if not ll > best:  # the rescaled step can overshoot near a singular R: keep the best so far
            break
        s, best, wt = step, ll, step_wt
    return s


def fit_elliptical(z: np.ndarray, dx: int, gaussian_r: np.ndarray | None = None) -> EllipticalFit:
    """Fit the elliptical copula core to the normal scores of one sample set.

    Arguments:
        z: normal scores (`mist.stats.normal_scores`), shape (n, dx + dy), X's columns first.
        dx: how many columns belong to X.
        gaussian_r: the normal-score correlation matrix of z when already computed.

    Returns:
        An EllipticalFit with MI in nats.
    """
    n, d = z.shape
    dy = d - dx
    z = np.ascontiguousarray(z)
    if gaussian_r is None:
        gaussian_r = correlation(z)
    nu, lr = math.inf, 0.0
    floor = eigen_floor(n)
    r = nearest_correlation(gaussian_r, floor)
    if n <= d + 2:  # R is singular: shrink it (Wishart's correction needs n > d)
        lam = d / (n + d)
        r = nearest_correlation((1.0 - lam) * r + lam * np.eye(d))
    else:  # with fewer rows the profile says nothing about nu
        rows = subset_rows(z, PROFILE_ROWS)
        nu, lr, scatter = _fit_nu(z[rows], r, eigen_floor(len(rows)))
        if not math.isinf(nu):
            r = _t_scatter(t_scores(z, nu), nu, scatter, floor) if n > PROFILE_ROWS else scatter
    if math.isinf(nu):
        raw, corrected, rho = gaussian_term(r, dx, n)
    else:
        raw, corrected, rho = gaussian_term(r, dx, n, RANK_NOISE_T / RANK_NOISE)
    c = 0.0 if math.isinf(nu) else t_correction(nu, dx, dy)
    bias = wishart_bias(n - 1, dx, dy)
    denoised = max(corrected + (bias if math.isfinite(bias) else 0.0) - raw, 0.0)  # nats the rank-noise step added
    se = math.sqrt(float((rho**2).sum()) / n + dx * dy / (2.0 * n * n) + (RANK_SE_SHARE * denoised) ** 2)
    return EllipticalFit(max(0.0, corrected + c), corrected, raw, nu, lr, c, rho, se, r)
