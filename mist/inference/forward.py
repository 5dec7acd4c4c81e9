"""Batched forward passes: sample sets in, raw quantiles of log(1 + MI) and their summaries out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import torch

from mist.inference.threads import one_blas_thread
from mist.model import MISTNetwork
from mist.stats import SetSummary, stack_summaries, summarize

__all__ = ["predict_log1p"]


def predict_log1p(
    network: MISTNetwork,
    samples: Sequence[tuple[np.ndarray, np.ndarray]],
    batch_tokens: int = 1 << 20,
    device: torch.device | str = "cpu",
    ranks: Sequence[np.ndarray | None] | None = None,
) -> tuple[np.ndarray, list[SetSummary]]:
    """Uncalibrated quantiles of log(1 + MI in nats) for each sample set, and its summary.

    Each set is summarised on all its rows (`mist.stats.summarize`); sets of equal (n, dx, dy)
    share forward passes of at most `batch_tokens` (set x attention row x coordinate) tokens.

    Arguments:
        network: the estimator network (put in eval mode by the caller).
        samples: (x, y) pairs of float arrays, shapes (n, dx) and (n, dy).
        batch_tokens: bounds the memory of one forward pass.
        device: where the network runs.
        ranks: per set, the average ranks of [x, y] when already known (or None).

    Returns:
        (quantiles of shape (len(samples), K), float64; the SetSummary of each set).
    """
    ranks = [None] * len(samples) if ranks is None else ranks
    with one_blas_thread():
        summaries = [summarize(np.asarray(x, np.float64), np.asarray(y, np.float64), r) for (x, y), r in zip(samples, ranks)]
    groups: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    for j, (x, y) in enumerate(samples):
        groups[(x.shape[0], x.shape[1], y.shape[1])].append(j)
    rows = network.cfg.attention_rows
    out = np.empty((len(samples), len(network.cfg.quantiles)))
    for (n, dx, dy), ids in groups.items():
        per = max(1, batch_tokens // (min(n, rows) * (dx + dy)))
        for s in range(0, len(ids), per):
            part = ids[s : s + per]
            arrays = stack_summaries([summaries[j] for j in part], [dx] * len(part), rows)
            t = {k: torch.from_numpy(v).to(device) for k, v in arrays.items()}
            with torch.inference_mode():
                out[part] = network(t["x"], t["y"], t["features"], t["base"]).double().cpu().numpy()
    return out, summaries
