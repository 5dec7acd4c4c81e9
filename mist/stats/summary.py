"""One sample set in, its copula scores, classical core and invariant evidence statistics out.

The features tell the network what the core already knows (its MI, nu, the canonical
correlations, its standard error, n and the dims) and how far the data are from a Gaussian
copula, where the core is efficient and the right answer is "no correction":
- Mardia's multivariate kurtosis of the jointly whitened scores, as a z-score; and again against
  its expectation under a Gaussian copula at this n and these dims (normal scores have variance
  and kurtosis below the Gaussian's, the ridge and the fitted correlation shrink the norms: on
  Gaussian copulas the plain z-score reads -15 at n = 1,000 and 50 dims, the centred one 0 +- 1);
- the correlation of the per-sample squared norms of whitened X and whitened Y minus its
  Gaussian-copula value sum(rho_i^2) / sqrt(dx dy) (shared heavy tails show here), times sqrt(n);
- quantiles of the joint squared Mahalanobis norms against those of chi-square with d degrees
  of freedom (their law under a Gaussian copula);
- how well the fitted elliptical copula itself (the core's nu, Gaussian when infinite) fits, on
  a fixed subset of rows: after whitening the t-scores, the direction of a sample must not
  depend on its radius (the rms correlation of log radius with each squared direction
  coordinate, times sqrt(m)); and along the leading canonical pair, the spread of one variate
  around its regression on the other must follow the fitted model's law (Gaussian: constant;
  Student-t: growing as (nu + a^2) / (nu + 1)), read as log median ratios over all rows, the
  rows with the largest |a| and those below the median |a|. An offline ablation (1,200 sets
  where users measure, scripts/ablate_features.py) raised the AUC of telling sets where the core
  misses from 0.906 to 0.969 (accuracy 0.876 to 0.920). Last, no two coordinates of the
  whitened direction may be coupled beyond the sphere's own -1 / (d - 1) (the largest
  correlation of their squares over all pairs, which sees a swirled plane among many
  coordinates);
- in low joint dimension (dx + dy <= KSG_MAX_DIM), KSG on the copula scores of KSG_ROWS rows
  (chosen by a rule of the data): a nonparametric estimate that sees what the elliptical core
  cannot (spirals, additive noise), cheap where it is reliable;
- at every dimension, nearest-neighbour evidence on a bounded subset of rows
  (`mist.stats.neighbours`): KSG against the core, and each side's intrinsic dimension against
  its column count (a side that is a smooth function of a few latent dimensions, where the
  Gaussian term reads the nonlinear residue as signal).
Every feature is invariant to monotone maps of columns, permutations of samples and of
coordinates within a side, and symmetric in X and Y.

References:
    Mardia, "Measures of multivariate skewness and kurtosis with applications", Biometrika (1970).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2
from scipy.stats import f as f_dist

from mist.numerics.ksg import ksg_mi
from mist.numerics.linalg import canonical_correlations_of, correlation, nearest_correlation, whitener
from mist.stats.elliptical import (
    PROFILE_ROWS, EllipticalFit, eigen_floor, fit_elliptical, gaussian_term, t_scores,
)
from mist.stats.neighbours import NeighbourEvidence, neighbour_evidence
from mist.stats.scores import subset_rows, normal_scores

__all__ = ["FEATURE_NAMES", "NUM_FEATURES", "KSG_MAX_DIM", "KSG_ROWS", "SetSummary", "summarize", "summarize_scores"]

_TOP_RHO = 4
_MAHAL_LEVELS = (0.1, 0.5, 0.9, 0.99)
FEATURE_NAMES = (
    "log1p_core_mi",        # log(1 + core MI)
    "log1p_gaussian_mi",    # log(1 + Gaussian-copula MI, bias-corrected, >= 0)
    "log1p_raw_gaussian",   # log(1 + Gaussian-copula MI without the bias correction)
    "inv_nu",               # 1 / nu of the core (0: Gaussian copula)
    "lr",                   # asinh(LR statistic of the finite nu / 10)
    "log_n",                # log n / log 10^4
    "log_dims",             # (log dx + log dy) / 4
    "log_dims_gap",         # |log dx - log dy| / 4
    "dims_per_n",           # log((dx + dy) / n) / 4
    *(f"rho2_{i + 1}" for i in range(_TOP_RHO)),  # leading squared canonical correlations of the core
    "mardia",               # asinh(Mardia kurtosis z-score / 4)
    "norm_corr",            # asinh(excess squared-norm correlation x sqrt(n) / 4)
    *(f"mahal_q{int(p * 100)}" for p in _MAHAL_LEVELS),  # log(quantile / chi2_d quantile)
    "log_se",               # log of the core's standard error / 4
    "log1p_correction",     # log(1 + c(nu, dx, dy))
    "log1p_ksg",            # log(1 + KSG on the copula scores), 0 when not computed
    "ksg_minus_core",       # log1p_ksg - log1p_core_mi, 0 when not computed
    "has_ksg",              # 1 when KSG was computed (dx + dy <= KSG_MAX_DIM), else 0
    "radial_direction",     # asinh(rms corr(log radius, squared direction) x sqrt(m) / 4), fitted model
    "pair_spread",          # log(median spread ratio along the leading canonical pair / its law), all rows
    "pair_spread_tails",    # ... on the rows in the top 10% of |a|
    "pair_spread_centre",   # ... on the rows below the median |a|
    "direction_coupling",   # asinh(largest coupling of two squared direction coordinates, as a z-score / 2)
    "mardia_centred",       # asinh(Mardia z-score against its expectation under a Gaussian copula / 4)
    "log1p_knn",            # log(1 + KSG on NEIGHBOUR_ROWS rows of the scores), at every dimension
    "knn_minus_core",       # log1p_knn - log1p_core_mi
    "intrinsic_low",        # min over sides of log(TwoNN intrinsic dimension / columns), in [-4, 1]
    "intrinsic_high",       # max over sides of the same
)
KSG_MAX_DIM = 10  # KSG runs on the scores when dx + dy is at most this (it is biased and slow above)
KSG_ROWS = 512  # ... on this many fixed rows (min(n, KSG_ROWS)), with k = KSG_K neighbours
KSG_K = 5
NUM_FEATURES = len(FEATURE_NAMES)


@dataclass(frozen=True)
class SetSummary:
    """What the classical statistics say about one sample set.

    Attributes:
        scores: normal scores, shape (n, dx + dy), X's columns first (float64).
        fit: the elliptical core.
        features: invariant features, shape (NUM_FEATURES,), named by FEATURE_NAMES (float64).
        neighbours: the nearest-neighbour evidence behind the last features.
    """

    scores: np.ndarray
    fit: EllipticalFit
    features: np.ndarray
    neighbours: NeighbourEvidence

    @property
    def core_mi(self) -> float:
        """The core's MI in nats."""
        return self.fit.mi


