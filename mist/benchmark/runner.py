"""Run every estimator on every case: estimates, quantiles, time per estimate and peak memory.

How things are measured (also stated in every summary):
- Time: wall-clock seconds of one `estimate(x, y)` call per case, after a warm-up call of each
  estimator in each worker process (imports, allocator and thread-pool start-up excluded). The
  tables report medians over cases. A baseline's bootstrap interval is timed separately
  (`interval_seconds`) and not included. Neural baselines train a critic inside every call.
- Memory (`peak_mb`): with "rss" (Linux), the peak resident set size of the worker during the call
  minus its resident size just before, after returning freed heap pages to the system (glibc
  `malloc_trim`) and resetting the kernel's peak counter (`/proc/self/clear_refs`); it counts
  numpy, torch and C++ extensions (scipy's KD-tree) alike, and can still read low when the call
  reuses pages the allocator kept. With "tracemalloc", the peak of Python allocations during
  the call (numpy's included; torch's and scipy's C++ ones not), and the timing includes its
  overhead.
- Threads: each worker limits torch and the BLAS/OpenMP pools to `threads` (threadpoolctl).
- Determinism: the data of a case depend only on the master seed and the case's key; baselines
  use their fixed default seeds and bootstrap resampling the case's seed. Results do not depend
  on `workers` or on the order cases run in (timings of course do).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mist.benchmark.cases import build_cases, suite_generator
from mist.benchmark.config import MIST, BenchmarkConfig, EstimatorSpec
from mist.benchmark.harness import (
    STATUS_ERROR,
    STATUS_OK,
    MemoryProbe,
    failure_note,
    finite,
    measure,
    quantile_field,
    skipped,
    warm_up,
)
from mist.benchmark.records import ROW_FIELDS, grid_record, row_fields
from mist.contract import Case, Estimator

__all__ = ["ROW_FIELDS", "row_fields", "load_column", "run_case", "run_benchmark", "report_only", "plan_text",
           "select_cases", "ResultsExist"]

JSONL = "estimates.jsonl"
META = "meta.json"


# ---------------------------------------------------------------------- estimator columns
@dataclasses.dataclass
class Column:
    """A loaded estimator of the config: its spec, the `Estimator`, and what the summary says about it."""

    spec: EstimatorSpec
    estimator: Estimator
    info: dict[str, Any]


def load_column(spec: EstimatorSpec) -> Column:
    """Build (and, for mist, load) the estimator of one column.

    Raises:
        mist.CheckpointError (a ValueError): the mist checkpoint is missing or corrupt.
    """
    if spec.kind == MIST:
        from mist.inference import MIEstimator

        est = MIEstimator.from_pretrained(spec.checkpoint, device=spec.device, **spec.options)
        card = est.card
        info = {"checkpoint": spec.checkpoint or "default (shipped)", "weights_sha256": card.weights_sha256,
                "trained_ranges": card.get("trained_ranges"), "mist_version": card.mist_version,
                "training_generator": card.training.get("generator")}
        return Column(spec, est, info)
    from mist.baselines import make_estimator

    est = make_estimator(spec.kind, **spec.options)
    return Column(spec, est, {"estimator": repr(est)})


# ---------------------------------------------------------------------- one case
def run_case(case: Case, cfg: BenchmarkConfig, columns: Sequence[Column], probe: MemoryProbe) -> list[dict[str, Any]]:
    """Every estimator on one case: one row each (skipped and failed estimators too).

    Returns:
        Rows with the fields of `row_fields(cfg.levels)`; values in nats, seconds and MB.
    """
    from mist.baselines import bootstrap_interval

    seed_index = case.meta["seed_index"]
    reasons = [c.spec.skip_reason(case.n, case.dx, case.dy, seed_index, case.suite) for c in columns]
    sample, draw_seconds = None, None
    if any(r is None for r in reasons):
        start = time.perf_counter()
        sample = case.draw()
        draw_seconds = time.perf_counter() - start
    records = []
    for column, reason in zip(columns, reasons):
        spec = column.spec
        if reason is not None:
            records.append(grid_record(case, skipped(case, spec.name, reason, sample), spec, cfg.levels, sample,
                                       draw_seconds))
            continue
        row, peak_mb = measure(spec.name, column.estimator, case, sample, probe)
        record = grid_record(case, row, spec, cfg.levels, sample, draw_seconds)
        record["peak_mb"] = peak_mb
        caught = list(row.warnings)
        if row.status == STATUS_OK:
            boot_reason = spec.bootstrap_skip_reason(case.n, case.dx, case.dy, seed_index, case.suite)
            if spec.bootstrap is not None and boot_reason is None:
                try:
                    with warnings.catch_warnings(record=True) as w:
                        warnings.simplefilter("always")
                        start = time.perf_counter()
                        b = bootstrap_interval(column.estimator, sample.x, sample.y, levels=cfg.levels,
                                               n_boot=spec.bootstrap.n_boot, method=spec.bootstrap.method,
                                               seed=case.seed % 2**32)
                        record["interval_seconds"] = time.perf_counter() - start
                        caught += [str(m.message) for m in w]
                    record["interval"] = spec.bootstrap.method
                    for q, v in zip(cfg.levels, b.quantiles):
                        record[quantile_field(q)] = finite(float(v))
                except Exception as err:  # noqa: BLE001 - one failure must not end a long run; it is reported
                    record.update(status=STATUS_ERROR, estimate=None, note=failure_note(err))
            elif spec.bootstrap is not None:
                record["note"] = f"no interval: {boot_reason}"
        if record["estimate"] is not None and record["true_mi"] is not None:
            record["error"] = record["estimate"] - record["true_mi"]
            record["abs_error"] = abs(record["error"])
        record["warnings"] = " | ".join(dict.fromkeys(caught))[:1000]
        records.append(record)
    return records


# ---------------------------------------------------------------------- worker processes
_STATE: dict[str, Any] = {}


def _limit_threads(threads: int):
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    return threadpool_limits(limits=threads)


def _init_worker(cfg_dict: dict[str, Any], names: list[str]) -> None:
    cfg = BenchmarkConfig.from_dict(cfg_dict).select(names)
    _STATE["limits"] = _limit_threads(cfg.threads)
    _STATE["cfg"] = cfg
    _STATE["columns"] = [load_column(s) for s in cfg.estimators]
    _STATE["probe"] = MemoryProbe(cfg.memory)
    warm_up(c.estimator for c in _STATE["columns"])


def _run_in_worker(case: Case) -> list[dict[str, Any]]:
    return run_case(case, _STATE["cfg"], _STATE["columns"], _STATE["probe"])


# ---------------------------------------------------------------------- planning
def select_cases(cases: Sequence[Case], fraction: float | None) -> list[Case]:
    """A deterministic subset of about `fraction` of the cases (by their data seed); all for None."""
    if fraction is None or fraction >= 1:
        return list(cases)
    if not 0 < fraction:
        raise ValueError(f"subsample must be in (0, 1], got {fraction}")
    return [c for c in cases if c.seed / 2**63 < fraction]


def plan_text(cfg: BenchmarkConfig, cases: Sequence[Case], dropped: Sequence[Any]) -> str:
    """What a run will do: cases per suite, each estimator's runs and skips (by rule), dropped cells."""
    lines = [f"{len(cases)} cases: {len(cfg.suites)} suites x {len(cfg.grid.n)} n x {len(cfg.grid.dims)} dims x "
             f"{len(cfg.grid.mi)} MI targets x {cfg.seeds} seeds (less dropped cells); "
             f"{cfg.workers} worker(s) x {cfg.threads} thread(s)"]
    for s in cfg.suites:
        k = sum(c.suite == s.name for c in cases)
        lines.append(f"  suite {s.name}: {k} cases, generator {s.generator}, "
                     f"{'held out' if s.heldout else 'in distribution'}")
    for d in dropped:
        lines.append(f"  dropped cell {d.suite} dx={d.dx} dy={d.dy} MI={d.mi_target:g}: {d.reason}")
    for e in cfg.estimators:
        skipped: dict[str, int] = {}
        boots = 0
        for c in cases:
            r = e.skip_reason(c.n, c.dx, c.dy, c.meta["seed_index"], c.suite)
            if r is not None:
                skipped[r] = skipped.get(r, 0) + 1
            elif e.bootstrap is not None and e.bootstrap_skip_reason(c.n, c.dx, c.dy, c.meta["seed_index"], c.suite) is None:
                boots += 1
        runs = len(cases) - sum(skipped.values())
        extra = f", bootstrap intervals ({e.bootstrap.n_boot} resamples) on {boots}" if e.bootstrap else ""
        lines.append(f"  {e.name}: runs {runs} of {len(cases)}{extra}")
        for reason, k in skipped.items():
            lines.append(f"    skips {k}: {reason}")
    return "\n".join(lines)


