"""PushedDataModule: fine-tuning batches pushed through a user's flows, and a pushed validation set."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import lightning as L
from torch.utils.data import DataLoader, Subset

from mist.adaptation.flows import load_flow_pair
from mist.adaptation.push import PushedBatches, PushedFixedBatches

__all__ = ["PushedDataModule", "VAL_NAME"]

# PushedBatches split their batches across workers themselves (as GeneratedBatches), so __len__ is exact.
warnings.filterwarnings("ignore", message=r".*Your `IterableDataset` has `__len__` defined.*")

VAL_NAME = "adapted"  # the validation set's name in metrics (adapted/loss, adapted/mae, ...)


class PushedDataModule(L.LightningDataModule):
    """Arguments:
        generator: data_gen generator config with dx and dy fixed to the flows' dims.
        flows: folder holding the fitted flows `x.*` and `y.*` (FittedFlow.save).
        batch_size: sample sets per training batch.
        batches_per_epoch: training batches per epoch on each rank.
        num_workers: loader worker processes per rank.
        val_batches: batches in the pushed validation set.
        val_batch_size: sample sets per validation batch.
        max_tokens: cap on sets * n * (dx + dy) per batch; null: none.
        seed: seed of the training streams and of the validation set.
        source: recorded in checkpoints (the card's training.source).
    """

    def __init__(
        self,
        generator: Mapping[str, Any],
        flows: str,
        batch_size: int = 32,
        batches_per_epoch: int = 100,
        num_workers: int = 0,
        val_batches: int = 8,
        val_batch_size: int = 16,
        max_tokens: int | None = 131_072,
        seed: int = 0,
        source: str = "flow-pushed generator",
    ):
        super().__init__()
        self.save_hyperparameters()  # the exporter reads `generator` for the card's trained ranges
        self.val_names = [VAL_NAME]
        self._train = None
        self._val = None

    def setup(self, stage: str | None = None) -> None:
        hp = self.hparams
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        x_flow, y_flow = load_flow_pair(hp.flows)
        self._train = PushedBatches(hp.generator, x_flow, y_flow, hp.batch_size, hp.batches_per_epoch,
                                    hp.max_tokens, seed=hp.seed)
        self._train.rank, self._train.world = rank, world
        full = PushedFixedBatches(hp.generator, x_flow, y_flow, hp.val_batch_size, hp.val_batches, 20_000 + hp.seed,
                                  hp.max_tokens)
        self._val = Subset(full, range(rank, len(full), world))

    def train_dataloader(self) -> DataLoader:
        w = self.hparams.num_workers
        return DataLoader(self._train, batch_size=None, num_workers=w, prefetch_factor=4 if w else None)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self._val, batch_size=None, shuffle=False)
