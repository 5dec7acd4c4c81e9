"""Metrics, tables, the Markdown summary and the plots of a benchmark run.

Metrics (nats), per estimator, over the cases it ran (status "ok"):
- MAE = mean |estimate - true MI|, bias = mean (estimate - true MI), RMSE = sqrt(mean squared error);
  by n, by (dx, dy), by target MI, by suite, held-out vs in-distribution, and by family; also on
  the "common" cases where every estimator ran, the only fair head-to-head when some skip cells.
- Calibration: for each quantile level q, the fraction of cases whose true MI is <= the
  predicted q-quantile (nominal q); and the coverage of the central intervals [q, 1 - q]
  (nominal 1 - 2q: 90% for 0.05 to 0.95). mist's quantiles come from its head; a baseline's from
  its resampling interval, where the config runs one.
- Time per estimate: median seconds over cases (warm calls); peak memory: median MB.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mist.benchmark.config import BenchmarkConfig
from mist.benchmark.harness import STATUS_OK, quantile_field
from mist.benchmark.records import row_fields

__all__ = ["error_stats", "metrics_table", "coverage_table", "summary_markdown", "write_report", "write_plots",
           "GROUPINGS", "PLOTS"]

GROUPINGS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "all": lambda r: "all",
    "n": lambda r: r["n"],
    "dims": lambda r: f"{r['dx']}x{r['dy']}",
    "mi_target": lambda r: r["mi_target"],
    "heldout": lambda r: "held-out" if r["heldout"] else "in-distribution",
    "suite": lambda r: r["suite"],
    "family": lambda r: r["family"],
}
"""Name -> key of a row: the axes the error metrics are broken down by."""

COVERAGE_GROUPINGS = ("all", "heldout", "suite", "n", "mi_target")
PLOTS = ("error_vs_n.png", "estimate_vs_true.png", "calibration.png", "time_vs_n.png")


# ---------------------------------------------------------------------- numbers
def error_stats(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """count, MAE, bias, RMSE (nats), median seconds and median peak MB of the rows with an error."""
    rows = [r for r in rows if r.get("error") is not None]
    e = np.array([r["error"] for r in rows], float)
    secs = [r["seconds"] for r in rows if r.get("seconds") is not None]
    mem = [r["peak_mb"] for r in rows if r.get("peak_mb") is not None]
    if not len(e):
        return {"count": 0, "mae": None, "bias": None, "rmse": None, "median_seconds": None, "median_peak_mb": None}
    return {"count": int(len(e)), "mae": float(np.abs(e).mean()), "bias": float(e.mean()),
            "rmse": float(np.sqrt((e ** 2).mean())), "median_seconds": float(np.median(secs)) if secs else None,
            "median_peak_mb": float(np.median(mem)) if mem else None}


def _ok(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["status"] == STATUS_OK and r.get("error") is not None]


def _common_cases(rows: Sequence[dict[str, Any]], names: Sequence[str]) -> set[str]:
    by_case: dict[str, set[str]] = defaultdict(set)
    for r in _ok(rows):
        by_case[r["case_id"]].add(r["estimator"])
    return {c for c, s in by_case.items() if s >= set(names)}


def _sort_key(v: Any):
    return (0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v))


def metrics_table(rows: Sequence[dict[str, Any]], names: Sequence[str]) -> list[dict[str, Any]]:
    """Long table: one entry per (grouping, group, estimator) with `error_stats`; grouping "common"
    restricts to the cases every estimator ran."""
    ok = _ok(rows)
    out = []
    common = _common_cases(rows, names)
    groupings = dict(GROUPINGS)
    for gname, key in [*groupings.items(), ("common", lambda r: "common")]:
        subset = [r for r in ok if r["case_id"] in common] if gname == "common" else ok
        groups: dict[Any, list] = defaultdict(list)
        for r in subset:
            groups[key(r)].append(r)
        for g in sorted(groups, key=_sort_key):
            for name in names:
                s = error_stats(r for r in groups[g] if r["estimator"] == name)
                if s["count"]:
                    out.append({"grouping": gname, "group": g, "estimator": name, **s})
    return out


def _coverage_rows(rows: Sequence[dict[str, Any]], levels: Sequence[float]) -> list[dict[str, Any]]:
    entries = []
    for q in levels:
        pairs = [(r["true_mi"], r[quantile_field(q)]) for r in rows if r.get(quantile_field(q)) is not None]
        if pairs:
            entries.append({"kind": "quantile", "nominal": q, "count": len(pairs),
                            "empirical": float(np.mean([t <= v for t, v in pairs]))})
    for lo in levels:
        hi = 1.0 - lo
        match = [q for q in levels if abs(q - hi) < 1e-9]
        if lo < 0.5 and match:
            f_lo, f_hi = quantile_field(lo), quantile_field(match[0])
            inside = [r[f_lo] <= r["true_mi"] <= r[f_hi] for r in rows
                      if r.get(f_lo) is not None and r.get(f_hi) is not None]
            if inside:
                entries.append({"kind": "central", "nominal": round(hi - lo, 10), "count": len(inside),
                                "empirical": float(np.mean(inside))})
    return entries


def coverage_table(rows: Sequence[dict[str, Any]], names: Sequence[str], levels: Sequence[float]) -> list[dict[str, Any]]:
    """Long table: per (grouping, group, estimator, kind, nominal) the empirical coverage in [0, 1].

    kind "quantile": P(true MI <= predicted quantile at level `nominal`).
    kind "central": P(true MI inside [quantile q, quantile 1 - q]), nominal 1 - 2q.
    """
    ok = [r for r in _ok(rows) if r.get("interval")]
    out = []
    for gname in COVERAGE_GROUPINGS:
        key = GROUPINGS[gname]
        groups: dict[Any, list] = defaultdict(list)
        for r in ok:
            groups[key(r)].append(r)
        for g in sorted(groups, key=_sort_key):
            for name in names:
                sub = [r for r in groups[g] if r["estimator"] == name]
                interval = sub[0]["interval"] if sub else ""
                for e in _coverage_rows(sub, levels):
                    out.append({"grouping": gname, "group": g, "estimator": name, "interval": interval, **e})
    return out


# ---------------------------------------------------------------------- files
def _csv(path: Path, rows: Sequence[dict[str, Any]], fields: Sequence[str]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(fields), extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in fields})


def write_report(rows: Sequence[dict[str, Any]], cfg: BenchmarkConfig, meta: dict[str, Any], out: str | Path,
                 plots: bool = True) -> list[str]:
    """Write estimates.csv/.json, metrics.csv, coverage.csv, summary.md and (with plots) the PNGs.

    Arguments:
        rows: every (case, estimator) row, as `run_case` makes them.
        cfg: the run's config; meta: its metadata (command, versions, plan, ...).
        out: the output folder.
        plots: also draw the PNGs (needs matplotlib; skipped with a note in the summary if missing).

    Returns:
        The names of the files written.
    """
    out = Path(out)
    names = [e.name for e in cfg.estimators]
    fields = row_fields(cfg.levels)
    _csv(out / "estimates.csv", rows, fields)
    (out / "estimates.json").write_text(json.dumps(
        {"name": cfg.name, "command": meta.get("command", ""), "levels": list(cfg.levels), "columns": fields,
         "rows": [{k: r.get(k) for k in fields} for r in rows]}, indent=1) + "\n")
    metrics = metrics_table(rows, names)
    _csv(out / "metrics.csv", metrics, ["grouping", "group", "estimator", "count", "mae", "bias", "rmse",
                                        "median_seconds", "median_peak_mb"])
    coverage = coverage_table(rows, names, cfg.levels)
    _csv(out / "coverage.csv", coverage, ["grouping", "group", "estimator", "interval", "kind", "nominal", "empirical",
                                          "count"])
    written = ["estimates.csv", "estimates.json", "estimates.jsonl", "metrics.csv", "coverage.csv", "meta.json", "config.yaml"]
    plot_note = ""
    if plots:
        try:
            written += write_plots(rows, cfg, metrics, coverage, out)
        except ImportError as err:
            plot_note = f"No plots: {err} (install matplotlib: `pip install mist-mi[plots]`)."
    (out / "summary.md").write_text(summary_markdown(rows, cfg, meta, metrics, coverage,
                                                     [p for p in written if p.endswith(".png")], plot_note))
    written.append("summary.md")
    return written


# ---------------------------------------------------------------------- Markdown
def _f(v: Any, fmt: str = ".2f") -> str:
    return "" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, fmt)


def _table(header: Sequence[str], body: Iterable[Sequence[str]], align: str = "r") -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + [("---:" if align == "r" else "---")] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def _by(metrics: Sequence[dict[str, Any]], grouping: str) -> dict[Any, dict[str, dict[str, Any]]]:
    out: dict[Any, dict[str, dict[str, Any]]] = {}
    for m in metrics:
        if m["grouping"] == grouping:
            out.setdefault(m["group"], {})[m["estimator"]] = m
    return out


def _axis_table(metrics, grouping: str, label: str, names: Sequence[str], fmt_group=str) -> str:
    groups = _by(metrics, grouping)
    body = []
    for g, by in groups.items():
        best = min((m["mae"] for m in by.values()), default=None)
        cells = []
        for n in names:
            m = by.get(n)
            if m is None:
                cells.append("")
                continue
            mae = _f(m["mae"])
            if best is not None and len(by) > 1 and m["mae"] == best:
                mae = f"**{mae}**"
            cells.append(f"{mae} / {_f(m['bias'], '+.2f')} / {_f(m['rmse'])} ({m['count']})")
        body.append([fmt_group(g), *cells])
    return _table([label, *names], body)


def _provenance(suite) -> str:
    return "held out" if suite.heldout else "in distribution"


def _suite_notes(meta: dict[str, Any], cfg: BenchmarkConfig) -> list[str]:
    """Whether each suite's families and transforms were in the mist checkpoint's training generator."""
    notes = []
    suites = meta.get("suites") or {}
    for name, info in (meta.get("estimators") or {}).items():
        train = info.get("training_generator") if isinstance(info, dict) else None
        if not isinstance(train, dict) or "families" not in train:
            continue
        tf, tt = set(train.get("families") or {}), set(train.get("transforms") or {})
        for s in cfg.suites:
            gen = suites.get(s.name)
            if not gen:
                continue
            new_f = sorted(set(gen["families"]) - tf)
            new_t = sorted(set(gen["transforms"]) - tt)
            seen = "held out" if (new_f or new_t) else "all seen in training"
            text = (f"- `{name}` vs suite `{s.name}`: {seen}; unseen families {new_f or 'none'}, "
                    f"unseen transforms {new_t or 'none'}")
            if s.heldout and not (new_f or new_t):
                text += " (**the suite is labelled held-out but this checkpoint trained on all of it**)"
            notes.append(text)
    return notes


def summary_markdown(rows, cfg: BenchmarkConfig, meta: dict[str, Any], metrics, coverage, plots: Sequence[str],
                     plot_note: str = "") -> str:
    """The summary.md text: provenance, overall table, skips, breakdowns, calibration, time, notes."""
    names = [e.name for e in cfg.estimators]
    v = meta.get("versions", {})
    status: dict[str, dict[str, int]] = {n: defaultdict(int) for n in names}
    for r in rows:
        status[r["estimator"]][r["status"]] += 1
    cases = len({r["case_id"] for r in rows})
    parts = [f"# mist benchmark: {cfg.name}", ""]
    parts.append(f"Made by `{meta.get('command') or 'mist.benchmark.run_benchmark'}`"
                 + (f" (subsample {meta['subsample']:g} of the cases)" if meta.get("subsample") else "") + ".")
    parts.append("")
    parts.append(f"{cases} cases, {len(rows)} (case, estimator) rows; started {meta.get('started')}, "
                 f"{_f(meta.get('wall_seconds'), '.0f')} s wall; mist {v.get('mist')} (commit {v.get('git_commit')}), "
                 f"torch {v.get('torch')}, numpy {v.get('numpy')}, Python {v.get('python')}, {v.get('cpus')} CPUs; "
                 f"{cfg.workers} worker(s) x {cfg.threads} thread(s); memory probe: {meta.get('memory')}.")
    for name, info in (meta.get("estimators") or {}).items():
        if isinstance(info, dict) and "checkpoint" in info:
            sha = (info.get("weights_sha256") or "")[:12]
            parts.append(f"`{name}` checkpoint: {info['checkpoint']} (weights sha256 {sha}…), trained ranges "
                         f"{json.dumps(info.get('trained_ranges'))}.")
    parts += ["", "## Overall", "",
              "Errors in nats over the cases each estimator ran; coverage: the fraction of true MI values inside "
              "the central 90% and 50% intervals; time: median seconds per estimate (warm); memory: median peak MB.", ""]
    overall = _by(metrics, "all").get("all", {})
    cov_all = {(c["estimator"], c["kind"], c["nominal"]): c for c in coverage if c["grouping"] == "all"}
    body = []
    for n in names:
        m = overall.get(n, {})
        c90, c50 = cov_all.get((n, "central", 0.9)), cov_all.get((n, "central", 0.5))
        body.append([n, str(status[n][STATUS_OK]), str(status[n]["skipped"]), str(status[n]["error"]),
                     _f(m.get("mae")), _f(m.get("bias"), "+.2f"), _f(m.get("rmse")),
                     _f(c90 and c90["empirical"]), _f(c50 and c50["empirical"]),
                     _f(m.get("median_seconds"), ".3g"), _f(m.get("median_peak_mb"), ".3g")])
    parts.append(_table(["estimator", "ran", "skipped", "errors", "MAE", "bias", "RMSE", "90% cov.", "50% cov.",
                         "s / estimate", "peak MB"], body))
    common = _by(metrics, "common").get("common", {})
    k = max((m["count"] for m in common.values()), default=0)
    parts += ["", f"### On the {k} cases every estimator ran", ""]
    if common:
        parts.append(_table(["estimator", "MAE", "bias", "RMSE", "s / estimate"],
                            [[n, _f(common[n]["mae"]), _f(common[n]["bias"], "+.2f"), _f(common[n]["rmse"]),
                              _f(common[n]["median_seconds"], ".3g")] for n in names if n in common]))
    else:
        parts.append("None: no case was run by every estimator; compare the breakdowns below cell by cell.")
    parts += ["", "## What was skipped", ""]
    skipped_any = False
    for e in cfg.estimators:
        reasons: dict[str, int] = defaultdict(int)
        for r in rows:
            if r["estimator"] == e.name and r["status"] == "skipped":
                reasons[r["note"]] += 1
        for reason, count in reasons.items():
            parts.append(f"- `{e.name}` skipped {count} cases: {reason}.")
            skipped_any = True
        if e.bootstrap is not None:
            boots = sum(1 for r in rows if r["estimator"] == e.name and r.get("interval") in ("subsample", "bootstrap"))
            parts.append(f"- `{e.name}` got a {e.bootstrap.method} interval ({e.bootstrap.n_boot} resamples) on "
                         f"{boots} of its {status[e.name][STATUS_OK]} cases"
                         + "".join(f"; none where {rule.describe()}" for rule in e.bootstrap.skip) + ".")
    for d in meta.get("dropped", []):
        parts.append(f"- dropped cell `{d['suite']}` dx={d['dx']} dy={d['dy']} MI={d['mi_target']:g} (every n): "
                     f"{d['reason']}.")
        skipped_any = True
    if not skipped_any:
        parts.append("Nothing: every estimator ran every case.")
    for n in names:
        warned = [r for r in rows if r["estimator"] == n and r.get("warnings")]
        if warned:
            counts: dict[str, int] = defaultdict(int)
            for r in warned:
                counts[r["warnings"].split(" | ")[0][:160]] += 1
            top, k = max(counts.items(), key=lambda t: t[1])
            parts.append(f"- `{n}` warned on {len(warned)} cases (see the `warnings` column); most often "
                         f"({k}): \"{top}…\"")
    errors = [r for r in rows if r["status"] == "error"]
    if errors:
        parts += ["", f"{len(errors)} estimates failed; the first: `{errors[0]['estimator']}` on "
                  f"`{errors[0]['case_id']}`: {errors[0]['note']}"]

    parts += ["", "## Error by axis", "",
              "Each cell: MAE / bias / RMSE (count), nats; the lowest MAE of a row in bold.", ""]
    for grouping, label, fmt in (("n", "n", str), ("dims", "dx x dy", str),
                                 ("mi_target", "target MI", lambda g: f"{g:g}"),
                                 ("heldout", "cases", str), ("suite", "suite", str), ("family", "family", str)):
        parts += [f"### By {label}", "", _axis_table(metrics, grouping, label, names, fmt), ""]

    parts += ["## Calibration", "",
              "P(true MI <= predicted quantile) at each level (should equal the level), and the coverage of the "
              "central intervals (should equal the nominal), over the cases with intervals "
              "(mist: its quantile head; baselines: resampling, where run).", ""]
    cov_names = [n for n in names if any(c["estimator"] == n for c in coverage)]
    if cov_names:
        keys = sorted({(c["kind"], c["nominal"]) for c in coverage if c["grouping"] == "all"},
                      key=lambda t: (t[0] != "quantile", t[1]))
        body = []
        for kind, nominal in keys:
            label = f"P(MI <= q{nominal:g})" if kind == "quantile" else f"{nominal:.0%} interval"
            body.append([label, *[_f(cov_all.get((n, kind, nominal), {}).get("empirical")) for n in cov_names]])
        parts += [_table(["nominal", *cov_names], body), ""]
        parts += ["90% interval coverage by group:", ""]
        body = []
        for grouping in COVERAGE_GROUPINGS[1:]:
            groups: dict[Any, dict[str, Any]] = {}
            for c in coverage:
                if c["grouping"] == grouping and c["kind"] == "central" and c["nominal"] == 0.9:
                    groups.setdefault(c["group"], {})[c["estimator"]] = c
            for g in sorted(groups, key=_sort_key):
                body.append([f"{grouping} = {g}", *[
                    f"{_f(groups[g][n]['empirical'])} ({groups[g][n]['count']})" if n in groups[g] else ""
                    for n in cov_names]])
        parts += [_table(["group", *cov_names], body), "",
                  "Coverage by target MI is conditional on the truth: an interval calibrated over the "
                  "training prior (conditional on what the data show) covers high true MI less often, "
                  "where sets that look alike are more often from lower MI.", ""]
    else:
        parts += ["No estimator produced intervals in this run.", ""]

    parts += ["## Time and memory", "", "Median seconds per estimate (warm) by n:", ""]
    by_n = _by(metrics, "n")
    parts.append(_table(["n", *names], [[str(g), *[_f(by_n[g].get(n, {}).get("median_seconds"), ".3g") for n in names]]
                                         for g in by_n]))
    parts += ["", "Median peak memory (MB) by n:", ""]
    parts.append(_table(["n", *names], [[str(g), *[_f(by_n[g].get(n, {}).get("median_peak_mb"), ".3g") for n in names]]
                                         for g in by_n]))
    if plots or plot_note:
        parts += ["", "## Plots", ""]
        parts += [f"![{p}]({p})" for p in plots]
        if plot_note:
            parts.append(plot_note)
    notes = _suite_notes(meta, cfg)
    parts += ["", "## How this was measured", "",
              f"- Cases: suites {', '.join(f'`{s.name}` ({s.generator}, ' + _provenance(s) + ')' for s in cfg.suites)}; "
              f"n in {list(cfg.grid.n)}; (dx, dy) in {[list(d) for d in cfg.grid.dims]}; target MI in "
              f"{list(cfg.grid.mi)} nats, each case's exact MI drawn uniformly within ±{cfg.grid.mi_halfwidth:g} nats of "
              f"its target (0 from [0, {cfg.grid.zero_mi_high:g}]); {cfg.seeds} seed(s) per cell; master seed {cfg.seed}.",
              "- Errors are against each case's exact MI (`true_mi`), not the grid target.",
              "- Time: wall seconds of one warm `estimate(x, y)` call per case (each estimator warmed up once per worker); "
              "neural baselines train a critic in every call; bootstrap intervals are timed apart (`interval_seconds`).",
              "- Memory: " + ("peak resident set size during the call minus the size before (Linux VmHWM after "
                              "`malloc_trim` and resetting the peak); counts numpy, torch and C++ extensions alike, "
                              "and can read low when the call reuses pages the allocator kept."
                              if meta.get("memory") == "rss" else
                              "tracemalloc peak during the call (Python and numpy allocations, not torch's)."
                              if meta.get("memory") == "tracemalloc" else "not measured."),
              "- Files: estimates.csv / estimates.json (every (case, estimator) row), metrics.csv, coverage.csv, "
              "meta.json (config, versions, plan), config.yaml (rerun with `--config`)."]
    parts += notes
    parts += ["", "<details><summary>Plan</summary>", "", "```", str(meta.get("plan", "")), "```", "", "</details>", ""]
    return "\n".join(parts)


# ---------------------------------------------------------------------- plots
def _n_ticks(ax, cfg: BenchmarkConfig) -> None:
    """Log x axis with the grid's n values as plain tick labels."""
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    ax.set_xticks(list(cfg.grid.n), [str(n) for n in cfg.grid.n])
    ax.xaxis.set_minor_formatter(NullFormatter())


