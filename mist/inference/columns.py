"""Each side reduced to the columns that carry information: exact reductions only.

A column that is a function of the other columns of its side adds nothing to I(X;Y), since
I((a, f(a)); Y) = I(a; Y). Three such functions are detected exactly and their columns left out:

- constant columns;
- strictly monotone copies: a column with the same ranks as another of its side (or the
  reversed ranks), duplicates included;
- exact linear dependence: a column that is a linear combination of other columns of its side
  (rank deficiency, e.g. 16 columns that are multiples of one latent).

Left in, each makes the side's correlation matrix singular, and the estimator reads the
singularity as a deterministic relation (MI in the tens of nats). Columns that are *nearly*
linearly dependent are kept, with a warning; nonlinear functions of several columns are the
manifold check's concern (`mist.inference.trust`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

from mist.inputs import ColumnStats, Pair

__all__ = ["LINEAR_TOL", "NEAR_TOL", "ColumnReduction", "informative_columns", "listed"]

LINEAR_TOL = 1e-8  # |R_ii| / |R_00| of the pivoted QR of standardised columns below this: exactly dependent
NEAR_TOL = 1e-4  # ... below this (and above LINEAR_TOL): nearly dependent, kept with a warning
_MAX_LISTED = 3


def listed(labels: list[str], unit: str = "") -> str:
    """The first few labels, e.g. "x column 0, x column 4, x column 9 and 2 more" (+ unit)."""
    more = len(labels) - _MAX_LISTED
    return ", ".join(labels) if more <= 0 else f"{', '.join(labels[:_MAX_LISTED])} and {more} more{unit}"


@dataclass(frozen=True)
class ColumnReduction:
    """A pair with the columns that add nothing left out, and what was found.

    Attributes:
        pair: the reduced pair (the input itself when nothing was left out, or when a side is
            entirely constant: its MI is then exactly 0, which the caller reports).
        constant: labels of the constant columns.
        notes: one message per finding (left-out copies and combinations, near dependence).
    """

    pair: Pair
    constant: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def all_constant(self) -> bool:
        return self.pair.x_stats.distinct.max() <= 1 or self.pair.y_stats.distinct.max() <= 1


def _monotone_copies(stats: ColumnStats, keep: np.ndarray, labels: tuple[str, ...]) -> dict[int, int]:
    """{column: the earlier kept column it is a strictly monotone function of}."""
    n = stats.ranks.shape[0]
    seen: dict[bytes, int] = {}
    copies = {}
    for j in np.flatnonzero(keep):
        r = stats.ranks[:, j]
        key = r.tobytes()
        if key in seen:
            copies[int(j)] = seen[key]
            continue
        seen[key] = int(j)
        seen.setdefault(((n - 1) - r).tobytes(), int(j))  # a decreasing function: reversed (average) ranks
    return copies


def _linear_rank(m: np.ndarray) -> tuple[np.ndarray, float]:
    """(the columns of a maximal linearly independent set, in order; the smallest kept |R_ii| / |R_00|)."""
    z = m - m.mean(axis=0)
    z = z / np.abs(z).max(axis=0)  # first to order 1: squares of tiny values (1e-200) would underflow
    z = z / np.linalg.norm(z, axis=0)
    _, r, piv = scipy.linalg.qr(z, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int((diag > LINEAR_TOL * diag[0]).sum())
    return np.sort(piv[:rank]), float(diag[rank - 1] / diag[0])


def _side(side: str, m: np.ndarray, stats: ColumnStats, labels: tuple[str, ...]) -> tuple[np.ndarray, list[str], list[str]]:
    """(columns to keep, constant labels, notes) for one side."""
    n, d = m.shape
    keep = stats.distinct > 1
    constant = [labels[j] for j in np.flatnonzero(~keep)]
    notes = []
    if keep.sum() == 0:
        return keep, constant, notes
    copies = _monotone_copies(stats, keep, labels)
    if copies:
        keep[list(copies)] = False
        pairs = [f"{labels[j]} of {labels[i]}" for j, i in copies.items()]
        notes.append(
            f"{len(copies)} column{'s' if len(copies) > 1 else ''} of {side} "
            f"{'are strictly monotone copies' if len(copies) > 1 else 'is a strictly monotone copy'} of another "
            f"of its columns (the same ranks: {listed(pairs)}): a function of the other column adds no information, "
            f"so {'they were' if len(copies) > 1 else 'it was'} left out"
        )
    live = np.flatnonzero(keep)
    if 2 <= live.size <= n // 2:  # with fewer rows than this, every side of the sample looks dependent
        independent, smallest = _linear_rank(m[:, live])
        if independent.size < live.size:
            out = [int(j) for j in live if j not in set(live[independent])]
            keep[out] = False
            notes.append(
                f"{side} has linear rank {independent.size} over its {live.size} non-constant columns: "
                f"{listed([labels[j] for j in out])} "
                f"{'are exact linear combinations' if len(out) > 1 else 'is an exact linear combination'} "
                f"of the others and add{'' if len(out) > 1 else 's'} no information, so "
                f"{'they were' if len(out) > 1 else 'it was'} left out"
            )
        elif smallest < NEAR_TOL:
            notes.append(
                f"the columns of {side} are nearly linearly dependent (relative singular value {smallest:.1e}): one is "
                "almost a linear combination of the others, which the estimator may read as a near-deterministic "
                "relation; if that dependence is exact up to noise, leave the redundant column out"
            )
    return keep, constant, notes


def informative_columns(pair: Pair) -> ColumnReduction:
    """The pair without its constant columns, monotone copies and exact linear combinations.

    Arguments:
        pair: a validated sample.

    Returns:
        A ColumnReduction; its `pair` reuses the input's ranks for the columns kept.
    """
    keep_x, const_x, notes_x = _side("x", pair.x, pair.x_stats, pair.x_labels)
    keep_y, const_y, notes_y = _side("y", pair.y, pair.y_stats, pair.y_labels)
    constant, notes = const_x + const_y, notes_x + notes_y
    if not keep_x.any() or not keep_y.any():
        return ColumnReduction(pair, constant, [])
    if keep_x.all() and keep_y.all():
        return ColumnReduction(pair, constant, notes)
    def kept(stats: ColumnStats, keep: np.ndarray) -> ColumnStats:  # reuse the ranks
        return ColumnStats(stats.ranks[:, keep], stats.distinct[keep], stats.top[keep])

    out = Pair.with_stats(pair.x[:, keep_x], pair.y[:, keep_y],
                          tuple(lab for lab, k in zip(pair.x_labels, keep_x) if k),
                          tuple(lab for lab, k in zip(pair.y_labels, keep_y) if k),
                          kept(pair.x_stats, keep_x), kept(pair.y_stats, keep_y))
    return ColumnReduction(out, constant, notes)
