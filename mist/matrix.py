"""Pairwise mutual information between many variables: the feature-screening matrix.

`mi_matrix(z)` estimates I(Z_i; Z_j) for every pair of columns of `z` (or of groups of
columns) with the pretrained estimator, all pairs in one `MIEstimator.estimate_batch` call (sets
of equal shape share forward passes), and returns a symmetric matrix with the 90% interval.
`plot_mi_matrix` (or `MIMatrix.plot`) draws it as a heat map.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MIMatrix", "mi_matrix", "plot_mi_matrix"]


@dataclass(frozen=True)
class MIMatrix:
    """Pairwise MI of p variables, in `units`.

    Attributes:
        mi: the median estimates, shape (p, p), symmetric. The diagonal is NaN by convention:
            I(Z_i; Z_i) is the entropy of Z_i, infinite for a continuous variable, and is not
            estimated.
        lower, upper: the 0.05 and 0.95 quantiles (a 90% interval per pair), shape (p, p),
            symmetric, NaN diagonal.
        names: one name per variable (row and column of the matrices).
        groups: the columns of `z` behind each variable.
        units: "nats" or "bits".
        n: samples used.
        warnings: {(i, j): the estimator's warnings for that pair}, i < j, only pairs that have any.
    """

    mi: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    names: tuple[str, ...]
    groups: tuple[tuple[int, ...], ...]
    units: str
    n: int
    warnings: dict[tuple[int, int], list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the matrices as nested lists (NaN as None)."""

        def rows(m: np.ndarray) -> list[list[float | None]]:
            return [[None if math.isnan(v) else float(v) for v in row] for row in m]

        return {
            "names": list(self.names), "groups": [list(g) for g in self.groups], "units": self.units, "n": self.n,
            "mi": rows(self.mi), "lower": rows(self.lower), "upper": rows(self.upper),
            "warnings": {f"{self.names[i]}|{self.names[j]}": w for (i, j), w in self.warnings.items()},
        }

    def plot(self, path: str | Path | None = None, **kwargs):
        """Draw the heat map (see `plot_mi_matrix`); returns the matplotlib Figure."""
        return plot_mi_matrix(self, path, **kwargs)


def _as_table(z) -> tuple[np.ndarray, list[str] | None]:
    """z as a float64 (n, p) matrix and its column names when it has any (a DataFrame)."""
    from mist.inputs import as_matrix

    columns = [str(c) for c in z.columns] if hasattr(z, "columns") else None
    m, _ = as_matrix(z, "z", columns)
    return m, columns


def _checked_groups(groups, p: int, columns: list[str] | None) -> tuple[list[tuple[int, ...]], list[str]]:
    """Validate `groups` against p columns: (column indices per variable, name per variable)."""
    if groups is None:
        if p < 2:
            raise ValueError(f"z has {p} column; mi_matrix needs at least 2 variables (columns, or groups of columns)")
        return [(j,) for j in range(p)], columns or [f"z{j}" for j in range(p)]
    if isinstance(groups, Mapping):
        names, members = [str(k) for k in groups], list(groups.values())
    elif isinstance(groups, Sequence) and not isinstance(groups, (str, bytes)):
        names, members = None, list(groups)
    else:
        raise ValueError(  # noqa: TRY004 (bad input is a ValueError throughout mist)
            f"groups must be a list of lists of column indices or a dict name -> column indices, got {type(groups).__name__}"
        )
    if len(members) < 2:
        raise ValueError(f"groups has {len(members)} group; mi_matrix needs at least 2")
    out: list[tuple[int, ...]] = []
    owner: dict[int, int] = {}
    for g, cols in enumerate(members):
        label = f"group {names[g]!r}" if names else f"group {g}"
        if isinstance(cols, (int, np.integer)) and not isinstance(cols, bool):
            cols = [cols]
        try:
            idx = [int(c) for c in cols if isinstance(c, (int, np.integer)) and not isinstance(c, bool)]
            ok = len(idx) == len(cols)
        except TypeError:  # not a sequence
            ok = False
        if not ok:
            raise ValueError(f"{label} must be a list of integer column indices, got {cols!r}")
        if not idx:
            raise ValueError(f"{label} is empty; every group needs at least one column")
        bad = [c for c in idx if not 0 <= c < p]
        if bad:
            raise ValueError(f"{label} has column index {bad[0]} out of range: z has {p} columns (0 to {p - 1})")
        if len(set(idx)) < len(idx):
            raise ValueError(f"{label} lists a column twice: {idx}")
        for c in idx:
            if c in owner:
                first = f"group {names[owner[c]]!r}" if names else f"group {owner[c]}"
                raise ValueError(f"groups overlap: column {c} is in {first} and in {label}; each column may be in one group")
            owner[c] = g
        out.append(tuple(idx))
    if names is None:
        names = [
            columns[g[0]] if columns and len(g) == 1 else "+".join(columns[c] for c in g) if columns else f"g{i}"
            for i, g in enumerate(out)
        ]
    return out, names


def mi_matrix(
    z,
    groups: Sequence[Sequence[int]] | Mapping[str, Sequence[int]] | None = None,
    *,
    names: Sequence[str] | None = None,
    units: str = "nats",
    estimator=None,
    checkpoint: str | Path | None = None,
    device: str = "auto",
) -> MIMatrix:
    """Pairwise mutual information I(Z_i; Z_j) between p variables, with 90% intervals.

    All p (p - 1) / 2 pairs go to the estimator in one `estimate_batch` call. Each pair is
    estimated once and mirrored, so the matrix is symmetric; the diagonal is NaN (the MI of a
    continuous variable with itself is infinite and is not estimated).

    Arguments:
        z: samples, shape (n, p): numpy array, torch tensor, pandas DataFrame (its column names
            become the variable names) or nested list.
        groups: None (each column is a variable), a list of lists of 0-based column indices
            (each group is one multivariate variable), or a dict name -> column indices. Groups
            must be non-empty, in range and disjoint; columns in no group are ignored.
        names: a name per variable, overriding the default (column names, dict keys, or `z0`,
            `z1`, ... / `g0`, `g1`, ...).
        units: "nats" or "bits".
        estimator: an `MIEstimator` (anything with `estimate_batch(pairs, units=...)`); by default
            the shipped checkpoint (or `checkpoint`), loaded once and kept.
        checkpoint, device: for the default estimator, as in `mist.estimate`.

    Returns:
        An MIMatrix: `mi`, `lower`, `upper` (p x p numpy arrays, in `units`), `names`, `groups`,
        `warnings` per pair; `.plot(path)` draws a heat map. The estimator's warnings (ties,
        trained ranges) are collected per pair and summarised in one `MISTWarning`.

    Raises:
        ValueError: bad z (as `mist.estimate`), bad groups (empty, out of range, overlapping,
            not integers, fewer than two), or names of the wrong length.

    Example:
        >>> import numpy as np, mist                                  # doctest: +SKIP
        >>> z = np.random.default_rng(0).normal(size=(500, 4))        # doctest: +SKIP
        >>> z[:, 1] += z[:, 0]                                        # doctest: +SKIP
        >>> m = mist.mi_matrix(z)          # m.mi[0, 1] about 0.35 nats, the rest about 0  # doctest: +SKIP
        >>> m.plot("mi.png")                                          # doctest: +SKIP
    """
    from mist.inference.estimator import UNITS, MISTWarning, shared_estimator

    if units not in UNITS:
        raise ValueError(f"units must be 'nats' or 'bits', got {units!r}")
    table, columns = _as_table(z)
    members, default_names = _checked_groups(groups, table.shape[1], columns)
    if names is not None:
        names = [str(s) for s in names]
        if len(names) != len(members):
            raise ValueError(f"names has {len(names)} entries for {len(members)} variables")
    names = tuple(names or default_names)
    if estimator is None:
        estimator = shared_estimator(checkpoint, device)
    p = len(members)
    index = [(i, j) for i in range(p) for j in range(i + 1, p)]
    pairs = [(table[:, members[i]], table[:, members[j]]) for i, j in index]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = estimator.estimate_batch(pairs, units=units)
    out = {key: np.full((p, p), np.nan) for key in ("mi", "lower", "upper")}
    notes: dict[tuple[int, int], list[str]] = {}
    for (i, j), r in zip(index, results):
        for key, matrix in out.items():
            matrix[i, j] = matrix[j, i] = float(getattr(r, key))
        if getattr(r, "warnings", None):
            notes[(i, j)] = list(r.warnings)
    others = [w for w in caught if not issubclass(w.category, MISTWarning)]
    for w in others:  # not the estimator's own per-pair messages: pass them on unchanged
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if notes:
        first = next(iter(notes.items()))
        warnings.warn(
            f"{len(notes)} of {len(index)} pairs carry warnings (see MIMatrix.warnings), e.g. "
            f"{names[first[0][0]]} / {names[first[0][1]]}: {first[1][0]}",
            MISTWarning,
            stacklevel=2,
        )
    return MIMatrix(out["mi"], out["lower"], out["upper"], names, tuple(members), units, table.shape[0], notes)


def plot_mi_matrix(
    m: MIMatrix, path: str | Path | None = None, *, title: str | None = None, annotate: bool | None = None, cmap: str = "viridis"
):
    """Heat map of an MIMatrix: colour is the median MI; each cell also prints [lower, upper]
    when there are at most 12 variables (`annotate`); the diagonal (not estimated) is blank.

    Arguments:
        m: the result of `mi_matrix`.
        path: where to write the PNG (parent folders are created); None draws without saving.
        title: the figure title; by default it names n and the units.
        annotate: write the numbers in the cells; by default when p <= 12.
        cmap: a matplotlib colour map.

    Returns:
        The matplotlib Figure (drawn with the Agg backend when no backend was chosen).
    """
    import matplotlib

    if "matplotlib.pyplot" not in __import__("sys").modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = len(m.names)
    annotate = p <= 12 if annotate is None else annotate
    size = min(4.0 + 0.55 * p, 18.0)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    shown = np.ma.masked_invalid(m.mi)
    image = ax.imshow(shown, cmap=cmap, vmin=0.0, vmax=max(float(np.nanmax(m.mi)) if p > 1 else 1.0, 1e-9))
    fig.colorbar(image, ax=ax, label=f"I (median, {m.units})", shrink=0.8)
    ax.set_xticks(range(p), m.names, rotation=60, ha="right")
    ax.set_yticks(range(p), m.names)
    if annotate:
        top = float(np.nanmax(m.mi)) if p > 1 else 1.0
        for i in range(p):
            for j in range(p):
                if i == j:
                    continue
                dark = m.mi[i, j] < 0.6 * top
                ax.text(j, i, f"{m.mi[i, j]:.2f}\n[{m.lower[i, j]:.2f}, {m.upper[i, j]:.2f}]", ha="center",
                        va="center", fontsize=7, color="white" if dark else "black")
    ax.set_title(title or f"Pairwise mutual information (mist, n = {m.n}, {m.units}; 90% intervals in brackets)",
                 fontsize=10)
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    plt.close(fig)  # no figure piles up in loops; the returned Figure can still be saved or shown
    return fig
