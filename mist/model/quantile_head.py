"""Non-crossing quantiles of MI and the pinball loss that trains them.

The head predicts quantiles of log(1 + MI), a strictly increasing map of MI, so quantiles map
back exactly (q_tau(MI) = expm1(q_tau(log1p MI))), and errors weigh relatively at high MI and
absolutely at low MI. It predicts a residual over the classical core's estimate (`mist.stats`), initialised at
zero: "no correction" is where training starts.

Gated (the default of new models): a gate g in (0, 1) multiplies the learned median residual
and the learned spread, and the core's own sampling interval (its standard error, as normal
quantiles) is always added to the spread. At g = 0 the output is exactly the core with its
delta-method interval: "no correction" is reachable, not just approximated, and the interval
narrows with n like the core's error does. `gate_target` says what the gate is taught to predict.

With `core_spread`, a learned, ungated factor per side (exp of a linear map, 1 at
initialisation) scales the core's sampling spread: where the gate is shut the interval can
still widen beyond the delta method's where the core is a little off (a residual bias at high
MI, a slightly misspecified copula), instead of the gate opening or a calibration widening
every interval alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["QuantileHead", "pinball_loss", "gate_target"]

GATE_INIT = 4.0  # initial gate logit: sigmoid(4) = 0.98, so a warm-started network keeps its output


class QuantileHead(nn.Module):
    """Median offset plus cumulative softplus steps outward: quantiles cannot cross.

    Arguments:
        dim: input feature size.
        levels: quantile levels, strictly increasing in (0, 1), containing 0.5.
        initial_step: the initial gap between neighbouring quantiles, in log1p(nats).
        gated: gate the learned residual and spread, and add the core's sampling spread.
        core_spread: learn a factor per side on the core's sampling spread (gated heads only).
    """

    def __init__(
        self, dim: int, levels: Sequence[float], initial_step: float = 0.1, gated: bool = False, core_spread: bool = False
    ):
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
        self.gate = None
        self.core_spread = None
        if core_spread and not gated:
            raise ValueError("core_spread scales the core's sampling spread, which only a gated head adds")
        if core_spread:  # log factors (lower side, upper side), 0 at initialisation: the delta method's spread
            self.core_spread = nn.Linear(dim, 2)
            nn.init.zeros_(self.core_spread.weight)
            nn.init.zeros_(self.core_spread.bias)
            self.register_buffer("upper", torch.arange(len(levels)) > self.mid, persistent=False)
        if gated:
            self.gate = nn.Linear(dim, 1)
            nn.init.zeros_(self.gate.weight)
            nn.init.constant_(self.gate.bias, GATE_INIT)
            z = [NormalDist().inv_cdf(t) for t in levels]  # the core's interval as normal quantiles
            gaps = [abs(z[k] - z[k + 1 if k < self.mid else k - 1]) if k != self.mid else 0.0 for k in range(len(z))]
            self.register_buffer("normal_gaps", torch.tensor(gaps), persistent=False)

    def forward(
        self, h: torch.Tensor, base: torch.Tensor, scale: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Quantiles and the gate's logit.

        Arguments:
            h: trunk output, shape (B, dim).
            base: the core's estimate in log1p(nats), shape (B,).
            scale: the core's standard error in log1p(nats), shape (B,) (gated heads only).

        Returns:
            (quantiles (B, K) in log1p(nats), ascending; gate logits (B,), or None if not gated).
        """
        raw = self.proj(h)
        steps = F.softplus(raw)
        logit = None
        if self.gate is None:
            median = base + raw[:, self.mid]
        else:
            logit = self.gate(h).squeeze(-1)
            g = torch.sigmoid(logit)
            median = base + g * raw[:, self.mid]
            core = self.normal_gaps.to(steps.dtype) * scale.to(steps.dtype).unsqueeze(-1)  # (B, K)
            if self.core_spread is not None:
                factor = torch.exp(self.core_spread(h).clamp(-3.0, 3.0))  # (B, 2): below, above the median
                core = core * torch.where(self.upper, factor[:, 1:], factor[:, :1])
            steps = g.unsqueeze(-1) * steps + core
        up = median.unsqueeze(-1) + torch.cumsum(steps[:, self.mid + 1 :], dim=-1)
        down = median.unsqueeze(-1) - torch.cumsum(steps[:, : self.mid].flip(-1), dim=-1)
        return torch.cat([down.flip(-1), median.unsqueeze(-1), up], dim=-1), logit


def gate_target(base: torch.Tensor, scale: torch.Tensor, target: torch.Tensor, tolerance: float = 0.01) -> torch.Tensor:
    """1 where the core is wrong (outside 2 standard errors plus `tolerance`), else 0; log1p units.

    The gate is taught this by a binary cross-entropy beside the pinball loss, so that where the
    evidence says the core is right it closes and mist returns the core and its interval.
    """
    return ((target - base).abs() > 2.0 * scale + tolerance).to(base.dtype)


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
