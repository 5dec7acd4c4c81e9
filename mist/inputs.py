"""Paired samples in, validated float64 matrices out; what is odd about their columns; the view the network gets.

`as_pair` turns anything array-like (numpy arrays, torch tensors, pandas DataFrames or Series,
nested lists) into two float64 matrices of shapes (n, dx) and (n, dy), or raises a ValueError
that names the problem and the fix. `column_warnings` lists what is legal but suspicious
(constant columns, heavy ties, a coordinate of X that is a monotone function of one of Y).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from mist.stats.scores import ranks_and_ties

__all__ = [
    "MIN_N", "TIE_SHARE", "Pair", "ColumnStats", "as_matrix", "as_pair", "column_warnings", "column_ties", "same_index"]

MIN_N = 10  # the fewest samples mist accepts (published comparisons start at n = 10)
TIE_SHARE = 0.05  # a column is heavily tied when its most frequent value holds this share of rows (and >= 3 rows)
_MISSING = ("", "na", "nan", "null", "none")  # text that reads as a missing value, not as non-numeric data


@dataclass(frozen=True)
class ColumnStats:
    """Per-column ranks and ties of one side.

    Attributes:
        ranks: average ranks (0-based, ties share the mean of their ranks), float64, shape (n, d).
        distinct: distinct values per column, shape (d,).
        top: count of the most frequent value per column, shape (d,).
    """

    ranks: np.ndarray
    distinct: np.ndarray
    top: np.ndarray

    @classmethod
    def of(cls, m: np.ndarray) -> ColumnStats:
        return cls(*ranks_and_ties(m))


@dataclass(frozen=True)
class Pair:
    """A validated paired sample.

    Attributes:
        x: samples of X, float64, shape (n, dx), C-contiguous.
        y: samples of Y, float64, shape (n, dy).
        x_labels: how messages name each column of x (`x column 0`, or `x column 'age'`).
        y_labels: the same for y.
    """

    x: np.ndarray
    y: np.ndarray
    x_labels: tuple[str, ...]
    y_labels: tuple[str, ...]

    @property
    def n(self) -> int:
        return self.x.shape[0]

    @property
    def dx(self) -> int:
        return self.x.shape[1]

    @property
    def dy(self) -> int:
        return self.y.shape[1]

    @classmethod
    def with_stats(cls, x: np.ndarray, y: np.ndarray, x_labels: tuple[str, ...], y_labels: tuple[str, ...],
                   x_stats: ColumnStats, y_stats: ColumnStats) -> Pair:
        """A pair whose column ranks are already known (a subset or a join of another pair's): not ranked again."""
        out = cls(np.ascontiguousarray(x), np.ascontiguousarray(y), tuple(x_labels), tuple(y_labels))
        out.__dict__["x_stats"], out.__dict__["y_stats"] = x_stats, y_stats  # fills the cached properties
        return out

    @functools.cached_property
    def x_stats(self) -> ColumnStats:
        return ColumnStats.of(self.x)

    @functools.cached_property
    def y_stats(self) -> ColumnStats:
        return ColumnStats.of(self.y)


def _non_numeric(label: str, example, dtype=None) -> ValueError:
    kind = f" (dtype {dtype})" if dtype is not None else ""
    if isinstance(example, np.generic):
        example = example.item()
    return ValueError(
        f"{label} has non-numeric data{kind}, e.g. {example!r}; mist needs numbers: convert it to a numeric "
        "type (e.g. .astype(float) if it holds numbers as text), encode it as numbers, or leave it out"
    )


def _object_to_float(a: np.ndarray, labels: list[str]) -> np.ndarray:
    """An object or string array of shape (n, d) whose entries must be numbers or missing values."""
    out = np.empty(a.shape, dtype=np.float64)
    for (i, j), v in np.ndenumerate(a):
        if v is None or type(v).__name__ in ("NAType", "NaTType"):  # pandas missing values
            out[i, j] = np.nan
        elif isinstance(v, (bool, int, float, np.bool_, np.integer, np.floating)):
            out[i, j] = float(v)
        elif isinstance(v, str) and v.strip().lower() in _MISSING:
            out[i, j] = np.nan
        else:
            raise _non_numeric(labels[j], v)
    return out


def _from_pandas(a, name: str) -> tuple[np.ndarray, list[str]]:
    """DataFrame or Series -> float64 array, refusing non-numeric columns by name."""
    import pandas as pd

    frame = a if isinstance(a, pd.DataFrame) else a.to_frame()
    labels = [f"{name} column {c!r}" for c in frame.columns]
    cols = []
    for label, (_, col) in zip(labels, frame.items()):
        if pd.api.types.is_complex_dtype(col.dtype):
            raise ValueError(f"{label} is complex; pass real-valued samples (e.g. real and imaginary parts as columns)")
        if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype):
            cols.append(col.to_numpy(dtype=np.float64, na_value=np.nan))
        elif col.dtype == object:
            cols.append(_object_to_float(col.to_numpy()[:, None], [label])[:, 0])
        else:
            present = col.dropna()
            raise _non_numeric(label, present.iloc[0] if len(present) else None, col.dtype)
    if not cols:
        return np.empty((len(frame), 0)), labels
    return np.column_stack(cols), labels


