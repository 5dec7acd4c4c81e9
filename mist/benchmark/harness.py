"""The one benchmark harness: any `Estimator` on any `Case`, measured into `Row`s (`mist.contract`).

Every suite runs through `measure`: the release grid (`mist.benchmark.runner`, with worker
processes, skip rules, resampling intervals and resume) and the accuracy suites (`run_suite`:
BMI, warped Gaussians, structures, small n, discrete data). One call is timed (wall seconds of
`estimate_with_info`), its warnings are recorded, its peak memory measured where asked
(`MemoryProbe`), and a failure becomes a row with status "error" rather than the end of a run.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
import tracemalloc
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from mist.contract import Case, Estimator, Row, Sample

__all__ = ["STATUS_OK", "STATUS_SKIPPED", "STATUS_ERROR", "MemoryProbe", "measure", "skipped", "run_suite",
           "warm_up", "quantile_field", "named_estimator", "as_record", "finite", "failure_note"]

STATUS_OK, STATUS_SKIPPED, STATUS_ERROR = "ok", "skipped", "error"


def quantile_field(level: float) -> str:
    """The name a quantile level takes in tables and files: 0.05 -> "q0.05"."""
    return f"q{level:g}"


# ---------------------------------------------------------------------- memory
class MemoryProbe:
    """Peak memory (MB) of one call.

    Modes:
        "rss" (Linux): the peak resident set size during the call minus the resident size just
            before, after handing freed heap pages back (glibc `malloc_trim`) and resetting the
            kernel's peak counter (`/proc/self/clear_refs`). It counts numpy, torch and C++
            extensions alike, and can read low when the call reuses pages the allocator kept.
        "tracemalloc": the peak of Python allocations during the call (numpy's included, torch's
            and scipy's C++ ones not); timings then include its overhead.
        "off": nothing measured. "auto": rss where available, else tracemalloc.
    """

    _CLEAR = "/proc/self/clear_refs"

    def __init__(self, mode: str = "auto"):
        if mode == "auto":
            mode = "rss" if self.rss_available() else "tracemalloc"
        if mode == "rss" and not self.rss_available():
            raise ValueError("memory: rss needs Linux's /proc/self/clear_refs (writable); use tracemalloc or off")
        self.mode = mode
        self._trim = None
        if mode == "rss":
            try:  # glibc: hand freed heap pages back first, so the call's own allocations show in the RSS
                import ctypes

                self._trim = ctypes.CDLL("libc.so.6").malloc_trim
            except (OSError, AttributeError):
                pass

    @classmethod
    def rss_available(cls) -> bool:
        try:
            with open(cls._CLEAR, "w") as f:
                f.write("5")
            return bool(cls._status())
        except OSError:
            return False

    @staticmethod
    def _status() -> dict[str, int]:
        with open("/proc/self/status") as f:
            text = f.read()
        return {k: int(m.group(1)) for k in ("VmHWM", "VmRSS") if (m := re.search(rf"{k}:\s+(\d+) kB", text))}

    @contextlib.contextmanager
    def measure(self) -> Iterator[dict[str, float | None]]:
        """`with probe.measure() as m: ...`; afterwards m["peak_mb"] holds the peak (None when off)."""
        out: dict[str, float | None] = {"peak_mb": None}
        if self.mode == "rss":
            if self._trim is not None:
                self._trim(0)
            with open(self._CLEAR, "w") as f:
                f.write("5")
            before = self._status()["VmRSS"]
            yield out
            out["peak_mb"] = max(0, self._status()["VmHWM"] - before) / 1024
        elif self.mode == "tracemalloc":
            if not tracemalloc.is_tracing():
                tracemalloc.start()
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            yield out
            out["peak_mb"] = max(0, tracemalloc.get_traced_memory()[1] - before) / 2**20
        else:
            yield out


_OFF = MemoryProbe("off")


# ---------------------------------------------------------------------- one estimate
def finite(v: float | None) -> float | None:
    """v as a float, or None where it is missing or not finite (files hold no NaN or inf)."""
    return float(v) if v is not None and math.isfinite(v) else None


def failure_note(err: Exception) -> str:
    """How a failed call is reported in a row's note: its type and message, at most 500 characters."""
    return f"{type(err).__name__}: {err}"[:500]


def skipped(case: Case, column: str, reason: str, sample: Sample | None = None) -> Row:
    """The row of an estimator that did not run on `case`, and why."""
    return Row(case.case_id, case.family or (sample.family if sample else ""), case.n, case.dx, case.dy,
               math.nan if sample is None else float(sample.mi), column, None, None, None, None,
               status=STATUS_SKIPPED, note=reason)


def measure(column: str, estimator: Estimator, case: Case, sample: Sample,
            probe: MemoryProbe = _OFF) -> tuple[Row, float | None]:
    """One warm `estimator.estimate_with_info(sample.x, sample.y)`: its row and peak memory (MB).

    A failure is a row with status "error" and the message in `note`, not an exception: one
    failed estimate must not end a long run.
    """
    caught: list[str] = []
    family = case.family or sample.family
    try:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            with probe.measure() as mem:
                start = time.perf_counter()
                est = estimator.estimate_with_info(sample.x, sample.y)
                seconds = time.perf_counter() - start
            caught = [str(m.message) for m in w]
        row = Row(case.case_id, family, case.n, case.dx, case.dy, float(sample.mi), column, finite(float(est.mi)),
                  finite(est.lower), finite(est.upper), seconds,
                  quantiles={float(q): float(v) for q, v in est.quantiles.items()},
                  warnings=tuple(dict.fromkeys(caught)))
        return row, mem["peak_mb"]
    except Exception as err:  # noqa: BLE001 - reported in the row
        return Row(case.case_id, family, case.n, case.dx, case.dy, float(sample.mi), column, None, None, None, None,
                   status=STATUS_ERROR, note=failure_note(err),
                   warnings=tuple(dict.fromkeys(caught))), None


def run_suite(cases: Sequence[Case], columns: Mapping[str, Estimator], progress: bool = True) -> list[Row]:
    """Every column on every case, in order (each case's samples drawn once), in this process."""
    from rich.progress import track

    rows = []
    it: Iterable = track(cases, description="cases") if progress else cases
    for case in it:
        sample = case.draw()
        for name, estimator in columns.items():
            rows.append(measure(name, estimator, case, sample)[0])
    return rows


def named_estimator(name: str, checkpoint: str | None = None) -> Estimator:
    """A column of the accuracy suites by name: "mist" (the release at `checkpoint`, default the
    shipped one), "core" (mist's classical core alone, with its delta-method interval), "ksg"
    (k = 5), or any other registered baseline (`mist.baselines.ESTIMATORS`)."""
    if name == "mist":
        from mist.inference.estimator import MIEstimator

        return MIEstimator.from_pretrained(checkpoint, device="cpu")
    from mist.baselines import EllipticalCopula, make_estimator

    if name == "core":
        return EllipticalCopula()
    return make_estimator(name, **({"k": 5} if name == "ksg" else {}))


def warm_up(estimators: Iterable[Estimator]) -> None:
    """One call of each estimator on a small sample (imports, allocator and thread pools start)."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 2)).astype(np.float32)
    y = (0.7 * x + 0.7 * rng.standard_normal((256, 2))).astype(np.float32)
    for est in estimators:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.estimate_with_info(x, y)


def as_record(row: Row) -> dict[str, Any]:
    """A row as a flat dict for CSV: the fields of `Row` without the quantiles, warnings joined."""
    return {"case_id": row.case_id, "family": row.family, "n": row.n, "dx": row.dx, "dy": row.dy,
            "true_mi": row.true_mi, "column": row.column, "mi": row.mi, "lower": row.lower, "upper": row.upper,
            "seconds": row.seconds, "status": row.status, "note": row.note, "warnings": " | ".join(row.warnings)[:1000]}
