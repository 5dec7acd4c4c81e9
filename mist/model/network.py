"""MISTNetwork: sample sets of (X, Y) to quantiles of I(X;Y).

Invariant by construction to: the order of samples, the order of coordinates within X and
within Y, swapping X and Y, strictly monotone maps and sign flips of any column (copula
preprocessing). It predicts a learned residual over the Gaussian-copula MI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from mist.model.attention import CoordinateAttention, FeedForward, InducedSampleAttention, MultiheadAttention
from mist.model.preprocessing import NUM_GLOBAL_FEATURES, canonicalize
from mist.model.quantile_head import QuantileHead

__all__ = ["NetworkConfig", "MISTNetwork"]


@dataclass
class NetworkConfig:
    """Architecture and preprocessing of the estimator."""

    hidden: int = 64  # token width
    heads: int = 4  # attention heads
    blocks: int = 3  # 2D attention blocks
    inducing_points: int = 16  # ISAB inducing points across samples
    quantiles: tuple[float, ...] = field(default=(0.05, 0.25, 0.5, 0.75, 0.95))
    copula: bool = True  # rank -> normal scores per column before everything else
    shrinkage: float = 0.1  # ridge of the whitening, scaled by (dx + dy) / n

    def __post_init__(self):
        self.quantiles = tuple(float(q) for q in self.quantiles)
        for name in ("hidden", "heads", "blocks", "inducing_points"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"NetworkConfig.{name} must be a positive integer, got {getattr(self, name)}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["quantiles"] = list(self.quantiles)
        return d


class Block(nn.Module):
    """Pre-norm block: coordinate attention, induced sample attention, feed-forward."""

    def __init__(self, cfg: NetworkConfig):
        super().__init__()
        h = cfg.hidden
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(h), nn.LayerNorm(h), nn.LayerNorm(h)
        self.coords = CoordinateAttention(h, cfg.heads)
        self.samples = InducedSampleAttention(h, cfg.heads, cfg.inducing_points)
        self.ff = FeedForward(h)

    def forward(self, t: torch.Tensor, role: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        t = t + self.coords(self.norm1(t), role, valid)
        t = t + self.samples(self.norm2(t))
        return t + self.ff(self.norm3(t))


class MISTNetwork(nn.Module):
    """The amortized MI estimator.

    Arguments:
        cfg: the architecture.

    Example:
        >>> net = MISTNetwork(NetworkConfig(hidden=16, heads=2, blocks=1))
        >>> x, y = torch.randn(2, 100, 3), torch.randn(2, 100, 1)
        >>> net.predict_nats(x, y).shape
        torch.Size([2, 5])
    """

    def __init__(self, cfg: NetworkConfig):
        super().__init__()
        self.cfg = cfg
        h = cfg.hidden
        self.embed_value = nn.Sequential(nn.Linear(1, h), nn.GELU(), nn.Linear(h, h))
        self.embed_globals = nn.Linear(NUM_GLOBAL_FEATURES, h)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.blocks))
        self.norm = nn.LayerNorm(h)
        self.pool_seed = nn.Parameter(torch.randn(1, h) / h**0.5)
        self.pool = MultiheadAttention(h, cfg.heads)
        self.pair = nn.Sequential(nn.Linear(3 * h, 2 * h), nn.GELU(), nn.Linear(2 * h, h))
        self.trunk = nn.Sequential(nn.GELU(), nn.LayerNorm(h), FeedForward(h), nn.GELU())
        self.head = QuantileHead(h, cfg.quantiles)

    @property
    def quantile_levels(self) -> tuple[float, ...]:
        return self.cfg.quantiles

    def forward(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        x_mask: torch.Tensor | None = None,
        y_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Quantiles of log(1 + MI).

        Arguments:
            x: samples of X, shape (B, n, dx); all sample sets in a batch share n.
            y: samples of Y, shape (B, n, dy).
            x_mask, y_mask: valid columns, shapes (B, dx) and (B, dy), bool; None = all valid.

        Returns:
            Ascending quantiles of log(1 + MI in nats), shape (B, K), K = len(cfg.quantiles).
        """
        c = canonicalize(x, y, x_mask, y_mask, copula=self.cfg.copula, shrinkage=self.cfg.shrinkage)
        b, n, dx = c.x.shape
        valid = torch.cat([c.x_mask, c.y_mask], dim=-1)  # (B, d)
        role = torch.zeros_like(valid)
        role[:, :dx] = True
        g = self.embed_globals(c.features)  # (B, h)

        values = torch.cat([c.x, c.y], dim=-1).transpose(1, 2).unsqueeze(-1)  # (B, d, n, 1)
        t = self.embed_value(values) + g[:, None, None, :]
        for block in self.blocks:
            t = block(t, role, valid)

        t = self.norm(t)
        per_coord = self.pool(self.pool_seed.expand(b, t.shape[1], 1, -1), t).squeeze(-2)  # (B, d, h)
        px = _masked_mean(per_coord[:, :dx], c.x_mask)
        py = _masked_mean(per_coord[:, dx:], c.y_mask)
        pooled = self.pair(torch.cat([px, py, g], -1)) + self.pair(torch.cat([py, px, g], -1))
        return self.head(self.trunk(pooled), torch.log1p(c.gaussian_mi))

    @torch.no_grad()
    def predict_nats(self, x: torch.Tensor, y: torch.Tensor, **masks) -> torch.Tensor:
        """Quantiles of MI in nats, shape (B, K), clamped at 0 (MI is never negative)."""
        return torch.expm1(self(x, y, **masks).clamp_min(0.0))


def _masked_mean(t: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    w = mask.to(t.dtype).unsqueeze(-1)
    return (t * w).sum(1) / w.sum(1).clamp_min(1.0)