def _evidence(z: np.ndarray, r: np.ndarray, dx: int) -> tuple[tuple[float, float], float, np.ndarray, np.ndarray]:
    """((Mardia z, Mardia z centred on its Gaussian-copula expectation), excess norm correlation
    x sqrt(n), Mahalanobis log-quantile ratios, canonical rho)."""
    n, d = z.shape
    dy = d - dx
    rr = nearest_correlation(_ridged(r, n))
    q = ((z @ whitener(rr)) ** 2).sum(axis=1)
    sd = math.sqrt(8.0 * d * (d + 2) / n)
    mardia = (float((q * q).mean()) - d * (d + 2)) / sd
    m2 = (z * z).mean(axis=0)  # each column's variance (normal scores: below 1)
    mardia_centred = (_unit_norm_kurtosis(q, m2) - _gaussian_copula_kurtosis(z, r, m2)) / sd
    a = ((z[:, :dx] @ whitener(rr[:dx, :dx])) ** 2).sum(axis=1)
    b = ((z[:, dx:] @ whitener(rr[dx:, dx:])) ** 2).sum(axis=1)
    a, b = a - a.mean(), b - b.mean()
    corr = float((a * b).mean() / math.sqrt(max((a * a).mean() * (b * b).mean(), 1e-300)))
    rho = canonical_correlations_of(rr, dx)
    excess = (corr - float((rho**2).sum()) / math.sqrt(dx * dy)) * math.sqrt(n)
    ratios = np.log(np.maximum(np.quantile(q, _MAHAL_LEVELS), 1e-12) / chi2.ppf(_MAHAL_LEVELS, d))
    return (mardia, mardia_centred), excess, ratios, rho