def as_matrix(a, name: str, columns: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """One side of the sample as a float64 matrix.

    Arguments:
        a: shape (n,) or (n, d): numpy array, torch tensor, pandas DataFrame or Series, or list.
        name: "x" or "y", for messages.
        columns: names of the columns, for messages (a DataFrame's own names are used otherwise).

    Returns:
        (matrix of shape (n, d), float64; a label per column for messages).

    Raises:
        ValueError: non-numeric or complex data, ragged lists, a scalar, 3 or more dimensions,
            no samples, no columns, NaN or infinite values.
    """
    labels = None
    if a is None:
        raise ValueError(f"{name} is None; pass samples of shape (n,) or (n, d{name})")
    if hasattr(a, "detach") and hasattr(a, "cpu"):  # torch.Tensor, without importing torch here
        a = a.detach().cpu()
        if a.is_complex():
            raise ValueError(f"{name} is complex; pass real-valued samples (e.g. real and imaginary parts as columns)")
        a = a.double().numpy()  # bfloat16 has no numpy counterpart
    elif type(a).__module__.split(".")[0] == "pandas" and hasattr(a, "to_frame" if not hasattr(a, "columns") else "items"):
        a, labels = _from_pandas(a, name)
    if not isinstance(a, np.ndarray):
        try:
            a = np.asarray(a)
        except ValueError as err:  # ragged nested lists
            raise ValueError(
                f"{name} could not be read as an array ({err}); every row must have the same number of "
                "columns: pass shape (n,) or (n, d)"
            ) from None
    if a.dtype.kind == "c":
        raise ValueError(f"{name} is complex; pass real-valued samples (e.g. real and imaginary parts as columns)")
    if a.ndim == 0:
        raise ValueError(f"{name} is a single number; pass samples of shape (n,) or (n, d{name})")
    if a.ndim > 2:
        raise ValueError(
            f"{name} has {a.ndim} dimensions (shape {a.shape}); pass shape (n,) or (n, d{name}) with samples "
            f"as rows, e.g. {name}.reshape(len({name}), -1) to flatten each sample"
        )
    shape = a.shape
    if a.ndim == 1:
        a = a[:, None]
    if columns is not None and len(columns) == a.shape[1]:
        labels = [f"{name} column {c!r}" for c in columns]
    elif labels is None:
        labels = [f"{name} column {j}" for j in range(a.shape[1])]
    if a.dtype.kind in "biuf":
        m = a.astype(np.float64, copy=False)
    elif a.dtype.kind in "OUS":
        m = _object_to_float(a, labels)
    else:  # datetimes, timedeltas, structured records, ...
        raise _non_numeric(name, a.reshape(-1)[0] if a.size else None, a.dtype)
    if m.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {shape}): it has no samples; pass at least {MIN_N} rows")
    if m.shape[1] == 0:
        raise ValueError(f"{name} has no columns (shape {shape}); it needs at least one coordinate")
    bad = ~np.isfinite(m)
    if bad.any():
        nan, inf = int(np.isnan(m).sum()), int(np.isinf(m).sum())
        per_col = bad.sum(axis=0)
        cols = ", ".join(f"{labels[j]}: {int(per_col[j])}" for j in np.flatnonzero(per_col)[:5])
        more = " ..." if np.count_nonzero(per_col) > 5 else ""
        first = int(np.flatnonzero(bad.any(axis=1))[0])
        kinds = " and ".join(s for s in (f"{nan} NaN" if nan else "", f"{inf} infinite" if inf else "") if s)
        raise ValueError(
            f"{name} contains {kinds} value{'s' if nan + inf > 1 else ''} ({cols}{more}; first at row {first}); "
            f"drop or impute those rows in {'x, y and z' if name == 'z' else 'both x and y'} before estimating"
        )
    return np.ascontiguousarray(m), labels


def as_pair(x, y, min_n: int = MIN_N, x_columns: list[str] | None = None, y_columns: list[str] | None = None) -> Pair:
    """Validate a paired sample.

    Arguments:
        x: samples of X, shape (n, dx) or (n,).
        y: samples of Y, shape (n, dy) or (n,), paired with x row by row.
        min_n: the fewest samples accepted.
        x_columns, y_columns: column names for messages (optional).

    Returns:
        A Pair of float64 matrices.

    Raises:
        ValueError: as `as_matrix`, or x and y have different n, or n < min_n, or x and y are
            pandas objects with different indexes.

    Example:
        >>> p = as_pair(range(20), [[v, -v] for v in range(20)])
        >>> p.n, p.dx, p.dy
        (20, 1, 2)
    """
    same_index(x, y)
    xm, xl = as_matrix(x, "x", x_columns)
    ym, yl = as_matrix(y, "y", y_columns)
    if xm.shape[0] != ym.shape[0]:
        raise ValueError(
            f"x has {xm.shape[0]} samples but y has {ym.shape[0]}; x and y must be paired row by row "
            "(rows are samples, columns are coordinates): pass the same rows for both"
        )
    if xm.shape[0] < min_n:
        raise ValueError(
            f"got n = {xm.shape[0]} samples; mist needs at least {min_n} (below that no estimate of MI "
            "is meaningful): collect more samples"
        )
    return Pair(xm, ym, tuple(xl), tuple(yl))


