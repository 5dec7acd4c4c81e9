"""What every family provides, and the helpers they share (MI splitting, pair layouts, solvers)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from data_gen.registry import Configurable

__all__ = ["Family", "Joint", "split_mi", "pair_layout", "haar_orthogonal", "bisect_decreasing", "check_range_option",
           "check_choice_option", "monte_carlo_mi", "LABEL_DRAWS"]

LABEL_DRAWS = 20_000  # Monte Carlo draws behind a label without a closed form (standard error ~0.005 nats)


class Joint:
    """One joint distribution of (X, Y) with its exact mutual information.

    Attributes:
        mi: I(X; Y) in nats, computed from the final parameters (not from the target).
        mi_se: the standard error of `mi`: 0 where it is a closed form, the Monte Carlo error
            (`monte_carlo_mi`) where it is a mean of the information density.
        dx, dy: dimensions of X and Y.
        params: a small JSON-serialisable summary of the parameters.
    """

    mi: float
    dx: int
    dy: int
    params: dict[str, Any]
    mi_se: float = 0.0  # standard error of `mi` (nats): 0 for a closed form, else its Monte Carlo error

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """n i.i.d. draws: x (n, dx) and y (n, dy), float64."""
        raise NotImplementedError

    def log_ratio(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The information density log p(x, y) - log p(x) - log p(y) at each row, shape (n,), nats.

        Its mean over samples of the joint is `mi`; tests use that as a Monte Carlo check.
        """
        raise NotImplementedError


class Family(Configurable):
    """A registry entry: draws a `Joint` whose MI equals a target, for any dx, dy >= 1.

    Subclasses set `name`, `defaults` (options a config may override) and implement `draw`;
    `elliptical` says whether the joint of (X, Y) is elliptical (its copula is the one the
    classical core assumes, `data_gen.copula`).
    """

    name: str = ""
    elliptical: bool = False
    exact: bool = True  # False: labels are Monte Carlo means (Joint.mi_se > 0), not closed forms
    defaults: Mapping[str, Any] = {}

    def max_mi(self, dx: int, dy: int, max_mi_per_dim: float) -> float:
        """The largest MI (nats) this family represents reliably in float32 at these dims."""
        return min(dx, dy) * max_mi_per_dim

    def draw(self, rng: np.random.Generator, dx: int, dy: int, mi: float, max_mi_per_dim: float,
             options: Mapping[str, Any]) -> Joint:
        """A joint distribution with I(X; Y) = mi nats (up to float64 rounding)."""
        raise NotImplementedError


# ---------------------------------------------------------------------- shared helpers
def split_mi(rng: np.random.Generator, total: float, k: int, cap: float, active: int | None = None) -> np.ndarray:
    """Split `total` nats over some of k coordinate pairs, each pair carrying at most `cap`.

    The number of active pairs is `active` if given (raised to the minimum the cap allows),
    else uniform on [ceil(total / cap), k]. Shares are Dirichlet(1), then water-filled so no
    pair exceeds `cap`.

    Returns:
        Per-pair MI in nats, shape (active,), summing to `total`.
    """
    if total > k * cap * (1 + 1e-12):
        raise ValueError(f"cannot put {total} nats on {k} pairs of at most {cap} nats each")
    need = max(1, math.ceil(total / cap - 1e-9))
    s = int(rng.integers(need, k + 1)) if active is None else min(k, max(need, int(active)))
    shares = rng.dirichlet(np.ones(s)) * total
    for _ in range(s):  # water-filling: clip at cap, hand the excess to the others
        over = shares > cap
        if not over.any():
            break
        excess = float((shares[over] - cap).sum())
        shares[over] = cap
        free = shares < cap
        room = cap - shares[free]
        shares[free] += room * min(1.0, excess / room.sum())
    return np.minimum(shares, cap)


def pair_layout(rng: np.random.Generator, dx: int, dy: int, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Random distinct coordinates pairing X[:, ix[i]] with Y[:, iy[i]] for i < s."""
    return rng.permutation(dx)[:s], rng.permutation(dy)[:s]


def haar_orthogonal(rng: np.random.Generator, d: int) -> np.ndarray:
    """A (d, d) orthogonal matrix drawn from the Haar measure."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def bisect_decreasing(f: Callable[[np.ndarray], np.ndarray], target: np.ndarray, lo: float, hi: float,
                      iters: int = 64) -> np.ndarray:
    """Solve f(t) = target elementwise for t in [lo, hi], f decreasing; vectorised bisection."""
    target = np.asarray(target, dtype=float)
    a = np.full(target.shape, float(lo))
    b = np.full(target.shape, float(hi))
    for _ in range(iters):
        m = 0.5 * (a + b)
        high = f(m) > target
        a = np.where(high, m, a)
        b = np.where(high, b, m)
    return 0.5 * (a + b)


def check_range_option(options: Mapping[str, Any], key: str, where: str, lo: float, hi: float) -> None:
    """Check options[key] is [a, b] with lo <= a <= b <= hi, or raise ValueError naming it."""
    if key not in options:
        return
    v = options[key]
    ok = isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(t, (int, float)) for t in v)
    if not ok or not (lo <= v[0] <= v[1] <= hi):
        raise ValueError(f"generator config '{where}.{key}' must be [a, b] with {lo} <= a <= b <= {hi}, got {v!r}")


def check_choice_option(options: Mapping[str, Any], key: str, where: str, allowed: tuple[str, ...]) -> None:
    """Check options[key] is a non-empty list of names from `allowed`, or raise ValueError naming it."""
    if key not in options:
        return
    v = options[key]
    if isinstance(v, str) or not v or any(k not in allowed for k in v):
        raise ValueError(f"generator config '{where}.{key}' must be a non-empty list drawn from {list(allowed)}, got {v!r}")


def monte_carlo_mi(joint: Joint, rng: np.random.Generator, draws: int = LABEL_DRAWS) -> tuple[float, float]:
    """(mean, standard error) of the information density over `draws` samples of `joint`, nats.

    The label of a family without a closed form: unbiased, with an error small against the
    training loss at the default draws (the density's sd is about 1 nat for a few nats of MI).
    """
    x, y = joint.sample(rng, draws)
    lr = joint.log_ratio(x, y)
    return float(lr.mean()), float(lr.std() / math.sqrt(draws))
