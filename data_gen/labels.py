"""Class-conditional families: a continuous T in R^d and a class label Y, with I(T;Y) computed.

Every family here is a finite mixture: Y takes K values with priors pi_y, and given Y = y, T is a
mixture of Gaussian or multivariate Student-t components, optionally followed by one invertible
map applied to every sample alike (a shared linear mixing, then elementwise monotone warps),
which leaves I(T;Y) unchanged. The log posterior log p(y | t) is therefore exact, and

    I(T;Y) = H(Y) - E_t[ H(Y | T = t) ]

is computed by a Monte Carlo average of the exact posterior entropy over `mc` fresh draws of T
(Rao-Blackwellised over Y), with its Monte Carlo standard error `mi_se` (about 0.001-0.003
nats at mc = 40,000; tested in tests/test_discrete.py against closed forms and the sample
standard error). Numpy only.

Families:
- `gaussian_classes`: Gaussian classes with shared or class-specific covariance, means in a
  random subspace, equal or unequal priors (the in-distribution family, used for calibration).
- `student_t_classes`: multivariate Student-t classes (heavy tails, held out).
- `multimodal_classes`: each class a mixture of 2-3 Gaussian modes (held out).
- `warped`: any of the above after a shared random linear map and elementwise monotone warps
  (held out; the MI is that of the unwarped instance).

References:
    Cover & Thomas, Elements of Information Theory, 2nd ed., ch. 2 (I = H(Y) - H(Y|T)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

__all__ = [
    "FAMILIES",
    "HELD_OUT",
    "WARPS",
    "ClassConditional",
    "gaussian_classes",
    "multimodal_classes",
    "random_instance",
    "student_t_classes",
    "warped",
]

# elementwise strictly increasing maps (the warps a `warped` instance draws from)
# (all finite and strictly increasing in float64 for the heavy tails drawn here)
WARPS = {
    "cube": lambda v: v + v**3 / 3.0,
    "log1p_abs": lambda v: np.sign(v) * np.log1p(np.abs(v)),
    "softexp": lambda v: np.where(v < 0, np.exp(np.minimum(v, 0.0)), 1.0 + v),
    "signed_sqrt": lambda v: np.sign(v) * np.sqrt(np.abs(v)),
}


def _haar(rng: np.random.Generator, d: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def _random_cov_chol(rng: np.random.Generator, d: int, spread: float) -> np.ndarray:
    """Cholesky factor of a random covariance with eigenvalues log-uniform in [1/spread, spread]."""
    lam = np.exp(rng.uniform(-math.log(spread), math.log(spread), d))
    q = _haar(rng, d)
    return np.linalg.cholesky((q * lam) @ q.T)


@dataclass(frozen=True)
class ClassConditional:
    """A class-conditional distribution of (T, Y) with computable I(T;Y).

    Attributes:
        name: the family.
        priors: class probabilities, shape (K,), summing to 1.
        means: component locations, shape (K, M, d) (M components per class).
        chols: component scale Cholesky factors, shape (K, M, d, d).
        weights: component weights within each class, shape (K, M), rows summing to 1.
        df: degrees of freedom of Student-t components; None for Gaussian.
        mixing: an invertible (d, d) matrix applied to every sample (t <- t @ mixing.T), or None.
        warps: names of elementwise warps from `WARPS`, one per column (applied after mixing), or ().
        params: how it was drawn (for reports).
    """

    name: str
    priors: np.ndarray
    means: np.ndarray
    chols: np.ndarray
    weights: np.ndarray
    df: float | None = None
    mixing: np.ndarray | None = None
    warps: tuple[str, ...] = ()
    params: dict = field(default_factory=dict)

    @property
    def k(self) -> int:
        return int(self.priors.size)

    @property
    def d(self) -> int:
        return int(self.means.shape[2])

    @property
    def entropy_y(self) -> float:
        """H(Y) in nats, the upper bound of I(T;Y)."""
        p = self.priors[self.priors > 0]
        return float(-(p * np.log(p)).sum())

    # ------------------------------------------------------------------ sampling
    def sample_latent(self, n: int, rng: np.random.Generator, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """T before the shared map, shape (n, d), and Y, shape (n,) int (drawn from the priors unless given)."""
        if y is None:
            y = rng.choice(self.k, size=n, p=self.priors)
        m = self.weights.shape[1]
        comp = (rng.random(n)[:, None] > np.cumsum(self.weights[y], axis=1)[:, :-1]).sum(axis=1) if m > 1 else np.zeros(n, int)
        z = rng.standard_normal((n, self.d))
        if self.df is not None:
            z = z / np.sqrt(rng.chisquare(self.df, size=n) / self.df)[:, None]
        t = self.means[y, comp] + np.einsum("nij,nj->ni", self.chols[y, comp], z)
        return t, y

    def transform(self, t: np.ndarray) -> np.ndarray:
        """The shared invertible map (mixing, then warps), applied to latent T of shape (n, d)."""
        if self.mixing is not None:
            t = t @ self.mixing.T
        if self.warps:
            t = np.column_stack([WARPS[w](t[:, j]) for j, w in enumerate(self.warps)])
        return t

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n samples: T, shape (n, d) float64, and Y, shape (n,) int in [0, K)."""
        t, y = self.sample_latent(n, rng)
        return self.transform(t), y

    # ------------------------------------------------------------------ exact densities
    def log_conditionals(self, t: np.ndarray) -> np.ndarray:
        """log p(t | y) for latent T of shape (n, d) (before `transform`), shape (n, K).

        The shared map's Jacobian is the same for every class and cancels in the posterior, so
        latent densities are all the MI needs.
        """
        n, d = t.shape
        k, m = self.weights.shape
        out = np.empty((n, k, m))
        for y in range(k):
            for c in range(m):
                chol = self.chols[y, c]
                u = np.linalg.solve(chol, (t - self.means[y, c]).T).T  # triangular, d <= a few dozen
                q = np.einsum("ij,ij->i", u, u)
                logdet = float(np.log(np.diag(chol)).sum())
                if self.df is None:
                    out[:, y, c] = -0.5 * q - logdet - 0.5 * d * math.log(2 * math.pi)
                else:
                    nu = self.df
                    const = math.lgamma((nu + d) / 2) - math.lgamma(nu / 2) - 0.5 * d * math.log(nu * math.pi)
                    out[:, y, c] = const - logdet - 0.5 * (nu + d) * np.log1p(q / nu)
        with np.errstate(divide="ignore"):
            lw = np.log(self.weights)
        return _logsumexp(out + lw[None], axis=2)

    def log_posterior(self, t: np.ndarray) -> np.ndarray:
        """log p(y | t) for latent T of shape (n, d), shape (n, K)."""
        a = self.log_conditionals(t) + np.log(self.priors)[None]
        return a - _logsumexp(a, axis=1)[:, None]

    def mutual_information(self, mc: int = 40_000, seed: int = 0, chunk: int = 10_000) -> tuple[float, float]:
        """I(T;Y) in nats by Monte Carlo over T: (estimate, its standard error).

        H(Y) minus the mean exact posterior entropy over `mc` draws of T; the standard error is
        the sample standard deviation of those entropies over sqrt(mc).
        """
        rng = np.random.default_rng(seed)
        ents = []
        left = mc
        while left > 0:
            t, _ = self.sample_latent(min(chunk, left), rng)
            lp = self.log_posterior(t)
            ents.append(-(np.exp(lp) * lp).sum(axis=1))
            left -= t.shape[0]
        h = np.concatenate(ents)
        return self.entropy_y - float(h.mean()), float(h.std(ddof=1) / math.sqrt(h.size))


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    mx = np.max(a, axis=axis, keepdims=True)
    mx = np.where(np.isfinite(mx), mx, 0.0)
    return np.squeeze(mx, axis=axis) + np.log(np.exp(a - mx).sum(axis=axis))


