"""MISTNetwork: sample sets of (X, Y) to quantiles of I(X;Y).

Two stages. Coordinate stage: one token per (sample, coordinate), 2D attention blocks that
alternate attention across the coordinates of a sample and, per coordinate, across samples.
Sample stage: the coordinates of X and of Y are pooled per sample into one symmetric token,
then induced attention blocks run across samples and a pooling attention reads the set.
The head predicts quantiles as a residual over the classical core's MI (`mist.stats`), with the
core's invariant evidence features as a global input, so "no correction" is where it starts.

Invariant by construction to: the order of samples, the order of coordinates within X and
within Y, swapping X and Y, and (through the copula scores it reads) strictly monotone maps and
sign flips of any column.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from mist.model.attention import CoordinateAttention, FeedForward, InducedAttention, PoolingAttention
from mist.model.preprocessing import canonicalize
from mist.model.quantile_head import QuantileHead
from mist.stats.summary import FEATURE_NAMES

_LOG_SE = FEATURE_NAMES.index("log_se")  # log(core standard error) / 4

__all__ = ["NetworkConfig", "MISTNetwork", "core_scale"]


@dataclass
class NetworkConfig:
    """Architecture and preprocessing of the estimator."""

    hidden: int = 32  # width of the (sample, coordinate) tokens
    sample_hidden: int = 64  # width of the per-sample tokens
    heads: int = 4  # attention heads
    blocks: int = 2  # 2D blocks over (sample, coordinate) tokens
    sample_blocks: int = 2  # induced-attention blocks over per-sample tokens
    inducing_points: int = 16  # ISAB inducing points across samples
    quantiles: tuple[float, ...] = field(default=(0.05, 0.25, 0.5, 0.75, 0.95))
    shrinkage: float = 0.1  # ridge of the whitening, scaled by (dx + dy) / n
    num_features: int = 34  # the first num_features of mist.stats.FEATURE_NAMES (new features are appended)
    attention_rows: int = 1024  # the most samples the attention reads (statistics use all n)
    gated: bool = False  # gate the learned correction and add the core's sampling spread (QuantileHead)
    core_spread: bool = False  # learn an ungated factor on the core's sampling spread (QuantileHead)

    def __post_init__(self):
        self.quantiles = tuple(float(q) for q in self.quantiles)
        for name in ("hidden", "sample_hidden", "heads", "blocks", "sample_blocks", "inducing_points",
                     "num_features", "attention_rows"):
            if int(getattr(self, name)) < (0 if name.endswith("blocks") else 1):
                raise ValueError(f"NetworkConfig.{name} must be a positive integer, got {getattr(self, name)}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["quantiles"] = list(self.quantiles)
        return d


class CoordinateBlock(nn.Module):
    """Pre-norm 2D block on (B, d, n, h): across coordinates, across samples, feed-forward."""

    def __init__(self, dim: int, heads: int, inducing_points: int):
        super().__init__()
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.coords = CoordinateAttention(dim, heads)
        self.samples = InducedAttention(dim, inducing_points)
        self.ff = FeedForward(dim)

    def forward(self, t: torch.Tensor, role: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        t = t + self.coords(self.norm1(t), role, valid)
        t = t + self.samples(self.norm2(t))
        return t + self.ff(self.norm3(t))


class SampleBlock(nn.Module):
    """Pre-norm block on (B, n, h): induced attention across samples, feed-forward."""

    def __init__(self, dim: int, heads: int, inducing_points: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.samples = InducedAttention(dim, inducing_points)
        self.ff = FeedForward(dim)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        t = t + self.samples(self.norm1(t))
        return t + self.ff(self.norm2(t))


class MISTNetwork(nn.Module):
    """The amortized MI estimator.

    Arguments:
        cfg: the architecture.

    Example:
        >>> net = MISTNetwork(NetworkConfig(hidden=16, sample_hidden=16, heads=2, blocks=1))
        >>> x, y = torch.randn(2, 100, 3), torch.randn(2, 100, 1)
        >>> features, base = torch.zeros(2, net.cfg.num_features), torch.tensor([0.1, 1.0])
        >>> net.predict_nats(x, y, features, base).shape
        torch.Size([2, 5])
    """

    def __init__(self, cfg: NetworkConfig):
        super().__init__()
        self.cfg = cfg
        h, hs = cfg.hidden, cfg.sample_hidden
        self.embed_value = nn.Sequential(nn.Linear(1, h), nn.GELU(), nn.Linear(h, h))
        self.embed_globals = nn.Linear(cfg.num_features, h)
        self.coord_blocks = nn.ModuleList(CoordinateBlock(h, cfg.heads, cfg.inducing_points) for _ in range(cfg.blocks))
        self.coord_norm = nn.LayerNorm(h)
        self.pair = nn.Sequential(nn.Linear(2 * h, hs), nn.GELU(), nn.Linear(hs, hs))
        self.sample_globals = nn.Linear(cfg.num_features, hs)
        self.sample_blocks = nn.ModuleList(SampleBlock(hs, cfg.heads, cfg.inducing_points) for _ in range(cfg.sample_blocks))
        self.sample_norm = nn.LayerNorm(hs)
        self.pool = PoolingAttention(hs, cfg.heads)
        self.trunk = nn.Sequential(nn.Linear(2 * hs, hs), nn.GELU(), FeedForward(hs), nn.GELU())
        self.head = QuantileHead(hs, cfg.quantiles, gated=cfg.gated, core_spread=cfg.core_spread)

    @property
    def levels(self) -> tuple[float, ...]:
        """The quantile levels the head predicts, ascending (the architecture's `quantiles`)."""
        return self.cfg.quantiles

    def forward(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        features: torch.Tensor,
        base: torch.Tensor,
        x_mask: torch.Tensor | None = None,
        y_mask: torch.Tensor | None = None,
        return_gate: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]:
        """Quantiles of log(1 + MI).

        Arguments:
            x: normal scores of X (`mist.stats.normal_scores`), shape (B, n, dx); all sample
                sets in a batch share n (at most cfg.attention_rows of each set's rows).
            y: normal scores of Y, shape (B, n, dy).
            features: the sets' invariant features (`mist.stats.summarize`), shape (B, F),
                F >= cfg.num_features: a network trained before features were appended reads
                the first cfg.num_features of them.
            base: the classical core's MI in nats, shape (B,); the head predicts around it.
            x_mask, y_mask: valid columns, shapes (B, dx) and (B, dy), bool; None = all valid.
            return_gate: also return the gate's logits (B,) (None for an ungated network).

        Returns:
            Ascending quantiles of log(1 + MI in nats), shape (B, K), K = len(cfg.quantiles).
        """
        if features.shape[-1] < self.cfg.num_features:
            raise ValueError(f"the network reads {self.cfg.num_features} features per set, got {features.shape[-1]}: "
                             "summarise the sets with this version of mist.stats")
        features = features[:, : self.cfg.num_features].to(x.dtype)
        with torch.autocast(device_type=x.device.type, enabled=False):  # eigh wants full precision
            c = canonicalize(x.float(), y.float(), x_mask, y_mask, shrinkage=self.cfg.shrinkage)
        dx = c.x.shape[-1]
        valid = torch.cat([c.x_mask, c.y_mask], dim=-1)  # (B, d)
        role = torch.zeros_like(valid)
        role[:, :dx] = True

        values = torch.cat([c.x, c.y], dim=-1).transpose(1, 2).unsqueeze(-1)  # (B, d, n, 1)
        t = self.embed_value(values) + self.embed_globals(features)[:, None, None, :]
        for block in self.coord_blocks:
            t = block(t, role, valid)
        t = self.coord_norm(t)

        px = _masked_mean(t[:, :dx], c.x_mask)  # (B, n, h)
        py = _masked_mean(t[:, dx:], c.y_mask)
        g = self.sample_globals(features)  # (B, hs)
        s = self.pair(torch.cat([px, py], -1)) + self.pair(torch.cat([py, px], -1)) + g[:, None, :]
        for block in self.sample_blocks:
            s = block(s)
        pooled = self.pool(self.sample_norm(s))
        base = base.to(pooled.dtype).clamp_min(0.0)
        q, logit = self.head(self.trunk(torch.cat([pooled, g], -1)), torch.log1p(base), core_scale(features, base))
        return (q, logit) if return_gate else q

    @torch.no_grad()
    def predict_nats(self, x: torch.Tensor, y: torch.Tensor, features: torch.Tensor, base: torch.Tensor, **masks) -> torch.Tensor:
        """Quantiles of MI in nats, shape (B, K), clamped at 0 (MI is never negative)."""
        return torch.expm1(self(x, y, features, base, **masks).clamp_min(0.0))


def core_scale(features: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """The core's standard error in log(1 + nats) (delta method: d log1p(MI) = dMI / (1 + MI)), shape (B,)."""
    base = base.clamp_min(0.0)
    return torch.exp(4.0 * features[:, _LOG_SE].to(base.dtype)) / (1.0 + base)


def _masked_mean(t: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of (B, d, n, h) over its valid coordinates -> (B, n, h)."""
    w = mask.to(t.dtype)[:, :, None, None]
    return (t * w).sum(1) / w.sum(1).clamp_min(1.0)
