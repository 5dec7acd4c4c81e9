"""MetaDataModule: training batches (generated on the fly or read from shards) and the
fixed validation sets (held-out families and transforms, and in-distribution)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import lightning as L
from torch.utils.data import DataLoader, Subset

from data_gen import make_sampler
from mist.training.datasets import FixedBatches, GeneratedBatches, ShardBatches

__all__ = ["MetaDataModule"]

# Our iterable datasets split their batches across workers themselves, so __len__ is exact.
warnings.filterwarnings("ignore", message=r".*Your `IterableDataset` has `__len__` defined.*")


class MetaDataModule(L.LightningDataModule):
    """Arguments:
        generator: data_gen generator config for training (on-the-fly source).
        val_generators: name -> generator config, one validation set each.
        source: "generate" (fresh sets every batch) or "shards".
        shards: folder or list of shard files when source is "shards".
        batch_size: sample sets per training batch.
        batches_per_epoch: training batches per epoch on each rank.
        num_workers: loader worker processes per rank.
        val_batches: batches per validation set.
        val_batch_size: sample sets per validation batch.
        min_n: smallest n of a shard batch.
        max_tokens: cap on sets * attention rows * (dx + dy) per batch (memory and time per
            step); null: none.
        seed: seed of the training streams and of the validation sets.
        attention_rows: the most rows per set the attention reads (the model's own setting).
    """

    def __init__(
        self,
        generator: Mapping[str, Any],
        val_generators: Mapping[str, Mapping[str, Any]],
        source: str = "generate",
        shards: Any = None,
        batch_size: int = 32,
        batches_per_epoch: int = 200,
        num_workers: int = 1,
        val_batches: int = 8,
        val_batch_size: int = 16,
        min_n: int = 16,
        max_tokens: int | None = 262_144,
        seed: int = 0,
        attention_rows: int = 1024,
    ):
        super().__init__()
        self.save_hyperparameters()  # recorded in checkpoints: the exporter reads the trained ranges
        for key, value, low in (("batch_size", batch_size, 1), ("batches_per_epoch", batches_per_epoch, 1),
                                ("num_workers", num_workers, 0), ("val_batches", val_batches, 1),
                                ("val_batch_size", val_batch_size, 1), ("min_n", min_n, 10), ("attention_rows", attention_rows, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"data.{key} must be an integer >= {low}, got {value!r}")
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            raise ValueError(f"data.max_tokens must be a positive integer or null, got {max_tokens!r}")
        if source not in ("generate", "shards"):
            raise ValueError(f"data.source must be 'generate' or 'shards', got {source!r}")
        if source == "shards" and not shards:
            raise ValueError("data.source=shards needs data.shards=FOLDER (written by mist-generate)")
        self.generator = generator
        self.val_generators = dict(val_generators)
        for g in [generator, *self.val_generators.values()]:  # config errors now, not in the middle of fit
            make_sampler(g)
        self.source, self.shards = source, shards
        self.batch_size, self.batches_per_epoch = batch_size, batches_per_epoch
        self.num_workers, self.min_n, self.seed = num_workers, min_n, seed
        self.max_tokens = max_tokens
        self.attention_rows = int(attention_rows)
        self.val_batches, self.val_batch_size = val_batches, val_batch_size
        self.val_names: list[str] = list(self.val_generators)
        self._train = None
        self._val: list = []

    def setup(self, stage: str | None = None) -> None:
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        if self.source == "generate":
            self._train = GeneratedBatches(
                self.generator, self.batch_size, self.batches_per_epoch, self.max_tokens, self.seed, self.attention_rows
            )
        else:
            self._train = ShardBatches(
                self.shards, self.batch_size, self.batches_per_epoch, self.min_n, self.max_tokens, self.seed,
                self.attention_rows,
            )
        self._train.rank, self._train.world = rank, world
        self._val = []
        for k, name in enumerate(self.val_names):
            full = FixedBatches(
                self.val_generators[name], self.val_batch_size, self.val_batches, 10_000 + k, self.max_tokens,
                self.attention_rows,
            )
            self._val.append(Subset(full, range(rank, len(full), world)))  # each rank its own share

    def train_dataloader(self) -> DataLoader:
        return DataLoader(
            self._train,
            batch_size=None,
            num_workers=self.num_workers,
            persistent_workers=False,
            prefetch_factor=4 if self.num_workers else None,
        )

    def val_dataloader(self) -> list[DataLoader]:
        return [DataLoader(v, batch_size=None, shuffle=False) for v in self._val]