def _priors(rng: np.random.Generator, k: int, unequal: bool) -> np.ndarray:
    """Equal priors, or Dirichlet(1) priors floored at 0.2 / K (so every class can be sampled)."""
    if not unequal:
        return np.full(k, 1.0 / k)
    p = rng.dirichlet(np.ones(k))
    p = np.maximum(p, 0.2 / k)
    return p / p.sum()


def _class_means(rng: np.random.Generator, d: int, k: int, separation: float, rank: int | None) -> np.ndarray:
    """K class means, shape (K, d): N(0, separation^2) in a random subspace of `rank` dims."""
    r = min(d, k - 1 if rank is None else rank) or 1
    basis = _haar(rng, d)[:, :r]
    return separation * rng.standard_normal((k, r)) @ basis.T


def gaussian_classes(rng: np.random.Generator, d: int, k: int, separation: float, *, unequal: bool = False,
                     class_covariance: bool = False, rank: int | None = None, spread: float = 4.0) -> ClassConditional:
    """Gaussian classes: T | Y = y ~ N(mu_y, Sigma_y).

    Arguments:
        rng: the random source.
        d: dimension of T; k: number of classes.
        separation: scale of the class means in units of the within-class sd (larger: more MI,
            up to H(Y)).
        unequal: Dirichlet priors instead of equal ones.
        class_covariance: a random covariance per class (QDA-like) instead of the identity for all.
        rank: the dimension of the subspace holding the means (default min(d, K - 1)).
        spread: eigenvalue spread of the class covariances.
    """
    means = _class_means(rng, d, k, separation, rank)[:, None]
    if class_covariance:
        chols = np.stack([_random_cov_chol(rng, d, spread) for _ in range(k)])[:, None]
    else:
        chols = np.broadcast_to(np.eye(d), (k, 1, d, d)).copy()
    return ClassConditional(
        "gaussian", _priors(rng, k, unequal), means, chols, np.ones((k, 1)),
        params={"d": d, "k": k, "separation": separation, "unequal": unequal, "class_covariance": class_covariance},
    )


