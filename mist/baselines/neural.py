"""Variational neural estimators of mutual information: InfoNCE, NWJ and MINE.

All three train a critic f(x, y) per dataset, on a training split, and report their bound on
a held-out split (the best of periodic evaluations, with early stopping, as the bmi benchmark
does). They share the critic, the training loop and the evaluation; only the bound
differs. For scores S[i, j] = f(x_i, y_j) on a batch of B paired samples (the diagonal holds
the pairs drawn together, the off-diagonal entries stand for the product of marginals):

- InfoNCE: mean_i (S[i, i] - logsumexp_j S[i, j]) + log B. Low variance, but never above
  log B, the log of the batch size: it cannot report more than log(256) = 5.5 nats at the
  default batch.
- NWJ: mean_i S[i, i] - mean_{i != j} exp(S[i, j] - 1). Unbiased bound, high variance at
  high MI.
- MINE (Donsker-Varadhan): mean_i S[i, i] - log mean_{i != j} exp(S[i, j]), trained with the
  moving-average gradient correction of Belghazi et al.

References:
    van den Oord, Li and Vinyals, "Representation learning with contrastive predictive coding"
    (2018); Nguyen, Wainwright and Jordan, "Estimating divergence functionals and the
    likelihood ratio by convex risk minimization", IEEE Trans. Inf. Theory 56 (2010);
    Belghazi et al., "Mutual information neural estimation", ICML (2018); Poole et al., "On
    variational bounds of mutual information", ICML (2019).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from mist.contract import PointEstimator

from ._inputs import as_samples

__all__ = ["InfoNCE", "NWJ", "MINE", "SeparableCritic", "ConcatCritic", "infonce_bound", "nwj_bound", "dv_bound"]


def _mlp(d_in: int, hidden: int, layers: int, d_out: int) -> nn.Sequential:
    blocks, d = [], d_in
    for _ in range(layers):
        blocks += [nn.Linear(d, hidden), nn.ReLU()]
        d = hidden
    return nn.Sequential(*blocks, nn.Linear(d, d_out))


class SeparableCritic(nn.Module):
    """Critic f(x, y) = g(x) . h(y) with two MLPs: all B x B scores for the price of 2B passes.

    Arguments:
        dx: Dimension of X.
        dy: Dimension of Y.
        hidden: Width of the hidden layers.
        layers: Number of hidden layers of each MLP.
        embed: Dimension of the embeddings g(x) and h(y).

    Example:
        >>> critic = SeparableCritic(2, 3, hidden=16, layers=2, embed=8)
        >>> critic(torch.randn(5, 2), torch.randn(5, 3)).shape
        torch.Size([5, 5])
    """

    def __init__(self, dx: int, dy: int, hidden: int = 128, layers: int = 2, embed: int = 32):
        super().__init__()
        self.g = _mlp(dx, hidden, layers, embed)
        self.h = _mlp(dy, hidden, layers, embed)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores S[i, j] = f(x_i, y_j), shape (B, B), for x of shape (B, dx) and y (B, dy)."""
        return self.g(x) @ self.h(y).T


