"""A release's card, typed: parsed and validated in one place, when the release is loaded.

The card is the JSON half of a release (`mist.release`): the architecture, the quantile levels,
the ranges the model was trained on, the calibration, the training provenance, the package
version and the sha256 of the weights. `Card` checks all of it at once, so that a card that
loads is one every part of mist can use, and gives the parts that code reads typed names
(`levels`, `trained_ranges`, `calibration`, `training`). It is also a read-only mapping of
the JSON itself, for the keys only some releases have (`adaptation`, `exported`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CheckpointError", "Card", "TrainedRanges", "NEAR_MAX", "FORMAT_VERSION"]

FORMAT_VERSION = 2  # 2: the weights' header carries the card's sha256


class CheckpointError(ValueError):
    """A release checkpoint is missing, corrupt or does not fit this version of mist."""


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
    def from_card(cls, card: Mapping[str, Any]) -> TrainedRanges:
        """Read `card["trained_ranges"]`; CheckpointError when n, dx, dy or mi is missing or not
        [low, high] with low <= high."""
        tr = card.get("trained_ranges") or {}
        try:
            n, dx, dy, mi = (tuple(tr[k]) for k in ("n", "dx", "dy", "mi"))
            if not all(len(r) == 2 and r[0] <= r[1] for r in (n, dx, dy, mi)):
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
                f"[lo, hi], 'mi': [lo, hi]}} with lo <= hi, got {card.get('trained_ranges')!r}); mist needs them to warn outside "
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


class Card(Mapping[str, Any]):
    """A checked card: typed fields for what mist reads, a read-only mapping of the JSON for the rest.

    Arguments:
        raw: the card's JSON object.
        path: where it was read from (named in errors), or None for a card built in memory.
        release: check the whole release schema (format version, architecture, levels, weights
            sha256, package version), as `mist.release.load_release` does; False checks only the
            parts present, for a card built in memory around a network (tests, fine-tuning).
        levels: the network's quantile levels, for a card that does not record them.

    Raises:
        CheckpointError: the card does not follow the schema, its ranges are incomplete, or its
            calibration does not fit its quantile levels; the message says what and how to mend it.
    """

    def __init__(self, raw: Mapping[str, Any], path: str | Path | None = None, *, release: bool = False,
                 levels: Sequence[float] | None = None):
        if isinstance(raw, Card):
            raw = raw.raw
        self._where = f"checkpoint card {path}" if path is not None else "the checkpoint card"
        self._require(isinstance(raw, Mapping), f"it is a JSON {type(raw).__name__}, not an object")
        self.raw: dict[str, Any] = dict(raw)
        if release:
            self._check_release()
        levels = self.raw.get("quantile_levels") or (self.raw.get("architecture") or {}).get("quantiles") or levels
        self.levels: tuple[float, ...] | None = None if levels is None else tuple(float(q) for q in levels)
        self.trained_ranges: TrainedRanges | None = (
            TrainedRanges.from_card(self.raw) if self.raw.get("trained_ranges") is not None else None)
        cal = self.raw.get("calibration")
        self._require(cal is None or isinstance(cal, Mapping), "`calibration` must be an object")
        self.calibration: dict[str, Any] | None = self._checked_calibration(cal) if cal else None
        self.training: dict[str, Any] = dict(self.raw.get("training") or {})

    # ------------------------------------------------------------------ typed fields
    @property
    def architecture(self) -> dict[str, Any]:
        return dict(self.raw.get("architecture") or {})

    @property
    def weights_sha256(self) -> str | None:
        return self.raw.get("weights_sha256")

    @property
    def mist_version(self) -> str | None:
        return self.raw.get("mist_version")

    def ranges(self) -> TrainedRanges:
        """The trained ranges, which estimation needs (CheckpointError when the card has none)."""
        if self.trained_ranges is None:
            return TrainedRanges.from_card(self.raw)  # raises, with the fix
        return self.trained_ranges

    # ------------------------------------------------------------------ mapping of the JSON
    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    def __repr__(self) -> str:
        return f"Card(levels={self.levels}, trained_ranges={self.trained_ranges}, calibrated={self.calibration is not None})"

    # ------------------------------------------------------------------ checks
    def _require(self, ok: bool, what: str) -> None:
        if not ok:
            raise CheckpointError(
                f"{self._where} is malformed: {what}; re-export it with `mist-export` "
                "(or restore the file, e.g. `git checkout`, or reinstall mist)"
            )

    def _check_release(self) -> None:
        from mist.model import NetworkConfig

        card = self.raw
        self._require(card.get("format_version") == FORMAT_VERSION,
                      f"format_version is {card.get('format_version')!r}, this mist reads {FORMAT_VERSION} "
                      "(upgrade mist, or re-export an older checkpoint)")
        for key, kind in (("architecture", dict), ("quantile_levels", list), ("weights_sha256", str), ("mist_version", str)):
            self._require(isinstance(card.get(key), kind), f"`{key}` is missing or not a {kind.__name__}")
        fields = set(NetworkConfig.__dataclass_fields__)
        extra = sorted(set(card["architecture"]) - fields)
        self._require(not extra, f"`architecture` has unknown keys {extra} (known: {sorted(fields)})")
        levels = card["quantile_levels"]
        self._require(all(isinstance(q, (int, float)) and 0 < q < 1 for q in levels) and levels == sorted(set(levels))
                      and 0.5 in levels, f"`quantile_levels` {levels} must increase within (0, 1) and hold 0.5")
        self._require(list(card["architecture"].get("quantiles", levels)) == levels,
                      "`quantile_levels` differ from the architecture's quantiles")
        tr = card.get("trained_ranges")
        if tr is not None:
            ok = isinstance(tr, dict) and all(
                isinstance(tr.get(k), list) and len(tr[k]) == 2 and all(isinstance(v, (int, float)) for v in tr[k])
                and tr[k][0] <= tr[k][1] for k in ("n", "dx", "dy", "mi"))
            self._require(ok, "`trained_ranges` needs n, dx, dy and mi as [low, high] with low <= high")

    def _checked_calibration(self, cal: Mapping[str, Any]) -> dict[str, Any]:
        """The split-conformal calibration (`mist.calibration`), checked against the levels."""
        from mist.calibration import offset_tables  # the one reader of the tables' layout

        levels = self.levels
        try:
            edges, dim_edges = list(cal["edges"]), list(cal.get("dim_edges") or [])
            tables = offset_tables(cal)
            ok = levels is not None and (not dim_edges or (len(tables) == len(dim_edges) - 1
                                                           and dim_edges == sorted(set(dim_edges))))
            for table in tables:
                offsets = [list(map(float, row)) for row in table]
                ok = ok and len(offsets) == len(edges) - 1 and all(len(row) == len(levels) for row in offsets)
            ok = ok and [float(q) for q in cal.get("levels", levels)] == list(levels)
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise CheckpointError(
                "the card's `calibration` does not fit this checkpoint (it needs `edges` of n bins and one offset per "
                f"quantile level {list(levels or ())} per bin, per group of `dim_edges` when it has them); "
                "recalibrate with `mist calibrate`"
            )
        return dict(cal)