def student_t_classes(rng: np.random.Generator, d: int, k: int, separation: float, *, df: float = 3.0,
                      unequal: bool = False) -> ClassConditional:
    """Multivariate Student-t classes with `df` degrees of freedom, identity scale, shifted locations."""
    means = _class_means(rng, d, k, separation, None)[:, None]
    chols = np.broadcast_to(np.eye(d), (k, 1, d, d)).copy()
    return ClassConditional(
        "student_t", _priors(rng, k, unequal), means, chols, np.ones((k, 1)), df=float(df),
        params={"d": d, "k": k, "separation": separation, "df": df, "unequal": unequal},
    )


def multimodal_classes(rng: np.random.Generator, d: int, k: int, separation: float, *, modes: int = 2,
                       unequal: bool = False) -> ClassConditional:
    """Each class a mixture of `modes` Gaussians (identity covariance, random weights) whose
    centres scatter around the class mean with the same `separation`."""
    centre = _class_means(rng, d, k, separation, None)
    offsets = separation * rng.standard_normal((k, modes, d)) / math.sqrt(max(d, 1)) * 1.5
    chols = np.broadcast_to(np.eye(d), (k, modes, d, d)).copy()
    weights = rng.dirichlet(2.0 * np.ones(modes), size=k)
    return ClassConditional(
        "multimodal", _priors(rng, k, unequal), centre[:, None] + offsets, chols, weights,
        params={"d": d, "k": k, "separation": separation, "modes": modes, "unequal": unequal},
    )


def warped(inst: ClassConditional, rng: np.random.Generator) -> ClassConditional:
    """The same instance seen through a random invertible map (a dense mixing matrix with
    condition number up to 10, then one random monotone warp per column): the same I(T;Y)."""
    d = inst.d
    s = np.exp(rng.uniform(-0.5 * math.log(10.0), 0.5 * math.log(10.0), d))
    mixing = (_haar(rng, d) * s) @ _haar(rng, d).T
    # scale so that warps act on O(1) values (exp of a large value would overflow)
    scale = np.sqrt(np.einsum("ij,kj->ik", mixing, mixing).diagonal().mean())
    scale *= 1.0 + float(np.abs(inst.means).max())
    names = tuple(rng.choice(sorted(WARPS), size=d))
    params = dict(inst.params, warped=True)
    return replace(inst, name=f"warped_{inst.name}", mixing=mixing / scale, warps=names, params=params)


FAMILIES = ("gaussian", "gaussian_qda", "student_t", "multimodal", "warped")
HELD_OUT = ("student_t", "multimodal", "warped")  # never used to choose or calibrate the estimator


def random_instance(rng: np.random.Generator, family: str, d: int, k: int) -> ClassConditional:
    """One random instance of a family with d dims and k classes; separation log-uniform over a
    range that spans I(T;Y) from near 0 to near H(Y) (divided by the square root of the means'
    subspace dimension, so that distances between class means do not grow with it), priors
    equal or unequal at random."""
    r = max(1, min(d, k - 1))
    separation = float(np.exp(rng.uniform(math.log(0.15), math.log(8.0)))) / math.sqrt(r)
    unequal = bool(rng.random() < 0.5)
    if family == "gaussian":
        return gaussian_classes(rng, d, k, separation, unequal=unequal)
    if family == "gaussian_qda":
        return gaussian_classes(rng, d, k, separation, unequal=unequal, class_covariance=True, spread=float(rng.uniform(1.5, 4.0)))
    if family == "student_t":
        return student_t_classes(rng, d, k, separation, df=float(rng.choice([1.5, 2.0, 3.0, 5.0, 10.0])), unequal=unequal)
    if family == "multimodal":
        return multimodal_classes(rng, d, k, separation, modes=int(rng.integers(2, 4)), unequal=unequal)
    if family == "warped":
        base = ("gaussian", "gaussian_qda", "student_t", "multimodal")[int(rng.integers(4))]
        return warped(random_instance(rng, base, d, k), rng)
    raise ValueError(f"unknown family {family!r}; choose one of {FAMILIES}")
