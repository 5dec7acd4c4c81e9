"""Attention blocks: across the coordinates of a sample, and across samples through inducing points.

Coordinate tokens are laid out (B, d, n, h): one h-vector per (coordinate, sample), so that
attention across samples is a plain batched matrix product over contiguous memory. Attention
across coordinates knows only whether two coordinates share a role (both in X or both in Y),
never an absolute role or position. Attention across samples goes through m learned inducing
points, so it costs O(n * m), not O(n^2).

References:
    Lee et al., "Set Transformer", ICML (2019) (induced set attention, ISAB; pooling, PMA).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["CoordinateAttention", "InducedAttention", "PoolingAttention", "FeedForward"]


class FeedForward(nn.Sequential):
    def __init__(self, dim: int, mult: int = 2):
        super().__init__(nn.Linear(dim, mult * dim), nn.GELU(), nn.Linear(mult * dim, dim))


class CoordinateAttention(nn.Module):
    """Attention across the coordinates of each sample, by role, through pooling queries.

    Per sample, each head's learned query attends over the coordinates of X and, separately,
    over those of Y (O(d), no d x d score matrix); every token then reads the summary of its
    own variable and that of the other one. Only "same role" and "other role" exist here, so
    swapping X and Y changes nothing inside this module.

    Arguments:
        dim: token width.
        heads: attention heads (each reads dim / heads channels).
    """

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"token width {dim} is not divisible by the number of heads {heads}")
        self.heads = heads
        self.score = nn.Linear(dim, heads)  # the keys' dot products with the heads' queries
        self.value = nn.Linear(dim, dim)
        self.same = nn.Linear(dim, dim)
        self.other = nn.Linear(dim, dim, bias=False)

    def forward(self, t: torch.Tensor, role: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """t (B, d, n, h); role (B, d) bool (True = X); valid (B, d) bool -> (B, d, n, h)."""
        b, d, n, h = t.shape
        scores = self.score(t)  # (B, d, n, H)
        v = self.value(t).unflatten(-1, (self.heads, h // self.heads))  # (B, d, n, H, hd)
        summaries = []
        for members in (role & valid, ~role & valid):  # X coordinates, Y coordinates
            w = torch.softmax(scores.masked_fill(~members[:, :, None, None], float("-inf")), dim=1)
            summaries.append((w.unsqueeze(-1) * v).sum(1).flatten(-2))  # (B, n, h)
        sx, sy = summaries
        is_x = role[:, :, None, None]
        own = torch.where(is_x, self.same(sx).unsqueeze(1), self.same(sy).unsqueeze(1))
        other = torch.where(is_x, self.other(sy).unsqueeze(1), self.other(sx).unsqueeze(1))
        return own + other


class InducedAttention(nn.Module):
    """ISAB across samples: m inducing points read all samples, then every sample reads them.

    Input (..., n, h) with samples on the second-to-last axis and any leading axes (the batch,
    and the coordinate axis for coordinate tokens). Single-head: the m inducing points play
    the part of heads, and every step is a batched matrix product.

    Arguments:
        dim: token width.
        inducing_points: m.
    """

    def __init__(self, dim: int, inducing_points: int):
        super().__init__()
        self.scale = dim**-0.5
        self.inducing = nn.Parameter(torch.randn(inducing_points, dim) / dim**0.5)
        self.gather_q = nn.Linear(dim, dim)
        self.gather_kv = nn.Linear(dim, 2 * dim)
        self.gather_out = nn.Linear(dim, dim)
        self.gather_norm = nn.LayerNorm(dim)
        self.gather_ff = FeedForward(dim)
        self.scatter_q = nn.Linear(dim, dim)
        self.scatter_kv = nn.Linear(dim, 2 * dim)
        self.scatter_out = nn.Linear(dim, dim)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        k, v = self.gather_kv(t).chunk(2, dim=-1)  # (..., n, h)
        w = torch.softmax(self.gather_q(self.inducing) @ k.transpose(-1, -2) * self.scale, dim=-1)  # (..., m, n)
        s = self.inducing + self.gather_out(w @ v)  # (..., m, h)
        s = s + self.gather_ff(self.gather_norm(s))
        ks, vs = self.scatter_kv(s).chunk(2, dim=-1)  # (..., m, h)
        w = torch.softmax(self.scatter_q(t) @ ks.transpose(-1, -2) * self.scale, dim=-1)  # (..., n, m)
        return self.scatter_out(w @ vs)


class PoolingAttention(nn.Module):
    """PMA with one seed per head: learned queries attend over the samples, (B, n, h) -> (B, h)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.seed = nn.Parameter(torch.randn(dim) / dim**0.5)
        self.score = nn.Linear(dim, heads)
        self.value = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        b, n, h = t.shape
        w = torch.softmax(self.score(t), dim=1)  # (B, n, H)
        v = self.value(t).unflatten(-1, (self.heads, h // self.heads))  # (B, n, H, hd)
        return self.seed + self.out((w.unsqueeze(-1) * v).sum(1).flatten(-2))