class ConcatCritic(nn.Module):
    """Critic f(x, y) = MLP([x, y]) on the concatenation: B^2 passes per batch of B.

    Arguments:
        dx: Dimension of X.
        dy: Dimension of Y.
        hidden: Width of the hidden layers.
        layers: Number of hidden layers.

    Example:
        >>> critic = ConcatCritic(2, 3, hidden=16, layers=2)
        >>> critic(torch.randn(5, 2), torch.randn(5, 3)).shape
        torch.Size([5, 5])
    """

    def __init__(self, dx: int, dy: int, hidden: int = 128, layers: int = 2):
        super().__init__()
        self.f = _mlp(dx + dy, hidden, layers, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores S[i, j] = f(x_i, y_j), shape (B, B), for x of shape (B, dx) and y (B, dy)."""
        b = x.shape[0]
        pairs = torch.cat([x[:, None, :].expand(b, b, -1), y[None, :, :].expand(b, b, -1)], dim=-1)
        return self.f(pairs).squeeze(-1)


def _off_diagonal(scores: torch.Tensor) -> torch.Tensor:
    b = scores.shape[0]
    return scores.masked_select(~torch.eye(b, dtype=torch.bool, device=scores.device))


def infonce_bound(scores: torch.Tensor) -> torch.Tensor:
    """InfoNCE lower bound in nats from a (B, B) score matrix; at most log B.

    Arguments:
        scores: S[i, j] = f(x_i, y_j), shape (B, B); the diagonal holds the paired samples.

    Returns:
        mean_i (S[i, i] - logsumexp_j S[i, j]) + log B, a scalar tensor.

    Example:
        >>> round(float(infonce_bound(100.0 * torch.eye(4))), 4)  # log 4, the cap at B = 4
        1.3863
    """
    b = scores.shape[0]
    return (scores.diagonal() - torch.logsumexp(scores, dim=1)).mean() + math.log(b)


def nwj_bound(scores: torch.Tensor) -> torch.Tensor:
    """NWJ (f-divergence) lower bound in nats from a (B, B) score matrix.

    Arguments:
        scores: S[i, j] = f(x_i, y_j), shape (B, B); the diagonal holds the paired samples.

    Returns:
        mean_i S[i, i] - mean_{i != j} exp(S[i, j] - 1), a scalar tensor.

    Example:
        >>> float(nwj_bound(torch.ones(3, 3)))
        0.0
    """
    return scores.diagonal().mean() - torch.exp(_off_diagonal(scores) - 1.0).mean()


def dv_bound(scores: torch.Tensor) -> torch.Tensor:
    """Donsker-Varadhan lower bound (MINE's) in nats from a (B, B) score matrix.

    Arguments:
        scores: S[i, j] = f(x_i, y_j), shape (B, B); the diagonal holds the paired samples.

    Returns:
        mean_i S[i, i] - log mean_{i != j} exp(S[i, j]), a scalar tensor.

    Example:
        >>> float(dv_bound(torch.zeros(3, 3)))
        0.0
    """
    off = _off_diagonal(scores)
    return scores.diagonal().mean() - (torch.logsumexp(off, dim=0) - math.log(off.numel()))


@dataclass(frozen=True)
class _Variational(PointEstimator):
    """Shared budget, critic and training loop of the variational estimators (see subclasses)."""

    steps: int = 1000
    batch_size: int = 256
    hidden: int = 128
    layers: int = 2
    embed: int = 32
    critic: str = "separable"
    lr: float = 5e-4
    test_fraction: float = 0.5
    eval_every: int = 50
    patience: int = 5
    standardize: bool = True
    seed: int = 0
    device: str = "cpu"

    name: ClassVar[str] = ""

    def __post_init__(self):
        if self.critic not in ("separable", "concat"):
            raise ValueError(f"critic must be 'separable' or 'concat', got {self.critic!r}")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in [0, 1), got {self.test_fraction!r}")
        for field in ("steps", "batch_size", "hidden", "layers", "embed", "eval_every", "patience"):
            low = 0 if field in ("steps", "layers", "eval_every", "patience") else 1
            if getattr(self, field) < low:
                raise ValueError(f"{field} must be at least {low}, got {getattr(self, field)!r}")

    # Subclasses define the bound that is trained and reported.
    def _objective(self, scores: torch.Tensor, state: dict) -> torch.Tensor:
        raise NotImplementedError

    def _bound(self, scores: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _split(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator):
        n = x.shape[0]
        n_test = int(round(n * self.test_fraction))
        if self.test_fraction > 0 and (n_test < 2 or n - n_test < 2):
            raise ValueError(
                f"{self.name} needs at least 2 training and 2 held-out samples; got n={n} with "
                f"test_fraction={self.test_fraction}: pass more samples"
            )
        order = rng.permutation(n)
        test, train = order[:n_test], order[n_test:]
        if n_test == 0:
            test = train
        if self.standardize:
            mx, sx = x[train].mean(0), x[train].std(0)
            my, sy = y[train].mean(0), y[train].std(0)
            sx[sx == 0], sy[sy == 0] = 1.0, 1.0
            x, y = (x - mx) / sx, (y - my) / sy
        as_t = lambda a: torch.as_tensor(a, dtype=torch.float32, device=self.device)  # noqa: E731
        return as_t(x[train]), as_t(y[train]), as_t(x[test]), as_t(y[test])

    def _make_critic(self, dx: int, dy: int) -> nn.Module:
        if self.critic == "separable":
            return SeparableCritic(dx, dy, self.hidden, self.layers, self.embed)
        return ConcatCritic(dx, dy, self.hidden, self.layers)

    def estimate(self, x, y) -> float:
        """Train a critic on a split of the samples and return its bound on the rest, in nats.

        Arguments:
            x: Samples of X, shape (n, dx) or (n,).
            y: Samples of Y, shape (n, dy) or (n,), paired with x row by row.

        Returns:
            The best held-out bound over the evaluations, in nats (InfoNCE: at most log of the
            evaluation batch size). Deterministic for a given seed, device and number of torch
            threads.
        """
        x, y = as_samples(x, y, min_n=4, why=f"{self.name} splits the samples for training and evaluation")
        rng = np.random.default_rng(self.seed)
        x_tr, y_tr, x_te, y_te = self._split(x, y, rng)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            critic = self._make_critic(x.shape[1], y.shape[1]).to(self.device)
        n_te = x_te.shape[0]
        b_te = min(self.batch_size, n_te)  # held-out batches: fixed once, remainder dropped
        test_batches = torch.as_tensor(rng.permutation(n_te)[: (n_te // b_te) * b_te], device=x_te.device)
        test_batches = test_batches.reshape(-1, b_te)
        return self._train(critic, x_tr, y_tr, lambda: self._evaluate(critic, x_te, y_te, test_batches), rng)

    def _train(self, critic: nn.Module, x: torch.Tensor, y: torch.Tensor, evaluate, rng: np.random.Generator) -> float:
        """Adam on the training split; returns the best of the periodic held-out evaluations."""
        n = x.shape[0]
        b = min(self.batch_size, n)
        opt = torch.optim.Adam(critic.parameters(), lr=self.lr)
        order, at, state, stale = rng.permutation(n), 0, {}, 0
        best = evaluate() if self.eval_every else -math.inf  # the untrained critic: about 0
        for step in range(1, self.steps + 1):
            if at + b > n:  # a new epoch: reshuffle
                order, at = rng.permutation(n), 0
            idx = torch.as_tensor(order[at : at + b], device=x.device)
            at += b
            critic.train()
            loss = -self._objective(critic(x[idx], y[idx]), state)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if self.eval_every and step % self.eval_every == 0:
                value = evaluate()
                best, stale = (value, 0) if value > best else (best, stale + 1)
                if self.patience and stale >= self.patience:
                    return best  # early stop: held-out bound stopped improving
        if not self.eval_every or self.steps % self.eval_every:
            best = max(best, evaluate())  # always evaluated after the last step
        return best

    @torch.no_grad()
    def _evaluate(self, critic: nn.Module, x: torch.Tensor, y: torch.Tensor, batches: torch.Tensor) -> float:
        """The bound on the held-out batches (rows of `batches` index x and y)."""
        critic.eval()
        return float(self._pool([critic(x[i], y[i]) for i in batches]))

    def _pool(self, scores: list[torch.Tensor]) -> torch.Tensor:
        """Combine equal-sized held-out batches into one bound (default: their mean)."""
        return torch.stack([self._bound(s) for s in scores]).mean()


@dataclass(frozen=True)
class InfoNCE(_Variational):
    """InfoNCE estimate of I(X; Y) in nats, capped at log(batch size).

    Trains a critic for at most `steps` Adam steps on batches of `batch_size` pairs drawn from
    a (1 - test_fraction) training split. Before training, every `eval_every` steps and after
    the last one, the InfoNCE bound is averaged over held-out batches of the same size; training
    stops early once `patience` evaluations in a row have not improved on the best, and the
    estimate is the best evaluation. This is early stopping on the held-out split, as in the
    bmi benchmark: without it a critic trained on a hundred samples overfits within fifty steps
    and its held-out bound collapses to tens of nats below zero (the untrained critic's value,
    near 0, is then reported instead); the price is a small upward selection bias (the maximum
    of noisy evaluations). The value never exceeds log(min(batch_size, n_test)):
    5.5 nats at the default batch of 256, whatever the true MI.
    Default budget: at most 1000 steps, batch 256, a separable critic of two 2 x 128 ReLU MLPs
    with 32-dimensional embeddings, Adam at 5e-4, half of the samples held out, evaluated every
    50 steps with patience 5; a few seconds on one CPU core.

    Arguments:
        steps: Maximum training steps.
        batch_size: Pairs per batch (B); also the evaluation batch and the log B cap.
        hidden: Width of the critic's hidden layers.
        layers: Hidden layers per MLP.
        embed: Embedding dimension of the separable critic.
        critic: "separable" (g(x) . h(y)) or "concat" (an MLP on [x, y]; B^2 passes per batch,
            much slower).
        lr: Adam learning rate.
        test_fraction: Fraction of samples held out for the reported value (0: report on the
            training samples, biased upwards by overfitting).
        eval_every: Steps between held-out evaluations (0: only after the last step).
        patience: Evaluations without improvement before stopping (0: never stop early).
        standardize: Standardise columns with the training split's mean and deviation.
        seed: Seed of the split, the batches and the critic's initialisation.
        device: Torch device.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal(2000)
        >>> y = 0.8 * x + 0.6 * rng.standard_normal(2000)  # I = 0.51 nats
        >>> round(InfoNCE(steps=200, batch_size=128).estimate(x, y), 1)
        0.5

    References:
        van den Oord, Li and Vinyals, arXiv:1807.03748 (2018); Poole et al., ICML (2019).
    """

    name: ClassVar[str] = "infonce"

    def _objective(self, scores, state):
        return infonce_bound(scores)

    def _bound(self, scores):
        return infonce_bound(scores)


@dataclass(frozen=True)
class NWJ(_Variational):
    """NWJ (f-divergence) estimate of I(X; Y) in nats.

    Same budget, critic, split and evaluations as `InfoNCE`; trains and reports the NWJ bound
    mean S[i, i] - mean_{i != j} exp(S[i, j] - 1), pooled over all held-out batches. Not capped
    by the batch size, but its variance grows like exp(MI): expect noisy values above a few
    nats.

    Arguments:
        steps: Maximum training steps.
        batch_size: Pairs per batch.
        hidden: Width of the critic's hidden layers.
        layers: Hidden layers per MLP.
        embed: Embedding dimension of the separable critic.
        critic: "separable" or "concat".
        lr: Adam learning rate.
        test_fraction: Fraction of samples held out for the reported value.
        eval_every: Steps between held-out evaluations (0: only after the last step).
        patience: Evaluations without improvement before stopping (0: never stop early).
        standardize: Standardise columns with the training split's statistics.
        seed: Seed of the split, the batches and the critic's initialisation.
        device: Torch device.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal(2000)
        >>> y = 0.8 * x + 0.6 * rng.standard_normal(2000)  # I = 0.51 nats
        >>> round(NWJ(steps=200, batch_size=128).estimate(x, y), 1)
        0.5

    References:
        Nguyen, Wainwright and Jordan, IEEE Trans. Inf. Theory 56 (2010); Poole et al., ICML
        (2019).
    """

    name: ClassVar[str] = "nwj"

    def _objective(self, scores, state):
        return nwj_bound(scores)

    def _bound(self, scores):
        return nwj_bound(scores)

    def _pool(self, scores):
        joint = torch.cat([s.diagonal() for s in scores]).mean()
        return joint - torch.cat([torch.exp(_off_diagonal(s) - 1.0) for s in scores]).mean()


@dataclass(frozen=True)
class MINE(_Variational):
    """MINE (Donsker-Varadhan) estimate of I(X; Y) in nats.

    Same budget, critic, split and evaluations as `InfoNCE`. Trains the Donsker-Varadhan bound
    with MINE's bias-corrected gradient (the denominator of the log-partition gradient replaced
    by an exponential moving average of rate `ema_rate`) and reports
    mean S[i, i] - log mean_{i != j} exp(S[i, j]) pooled over all held-out batches.

    Arguments:
        steps: Maximum training steps.
        batch_size: Pairs per batch.
        hidden: Width of the critic's hidden layers.
        layers: Hidden layers per MLP.
        embed: Embedding dimension of the separable critic.
        critic: "separable" or "concat".
        lr: Adam learning rate.
        test_fraction: Fraction of samples held out for the reported value.
        eval_every: Steps between held-out evaluations (0: only after the last step).
        patience: Evaluations without improvement before stopping (0: never stop early).
        standardize: Standardise columns with the training split's statistics.
        seed: Seed of the split, the batches and the critic's initialisation.
        device: Torch device.
        ema_rate: Rate of the moving average of exp(S) in the gradient correction.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal(2000)
        >>> y = 0.8 * x + 0.6 * rng.standard_normal(2000)  # I = 0.51 nats
        >>> round(MINE(steps=200, batch_size=128).estimate(x, y), 1)
        0.5

    References:
        Belghazi et al., "Mutual information neural estimation", ICML (2018).
    """

    ema_rate: float = 0.01

    name: ClassVar[str] = "mine"

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 < self.ema_rate <= 1.0:
            raise ValueError(f"ema_rate must be in (0, 1], got {self.ema_rate!r}")

    def _objective(self, scores, state):
        off = _off_diagonal(scores)
        log_mean_exp = torch.logsumexp(off, dim=0) - math.log(off.numel())
        current = log_mean_exp.detach()
        if "log_ema" not in state:
            state["log_ema"] = current
        else:
            a = self.ema_rate
            state["log_ema"] = torch.logaddexp(state["log_ema"] + math.log1p(-a), current + math.log(a))
        # Value: mean S_ii - E[e^S] / ema, whose gradient is MINE's corrected DV gradient.
        return scores.diagonal().mean() - torch.exp(log_mean_exp - state["log_ema"])

    def _bound(self, scores):
        return dv_bound(scores)

    def _pool(self, scores):
        joint = torch.cat([s.diagonal() for s in scores]).mean()
        off = torch.cat([_off_diagonal(s) for s in scores])
        return joint - (torch.logsumexp(off, dim=0) - math.log(off.numel()))
