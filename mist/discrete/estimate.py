"""I(T;Y) for a continuous T and class labels Y: the estimate, its interval, and the result.

The point estimate is the largest of three estimates of I(T;Y), each of which is (in the
population, or as measured) at most the truth:
- `lda`, `qda`: Gaussian discriminant information (`mist.discrete.gaussian`): exact for Gaussian
  classes, a lower bound for any others;
- `knn`: the Ross (2014) mixed nearest-neighbour estimate (`mist.discrete.knn`), consistent for
  any class-conditional densities, biased low where T has many dimensions and the MI is high.
All three run on the same representation of T: normal scores of each column's ranks (so the
estimate is blind to strictly monotone maps of any column), whitened by the pooled within-class
covariance (an invertible linear map, which leaves the MI unchanged). Above MAX_DIMS columns the
scores are first reduced to their MAX_DIMS leading principal components: then the estimate is
of the reduced T, a lower bound on I(T;Y) by the data-processing inequality, and the result
says so.

The interval is the point estimate plus quantiles of the standardised error
(truth - estimate) / scale, with scale = sqrt(se^2 + spread^2) (se: the standard error of the
chosen estimate from its per-sample terms; spread: how far the three estimates disagree), fitted
on Gaussian class-conditional families (`scripts/benchmark_labels.py --calibrate`) and checked on
held-out ones. It is clipped to [0, H(Y) + (K - 1) / 2n].
"""

from __future__ import annotations

import math

import numpy as np

from mist.discrete.gaussian import discriminant_terms
from mist.discrete.knn import mixed_ksg_terms
from mist.discrete.labels import Labels
from mist.result import EstimateResult
from mist.result import UNITS
from mist.numerics.linalg import pca_scores, whitening_matrix
from mist.stats.scores import normal_scores

__all__ = ["MAX_DIMS", "METHOD", "NEIGHBOURS", "OFFSETS", "estimate_discrete", "estimate_labels", "label_components", "prepare"]

MAX_DIMS = 32  # above this many columns T is reduced by PCA (a lower bound)
NEIGHBOURS = 3  # k of the Ross estimator
QDA_OPTIMISM = 0.25  # QDA has many parameters: its in-sample optimism outgrows the first-order correction (measured)
JITTER = 1e-9  # relative size of the fixed tie-breaking noise (ties, e.g. ReLU zeros, would give zero distances)
METHOD = "max(LDA, QDA, Ross kNN) on within-class-whitened normal scores"
# standardised-error quantiles {level: offset in units of scale}, from `benchmark_labels.py --calibrate`
OFFSETS = {0.05: -0.869, 0.25: -0.442, 0.75: 0.769, 0.95: 3.311}  # 82 sets, seed 2027


def prepare(t: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, int | None]:
    """The representation every estimate reads.

    Arguments:
        t: samples of T, float64, shape (n, d), finite.
        codes: class codes, shape (n,).

    Returns:
        (z, reduced): z, shape (n, min(d, MAX_DIMS)): normal scores, PCA-reduced when d > MAX_DIMS,
        whitened by the pooled within-class covariance; reduced: the original d when reduced, else None.
    """
    n, d = t.shape
    z = normal_scores(t)
    z = z + JITTER * np.random.default_rng(0).standard_normal(z.shape)
    reduced = None
    if d > MAX_DIMS:
        z, reduced = pca_scores(z, MAX_DIMS), d
    k = int(codes.max()) + 1
    means = np.zeros((k, z.shape[1]))
    np.add.at(means, codes, z)
    means /= np.bincount(codes, minlength=k)[:, None]
    resid = z - means[codes]
    within = resid.T @ resid / max(n - k, 1)
    return (z - z.mean(axis=0)) @ whitening_matrix(within, 1e-6), reduced


def label_components(z: np.ndarray, codes: np.ndarray) -> dict[str, tuple[float, float]]:
    """Each estimate of I(T;Y) in nats and its standard error: {"lda", "qda", "knn": (mi, se)}."""
    n = z.shape[0]
    terms = {
        "lda": discriminant_terms(z, codes, shared=True),
        "qda": discriminant_terms(z, codes, shared=False, optimism=QDA_OPTIMISM),
        "knn": mixed_ksg_terms(z, codes, NEIGHBOURS),
    }
    return {name: (float(v.mean()), float(v.std(ddof=1) / math.sqrt(n))) for name, v in terms.items()}


