"""Streams of training batches: fresh from the generator, or read from HDF5 shards.

Both are iterable datasets that yield whole batches (use `DataLoader(batch_size=None)`), and
both split their work by DDP rank and by loader worker, so no two processes see the same data.
Each epoch has a fixed number of batches per rank, which DDP needs to stay in step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from data_gen import DatasetSampler, MixtureSampler, ShardReader, make_sampler
from mist.training.batching import collate, draw_log_uniform_int

__all__ = ["GeneratedBatches", "ShardBatches", "FixedBatches", "generate_batch", "sets_per_batch"]


def sets_per_batch(batch_size: int, max_tokens: int | None, n: int, d: int) -> int:
    """How many sample sets of n attention rows and d = dx + dy coordinates fit a token budget.

    The network holds one token per (sample, coordinate), so memory and time per batch follow
    B * n * d; capping it keeps large-n batches from dominating a step.
    """
    if not max_tokens:
        return batch_size
    return max(1, min(batch_size, max_tokens // (n * d)))


def generate_batch(
    sampler: DatasetSampler | MixtureSampler,
    batch_size: int,
    rng: np.random.Generator,
    max_tokens: int | None = None,
    attention_rows: int = 1024,
) -> dict[str, torch.Tensor]:
    """One batch of fresh sample sets sharing one (n, dx, dy), drawn by the sampler's prior.

    Arguments:
        sampler: the generator (anything with `sample(rng, n=None, dx=None, dy=None)`).
        batch_size: the most sample sets per batch.
        rng: the stream.
        max_tokens: cap on sets * min(n, attention_rows) * (dx + dy); None for no cap.
        attention_rows: the most rows per set the attention reads.
    """
    first = sampler.sample(rng)
    n, dx, dy = first.x.shape[0], first.x.shape[1], first.y.shape[1]
    b = sets_per_batch(batch_size, max_tokens, min(n, attention_rows), dx + dy)
    rest = [sampler.sample(rng, n=n, dx=dx, dy=dy) for _ in range(b - 1)]
    return collate([first, *rest], n, rng, attention_rows)


class _Partitioned(IterableDataset):
    """Shared bookkeeping: the rank/world set by the data module, worker split, seeding."""

    def __init__(self, batches_per_epoch: int, seed: int):
        self.batches_per_epoch = int(batches_per_epoch)
        self.seed = int(seed)
        self.rank, self.world = 0, 1

    def __len__(self) -> int:
        return self.batches_per_epoch

    def _slot(self) -> tuple[int, int, int, np.random.Generator]:
        """(slot, slots, batches for this worker, rng) for the calling worker."""
        info = get_worker_info()
        wid, workers = (info.id, info.num_workers) if info else (0, 1)
        if info:  # one BLAS thread per loader worker: the cores belong to the training step
            threadpool_limits(1)
        # torch draws a fresh base seed from the (seeded) main-process RNG at every epoch.
        base = info.seed if info else int(torch.randint(0, 2**62, ()).item())
        rng = np.random.default_rng([self.seed, base, self.rank, wid])
        count = self.batches_per_epoch // workers + (wid < self.batches_per_epoch % workers)
        return self.rank * workers + wid, self.world * workers, count, rng


class GeneratedBatches(_Partitioned):
    """Endless fresh data: every batch is sampled from the generator when it is needed.

    Arguments:
        generator: a data_gen generator config (dict or DictConfig), or {"mixture": ...}
            (`data_gen.MixtureSampler`).
        batch_size: the most sample sets per batch.
        batches_per_epoch: batches per epoch on each rank.
        max_tokens: cap on sets * attention rows * (dx + dy) per batch; None for no cap.
        seed: mixed with the epoch, rank and worker into every stream's seed.
        attention_rows: the most rows per set the attention reads.
    """

    def __init__(
        self,
        generator: Mapping[str, Any],
        batch_size: int,
        batches_per_epoch: int,
        max_tokens: int | None = None,
        seed: int = 0,
        attention_rows: int = 1024,
    ):
        super().__init__(batches_per_epoch, seed)
        self.sampler = make_sampler(generator)
        self.batch_size = int(batch_size)
        self.max_tokens = max_tokens
        self.attention_rows = int(attention_rows)

    def __iter__(self):
        _, _, count, rng = self._slot()
        for _ in range(count):
            yield generate_batch(self.sampler, self.batch_size, rng, self.max_tokens, self.attention_rows)


class ShardBatches(_Partitioned):
    """Batches read from HDF5 shards written by `mist-generate`.

    Shards are split across (rank, worker) slots when there are at least as many shards as
    slots; otherwise the datasets are. Each batch takes `batch_size` sets in random order and
    subsamples them to one n drawn log-uniformly from [min_n, smallest n_i of the batch].

    Arguments:
        shards: a folder of shards or a list of shard paths.
        batch_size: the most sample sets per batch.
        batches_per_epoch: batches per epoch on each rank (the slot's data is cycled).
        min_n: the smallest n a batch is subsampled to.
        max_tokens: cap on sets * attention rows * (padded dx + dy) per batch; None for no cap.
        seed: mixed into every stream's seed.
        attention_rows: the most rows per set the attention reads.
    """

    def __init__(
        self,
        shards: str | Sequence[str],
        batch_size: int,
        batches_per_epoch: int,
        min_n: int = 16,
        max_tokens: int | None = None,
        seed: int = 0,
        attention_rows: int = 1024,
    ):
        super().__init__(batches_per_epoch, seed)
        self.max_tokens = max_tokens
        self.attention_rows = int(attention_rows)
        if isinstance(shards, (str, Path)):
            paths = sorted(str(p) for p in Path(shards).glob("*.h5"))
            if not paths:
                raise FileNotFoundError(f"no shards (*.h5) in {shards}; write some with `mist-generate out_dir={shards}`")
        else:
            paths = [str(p) for p in shards]
        self.paths = paths
        self.batch_size = int(batch_size)
        self.min_n = int(min_n)

    def __iter__(self):
        slot, slots, count, rng = self._slot()
        if len(self.paths) >= slots:
            reader = ShardReader(self.paths[slot::slots])
            indices = np.arange(len(reader))
        else:
            reader = ShardReader(self.paths)
            indices = np.arange(slot, len(reader), slots)
        if len(indices) == 0:
            raise ValueError(
                f"{len(reader)} datasets cannot feed {slots} rank/worker slots; "
                "generate more datasets or use fewer workers or devices"
            )
        order = rng.permutation(indices)
        pos = 0
        for _ in range(count):
            picked = []
            for _ in range(self.batch_size):
                if pos == len(order):
                    order, pos = rng.permutation(indices), 0
                picked.append(reader[int(order[pos])])
                pos += 1
            smallest = min(s.x.shape[0] for s in picked)
            n = draw_log_uniform_int(rng, min(self.min_n, smallest), smallest)
            d = max(s.x.shape[1] for s in picked) + max(s.y.shape[1] for s in picked)
            b = sets_per_batch(self.batch_size, self.max_tokens, min(n, self.attention_rows), d)
            yield collate(picked[:b], n, rng, self.attention_rows)


class FixedBatches(Dataset):
    """A validation set: batches generated once from fixed seeds, identical on every run."""

    def __init__(
        self,
        generator: Mapping[str, Any],
        batch_size: int,
        num_batches: int,
        seed: int,
        max_tokens: int | None = None,
        attention_rows: int = 1024,
    ):
        sampler = make_sampler(generator)
        self.batches = [
            generate_batch(sampler, batch_size, np.random.default_rng([seed, i]), max_tokens, attention_rows)
            for i in range(num_batches)
        ]

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.batches[i]
