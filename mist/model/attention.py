"""Attention blocks of the 2D transformer: across coordinates and across samples.

Tokens are laid out as (B, d, n, h): one h-vector per (coordinate, sample). Attention across
coordinates runs within each sample and knows only whether two coordinates share a role (both
in X or both in Y), never an absolute role or position; attention across samples runs within
each coordinate through a few learned inducing points, so it costs O(n).

References:
    Lee et al., "Set Transformer", ICML (2019) (induced set attention, ISAB).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MultiheadAttention", "CoordinateAttention", "InducedSampleAttention", "FeedForward"]


class MultiheadAttention(nn.Module):
    """Multi-head attention over the second-to-last axis, any number of leading batch axes."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"hidden size {dim} is not divisible by the number of heads {heads}")
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, query: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """query (..., L, h), context (..., S, h), mask broadcastable to (..., L, S), True = attend."""
        *lead, length, dim = query.shape
        hd = dim // self.heads
        q = self.q(query).unflatten(-1, (self.heads, hd)).transpose(-2, -3)  # (..., H, L, hd)
        k, v = self.kv(context).unflatten(-1, (2, self.heads, hd)).unbind(-3)
        k, v = k.transpose(-2, -3), v.transpose(-2, -3)
        if mask is not None:
            mask = mask.unsqueeze(-3)  # broadcast over heads
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(o.transpose(-2, -3).flatten(-2))


class FeedForward(nn.Sequential):
    def __init__(self, dim: int, mult: int = 2):
        super().__init__(nn.Linear(dim, mult * dim), nn.GELU(), nn.Linear(mult * dim, dim))


class CoordinateAttention(nn.Module):
    """Attention across the coordinates of each sample, split by role.

    One attention reads the coordinates of the token's own variable (X for an X coordinate),
    the other those of the other variable. Swapping X and Y swaps nothing inside this module,
    which makes the whole network symmetric in X and Y by construction.
    """

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.same = MultiheadAttention(dim, heads)
        self.cross = MultiheadAttention(dim, heads)
        self.mix = nn.Linear(2 * dim, dim)

    def forward(self, t: torch.Tensor, role: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """t (B, d, n, h); role (B, d) bool (True = X); valid (B, d) bool."""
        s = t.transpose(1, 2)  # (B, n, d, h)
        same_role = role.unsqueeze(-1) == role.unsqueeze(-2)  # (B, d, d)
        keys = valid.unsqueeze(-2)
        same = (same_role & keys).unsqueeze(1)  # (B, 1, d, d), broadcast over samples
        cross = (~same_role & keys).unsqueeze(1)
        out = self.mix(torch.cat([self.same(s, s, same), self.cross(s, s, cross)], dim=-1))
        return out.transpose(1, 2)


class InducedSampleAttention(nn.Module):
    """ISAB across samples within each coordinate: O(n * m) for m inducing points."""

    def __init__(self, dim: int, heads: int, inducing_points: int):
        super().__init__()
        self.inducing = nn.Parameter(torch.randn(inducing_points, dim) / dim**0.5)
        self.gather = MultiheadAttention(dim, heads)
        self.gather_norm = nn.LayerNorm(dim)
        self.gather_ff = FeedForward(dim)
        self.scatter = MultiheadAttention(dim, heads)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """t (B, d, n, h) -> (B, d, n, h)."""
        b, d, _, h = t.shape
        ind = self.inducing.expand(b, d, -1, -1)
        summary = ind + self.gather(ind, t)
        summary = summary + self.gather_ff(self.gather_norm(summary))
        return self.scatter(t, summary)