def combine(parts: dict[str, tuple[float, float]], counts: np.ndarray, offsets: dict[float, float] | None = None) -> dict:
    """The point estimate, scale and quantiles (nats) from the components and the class counts."""
    offsets = OFFSETS if offsets is None else offsets
    n, k = int(counts.sum()), int(counts.size)
    p = counts / n
    h = float(-(p * np.log(p)).sum())
    ceiling = h + (k - 1) / (2 * n)  # the plug-in H(Y) is biased low by about (K - 1) / 2n
    name = max(parts, key=lambda m: parts[m][0])
    mi, se = parts[name]
    values = [v for v, _ in parts.values()]
    spread = max(values) - float(np.median(values))
    scale = math.sqrt(se**2 + spread**2)
    point = min(max(mi, 0.0), ceiling)
    q = {lvl: min(max(point + off * scale, 0.0), ceiling) for lvl, off in offsets.items()}
    q[0.5] = point
    return {"mi": point, "method": name, "scale": scale, "se": se, "spread": spread, "entropy_y": h,
            "quantiles": dict(sorted(q.items()))}


def estimate_labels(t: np.ndarray, labels: Labels, *, units: str = "nats", scale_units: float = 1.0) -> EstimateResult:
    """Estimate I(T;Y) for continuous T and class labels.

    Arguments:
        t: samples of T, float64, shape (n, d), validated (finite, n >= 10).
        labels: validated labels (`mist.discrete.labels.as_labels`), n of them.
        units: "nats" or "bits", for the result; scale_units: nats per unit.

    Returns:
        An EstimateResult with dx = d, dy = 1; `diagnostics` holds `method` (which estimate was
        largest), `components` (every estimate in units), `classes`, `entropy_y` (the plug-in
        H(Y) in units, the ceiling of I(T;Y)) and `reduced_from` (d before PCA, or None).
    """
    z, reduced = prepare(t, labels.codes)
    parts = label_components(z, labels.codes)
    out = combine(parts, labels.counts)
    warnings = []
    if reduced is not None:
        warnings.append(
            f"T has {reduced} columns: it was reduced to its {MAX_DIMS} leading principal components (of the normal "
            f"scores) before estimating, so the estimate is a lower bound on I(T;Y) (data-processing inequality)"
        )
    small = int(labels.counts.min())
    if small < NEIGHBOURS + 1:
        warnings.append(
            f"the smallest class has {small} samples: the nearest-neighbour estimate uses fewer than {NEIGHBOURS} "
            "neighbours there and every estimate is less reliable; collect more samples of the rare classes"
        )
    s = scale_units
    diagnostics = {
        "method": f"{METHOD}: {out['method']}",
        "components": {name: v / s for name, (v, _) in parts.items()},
        "classes": labels.k,
        "entropy_y": out["entropy_y"] / s,
        "reduced_from": reduced,
        "lower_bound": reduced is not None,
    }
    q = {lvl: v / s for lvl, v in out["quantiles"].items()}
    return EstimateResult(
        mi=out["mi"] / s, lower=q[min(q)], upper=q[max(q)], quantiles=q, units=units, n=int(t.shape[0]),
        dx=int(t.shape[1]), dy=1, diagnostics=diagnostics, warnings=warnings,
    )




def estimate_discrete(t, labels, *, units: str = "nats", check: bool = False) -> EstimateResult:
    """I(T;Y) for samples of a continuous T and class labels Y: validation, estimate, warnings.

    Arguments:
        t: samples of T, shape (n, d) or (n,): numpy array, torch tensor, pandas DataFrame or
            Series, or list; any real dtype.
        labels: one class label per row of t (see `mist.discrete.labels` for the dtype rule).
        units: "nats" or "bits".
        check: the subsampling consistency check is not defined for labels; asking for it adds
            a warning.

    Returns:
        An EstimateResult (see `estimate_labels`); its warnings are not yet issued.

    Raises:
        ValueError: bad T (as `mist.inputs.as_matrix`), n < 10, bad labels (`as_labels`), bad units.
    """
    from mist.discrete.labels import as_labels
    from mist.inputs import MIN_N, as_matrix

    if units not in UNITS:
        raise ValueError(f"units must be 'nats' or 'bits', got {units!r}")
    m, _ = as_matrix(t, "x")
    lab = as_labels(labels, m.shape[0])
    if m.shape[0] < MIN_N:
        raise ValueError(f"got n = {m.shape[0]} samples; mist needs at least {MIN_N}: collect more samples")
    r = estimate_labels(m, lab, units=units, scale_units=UNITS[units])
    if check:
        r.warnings.append("the subsampling consistency check is not run for class labels (y_discrete=True)")
    return r
