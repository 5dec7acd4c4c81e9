"""Score a network on sample sets with exact MI, and fit its split-conformal calibration on them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from mist.calibration import DEFAULT_EDGES, apply_calibration, coverage, fit_calibration
from mist.inference.forward import predict_log1p
from mist.model import MISTNetwork

__all__ = ["predict", "score", "calibrate", "CALIBRATION_EDGES"]

CALIBRATION_EDGES = DEFAULT_EDGES  # the n bins of the shipped checkpoint's calibration


def predict(network: MISTNetwork, sets: Sequence, max_tokens: int = 1 << 20) -> np.ndarray:
    """Raw predicted quantiles of log(1 + MI) for each set, as the estimator's forward pass sees them.

    Arguments:
        network: the estimator network.
        sets: objects with `.x` (n, dx) and `.y` (n, dy).
        max_tokens: the most (set x attention row x coordinate) tokens per forward pass.

    Returns:
        Shape (len(sets), K), float64, uncalibrated (apply `mist.calibration.apply_calibration`).
    """
    network.eval()
    return predict_log1p(network, [(s.x, s.y) for s in sets], max_tokens)[0]


def score(pred: np.ndarray, sets: Sequence, levels: Sequence[float], calibration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Errors and coverage of predictions (from `predict`) against the sets' exact MI.

    Arguments:
        pred: raw quantiles of log(1 + MI), shape (N, K).
        sets: the N sets (`.mi` in nats, `.x` for n).
        levels: the K quantile levels.
        calibration: a card's calibration to apply first, or None.

    Returns:
        A JSON-ready dict: overall `mae` (nats, median vs truth), `mae_log1p` (the same on the
        log(1 + MI) scale the network is trained on: relative at high MI, absolute near 0, less
        dominated by a few high-MI sets), `bias`, `cover90`, `cover50` (None when the levels
        lack them), `sets`, and the same per n under `by_n`.
    """
    levels = [float(q) for q in levels]
    ns = np.array([s.x.shape[0] for s in sets])
    mi = np.array([float(s.mi) for s in sets])
    q = torch.from_numpy(np.asarray(pred, np.float64))
    dims = [s.x.shape[1] + s.y.shape[1] for s in sets]
    nats = np.stack([np.expm1(apply_calibration(q[i : i + 1], int(ns[i]), calibration, dims[i])[0].clamp_min(0).numpy())
                     for i in range(len(sets))]) if len(sets) else np.zeros((0, len(levels)))

    def block(sel: np.ndarray) -> dict[str, Any]:
        med = nats[sel, levels.index(0.5)]
        out: dict[str, Any] = {"sets": int(sel.sum()), "mae": float(np.mean(np.abs(med - mi[sel]))),
                               "mae_log1p": float(np.mean(np.abs(np.log1p(med) - np.log1p(mi[sel])))),
                               "bias": float(np.mean(med - mi[sel]))}
        for name, lo, hi in (("cover90", 0.05, 0.95), ("cover50", 0.25, 0.75)):
            out[name] = coverage(nats[sel], mi[sel], levels, lo, hi) if lo in levels and hi in levels else None
        return out

    result = block(np.ones(len(sets), bool))
    result["by_n"] = {int(n): block(ns == n) for n in sorted(set(ns.tolist()))}
    return result


def calibrate(pred: np.ndarray, sets: Sequence, levels: Sequence[float], edges: Sequence[float] = CALIBRATION_EDGES) -> dict[str, Any]:
    """Split-conformal offsets per quantile level and n bin (`mist.calibration.fit_calibration`)."""
    ns = np.array([s.x.shape[0] for s in sets])
    target = np.log1p(np.array([float(s.mi) for s in sets]))
    return fit_calibration(pred, target, ns, levels, edges)
