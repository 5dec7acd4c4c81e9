"""A training prior made of several generator configs, each drawn with its weight.

A mixture lets training put a chosen share of its sets where a classical estimator is exactly
right (elliptical copulas) beside the broad prior, without changing either generator config.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from data_gen.config import GeneratorConfig
from data_gen.sampler import DatasetSampler, Draw, SampleSet

__all__ = ["MixtureSampler", "make_sampler"]


class MixtureSampler:
    """Draws each sample set from one component generator, picked by weight.

    Arguments:
        components: name -> {"weight": w > 0, "generator": a generator config}.

    Example:
        >>> m = MixtureSampler({"a": {"weight": 1, "generator": {"families": ["gaussian_dense"], "transforms": []}},
        ...                     "b": {"weight": 3, "generator": {"families": ["student_t"], "transforms": []}}})
        >>> m.sample(np.random.default_rng(0), n=50, dx=2, dy=2).x.shape
        (50, 2)
    """

    def __init__(self, components: Mapping[str, Mapping[str, Any]]):
        if not isinstance(components, Mapping) or not components:
            raise ValueError("generator 'mixture' must map component names to {weight, generator}")
        self.names = list(components)
        weights, self.samplers = [], []
        for name in self.names:
            c = components[name]
            if not isinstance(c, Mapping) or set(c) != {"weight", "generator"}:
                raise ValueError(f"generator mixture component '{name}' needs exactly the keys 'weight' and 'generator'")
            w = float(c["weight"])
            if not w > 0:
                raise ValueError(f"generator mixture component '{name}' needs a weight > 0, got {c['weight']!r}")
            weights.append(w)
            self.samplers.append(DatasetSampler(GeneratorConfig.from_dict(c["generator"])))
        self.p = np.asarray(weights) / sum(weights)

    def draw(self, rng: np.random.Generator, n: int | None = None, dx: int | None = None, dy: int | None = None) -> Draw:
        """A draw from a component picked by weight (see `DatasetSampler.draw`)."""
        return self.samplers[int(rng.choice(len(self.p), p=self.p))].draw(rng, n=n, dx=dx, dy=dy)

    def sample(self, rng: np.random.Generator, n: int | None = None, dx: int | None = None, dy: int | None = None) -> SampleSet:
        """One sample set with its exact MI (nats), from a component picked by weight."""
        return self.draw(rng, n=n, dx=dx, dy=dy).sample_set


def make_sampler(cfg: Any) -> DatasetSampler | MixtureSampler:
    """A MixtureSampler for a config with the key 'mixture', else a DatasetSampler.

    In a mixture config every key beside 'mixture' (say n, dx, dy) overrides that key in every
    component's generator config, so one override changes the whole prior's ranges.
    """
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(cfg, DictConfig):
            cfg = OmegaConf.to_container(cfg, resolve=True)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(cfg, Mapping) and "mixture" in cfg:
        shared = {k: v for k, v in cfg.items() if k != "mixture"}
        components = cfg["mixture"]
        if shared and isinstance(components, Mapping):
            components = {
                name: {**c, "generator": {**c["generator"], **shared}} if isinstance(c, Mapping) and "generator" in c else c
                for name, c in components.items()
            }
        return MixtureSampler(components)
    return DatasetSampler(cfg)
