"""Invariant preprocessing of a batch of copula scores for the attention: whitening, signs.

The network reads normal scores (`mist.stats.normal_scores`), which already make it blind to
strictly monotone maps of any column. Whitening within X and within Y removes invertible linear
maps up to their orthogonal part, and a data rule fixes each column's sign, so what the
attention receives is equivariant to permutations of samples and of coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["CanonicalSample", "canonicalize"]


@dataclass
class CanonicalSample:
    """A preprocessed batch.

    Attributes:
        x: whitened, sign-canonical scores of X, shape (B, n, dx); padded columns are 0.
        y: the same for Y, shape (B, n, dy).
        x_mask: valid columns of X, shape (B, dx), bool.
        y_mask: valid columns of Y, shape (B, dy), bool.
    """

    x: torch.Tensor
    y: torch.Tensor
    x_mask: torch.Tensor
    y_mask: torch.Tensor


def _inverse_sqrt(c: torch.Tensor) -> torch.Tensor:
    """Symmetric inverse square root of SPD matrices, shape (..., d, d)."""
    evals, evecs = torch.linalg.eigh(c)
    return (evecs * evals.clamp_min(1e-12).rsqrt().unsqueeze(-2)) @ evecs.transpose(-1, -2)


def _masked_standardize(z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    z = z * mask.unsqueeze(1)
    std = z.pow(2).mean(dim=1, keepdim=True).sqrt()  # copula scores have mean 0 by symmetry
    return torch.where(std > 1e-12, z / std.clamp_min(1e-12), torch.zeros_like(z))


def _sign_canonical(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Flip each column so its third-order moment with the sample norm is non-negative.

    The per-sample squared norm is invariant to sign flips and permutations of coordinates,
    so the chosen signs undo any sign flip of a column.
    """
    g = x.pow(2).sum(-1) + y.pow(2).sum(-1)  # (B, n)
    g = g - g.mean(dim=1, keepdim=True)
    sx = torch.where(torch.einsum("bn,bnd->bd", g, x) < 0, -1.0, 1.0).to(x.dtype)
    sy = torch.where(torch.einsum("bn,bnd->bd", g, y) < 0, -1.0, 1.0).to(y.dtype)
    return x * sx.unsqueeze(1), y * sy.unsqueeze(1)


def canonicalize(
    x: torch.Tensor,
    y: torch.Tensor,
    x_mask: torch.Tensor | None = None,
    y_mask: torch.Tensor | None = None,
    shrinkage: float = 0.1,
) -> CanonicalSample:
    """Whiten each side of a batch of normal scores and fix the signs of its columns.

    Arguments:
        x: normal scores of X, shape (B, n, dx); columns beyond a dataset's own dx are padding.
        y: normal scores of Y, shape (B, n, dy).
        x_mask: valid columns of X, shape (B, dx), bool; all valid when None.
        y_mask: valid columns of Y, shape (B, dy), bool.
        shrinkage: ridge towards the identity, lambda = min(0.5, shrinkage * (dx + dy) / n),
            which keeps whitening defined when n is close to dx + dy.

    Returns:
        A CanonicalSample in the dtype of x.
    """
    b, n, dx = x.shape
    dy = y.shape[-1]
    if x_mask is None:
        x_mask = torch.ones(b, dx, dtype=torch.bool, device=x.device)
    if y_mask is None:
        y_mask = torch.ones(b, dy, dtype=torch.bool, device=y.device)
    xm, ym = x_mask.to(torch.float64), y_mask.to(torch.float64)
    zm = torch.cat([xm, ym], dim=-1)
    z = _masked_standardize(torch.cat([x, y], dim=-1).to(torch.float64), zm)

    d_eff = zm.sum(-1)  # (B,)
    lam = (shrinkage * d_eff / n).clamp(max=0.5).view(b, 1, 1)
    eye = torch.eye(dx + dy, dtype=z.dtype, device=z.device)
    cov = (1.0 - lam) * (z.transpose(1, 2) @ z / n) + lam * eye
    cov = cov + eye * (1.0 - zm).unsqueeze(-1)  # padded columns: unit variance, no correlation
    xw = z[..., :dx] @ _inverse_sqrt(cov[:, :dx, :dx])
    yw = z[..., dx:] @ _inverse_sqrt(cov[:, dx:, dx:])
    xw, yw = _sign_canonical(xw, yw)
    xw, yw = xw * xm.unsqueeze(1), yw * ym.unsqueeze(1)
    return CanonicalSample(x=xw.to(x.dtype), y=yw.to(x.dtype), x_mask=x_mask, y_mask=y_mask)
