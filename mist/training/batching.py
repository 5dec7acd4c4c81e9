"""Turn sample sets into training batches: one n per batch, coordinates padded with masks."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["collate", "draw_log_uniform_int"]


def draw_log_uniform_int(rng: np.random.Generator, lo: int, hi: int) -> int:
    """An integer drawn log-uniformly from [lo, hi]."""
    if hi <= lo:
        return int(lo)
    return int(min(hi, math.floor(math.exp(rng.uniform(math.log(lo), math.log(hi + 1))))))


def collate(sets: Sequence, n: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
    """Stack sample sets into one batch.

    Each set is subsampled without replacement to `n` samples (which keeps its MI label exact:
    the samples stay i.i.d. from the same joint distribution), and X and Y are zero-padded to
    the largest dx and dy of the batch, with masks marking the real coordinates.

    Arguments:
        sets: objects with `.x` (n_i, dx_i), `.y` (n_i, dy_i) and `.mi` (nats); every n_i >= n.
        n: samples per set in the batch.
        rng: draws the subsamples.

    Returns:
        A dict: x (B, n, dx), y (B, n, dy), x_mask (B, dx), y_mask (B, dy), mi (B,) in nats.
    """
    b = len(sets)
    dx = max(s.x.shape[1] for s in sets)
    dy = max(s.y.shape[1] for s in sets)
    x = np.zeros((b, n, dx), dtype=np.float32)
    y = np.zeros((b, n, dy), dtype=np.float32)
    x_mask = np.zeros((b, dx), dtype=bool)
    y_mask = np.zeros((b, dy), dtype=bool)
    for i, s in enumerate(sets):
        n_i = s.x.shape[0]
        if n_i < n:
            raise ValueError(f"sample set {i} has {n_i} samples, fewer than the batch's n = {n}")
        idx = rng.choice(n_i, size=n, replace=False) if n_i > n else slice(None)
        x[i, :, : s.x.shape[1]] = s.x[idx]
        y[i, :, : s.y.shape[1]] = s.y[idx]
        x_mask[i, : s.x.shape[1]] = True
        y_mask[i, : s.y.shape[1]] = True
    return {
        "x": torch.from_numpy(x),
        "y": torch.from_numpy(y),
        "x_mask": torch.from_numpy(x_mask),
        "y_mask": torch.from_numpy(y_mask),
        "mi": torch.tensor([float(s.mi) for s in sets], dtype=torch.float32),
    }
