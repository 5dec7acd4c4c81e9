"""Weight averaging for mist-train: an exponential moving average of the weights."""

from __future__ import annotations

import functools

import torch
from lightning.pytorch.callbacks import WeightAveraging

__all__ = ["EMAWeights"]


def _ema(averaged: torch.Tensor, current: torch.Tensor, num_averaged: torch.Tensor, decay: float) -> torch.Tensor:
    """One step of the moving average (torch.optim.swa_utils.AveragedModel's avg_fn)."""
    return decay * averaged + (1.0 - decay) * current


class EMAWeights(WeightAveraging):
    """Lightning's WeightAveraging with an exponential moving average, updated every optimiser step.

    Validation, checkpoint selection and the exported release see the average; each checkpoint
    keeps the last step's weights too (`current_model_state`). Unlike Lightning's
    EMAWeightAveraging, whose update rule is a local function, it pickles, so spawned DDP
    processes (`trainer=ddp_cpu`) can take it.

    Arguments:
        decay: weight of the running average per step; the average spans about 1 / (1 - decay) steps.
    """

    def __init__(self, decay: float = 0.998):
        if not 0.0 < float(decay) < 1.0:
            raise ValueError(f"callbacks.ema.decay must be in (0, 1), got {decay}")
        self.decay = float(decay)
        super().__init__(avg_fn=functools.partial(_ema, decay=self.decay))
