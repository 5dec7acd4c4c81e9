"""The baselines' input check: mist's own (`mist.inputs.as_matrix`) per side, then the pairing."""

from __future__ import annotations

import numpy as np

from mist.inputs import as_matrix

__all__ = ["as_samples"]


def as_samples(x, y, *, min_n: int = 2, why: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Validate a paired sample and return it as two float64 matrices.

    Arguments:
        x: Samples of X, shape (n, dx) or (n,); a numpy array, a nested list, a torch tensor or a
            pandas DataFrame or Series.
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
    x = as_matrix(x, "x")[0]
    y = as_matrix(y, "y")[0]
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x has {x.shape[0]} samples but y has {y.shape[0]}; x and y must be paired row by row "
            "(rows are samples, columns are coordinates)"
        )
    if x.shape[0] < min_n:
        because = f" ({why})" if why else ""
        raise ValueError(f"need at least {min_n} samples{because}, got {x.shape[0]}")
    return np.ascontiguousarray(x), np.ascontiguousarray(y)