def write_plots(rows, cfg: BenchmarkConfig, metrics, coverage, out: str | Path) -> list[str]:
    """Draw the four PNGs into `out` and return their names (see `PLOTS`).

    Raises:
        ImportError: matplotlib is missing.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    out = Path(out)
    names = [e.name for e in cfg.estimators]
    colors = {n: plt.get_cmap("tab10")(i % 10) for i, n in enumerate(names)}
    ok = _ok(rows)

    # error vs n, one panel per kind of case
    kinds = [k for k in ("in-distribution", "held-out") if any(GROUPINGS["heldout"](r) == k for r in ok)] or ["all"]
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.5 * len(kinds), 4), squeeze=False, sharey=True)
    for ax, kind in zip(axes[0], kinds):
        for n in names:
            pts = defaultdict(list)
            for r in ok:
                if r["estimator"] == n and (kind == "all" or GROUPINGS["heldout"](r) == kind):
                    pts[r["n"]].append(abs(r["error"]))
            if pts:
                xs = sorted(pts)
                ax.plot(xs, [np.mean(pts[x]) for x in xs], "o-", color=colors[n], label=n)
        _n_ticks(ax, cfg)
        ax.set_xlabel("n (samples)")
        ax.set_title(f"{kind} cases")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("mean absolute error (nats)")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "error_vs_n.png", dpi=110)
    plt.close(fig)

    # estimate vs true MI, one panel per estimator
    cols = min(4, len(names))
    nrows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.6 * cols, 3.4 * nrows), squeeze=False)
    top = max([r["true_mi"] for r in ok] + [r["estimate"] for r in ok] + [1.0])
    for ax, n in zip(axes.flat, names):
        mine = [r for r in ok if r["estimator"] == n]
        for held, marker, label in ((False, "o", "in-distribution"), (True, "^", "held-out")):
            sub = [r for r in mine if bool(r["heldout"]) == held]
            if not sub:
                continue
            t = np.array([r["true_mi"] for r in sub])
            e = np.array([r["estimate"] for r in sub])
            lo_f, hi_f = quantile_field(cfg.levels[0]), quantile_field(cfg.levels[-1])
            withq = [i for i, r in enumerate(sub) if r.get(lo_f) is not None and r.get(hi_f) is not None]
            if withq:
                lo = np.array([sub[i][lo_f] for i in withq])
                hi = np.array([sub[i][hi_f] for i in withq])
                ax.errorbar(t[withq], e[withq], yerr=[np.maximum(e[withq] - lo, 0), np.maximum(hi - e[withq], 0)],
                            fmt="none", ecolor=colors[n], alpha=0.2, lw=0.8)
            ax.scatter(t, e, s=10, marker=marker, color=colors[n], alpha=0.6 if held else 0.8,
                       facecolors="none" if held else colors[n], label=label)
        ax.plot([0, top], [0, top], "k--", lw=0.8)
        ax.set_title(n)
        ax.set_xlabel("true MI (nats)")
        ax.set_ylabel("estimate (nats)")
        ax.grid(alpha=0.3)
        if mine:
            ax.legend(fontsize=7, loc="upper left")
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out / "estimate_vs_true.png", dpi=110)
    plt.close(fig)

    # calibration
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="ideal")
    for n in names:
        pts = sorted((c["nominal"], c["empirical"]) for c in coverage
                     if c["grouping"] == "all" and c["estimator"] == n and c["kind"] == "quantile")
        if pts:
            ax.plot(*zip(*pts), "o-", color=colors[n], label=n)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("nominal level q")
    ax.set_ylabel("empirical P(true MI <= quantile q)")
    ax.set_title("calibration")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(out / "calibration.png", dpi=110)
    plt.close(fig)

    # time vs n (log-log)
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for n in names:
        pts = defaultdict(list)
        for r in ok:
            if r["estimator"] == n and r.get("seconds") is not None:
                pts[r["n"]].append(r["seconds"])
        if pts:
            xs = sorted(pts)
            ax.plot(xs, [max(np.median(pts[x]), 1e-6) for x in xs], "o-", color=colors[n], label=n)
    _n_ticks(ax, cfg)
    ax.set_yscale("log")
    ax.set_xlabel("n (samples)")
    ax.set_ylabel("median seconds per estimate")
    ax.set_title("time per estimate (warm)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "time_vs_n.png", dpi=110)
    plt.close(fig)
    return list(PLOTS)