# ---------------------------------------------------------------------- the whole run
class ResultsExist(RuntimeError):
    """The output folder already holds results of a run and neither resume nor overwrite was asked for."""


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    if path.exists():
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError:  # a line cut by a kill: that case runs again
                        pass
    return rows


def _versions() -> dict[str, Any]:
    import platform

    import torch

    from mist.version import __version__

    out = {"mist": __version__, "numpy": np.__version__, "torch": torch.__version__,
           "python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        import subprocess

        root = Path(__file__).resolve().parents[2]
        out["git_commit"] = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                                           text=True, timeout=5).stdout.strip() or None
    except Exception:  # noqa: BLE001 - provenance only
        out["git_commit"] = None
    return out


def run_benchmark(
    cfg: BenchmarkConfig,
    out: str | Path,
    *,
    command: str = "",
    resume: bool = False,
    overwrite: bool = False,
    subsample: float | None = None,
    progress: bool = True,
    plots: bool = True,
) -> dict[str, Any]:
    """Run the benchmark and write every output into `out` (see `mist.benchmark.report`).

    Arguments:
        cfg: the configuration.
        out: the output folder (created).
        command: the command line that made the run, quoted in the summary.
        resume: continue a run in `out` that was stopped (same config fingerprint and subsample).
        overwrite: discard results already in `out`.
        subsample: run only about this fraction of the cases (deterministic), or None for all.
        progress: show a progress bar.
        plots: write the PNG plots (needs matplotlib).

    Returns:
        The metadata written to meta.json (with "outputs": the files written).

    Raises:
        ResultsExist: `out` holds results and neither `resume` nor `overwrite` was given.
        ValueError: `resume` with a different config; a mist checkpoint that does not load.
    """
    from mist.benchmark.report import write_report

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jsonl, meta_path = out / JSONL, out / META
    cases, dropped = build_cases(cfg)
    cases = select_cases(cases, subsample)
    if not cases:
        raise ValueError("the grid has no cases (every cell dropped, or the subsample is empty)")
    done_rows: list[dict[str, Any]] = []
    elapsed_before = 0.0
    if jsonl.exists() and not overwrite:
        if not resume:
            raise ResultsExist(f"{out} already holds results ({JSONL}); pass --resume to continue that run or "
                               "--overwrite to start again")
        old = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        if old.get("fingerprint") != cfg.fingerprint() or old.get("subsample") != subsample:
            raise ValueError(f"cannot resume: {out} holds a run of another config or subsample; use --overwrite "
                             "or another --out")
        done_rows = _read_jsonl(jsonl)
        elapsed_before = float(old.get("wall_seconds") or 0.0)
    elif jsonl.exists():
        jsonl.unlink()
    names = [e.name for e in cfg.estimators]
    done = {}
    for r in done_rows:
        done.setdefault(r["case_id"], {})[r["estimator"]] = r
    complete = {cid for cid, by in done.items() if all(n in by for n in names)}
    todo = [c for c in cases if c.case_id not in complete]

    meta: dict[str, Any] = {
        "name": cfg.name, "command": command, "fingerprint": cfg.fingerprint(), "subsample": subsample,
        "config": cfg.to_dict(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "versions": _versions(),
        "memory": MemoryProbe(cfg.memory).mode, "plan": plan_text(cfg, cases, dropped),
        "dropped": [dataclasses.asdict(d) for d in dropped], "cases": len(cases),
        "suites": {s.name: {k: sorted(v) for k, v in suite_generator(s).items() if k in ("families", "transforms")}
                   for s in cfg.suites},
    }
    from omegaconf import OmegaConf

    OmegaConf.save(OmegaConf.create(cfg.to_dict()), out / "config.yaml")
    # Load each mist checkpoint here first: a missing or corrupt one stops the run before any work.
    columns = [load_column(s) for s in cfg.estimators] if cfg.workers == 1 else \
        [load_column(s) if s.kind == MIST else None for s in cfg.estimators]
    meta["estimators"] = {s.name: (c.info if c is not None else {"kind": s.kind, "options": dict(s.options)})
                          for s, c in zip(cfg.estimators, columns)}
    meta_path.write_text(json.dumps(meta, indent=2, default=str) + "\n")

    start = time.perf_counter()
    keep = [r for r in done_rows if r["case_id"] in complete]
    with open(jsonl, "w") as f:  # rewrite without the partial cases of a stopped run
        for r in keep:
            f.write(json.dumps(r) + "\n")
    with open(jsonl, "a") as f, _progress(progress, len(todo), cfg.name) as advance:
        def record(rows: list[dict[str, Any]]) -> None:
            for r in rows:
                f.write(json.dumps(r) + "\n")
            f.flush()
            advance(rows[0]["case_id"])

        if cfg.workers == 1:
            limits = _limit_threads(cfg.threads)
            try:
                probe = MemoryProbe(cfg.memory)
                warm_up(c.estimator for c in columns)
                for case in todo:
                    record(run_case(case, cfg, columns, probe))
            finally:
                limits.restore_original_limits()
        elif todo:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            del columns
            order = sorted(todo, key=lambda c: -c.n * (c.dx + c.dy))  # big cases first: better balance
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(cfg.workers, mp_context=ctx, initializer=_init_worker,
                                     initargs=(cfg.to_dict(), names)) as pool:
                futures = [pool.submit(_run_in_worker, c) for c in order]
                for fut in as_completed(futures):
                    record(fut.result())

    meta["wall_seconds"] = elapsed_before + time.perf_counter() - start
    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    meta["outputs"] = write_report(_ordered(_read_jsonl(jsonl), cases, names), cfg, meta, out, plots=plots)
    meta_path.write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return meta


def _ordered(rows: list[dict[str, Any]], cases: Sequence[Case], names: Sequence[str]) -> list[dict[str, Any]]:
    """The rows of these cases and estimators, in grid order then column order."""
    position = {c.case_id: i for i, c in enumerate(cases)}
    col = {n: i for i, n in enumerate(names)}
    return sorted((r for r in rows if r["case_id"] in position and r["estimator"] in col),
                  key=lambda r: (position[r["case_id"]], col[r["estimator"]]))


def report_only(out: str | Path, plots: bool = True) -> dict[str, Any]:
    """Rewrite the tables, summary and plots of the run in `out` from its estimates.jsonl and meta.json
    (e.g. after a stopped run, or after changing the report code). Only the cases present are reported.
    """
    from mist.benchmark.report import write_report

    out = Path(out)
    if not (out / META).exists() or not (out / JSONL).exists():
        raise FileNotFoundError(f"{out} holds no benchmark run ({META} and {JSONL})")
    meta = json.loads((out / META).read_text())
    cfg = BenchmarkConfig.from_dict(meta["config"])
    cases = select_cases(build_cases(cfg)[0], meta.get("subsample"))
    meta["outputs"] = write_report(_ordered(_read_jsonl(out / JSONL), cases, [e.name for e in cfg.estimators]),
                                   cfg, meta, out, plots=plots)
    (out / META).write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return meta


@contextlib.contextmanager
def _progress(enabled: bool, total: int, name: str) -> Iterator[Callable[[str], None]]:
    if not enabled:
        yield lambda case_id: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[last]}")) as bar:
        task = bar.add_task(f"benchmark {name}", total=total, last="")
        yield lambda case_id: bar.update(task, advance=1, last=case_id)