def _is_pandas(a) -> bool:
    return type(a).__module__.split(".")[0] == "pandas" and hasattr(a, "index")


def same_index(x, y) -> None:
    """Raise ValueError when x and y are both pandas objects with different indexes: pandas
    pairs rows by index, mist by position."""
    if not (_is_pandas(x) and _is_pandas(y)) or x.index.equals(y.index):
        return
    how = ("the same labels in another order" if len(x.index) == len(y.index) and x.index.sort_values().equals(y.index.sort_values())
           else "different labels")
    raise ValueError(
        f"x and y have different indexes ({how}): mist pairs rows by position, so they would be paired wrongly; "
        "align them first (x, y = x.align(y, join='inner', axis=0)), or, if the rows are already in the same order, "
        "drop the indexes (x.reset_index(drop=True), y.reset_index(drop=True))"
    )


def column_ties(col: np.ndarray) -> tuple[int, int]:
    """(number of distinct values, largest count of one value) of a column."""
    _, counts = np.unique(col, return_counts=True)
    return int(counts.size), int(counts.max())


_MAX_LISTED = 3  # more columns than this with one finding are reported in one message


def _first(labels) -> str:
    """The first few column names, e.g. "x column 0, x column 4, x column 9, ..."."""
    return ", ".join(list(labels)[:_MAX_LISTED]) + ", ..."


def column_warnings(pair: Pair) -> list[str]:
    """What is legal but suspicious about the columns.

    - constant column: it carries no information about the other side;
    - heavy ties: the most frequent value of a column holds at least TIE_SHARE (5%) of the rows
      and at least 3 rows (so every column with 20 or fewer distinct values): the estimator
      breaks its ties at random (`mist.discrete.sides`), which leaves the MI unchanged, but the
      model was trained on continuous data and is less sure of such data than its interval says;
    - more than three columns of one side with the same finding give one message that counts them;
    - a column of x with exactly the ranks of a column of y (or exactly reversed ranks), both
      without ties: one is a strictly monotone function of the other, so for continuous data
      MI is infinite and the estimate only shows the model's ceiling.

    Arguments:
        pair: a validated sample.

    Returns:
        One message per finding, empty when nothing is odd.
    """
    out = []
    distinct_cols = {}
    for side, m, labels, stats in (("x", pair.x, pair.x_labels, pair.x_stats), ("y", pair.y, pair.y_labels, pair.y_stats)):
        constant, tied = {}, {}  # column label -> message
        for j in range(m.shape[1]):
            ranks, distinct, top = stats.ranks[:, j], int(stats.distinct[j]), int(stats.top[j])
            if distinct == 1:
                constant[labels[j]] = (
                    f"{labels[j]} is constant ({m[0, j]:g} in all {pair.n} rows): it carries no information "
                    "and adds nothing to the MI"
                )
            elif top >= max(3, TIE_SHARE * pair.n):
                tied[labels[j]] = (
                    f"{labels[j]} has heavy ties: {distinct} distinct values, the most frequent in {top} of "
                    f"{pair.n} rows (warned at >= {TIE_SHARE:.0%}); its ties were broken at random, which leaves "
                    "the MI unchanged, but mist was trained on continuous data and is not calibrated for rounded values"
                )
            elif distinct == pair.n:
                distinct_cols[(side, j)] = ranks
        # many columns with the same finding (wide embeddings, dead units) make one message
        out += list(constant.values()) if len(constant) <= _MAX_LISTED else [
            f"{len(constant)} of the {m.shape[1]} columns of {side} are constant ({_first(constant)}): they carry "
            "no information and add nothing to the MI"
        ]
        out += list(tied.values()) if len(tied) <= _MAX_LISTED else [
            f"{len(tied)} of the {m.shape[1]} columns of {side} have heavy ties ({_first(tied)}; the most frequent "
            f"value in >= {TIE_SHARE:.0%} of rows): their ties were broken at random, which leaves the MI "
            "unchanged, but mist was trained on continuous data and is not calibrated for rounded values"
        ]
    if any(s == "x" for s, _ in distinct_cols) and any(s == "y" for s, _ in distinct_cols):
        seen = {}
        for (side, j), r in distinct_cols.items():
            if side == "x":
                seen.setdefault(r.tobytes(), j)
                seen.setdefault((pair.n - 1 - r).tobytes(), j)
        for (side, j), r in distinct_cols.items():
            if side == "y" and r.tobytes() in seen:
                out.append(
                    f"{pair.x_labels[seen[r.tobytes()]]} and {pair.y_labels[j]} are strictly monotone functions "
                    "of each other (identical ranks): the MI of continuous data with a deterministic relation is "
                    "infinite, and the estimate only reflects the largest MI the model can report"
                )
    return out
