"""Class labels in, integer codes out: the dtype rule of `y_discrete=True`.

- integers, booleans, strings, or any hashable objects (a pandas Categorical included): each
  distinct value is a class;
- floats: accepted only when every value is a whole number (0.0, 1.0, ... as pandas makes of an
  integer column with missing values dropped); any other float raises, since a fractional
  value means Y is continuous or the codes were damaged;
- NaN, None or pandas missing values raise: drop those rows from both T and the labels.

Codes are assigned in sorted order of the distinct labels; the estimate does not depend on them
(relabelling the classes gives the same answer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_CLASSES", "MIN_PER_CLASS", "Labels", "as_labels"]

MAX_CLASSES = 100  # the most classes supported (measured up to 50 in scripts/benchmark_labels.py)
MIN_PER_CLASS = 2  # a class needs a neighbour of its own


@dataclass(frozen=True)
class Labels:
    """Validated class labels.

    Attributes:
        codes: class of each sample, int64, shape (n,), values 0..K-1.
        classes: the distinct labels, in code order (shape (K,)).
        counts: samples per class, shape (K,).
    """

    codes: np.ndarray
    classes: np.ndarray
    counts: np.ndarray

    @property
    def k(self) -> int:
        return int(self.classes.size)


def _is_missing(v) -> bool:
    if v is None or type(v).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(v, (float, np.floating)) and np.isnan(v)


def as_labels(y, n: int | None = None) -> Labels:
    """Validate class labels.

    Arguments:
        y: labels, shape (n,) or (n, 1): numpy array, pandas Series or Categorical, torch
            tensor, or list; integers, booleans, strings, or whole-number floats.
        n: the number of samples of T they must match (None: not checked).

    Returns:
        Labels: integer codes, the distinct labels and their counts.

    Raises:
        ValueError: shape, missing values, fractional floats, a single class, more than
            MAX_CLASSES classes, a class with fewer than MIN_PER_CLASS samples, or n mismatch;
            each message names the fix.

    Example:
        >>> lab = as_labels(["b", "a", "b", "a"])
        >>> lab.codes.tolist(), lab.classes.tolist(), lab.counts.tolist()
        ([1, 0, 1, 0], ['a', 'b'], [2, 2])
    """
    if hasattr(y, "detach") and hasattr(y, "cpu"):  # torch.Tensor, without importing torch here
        y = y.detach().cpu().numpy()
    a = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(
            f"labels have shape {a.shape}; with y_discrete=True pass one label per sample, shape (n,) "
            "(to use several label columns, combine them into one label per row first)"
        )
    if n is not None and a.shape[0] != n:
        raise ValueError(
            f"x has {n} samples but the labels have {a.shape[0]}; pass one label per row of x, in the same order"
        )
    if a.dtype.kind == "c":
        raise ValueError("labels are complex numbers; pass integer or string class labels")
    if a.dtype.kind == "f":
        if np.isnan(a).any():
            raise ValueError(
                f"labels contain {int(np.isnan(a).sum())} NaN value(s) (first at row {int(np.flatnonzero(np.isnan(a))[0])}); "
                "drop those rows from both x and the labels"
            )
        frac = np.flatnonzero(a != np.round(a))
        if frac.size:
            raise ValueError(
                f"labels are floats with fractional values (e.g. {float(a[frac[0]])!r} at row {int(frac[0])}); with "
                "y_discrete=True labels must be integers, strings or whole-number floats: if Y is continuous, "
                "drop y_discrete; if these are class codes, cast them to int"
            )
        a = a.astype(np.int64)
    elif a.dtype.kind == "O":
        missing = [i for i, v in enumerate(a) if _is_missing(v)]
        if missing:
            raise ValueError(
                f"labels contain {len(missing)} missing value(s) (first at row {missing[0]}); drop those rows from "
                "both x and the labels"
            )
        try:
            a = np.asarray([str(v) for v in a]) if len({type(v) for v in a}) > 1 else a
            classes, codes = np.unique(a, return_inverse=True)
        except TypeError:
            classes, codes = np.unique(np.asarray([repr(v) for v in a]), return_inverse=True)
        return _checked(Labels(codes.astype(np.int64), classes, np.bincount(codes)))
    elif a.dtype.kind not in "biuUS":
        raise ValueError(f"labels of dtype {a.dtype} are not class labels; pass integers or strings")
    classes, codes = np.unique(a, return_inverse=True)
    return _checked(Labels(codes.reshape(-1).astype(np.int64), classes, np.bincount(codes.reshape(-1))))


def _checked(lab: Labels) -> Labels:
    if lab.k < 2:
        only = lab.classes[0] if lab.k else None
        raise ValueError(
            f"the labels hold a single class ({only!r}); I(T;Y) is 0 when Y is constant: pass labels with at "
            "least 2 classes"
        )
    if lab.k > MAX_CLASSES:
        raise ValueError(
            f"the labels hold {lab.k} classes; y_discrete supports at most {MAX_CLASSES}: merge rare classes, or "
            "if Y is a continuous or count variable, drop y_discrete"
        )
    small = np.flatnonzero(lab.counts < MIN_PER_CLASS)
    if small.size:
        names = ", ".join(repr(v.item() if isinstance(v, np.generic) else v) for v in lab.classes[small[:5]])
        raise ValueError(
            f"{small.size} class(es) have fewer than {MIN_PER_CLASS} samples ({names}{' ...' if small.size > 5 else ''}); "
            "every class needs at least 2: drop or merge those classes"
        )
    return lab
