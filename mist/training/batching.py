"""Turn sample sets into training batches: one n per batch, classical summaries, padded coordinates."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from data_gen import elliptical_copula
from mist.stats import stack_summaries, summarize

__all__ = ["collate", "draw_log_uniform_int"]


def draw_log_uniform_int(rng: np.random.Generator, lo: int, hi: int) -> int:
    """An integer drawn log-uniformly from [lo, hi]."""
    if hi <= lo:
        return int(lo)
    return int(min(hi, math.floor(math.exp(rng.uniform(math.log(lo), math.log(hi + 1))))))


def collate(sets: Sequence, n: int, rng: np.random.Generator, attention_rows: int = 1024) -> dict[str, torch.Tensor]:
    """Stack sample sets into one batch.

    Each set is subsampled without replacement to `n` samples (which keeps its MI label exact:
    the samples stay i.i.d. from the same joint distribution) and summarised on all n
    (`mist.stats.summarize`); the attention gets at most `attention_rows` of its rows.

    Arguments:
        sets: objects with `.x` (n_i, dx_i), `.y` (n_i, dy_i) and `.mi` (nats); every n_i >= n.
        n: samples per set in the batch.
        rng: draws the subsamples.
        attention_rows: the most rows per set the attention reads.

    Returns:
        A dict of tensors: x (B, m, dx) and y (B, m, dy) normal scores, x_mask (B, dx), y_mask
        (B, dy), features (B, F), base (B,) the core's MI, mi (B,) the label in nats, and
        elliptical (B,) 1.0 where the set has an elliptical copula (`data_gen.elliptical_copula`;
        only when every set names its family and transform); m = min(n, attention_rows).
    """
    summaries = []
    for i, s in enumerate(sets):
        n_i = s.x.shape[0]
        if n_i < n:
            raise ValueError(f"sample set {i} has {n_i} samples, fewer than the batch's n = {n}")
        idx = rng.choice(n_i, size=n, replace=False) if n_i > n else slice(None)
        summaries.append(summarize(s.x[idx], s.y[idx]))
    arrays = stack_summaries(summaries, [s.x.shape[1] for s in sets], attention_rows)
    batch = {k: torch.from_numpy(v) for k, v in arrays.items()}
    batch["mi"] = torch.tensor([float(s.mi) for s in sets], dtype=torch.float32)
    if all(hasattr(s, "family") and hasattr(s, "transform") for s in sets):
        flags = [elliptical_copula(s.family, s.transform) for s in sets]
        batch["elliptical"] = torch.tensor(flags, dtype=torch.float32)
    return batch
