"""The grid's rows as files hold them: one flat record per (case, estimator), fields `row_fields(levels)`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mist.benchmark.config import EstimatorSpec
from mist.benchmark.harness import STATUS_OK, finite, quantile_field
from mist.contract import Case, Row, Sample

__all__ = ["ROW_FIELDS", "row_fields", "grid_record"]


def row_fields(levels: Sequence[float]) -> list[str]:
    """The columns of estimates.csv, in order, for these quantile levels."""
    return ROW_FIELDS[:ROW_FIELDS.index("warnings")] + [quantile_field(q) for q in levels] + ["warnings", "note"]


ROW_FIELDS = [
    "case_id",           # suite/n/dims/MI target/seed index
    "suite",             # where the case comes from
    "heldout",           # True: families or transforms never seen in training
    "family",            # the exact-MI family drawn
    "transform",         # the transform chains of X and Y
    "n", "dx", "dy",     # samples and dimensions
    "mi_target",         # grid value of MI (nats)
    "true_mi",           # exact MI of the drawn distribution (nats)
    "seed_index",        # 0, 1, ... within the cell
    "data_seed",         # regenerates the data (DatasetSampler.sample_seeded)
    "estimator",         # column name
    "kind",              # mist or a mist.baselines name
    "status",            # ok | skipped | error
    "estimate",          # the point estimate (nats): mist's median, a baseline's estimate
    "error",             # estimate - true_mi (nats)
    "abs_error",         # |error|
    "seconds",           # wall time of the estimate call (warm)
    "peak_mb",           # peak memory of the call (see the module docstring)
    "interval",          # where quantiles come from: "quantiles" (mist), "subsample"/"bootstrap", or ""
    "interval_seconds",  # time of the baseline's resampling interval, not included in seconds
    "draw_seconds",      # time to draw the case's data (the same on each row of a case)
    "warnings",          # warnings raised during the call, " | "-joined
    "note",              # why skipped, or the error
]


def grid_record(case: Case, row: Row, spec: EstimatorSpec, levels: Sequence[float], sample: Sample | None,
                draw_seconds: float | None) -> dict[str, Any]:
    """The grid's flat row (the fields of `row_fields(levels)`) from the harness's row, with the
    drawn sample's transforms and the time the draw took (None where nothing was drawn)."""
    record: dict[str, Any] = {f: None for f in row_fields(levels)}
    record.update(case_id=case.case_id, suite=case.suite, heldout=case.heldout, n=case.n, dx=case.dx, dy=case.dy,
                  mi_target=case.meta["mi_target"], seed_index=case.meta["seed_index"], data_seed=case.seed,
                  estimator=spec.name, kind=spec.kind, interval="", warnings="", note=row.note)
    if sample is not None:
        record.update(family=row.family, true_mi=row.true_mi, transform=sample.transform, draw_seconds=draw_seconds)
    record["status"] = row.status
    if row.status == STATUS_OK:
        record.update(estimate=row.mi, seconds=row.seconds)
        if row.quantiles:
            record["interval"] = "quantiles"
            for q in levels:
                record[quantile_field(q)] = _quantile_at(row.quantiles, q)
    return record


def _quantile_at(quantiles: Mapping[float, float], level: float) -> float | None:
    for q, v in quantiles.items():
        if abs(q - level) < 1e-9:
            return finite(v)
    return None
