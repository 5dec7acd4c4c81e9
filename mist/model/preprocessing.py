"""Invariant preprocessing of a batch of sample sets: copula, whitening, canonical statistics.

Every step keeps I(X;Y) unchanged in the population and makes the network blind, by
construction, to what MI is blind to: strictly monotone maps of any column (ranks), invertible
linear maps within X or within Y (whitening, up to the orthogonal part), permutations and
sign flips of coordinates. What the network receives is equivariant to permutations of
samples and of coordinates, and the scalar features are invariant and symmetric in X and Y.

References:
    Ince et al., "A statistical framework for neuroimaging data analysis based on mutual
    information estimated via a Gaussian copula", Human Brain Mapping (2017).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["CanonicalSample", "canonicalize", "normal_scores", "NUM_GLOBAL_FEATURES"]

# Canonical correlations are clamped below 1 so that the Gaussian MI stays finite (about 8 nats
# per pair at this bound); the network corrects what the clamp removes.
_MAX_RHO = 1.0 - 1e-7
_TOP_RHO = 4  # how many leading squared canonical correlations enter the features
NUM_GLOBAL_FEATURES = 7 + _TOP_RHO


@dataclass
class CanonicalSample:
    """A preprocessed batch.

    Attributes:
        x: whitened, sign-canonical copula scores of X, shape (B, n, dx); padded columns are 0.
        y: the same for Y, shape (B, n, dy).
        x_mask: valid columns of X, shape (B, dx), bool.
        y_mask: valid columns of Y, shape (B, dy), bool.
        gaussian_mi: Gaussian-copula MI in nats, shape (B,).
        features: invariant, X/Y-symmetric scalar features, shape (B, NUM_GLOBAL_FEATURES).
    """

    x: torch.Tensor
    y: torch.Tensor
    x_mask: torch.Tensor
    y_mask: torch.Tensor
    gaussian_mi: torch.Tensor
    features: torch.Tensor


def normal_scores(z: torch.Tensor) -> torch.Tensor:
    """Map every column to the normal scores of its ranks (the empirical Gaussian copula).

    Ties get the average of their ranks, so the result is a deterministic function of the data
    and a strictly decreasing map of a column negates its scores.

    Arguments:
        z: samples, shape (B, n, d).

    Returns:
        Scores Phi^-1((rank + 1) / (n + 1)), shape (B, n, d), same dtype as z.
    """
    b, n, d = z.shape
    cols = z.transpose(1, 2).contiguous()  # (B, d, n)
    sorted_vals, order = torch.sort(cols, dim=-1)
    lo = torch.searchsorted(sorted_vals, sorted_vals, right=False)
    hi = torch.searchsorted(sorted_vals, sorted_vals, right=True)
    avg_rank_sorted = (lo + hi - 1).to(torch.float64) / 2.0
    ranks = torch.empty_like(avg_rank_sorted).scatter_(-1, order, avg_rank_sorted)
    p = (ranks + 1.0) / (n + 1.0)
    # Phi^-1 evaluated on the lower half and mirrored, so that reversing the ranks negates the
    # scores exactly.
    scores = torch.where(p <= 0.5, torch.special.ndtri(p), -torch.special.ndtri(1.0 - p))
    return scores.to(z.dtype).transpose(1, 2)


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
    copula: bool = True,
    shrinkage: float = 0.1,
) -> CanonicalSample:
    """Preprocess a batch of sample sets for the network.

    Arguments:
        x: samples of X, shape (B, n, dx); columns beyond a dataset's own dx are padding.
        y: samples of Y, shape (B, n, dy).
        x_mask: valid columns of X, shape (B, dx), bool; all valid when None.
        y_mask: valid columns of Y, shape (B, dy), bool; all valid when None.
        copula: replace each column by the normal scores of its ranks (recommended); without
            it columns are only standardised, and the estimator sees marginal shapes.
        shrinkage: ridge towards the identity, lambda = min(0.5, shrinkage * (dx + dy) / n),
            which keeps whitening defined when n is close to dx + dy.

    Returns:
        A CanonicalSample; its Gaussian MI is in nats.
    """
    b, n, dx = x.shape
    dy = y.shape[-1]
    if x_mask is None:
        x_mask = torch.ones(b, dx, dtype=torch.bool, device=x.device)
    if y_mask is None:
        y_mask = torch.ones(b, dy, dtype=torch.bool, device=y.device)
    xm, ym = x_mask.to(torch.float64), y_mask.to(torch.float64)

    z = torch.cat([x, y], dim=-1).to(torch.float64)
    if copula:
        z = normal_scores(z)
    else:
        z = z - z.mean(dim=1, keepdim=True)
    zm = torch.cat([xm, ym], dim=-1)
    z = _masked_standardize(z, zm)

    d_eff = xm.sum(-1) + ym.sum(-1)  # (B,)
    lam = (shrinkage * d_eff / n).clamp(max=0.5)
    eye = torch.eye(dx + dy, dtype=z.dtype, device=z.device)
    cov = z.transpose(1, 2) @ z / n
    cov = (1.0 - lam).view(b, 1, 1) * cov + lam.view(b, 1, 1) * eye
    cov = cov + eye * (1.0 - zm).unsqueeze(-1)  # padded columns: unit variance, no correlation
    wx = _inverse_sqrt(cov[:, :dx, :dx])
    wy = _inverse_sqrt(cov[:, dx:, dx:])
    rho = torch.linalg.svdvals(wx @ cov[:, :dx, dx:] @ wy).clamp(0.0, _MAX_RHO)  # (B, min(dx,dy))
    gaussian_mi = -0.5 * torch.log1p(-rho.pow(2)).sum(-1)

    xw, yw = _sign_canonical(z[..., :dx] @ wx, z[..., dx:] @ wy)
    xw, yw = xw * xm.unsqueeze(1), yw * ym.unsqueeze(1)

    top = torch.zeros(b, _TOP_RHO, dtype=z.dtype, device=z.device)
    k = min(_TOP_RHO, rho.shape[-1])
    top[:, :k] = rho[:, :k].pow(2)
    ldx, ldy = torch.log(xm.sum(-1)), torch.log(ym.sum(-1))
    features = torch.cat(
        [
            torch.stack(
                [
                    gaussian_mi / 10.0,
                    torch.log1p(gaussian_mi),
                    torch.full_like(gaussian_mi, math.log(n) / math.log(10_000)),
                    (ldx + ldy) / 4.0,
                    (ldx - ldy).abs() / 4.0,
                    torch.log(d_eff / n) / 4.0,
                    lam,
                ],
                dim=-1,
            ),
            top,
        ],
        dim=-1,
    )
    dtype = x.dtype
    return CanonicalSample(
        x=xw.to(dtype),
        y=yw.to(dtype),
        x_mask=x_mask,
        y_mask=y_mask,
        gaussian_mi=gaussian_mi.to(dtype),
        features=features.to(dtype),
    )