def _unit_norm_kurtosis(q: np.ndarray, m2: np.ndarray) -> float:
    """Mardia's b2 of scores rescaled to unit variance (normal scores have less: 0.988 at n =
    1,000), from their whitened squared norms q and the columns' variances m2 (their mean; exact
    without ties)."""
    var = float(m2.mean())
    return float((q * q).mean()) / (var * var) if var > 0.0 else 0.0  # constant columns: no spread to scale


def _gaussian_copula_kurtosis(z: np.ndarray, r: np.ndarray, m2: np.ndarray) -> float:
    """Expected b2 of n normal scores of a Gaussian copula with correlation r, whitened as
    `_evidence` does: with A = R_ridge^-1 R, E q^2 = (tr A)^2 + 2 tr A^2 for Gaussian scores,
    plus each column's kurtosis deficit (bounded scores have lighter tails; m2: the columns'
    variances), times the finite-n factor (n - 1) / (n + 1) of a fitted covariance (Mardia 1970)."""
    n, d = z.shape
    lam = _ridge_weight(d, n)
    mu = np.clip(np.linalg.eigvalsh(r), 0.0, None)
    a = mu / ((1.0 - lam) * mu + lam)
    m4 = (z**4).mean(axis=0)
    deficit = float((m4 / np.maximum(m2 * m2, 1e-300) - 3.0).sum())
    return (float(a.sum()) ** 2 + 2.0 * float((a * a).sum()) + deficit) * (n - 1) / (n + 1)


def summarize_scores(z: np.ndarray, dx: int) -> SetSummary:
    """`summarize` for normal scores already computed (shape (n, dx + dy), X first)."""
    n, d = z.shape
    dy = d - dx
    z = np.ascontiguousarray(z, dtype=np.float64)
    r = correlation(z)
    fit = fit_elliptical(z, dx, gaussian_r=r)
    if math.isinf(fit.nu):
        gauss, raw = fit.gaussian_mi, fit.raw_gaussian_mi
    else:  # the Gaussian copula's own term, beside the t core's
        raw, gauss, _ = gaussian_term(nearest_correlation(r, eigen_floor(n)), dx, n)
    mardia, excess, ratios, _ = _evidence(z, r, dx)
    low_dim_ksg = _ksg_features(z, dx, fit.mi)
    # in low dimension KSG on the same rows is already there (the same estimator, up to a 1e-10 jitter)
    near = neighbour_evidence(z, dx, ksg=math.expm1(low_dim_ksg[0]) if low_dim_ksg[2] else None)
    top = np.zeros(_TOP_RHO)
    k = min(_TOP_RHO, fit.rho.shape[0])
    top[:k] = fit.rho[:k] ** 2
    ldx, ldy = math.log(dx), math.log(dy)
    feats = np.concatenate([
        [
            math.log1p(fit.mi),
            math.log1p(max(0.0, gauss)),
            math.log1p(raw),
            0.0 if math.isinf(fit.nu) else 1.0 / fit.nu,
            math.asinh(fit.lr / 10.0),
            math.log(n) / math.log(1e4),
            (ldx + ldy) / 4.0,
            abs(ldx - ldy) / 4.0,
            math.log(d / n) / 4.0,
        ],
        top,
        [math.asinh(mardia[0] / 4.0), math.asinh(excess / 4.0)],
        ratios,
        [math.log(fit.se) / 4.0, math.log1p(fit.correction)],
        low_dim_ksg,
        _fitted_model_check(z[subset_rows(z, PROFILE_ROWS)], dx, fit),
        [math.asinh(mardia[1] / 4.0)],
        _neighbour_features(near, dx, dy, fit.mi),
    ])
    return SetSummary(z, fit, feats, near)


