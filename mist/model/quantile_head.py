"""Non-crossing quantiles of MI and the pinball loss that trains them.

The head predicts quantiles of log(1 + MI), a strictly increasing map of MI, so quantiles map
back exactly (q_tau(MI) = expm1(q_tau(log1p MI))), and errors weigh relatively at high MI and
absolutely at low MI. It predicts a residual over the classical core's estimate (`mist.stats`), initialised at
zero: "no correction" is where training starts.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["QuantileHead", "pinball_loss"]


class QuantileHead(nn.Module):
    """Median offset plus cumulative softplus steps outward: quantiles cannot cross.

    Arguments:
        dim: input feature size.
        levels: quantile levels, strictly increasing in (0, 1), containing 0.5.
        initial_step: the initial gap between neighbouring quantiles, in log1p(nats).
    """

    def __init__(self, dim: int, levels: Sequence[float], initial_step: float = 0.1):
        super().__init__()
        levels = [float(t) for t in levels]
        if sorted(set(levels)) != levels or not all(0.0 < t < 1.0 for t in levels):
            raise ValueError(f"quantile levels must be strictly increasing in (0, 1), got {levels}")
        if 0.5 not in levels:
            raise ValueError(f"quantile levels must contain the median 0.5, got {levels}")
        self.levels = levels
        self.mid = levels.index(0.5)
        self.proj = nn.Linear(dim, len(levels))
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)
        with torch.no_grad():  # softplus(b) = initial_step on the steps, 0 on the median
            self.proj.bias.fill_(float(torch.log(torch.expm1(torch.tensor(initial_step)))))
            self.proj.bias[self.mid] = 0.0

    def forward(self, h: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """h (B, dim), base (B,) in log1p(nats) -> quantiles (B, K) in log1p(nats), ascending."""
        raw = self.proj(h)
        median = base + raw[:, self.mid]
        steps = F.softplus(raw)
        up = median.unsqueeze(-1) + torch.cumsum(steps[:, self.mid + 1 :], dim=-1)
        down = median.unsqueeze(-1) - torch.cumsum(steps[:, : self.mid].flip(-1), dim=-1)
        return torch.cat([down.flip(-1), median.unsqueeze(-1), up], dim=-1)


def pinball_loss(pred: torch.Tensor, target: torch.Tensor, levels: Sequence[float]) -> torch.Tensor:
    """Mean pinball (quantile) loss.

    Arguments:
        pred: predicted quantiles, shape (B, K).
        target: true values, shape (B,), in the same units as pred.
        levels: the K quantile levels.

    Returns:
        A scalar: mean over batch and levels of max(tau * e, (tau - 1) * e), e = target - pred.
    """
    tau = torch.as_tensor(levels, dtype=pred.dtype, device=pred.device)
    err = target.unsqueeze(-1) - pred
    return torch.maximum(tau * err, (tau - 1.0) * err).mean()
