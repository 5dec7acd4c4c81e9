"""Gaussian discriminant information: I(T;Y) as read by an LDA or a (shrunk) QDA classifier.

For any classifier q(y | t), H(Y) - E[-log q(Y | T)] <= I(T;Y), with equality when q is the
true posterior. Fitting q on the same rows that score it is optimistic (about +p/2n nats for p
parameters) and scoring it on held-out folds is pessimistic (about -p/2n), so their mean is a
first-order unbiased estimate of the information the best Gaussian discriminant captures: exact
for Gaussian classes (shared covariance for LDA, any for QDA) and a lower bound otherwise.

Each sample contributes a term (log q(y_i | t_i) - log p_hat(y_i)), whose spread gives a
standard error.

References:
    Barber & Agakov, The IM algorithm: a variational approach to information maximization,
    NIPS 2003 (the classifier lower bound); Friedman, Regularized discriminant analysis, JASA 84
    (1989) 165-175 (shrinking class covariances toward the pooled one).
"""

from __future__ import annotations

import numpy as np

__all__ = ["FOLDS", "FOLD_SEED", "discriminant_parts", "discriminant_terms"]

FOLDS = 5  # cross-fitting folds of the held-out half of the estimate
FOLD_SEED = 0  # the fixed row split: the same input, the same output
_RIDGE = 1e-6  # relative ridge on covariances, so that constant or collinear columns stay invertible


def _log_posterior(train: np.ndarray, ctrain: np.ndarray, test: np.ndarray, k: int, shared: bool) -> np.ndarray:
    """log q(y | t) of the rows of `test`, shape (m, K), from Gaussian classes fitted on `train`."""
    d = train.shape[1]
    counts = np.bincount(ctrain, minlength=k)
    logprior = np.log((counts + 0.5) / (counts.sum() + 0.5 * k))
    means = np.zeros((k, d))
    np.add.at(means, ctrain, train)
    means = np.where(counts[:, None] > 0, means / np.maximum(counts, 1)[:, None], train.mean(axis=0))
    resid = train - means[ctrain]
    pooled = resid.T @ resid / max(len(train) - k, 1)
    pooled += _RIDGE * (np.trace(pooled) / d + 1e-12) * np.eye(d)
    if shared:  # squared Mahalanobis distances to every mean at once
        w = np.linalg.inv(np.linalg.cholesky(pooled)).T
        u, mu = test @ w, means @ w
        out = -0.5 * ((u * u).sum(axis=1)[:, None] - 2.0 * u @ mu.T + (mu * mu).sum(axis=1)[None])
    else:
        out = np.empty((len(test), k))
        for c in range(k):
            r = resid[ctrain == c]
            lam = min(1.0, max(0.1, 2.0 * d / max(len(r), 1)))  # more shrinkage for small classes
            cov = (1.0 - lam) * (r.T @ r / max(len(r), 1)) + lam * pooled
            chol = np.linalg.cholesky(cov)
            u = (test - means[c]) @ np.linalg.inv(chol).T
            out[:, c] = -0.5 * np.einsum("ij,ij->i", u, u) - np.log(np.diag(chol)).sum()
    out += logprior
    out -= out.max(axis=1, keepdims=True)
    return out - np.log(np.exp(out).sum(axis=1, keepdims=True))


def discriminant_parts(t: np.ndarray, codes: np.ndarray, shared: bool) -> tuple[np.ndarray, np.ndarray]:
    """In-sample and cross-fitted (FOLDS folds) per-sample values of log q(y_i | t_i) - log p_hat(y_i).

    Arguments:
        t: samples of T, float64, shape (n, d).
        codes: class of each sample, int, shape (n,), values 0..K-1.
        shared: one covariance for all classes (LDA) or one per class, shrunk toward the pooled
            covariance (QDA).

    Returns:
        (inside, held), each shape (n,), in nats.
    """
    n = t.shape[0]
    k = int(codes.max()) + 1
    inside = _log_posterior(t, codes, t, k, shared)[np.arange(n), codes]
    fold = np.random.default_rng(FOLD_SEED).permutation(n) % FOLDS
    held = np.empty(n)
    for f in range(FOLDS):
        test = fold == f
        held[test] = _log_posterior(t[~test], codes[~test], t[test], k, shared)[np.arange(test.sum()), codes[test]]
    logp = np.log(np.bincount(codes, minlength=k) / n)[codes]
    return inside - logp, held - logp


def discriminant_terms(t: np.ndarray, codes: np.ndarray, shared: bool, optimism: float = 0.5) -> np.ndarray:
    """Per-sample terms of the Gaussian discriminant information; their mean is the estimate in nats.

    Arguments:
        t, codes, shared: as in `discriminant_parts`.
        optimism: the weight of the in-sample value: held + optimism * (inside - held).

    Returns:
        Terms, shape (n,).
    """
    inside, held = discriminant_parts(t, codes, shared)
    return held + optimism * (inside - held)