def _ridge_weight(d: int, rows: int) -> float:
    """min(0.5, 0.1 d / rows): how far `_ridged` shrinks a d x d correlation read on `rows` rows."""
    return min(0.5, 0.1 * d / rows)


def _ridged(r: np.ndarray, rows: int) -> np.ndarray:
    """The correlation matrix r shrunk towards the identity by `_ridge_weight`: a ridge where the
    rows it is read on are not many more than its dims d."""
    lam = _ridge_weight(r.shape[0], rows)
    return (1.0 - lam) * r + lam * np.eye(r.shape[0])


def _inv_sqrt(r: np.ndarray) -> np.ndarray:
    """Symmetric R^-1/2: whitening that permutes with the coordinates (unlike a Cholesky factor)."""
    w, v = np.linalg.eigh(r)
    return (v / np.sqrt(np.clip(w, 1e-8, None))) @ v.T


def _fitted_model_check(z: np.ndarray, dx: int, fit: EllipticalFit) -> list[float]:
    """How the rows z (m, d) depart from the core's fitted elliptical copula: see the module
    docstring. All 0 in expectation (up to noise of order 1 / sqrt(m)) when the model holds."""
    m = z.shape[0]
    if m < 20:  # too few rows to say anything
        return [0.0, 0.0, 0.0, 0.0, 0.0]
    nu = fit.nu
    r = _ridged(fit.corr, m)
    if math.isinf(nu):
        x, law = z, chi2.ppf(0.5, 1)
    else:
        x, law = t_scores(z, nu), f_dist.ppf(0.5, 1, nu + 1)  # median of t_{nu+1}^2
    w = x @ _inv_sqrt(r)
    q = np.maximum((w * w).sum(axis=1), 1e-300)
    lq = np.log(q)
    lq = (lq - lq.mean()) / max(lq.std(), 1e-12)
    v2 = w * w / q[:, None]  # squared direction coordinates
    u = (v2 - v2.mean(axis=0)) / np.maximum(v2.std(axis=0), 1e-12)
    radial = math.sqrt(m) * math.sqrt(float(((lq[:, None] * u).mean(axis=0) ** 2).mean()))

    ax, ay = _inv_sqrt(r[:dx, :dx]), _inv_sqrt(r[dx:, dx:])
    left, sv, right = np.linalg.svd(ax @ r[:dx, dx:] @ ay)
    rho = min(float(sv[0]), 0.999)
    a, b = x[:, :dx] @ (ax @ left[:, 0]), x[:, dx:] @ (ay @ right[0])
    spread = np.zeros(3)
    for s, t in ((a, b), (b, a)):  # both directions: symmetric in X and Y
        ratio = (t - rho * s) ** 2 / (1.0 - rho * rho)
        if not math.isinf(nu):
            ratio = ratio * (nu + 1.0) / (nu + s * s)
        size = np.abs(s)
        tails, centre = size > np.quantile(size, 0.9), size < np.quantile(size, 0.5)
        spread += 0.5 * np.array([_log_median_ratio(ratio[rows], law) for rows in (slice(None), tails, centre)])
    radial = math.asinh(radial / 4.0) if math.isfinite(radial) else 0.0
    return [radial, *spread.tolist(), _direction_coupling(v2)]


