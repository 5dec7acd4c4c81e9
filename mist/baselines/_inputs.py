"""Input checking shared by the baselines: arrays in, validated float64 matrices out."""

from __future__ import annotations

import numpy as np

__all__ = ["as_samples"]


def _as_matrix(a, name: str) -> np.ndarray:
    if hasattr(a, "detach") and hasattr(a, "cpu"):  # torch.Tensor, without importing torch
        a = a.detach().cpu()
        if a.is_complex():
            raise ValueError(f"{name} is complex; pass real-valued samples (for example real and imaginary parts as columns)")
        a = a.double().numpy()  # bfloat16 has no numpy counterpart
    if np.iscomplexobj(a):
        raise ValueError(f"{name} is complex; pass real-valued samples (for example real and imaginary parts as columns)")
    try:
        m = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{name} must be a numeric array (numpy array, list or torch tensor) of shape (n,) or "
            f"(n, d{name}); converting it to float64 failed: {err}"
        ) from None
    if m.ndim == 1:
        m = m[:, None]
    if m.ndim != 2:
        raise ValueError(
            f"{name} must have shape (n,) or (n, d{name}), got shape {m.shape}; reshape it so that "
            "rows are samples and columns are coordinates"
        )
    if m.shape[1] == 0:
        raise ValueError(f"{name} has no columns (shape {m.shape}); it needs at least one coordinate")
    bad = ~np.isfinite(m)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN or infinite values in {rows.size} rows (first at row "
            f"{int(rows[0])}); drop or impute those rows in both x and y before estimating"
        )
    return m


def as_samples(x, y, *, min_n: int = 2, why: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Validate a paired sample and return it as two float64 matrices.

    Arguments:
        x: Samples of X, shape (n, dx) or (n,); a numpy array, a nested list or a torch tensor.
        y: Samples of Y, shape (n, dy) or (n,), paired with x row by row.
        min_n: The smallest number of samples the caller can work with.
        why: Why the caller needs min_n samples, quoted in the error message.

    Returns:
        (x, y) as C-contiguous float64 arrays of shapes (n, dx) and (n, dy).

    Raises:
        ValueError: On non-numeric input, a wrong number of dimensions, an empty side, NaN or
            infinite values, a different number of rows in x and y, or fewer than min_n rows.

    Example:
        >>> x, y = as_samples([1.0, 2.0, 3.0], [[0.0], [1.0], [0.5]])
        >>> x.shape, y.shape
        ((3, 1), (3, 1))
    """
    x = _as_matrix(x, "x")
    y = _as_matrix(y, "y")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x has {x.shape[0]} samples but y has {y.shape[0]}; x and y must be paired row by row "
            "(rows are samples, columns are coordinates)"
        )
    if x.shape[0] < min_n:
        because = f" ({why})" if why else ""
        raise ValueError(f"need at least {min_n} samples{because}, got {x.shape[0]}")
    return np.ascontiguousarray(x), np.ascontiguousarray(y)
