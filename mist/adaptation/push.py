"""Synthetic sample sets pushed through fitted flows: exact MI labels in the user's data space.

A synthetic set (X, Y) with exact I(X;Y) is pushed in two steps per side:
1. each column becomes the normal scores of its ranks, Phi^-1(rank / (n + 1)): the empirical
   Gaussian copula, a strictly increasing map of each coordinate (in the population it is
   Phi^-1 o F_j, F_j the column's CDF), so every column is standard normal like the flow's base;
2. the base points go through the flow fitted to that side (`FittedFlow.to_data`), an
   invertible map of the whole side.
Both steps are invertible maps of X alone and of Y alone, so I(X;Y) is unchanged and the
label stays exact. Step 1 uses the sample's own ranks in place of the unknown CDFs: the same
finite-sample stand-in for Phi^-1 o F_j that the estimator's own copula step uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from data_gen import DatasetSampler, GeneratorConfig, MixtureSampler, SampleSet, make_sampler
from mist.adaptation.flows import FittedFlow
from mist.stats import normal_scores
from mist.training.datasets import GeneratedBatches, generate_batch

__all__ = ["push", "push_set", "PushedSampler", "PushedBatches", "PushedFixedBatches", "pushed_sets"]


def push(t: torch.Tensor, flow: FittedFlow) -> torch.Tensor:
    """Push one sample set of one side through a flow: normal scores of ranks, then `flow.to_data`.

    Arguments:
        t: shape (n, d), with d == flow.dim.

    Returns:
        The same shape, float32, in the flow's data space.
    """
    if t.shape[-1] != flow.dim:
        raise ValueError(f"sets of {t.shape[-1]} coordinates cannot go through a flow of {flow.dim}")
    z = torch.from_numpy(normal_scores(t.double().numpy()))
    return flow.to_data(z).float()


def push_set(s: SampleSet, x_flow: FittedFlow, y_flow: FittedFlow) -> SampleSet:
    """One SampleSet with X and Y pushed (float32); MI, family and parameters kept, transform noted."""
    x = push(torch.from_numpy(np.asarray(s.x)), x_flow).numpy()
    y = push(torch.from_numpy(np.asarray(s.y)), y_flow).numpy()
    return SampleSet(x, y, s.mi, s.family, f"{s.transform}|pushed", s.params, s.seed)


class PushedSampler:
    """A generator whose every sample set is pushed through the X and Y flows (labels kept)."""

    def __init__(self, sampler: DatasetSampler | MixtureSampler, x_flow: FittedFlow, y_flow: FittedFlow):
        self.sampler, self.x_flow, self.y_flow = sampler, x_flow, y_flow

    def sample(self, rng: np.random.Generator, n: int | None = None, dx: int | None = None, dy: int | None = None) -> SampleSet:
        return push_set(self.sampler.sample(rng, n=n, dx=dx, dy=dy), self.x_flow, self.y_flow)


def _sampler(generator: Mapping[str, Any], x_flow: FittedFlow, y_flow: FittedFlow) -> DatasetSampler | MixtureSampler:
    """The generator's sampler (a mixture stays one), once every component's dims are the flows'."""
    parts = [c["generator"] for c in generator["mixture"].values()] if "mixture" in generator else [generator]
    for part in parts:
        g = GeneratorConfig.from_dict(part)
        if g.dx != (x_flow.dim, x_flow.dim) or g.dy != (y_flow.dim, y_flow.dim):
            raise ValueError(
                f"the generator draws dx in {list(g.dx)} and dy in {list(g.dy)}, but the flows map dx = {x_flow.dim} "
                f"and dy = {y_flow.dim}: fix the generator's dims to the flows' (see mist.adaptation.finetune)"
            )
    return make_sampler(generator)


class PushedBatches(GeneratedBatches):
    """Endless fresh training batches from the generator, pushed through the X and Y flows.

    Arguments:
        generator: a data_gen generator config whose dx and dy are fixed to the flows' dims.
        x_flow, y_flow: the fitted flows.
        batch_size, batches_per_epoch, max_tokens, seed: as in `GeneratedBatches`.
    """

    def __init__(self, generator: Mapping[str, Any], x_flow: FittedFlow, y_flow: FittedFlow, batch_size: int,
                 batches_per_epoch: int, max_tokens: int | None = None, seed: int = 0):
        super().__init__(generator, batch_size, batches_per_epoch, max_tokens, seed)
        self.sampler = PushedSampler(_sampler(generator, x_flow, y_flow), x_flow, y_flow)


class PushedFixedBatches(Dataset):
    """A validation set of pushed batches, generated once from fixed seeds."""

    def __init__(self, generator: Mapping[str, Any], x_flow: FittedFlow, y_flow: FittedFlow, batch_size: int,
                 num_batches: int, seed: int, max_tokens: int | None = None):
        sampler = PushedSampler(_sampler(generator, x_flow, y_flow), x_flow, y_flow)
        self.batches = [
            generate_batch(sampler, batch_size, np.random.default_rng([seed, i]), max_tokens) for i in range(num_batches)
        ]

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.batches[i]


def pushed_sets(generator: Mapping[str, Any], x_flow: FittedFlow, y_flow: FittedFlow, n: int, count: int,
                seed: int | tuple[int, ...]) -> list[SampleSet]:
    """`count` fresh pushed sets of n samples each (for evaluation and calibration).

    Arguments:
        generator: a generator config with dims fixed to the flows' (n is set here).
        x_flow, y_flow: the flows.
        n: samples per set.
        count: number of sets.
        seed: seeds the draws (an int or a tuple, as numpy's SeedSequence accepts).

    Returns:
        SampleSets with x (n, dx), y (n, dy) float32 and their exact MI (nats).
    """
    sampler = PushedSampler(_sampler(generator, x_flow, y_flow), x_flow, y_flow)
    rng = np.random.default_rng(seed)
    return [sampler.sample(rng, n=n, dx=x_flow.dim, dy=y_flow.dim) for _ in range(count)]