def _direction_coupling(v2: np.ndarray) -> float:
    """asinh(z / 2), z the largest departure of corr(v_i^2, v_j^2) from -1 / (d - 1) over all
    pairs of coordinates, times sqrt(m) / sqrt(2 log(pairs) + 1); v2: squared coordinates of the
    whitened directions (m, d). Under any elliptical copula the direction is uniform on the
    sphere, so every such correlation is exactly -1 / (d - 1); a map that turns one plane by an
    angle that depends on the radius (a swirl) couples the two coordinates of that plane, which
    a statistic pooled over all coordinates (Mardia's, the radial check) dilutes in high
    dimension. 0 below 3 dimensions, where a direction has one degree of freedom. Offline
    ablation (scripts/ablate_features.py, 900 sets of users_elliptical + users_spiral): AUC of
    "core misses" 0.937 -> 0.946; about 1% of a summary's time."""
    m, d = v2.shape
    if d < 3:
        return 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.corrcoef(v2, rowvar=False)
    dev = np.nan_to_num(np.abs(c + 1.0 / (d - 1)), nan=0.0)
    np.fill_diagonal(dev, 0.0)
    z = float(dev.max()) * math.sqrt(m) / math.sqrt(2.0 * math.log(d * (d - 1) / 2.0) + 1.0)
    return math.asinh(z / 2.0)


def _log_median_ratio(ratio: np.ndarray, law: float) -> float:
    """log(median / law), within +-4 (ties and constant columns reach 1e-12); 0 (no evidence)
    when there are no rows or nothing finite."""
    if ratio.size == 0:
        return 0.0
    value = math.log(max(float(np.median(ratio)), 1e-12) / law)
    return min(4.0, max(-4.0, value)) if math.isfinite(value) else 0.0


def _neighbour_features(near: NeighbourEvidence, dx: int, dy: int, core: float) -> list[float]:
    """(log1p KSG, its difference to log1p core, the lower and higher log intrinsic-dimension
    ratio of the two sides): symmetric in X and Y."""
    knn = math.log1p(max(0.0, near.ksg))
    ratios = sorted(min(1.0, max(-4.0, math.log(max(dim, 1e-2) / cols))) for dim, cols in ((near.dim_x, dx), (near.dim_y, dy)))
    return [knn, knn - math.log1p(core), *ratios]


def _ksg_features(z: np.ndarray, dx: int, core: float) -> list[float]:
    """(log1p KSG, its difference to log1p core, 1) in low dimension, else zeros."""
    n, d = z.shape
    if d > KSG_MAX_DIM or n <= KSG_K + 1:
        return [0.0, 0.0, 0.0]
    rows = z[subset_rows(z, KSG_ROWS)]
    algorithm = "kdtree" if d <= 6 else "pairwise"  # the same result; pairwise is faster above 6 dims at 512 rows
    ksg, _ = ksg_mi(rows[:, :dx], rows[:, dx:], KSG_K, standardize=False, algorithm=algorithm)  # ties: the column warnings say
    ksg = math.log1p(max(0.0, ksg))
    return [ksg, ksg - math.log1p(core), 1.0]


def summarize(x: np.ndarray, y: np.ndarray, ranks: np.ndarray | None = None) -> SetSummary:
    """Copula scores, elliptical core and evidence features of one sample set.

    Arguments:
        x: samples of X, shape (n, dx), any real dtype.
        y: samples of Y, shape (n, dy), paired row by row.
        ranks: the average ranks of [x, y] (shape (n, dx + dy)) when already known, e.g. from
            the input checks (`mist.stats.scores.ranks_and_ties`); saves sorting again.

    Returns:
        A SetSummary; its core MI is in nats.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(2000, 1)); y = x + rng.normal(size=(2000, 1))
        >>> round(summarize(x, y).core_mi, 1)      # exact: 0.5 log 2 = 0.35 nats
        0.3
    """
    z = normal_scores(np.hstack([np.asarray(x, np.float64), np.asarray(y, np.float64)]), ranks=ranks)
    return summarize_scores(z, x.shape[1])
