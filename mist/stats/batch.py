"""Summaries of sample sets stacked into the arrays the network reads."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mist.stats.scores import subset_rows
from mist.stats.summary import SetSummary

__all__ = ["stack_summaries"]


def stack_summaries(summaries: Sequence[SetSummary], dxs: Sequence[int], attention_rows: int) -> dict[str, np.ndarray]:
    """Stack summaries of sets with one common n into network inputs.

    The attention reads a subset of at most `attention_rows` rows of each set's scores
    (`subset_rows`: chosen by a rule of the data, so sample order never matters);
    the features and the core were computed on all rows. X and Y are zero-padded to the largest
    dx and dy, with masks marking the real columns.

    Arguments:
        summaries: one per set, all with the same n.
        dxs: how many of each set's score columns belong to X.
        attention_rows: the most rows the attention reads.

    Returns:
        x (B, m, dx) and y (B, m, dy) float32 scores, x_mask (B, dx) and y_mask (B, dy) bool,
        features (B, F) float32 and base (B,) float32 (the core's MI in nats), m = min(n, rows).
    """
    n = {s.scores.shape[0] for s in summaries}
    if len(n) != 1:
        raise ValueError(f"summaries of one batch must share n, got {sorted(n)}")
    m = min(n.pop(), attention_rows)
    dys = [s.scores.shape[1] - dx for s, dx in zip(summaries, dxs)]
    b, dx_max, dy_max = len(summaries), max(dxs), max(dys)
    x = np.zeros((b, m, dx_max), np.float32)
    y = np.zeros((b, m, dy_max), np.float32)
    x_mask = np.zeros((b, dx_max), bool)
    y_mask = np.zeros((b, dy_max), bool)
    for i, (s, dx, dy) in enumerate(zip(summaries, dxs, dys)):
        z = s.scores[subset_rows(s.scores, attention_rows)]
        x[i, :, :dx], y[i, :, :dy] = z[:, :dx], z[:, dx:]
        x_mask[i, :dx], y_mask[i, :dy] = True, True
    return {
        "x": x,
        "y": y,
        "x_mask": x_mask,
        "y_mask": y_mask,
        "features": np.stack([s.features for s in summaries]).astype(np.float32),
        "base": np.array([s.core_mi for s in summaries], np.float32),
    }
