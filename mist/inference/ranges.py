"""The ranges a checkpoint was trained on, and the warnings for data or estimates outside them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mist.release import CheckpointError

__all__ = ["TrainedRanges", "NEAR_MAX"]

NEAR_MAX = 0.9  # warn when the interval's upper bound reaches this share of the largest trained MI


def _fmt(v: float) -> str:
    return f"{v:.3g}"


@dataclass(frozen=True)
class TrainedRanges:
    """Inclusive ranges of the training meta-distribution, from a checkpoint card.

    Attributes:
        n: (lo, hi) samples per dataset.
        dx: (lo, hi) dimension of X.
        dy: (lo, hi) dimension of Y.
        mi: (lo, hi) MI labels, nats.
        max_mi_per_dim: the most MI one coordinate pair carried in training (nats), or None;
            the largest trained MI for given dims is min(mi hi, min(dx, dy) * this).
    """

    n: tuple[int, int]
    dx: tuple[int, int]
    dy: tuple[int, int]
    mi: tuple[float, float]
    max_mi_per_dim: float | None = None

    @classmethod
    def from_card(cls, card: dict[str, Any]) -> TrainedRanges:
        """Read `card["trained_ranges"]`; CheckpointError when n, dx, dy or mi is missing."""
        tr = card.get("trained_ranges") or {}
        try:
            n, dx, dy, mi = (tuple(tr[k]) for k in ("n", "dx", "dy", "mi"))
            if not all(len(r) == 2 for r in (n, dx, dy, mi)):
                raise ValueError
            per_dim = tr.get("max_mi_per_dim")
            return cls(
                n=(int(n[0]), int(n[1])),
                dx=(int(dx[0]), int(dx[1])),
                dy=(int(dy[0]), int(dy[1])),
                mi=(float(mi[0]), float(mi[1])),
                max_mi_per_dim=None if per_dim is None else float(per_dim),
            )
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(
                "the checkpoint card has no complete `trained_ranges` ({'n': [lo, hi], 'dx': [lo, hi], 'dy': "
                f"[lo, hi], 'mi': [lo, hi]}}, got {card.get('trained_ranges')!r}); mist needs them to warn outside "
                "them: re-export the checkpoint with `mist-export`"
            ) from None

    @property
    def max_n(self) -> int:
        return self.n[1]

    def mi_max(self, dx: int, dy: int) -> float:
        """The largest MI (nats) trained on for these dimensions."""
        hi = self.mi[1]
        if self.max_mi_per_dim is not None:
            hi = min(hi, min(dx, dy) * self.max_mi_per_dim)
        return hi

    def input_warnings(self, n: int, dx: int, dy: int) -> list[str]:
        """Warnings for n, dx or dy outside the trained ranges."""
        out = []
        if n < self.n[0]:
            out.append(
                f"n = {n} is below the smallest sample size the checkpoint was trained on ({self.n[0]}); the "
                "estimate and its interval are extrapolated: collect more samples if you can"
            )
        elif n > self.n[1]:
            out.append(
                f"n = {n} is above the largest sample size the checkpoint was trained on ({self.n[1]}): the "
                "classical statistics use all rows, but the learned correction and the interval's width are "
                "extrapolated in n"
            )
        for name, d, (lo, hi) in (("dx", dx, self.dx), ("dy", dy, self.dy)):
            if not lo <= d <= hi:
                out.append(
                    f"{name} = {d} is outside the dimensions the checkpoint was trained on ({lo} to {hi}); the "
                    "estimate and its interval are extrapolated"
                    + (": reduce the dimension (e.g. PCA) if you can" if d > hi else "")
                )
        return out

    def estimate_warnings(self, median: float, upper: float, dx: int, dy: int, scale: float, units: str) -> list[str]:
        """Warnings for an estimate outside, or an interval reaching the top of, the trained MI.

        Arguments:
            median, upper: the estimate and its interval's upper bound, nats.
            dx, dy: the dimensions, for the largest trained MI.
            scale: nats per reported unit (1 or ln 2), for the messages.
            units: the reported units' name.
        """
        lo, hi = self.mi[0], self.mi_max(dx, dy)
        where = f"(trained on {_fmt(lo / scale)} to {_fmt(hi / scale)} {units} for dx = {dx}, dy = {dy})"
        if median > hi:
            return [
                f"the estimate {_fmt(median / scale)} {units} is above the largest MI the checkpoint was trained on "
                f"{where}: it is extrapolated; read it as 'at least about this much'"
            ]
        if median < lo:
            return [f"the estimate {_fmt(median / scale)} {units} is below the trained MI range {where}"]
        if upper >= NEAR_MAX * hi and not math.isclose(hi, 0.0):
            return [
                f"the interval's upper bound {_fmt(upper / scale)} {units} reaches the largest MI the checkpoint "
                f"was trained on {where}: the true MI may be higher than the model can report"
            ]
        return []
