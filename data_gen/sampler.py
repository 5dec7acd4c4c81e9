"""DatasetSampler: draws one sample set (X, Y) with its exact MI label from a GeneratorConfig.

One draw: n, dx, dy (unless the caller fixes them) -> family (by weight) -> target MI from the
label prior truncated to what the family represents at these dims -> the family's parameters
solved for that target -> n samples -> a random chain of transforms for X and one for Y.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from data_gen.config import GeneratorConfig
from data_gen.families.base import Joint
from data_gen.registry import FAMILIES, TRANSFORMS
from data_gen.transforms.base import Chain

__all__ = ["SampleSet", "Draw", "DatasetSampler", "truncated_prior_sample"]


@dataclasses.dataclass
class SampleSet:
    """One dataset and its label.

    Attributes:
        x: (n, dx) float32 samples of X.
        y: (n, dy) float32 samples of Y.
        mi: exact I(X; Y) in nats.
        family: registry name of the distribution family.
        transform: the transform chains, e.g. "x:warp_asinh+linear;y:spiral" ("identity" if none).
        params: JSON-serialisable summary of the family's and the transforms' parameters.
        seed: the integer seed that regenerates this set (`DatasetSampler.sample_seeded`), if any.
    """

    x: np.ndarray
    y: np.ndarray
    mi: float
    family: str
    transform: str
    params: dict[str, Any]
    seed: int | None = None

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    @property
    def dx(self) -> int:
        return int(self.x.shape[1])

    @property
    def dy(self) -> int:
        return int(self.y.shape[1])


@dataclasses.dataclass
class Draw:
    """A sample set together with the distribution and maps that produced it (for checks).

    `log_ratio(x, y)` is the information density of the *transformed* distribution at stored
    points: the chains are inverted and the family's density ratio evaluated (Jacobians cancel).
    """

    sample_set: SampleSet
    joint: Joint
    x_chain: Chain
    y_chain: Chain

    def log_ratio(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """log p(x, y) - log p(x) - log p(y) at each row of stored x (n, dx), y (n, dy); nats."""
        return self.joint.log_ratio(self.x_chain.inverse(np.asarray(x, float)),
                                    self.y_chain.inverse(np.asarray(y, float)))


def truncated_prior_sample(rng: np.random.Generator, components, cap: float) -> float:
    """One draw from the mixture of uniforms `components` truncated to [0, cap] nats.

    Each component keeps the part of its interval below `cap`, with its weight scaled by the
    fraction kept; the truncated mixture is renormalised.

    Raises:
        ValueError: when no component has mass below `cap`.
    """
    kept = np.array([c.weight * max(0.0, min(c.high, cap) - c.low) / (c.high - c.low) for c in components])
    if kept.sum() <= 0:
        raise ValueError(f"the MI prior has no mass below {cap:g} nats, the most these dims can represent; "
                         "raise dx/dy, max_mi_per_dim, or lower mi_prior")
    i = int(rng.choice(len(kept), p=kept / kept.sum()))
    c = components[i]
    return float(rng.uniform(c.low, min(c.high, cap)))


class DatasetSampler:
    """Draws sample sets with exact MI labels.

    Arguments:
        cfg: a `GeneratorConfig`, or a dict / DictConfig that `GeneratorConfig.from_dict` accepts.

    Example:
        >>> import numpy as np
        >>> from data_gen import DatasetSampler
        >>> sampler = DatasetSampler({"families": ["gaussian_sparse"], "transforms": ["warp_asinh"]})
        >>> s = sampler.sample(np.random.default_rng(0), n=100, dx=2, dy=3)
        >>> s.x.shape, s.y.shape, s.x.dtype
        ((100, 2), (100, 3), dtype('float32'))
    """

    def __init__(self, cfg: GeneratorConfig | Mapping[str, Any]):
        self.cfg = GeneratorConfig.from_dict(cfg)
        self._families = list(self.cfg.families)
        w = np.array([self.cfg.families[k] for k in self._families])
        self._family_p = w / w.sum()
        self._transforms = list(self.cfg.transforms)
        self._transform_w = np.array([self.cfg.transforms[k] for k in self._transforms])
        self._family_opts = {k: FAMILIES[k].options(self.cfg.family_options.get(k)) for k in self._families}
        self._transform_opts = {k: TRANSFORMS[k].options(self.cfg.transform_options.get(k)) for k in self._transforms}

    # ------------------------------------------------------------------ public
    def sample(self, rng: np.random.Generator, n: int | None = None, dx: int | None = None,
               dy: int | None = None) -> SampleSet:
        """One sample set; n, dx, dy are drawn from the config unless given.

        Returns:
            SampleSet with x (n, dx) and y (n, dy) float32 and the exact MI in nats.
        """
        return self.draw(rng, n=n, dx=dx, dy=dy).sample_set

    def sample_seeded(self, seed: int, n: int | None = None, dx: int | None = None,
                      dy: int | None = None) -> SampleSet:
        """`sample(np.random.default_rng(seed), ...)` with `seed` recorded on the result."""
        s = self.sample(np.random.default_rng(seed), n=n, dx=dx, dy=dy)
        s.seed = int(seed)
        return s

    def draw(self, rng: np.random.Generator, n: int | None = None, dx: int | None = None,
             dy: int | None = None) -> Draw:
        """Like `sample`, but also returns the distribution and the transform chains."""
        cfg = self.cfg
        n = self._pick_n(rng) if n is None else _positive(n, "n", 2)
        fixed_dims = dx is not None and dy is not None
        for _ in range(1000):
            dx_ = self._pick_dim(rng, cfg.dx) if dx is None else _positive(dx, "dx", 1)
            dy_ = self._pick_dim(rng, cfg.dy) if dy is None else _positive(dy, "dy", 1)
            name = self._families[int(rng.choice(len(self._families), p=self._family_p))]
            family = FAMILIES[name]
            cap = family.max_mi(dx_, dy_, cfg.max_mi_per_dim)
            if fixed_dims or cap > min(c.low for c in cfg.mi_prior):
                break  # with drawn dims, redraw those that cannot carry any label of the prior
        dx, dy = dx_, dy_
        target = truncated_prior_sample(rng, cfg.mi_prior, cap)
        joint = family.draw(rng, dx, dy, target, cfg.max_mi_per_dim, self._family_opts[name])
        # float64 up to here (exact parameters and samples); the transforms run in float32, whose
        # rounding is no coarser than the storage's and whose math is several times faster
        x, y = (a.astype(np.float32) for a in joint.sample(rng, n))
        for _ in range(10):
            cx, cy = self._chain(rng, dx), self._chain(rng, dy)
            with np.errstate(over="ignore", invalid="ignore"):
                tx, ty = cx.forward(x).astype(np.float32, copy=False), cy.forward(y).astype(np.float32, copy=False)
            if np.isfinite(tx).all() and np.isfinite(ty).all():
                break
        else:  # pragma: no cover - the transforms are built not to overflow
            raise FloatingPointError(f"transforms overflowed float32 ten times for family {name}, dx={dx}, dy={dy}")
        params = {"family": joint.params, "x": cx.params, "y": cy.params, "target_mi": target}
        s = SampleSet(tx, ty, float(joint.mi), name, f"x:{cx.name};y:{cy.name}", params)
        return Draw(s, joint, cx, cy)

    # ------------------------------------------------------------------ draws
    def _pick_n(self, rng) -> int:
        lo, hi = self.cfg.n
        if lo == hi:
            return lo
        return int(min(hi, math.floor(math.exp(rng.uniform(math.log(lo), math.log(hi + 1))))))

    def _pick_dim(self, rng, bounds) -> int:
        lo, hi = bounds
        if lo == hi:
            return lo
        if self.cfg.dim_prior == "uniform":
            return int(rng.integers(lo, hi + 1))
        return int(min(hi, math.floor(math.exp(rng.uniform(math.log(lo), math.log(hi + 1))))))

    def _chain(self, rng, d: int) -> Chain:
        if not self._transforms or self.cfg.max_chain == 0:
            return Chain([])
        ok = np.array([TRANSFORMS[k].min_dim <= d for k in self._transforms])
        length = int(rng.integers(self.cfg.min_chain, self.cfg.max_chain + 1))
        if not ok.any() or length == 0:
            return Chain([])
        p = np.where(ok, self._transform_w, 0.0)
        p /= p.sum()
        parts = []
        for _ in range(length):
            k = self._transforms[int(rng.choice(len(p), p=p))]
            parts.append(TRANSFORMS[k].draw(rng, d, self._transform_opts[k]))
        return Chain(parts)


def _positive(v, key: str, lo: int) -> int:
    if isinstance(v, bool) or int(v) != v or v < lo:
        raise ValueError(f"{key} must be an integer >= {lo}, got {v!r}")
    return int(v)
