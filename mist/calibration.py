"""Split-conformal calibration of the predicted quantiles, by sample-size bin.

For each quantile level tau and each bin of n, an additive offset (in log(1 + nats), where the
network predicts) is fitted on a held-out calibration meta-set so that the truth falls below
the shifted quantile a fraction tau of the time. The card of a release stores the offsets;
`apply_calibration` shifts a prediction and keeps the quantiles ordered.

References:
    Romano, Patterson and Candes, "Conformalized Quantile Regression", NeurIPS (2019).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["DEFAULT_EDGES", "fit_calibration", "apply_calibration", "coverage"]

DEFAULT_EDGES = [16, 64, 256, 1024, 4096, 8193]  # n bins: 16-63, 64-255, 256-1023, 1024-4095, 4096-8192 (outer bins open)


def _bin_index(n: int, edges: Sequence[float]) -> int:
    """Index of the bin [edges[i], edges[i+1]) holding n; the outer bins extend to infinity."""
    return int(np.clip(np.searchsorted(edges, n, side="right") - 1, 0, len(edges) - 2))


def fit_calibration(
    pred: np.ndarray, target: np.ndarray, n: np.ndarray, levels: Sequence[float], edges: Sequence[float]
) -> dict[str, Any]:
    """Fit per-level, per-bin offsets.

    Arguments:
        pred: predicted quantiles of log(1 + MI), shape (N, K), ascending along K.
        target: true log(1 + MI), shape (N,).
        n: sample size of each set, shape (N,).
        levels: the K quantile levels.
        edges: increasing bin edges of n, e.g. [16, 64, 256, 1024, 4096]; outer bins are open.

    Returns:
        A JSON-serialisable dict: method, levels, edges, offsets (bins x K), count per bin.
    """
    pred, target, n = np.asarray(pred, float), np.asarray(target, float), np.asarray(n)
    bins = np.array([_bin_index(int(v), edges) for v in n])
    offsets, counts = [], []
    for b in range(len(edges) - 1):
        sel = bins == b
        counts.append(int(sel.sum()))
        if sel.sum() < 10:  # too few to calibrate this bin: leave it as the network says
            offsets.append([0.0] * len(levels))
            continue
        resid = target[sel, None] - pred[sel]  # (m, K)
        m = int(sel.sum())
        row = []
        for k, tau in enumerate(levels):
            # finite-sample conformal quantile: the ceil(tau (m + 1))-th smallest residual
            rank = min(max(math.ceil(tau * (m + 1)), 1), m)
            row.append(float(np.sort(resid[:, k])[rank - 1]))
        offsets.append(row)
    return {
        "method": "split-conformal per quantile level, by n bin, in log(1 + nats)",
        "levels": [float(t) for t in levels],
        "edges": [float(e) for e in edges],
        "offsets": offsets,
        "count": counts,
    }


def apply_calibration(pred: torch.Tensor, n: int, calibration: dict[str, Any] | None) -> torch.Tensor:
    """Shift predicted quantiles (B, K) of log(1 + MI) for sets of n samples; keeps them sorted."""
    if not calibration:
        return pred
    row = calibration["offsets"][_bin_index(n, calibration["edges"])]
    shifted = pred + torch.as_tensor(row, dtype=pred.dtype, device=pred.device)
    return torch.sort(shifted, dim=-1).values


def coverage(pred_nats: np.ndarray, mi: np.ndarray, levels: Sequence[float], lo: float, hi: float) -> float:
    """Fraction of sets whose true MI lies within the [lo, hi] quantile interval."""
    i, j = list(levels).index(lo), list(levels).index(hi)
    return float(np.mean((pred_nats[:, i] <= mi) & (mi <= pred_nats[:, j])))
