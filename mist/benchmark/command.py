"""`mist benchmark`: mist against KSG, Gaussian, Gaussian-copula, InfoNCE, NWJ and MINE on exact-MI test cases.

Every estimator runs on a grid of datasets from the generator (held-out and in-distribution
families and transforms, n, dx and dy, true MI, several seeds per cell). The run writes, into
the output folder: every estimate (estimates.csv, estimates.json, estimates.jsonl), metrics
(MAE, bias, RMSE by n, dimensions, MI, suite, held-out vs in-distribution and family:
metrics.csv), calibration (coverage of each quantile level and central interval: coverage.csv),
time per estimate and peak memory, a Markdown summary with the command that made it
(summary.md), four PNG plots (error_vs_n, estimate_vs_true, calibration, time_vs_n), the
resolved config (config.yaml, which reruns it with --config) and meta.json (versions, plan).

suites (--suite): grid (default) is the generator grid below; bmi is BMI's 40 tasks (Czyz et al.,
NeurIPS 2023) read from files exported by scripts/bmi_export.py in its own venv (opt-in: bash
scripts/setup_bmi.sh first); gaussian is jointly Gaussian data with monotone warps, where the
copula estimate is efficient and mist must match it. bmi and gaussian compare the columns of
--estimators (default: mist core gaussian gaussian_copula ksg; "core" is mist's classical core
alone, the ablation of the learned part) and write rows.csv and summary.md to --out. release
runs all three on one checkpoint, the way a release is checked (BMI n = 1,000 and 5,000 seeds
0-2 with mist and the core; the warped Gaussians with mist and the Gaussian copula; the grid of
--config with mist and the Gaussian copula), into OUT/bmi, OUT/gaussian and OUT/grid, and
writes OUT/goals.md: every accuracy goal of a release, measured, against its target
(mist.benchmark.goals).

modes (configs/benchmark/, shipped as mist.configs):
  tiny   seconds; what the CI test runs: 2 suites, n 100 and 300, 2 dims, 3 MI targets,
         neural baselines with cut budgets (exercises the code, measures nothing)
  quick  under 15 minutes on 2 cores (2 workers x 1 thread): 3 suites x n 100..20000 x
         5 (dx, dy) x MI 0..8 nats x 2 seeds = 750 cases; skips KSG where it is O(n^2)
         (n > 5000 with dx + dy > 6), runs InfoNCE and MINE at n = 1000 on the first
         seed only, bootstrap intervals on small cells; summary.md lists every skip
  full   every estimator (NWJ too) on every cell of 4 suites x 5 n x 7 (dx, dy) x MI
         0..16 x 3 seeds, bootstrap wherever sensible: about 20 CPU-hours, for a bigger
         machine (--workers <cores>); resumable with --resume

measurement: time = wall seconds of one warm estimate(x, y) call (estimators warmed up once
per worker; tables give medians); memory = peak RSS of the call above the RSS before it
(Linux), or tracemalloc elsewhere; errors are against each case's exact MI. The data of a
case depend only on the master seed and the case's key, so runs are reproducible and
independent of --workers.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

EPILOG = """\
config keys (override any of them as KEY=VALUE, YAML values, after the options):
  name                  label of the run
  seed                  master seed; a case's data depend only on it and the case's key
  seeds                 datasets per grid cell
  workers, threads      worker processes, and torch/BLAS threads in each
  memory                auto | rss (Linux peak RSS of the call) | tracemalloc | off
  levels                quantile levels whose coverage is measured
  suites.NAME           {generator: NAME or YAML path in configs/generator, heldout: bool,
                         overrides: {generator keys}}
  grid.n, grid.dims, grid.mi   sample sizes, [dx, dy] pairs, target MI values (nats)
  grid.mi_halfwidth     each case's exact MI is drawn within +-this of its target
  grid.zero_mi_high     the target 0 draws its MI from [0, this]
  estimators.NAME       {kind: mist | ksg | gaussian | gaussian_copula | infonce | nwj | mine,
                         options: {...}, checkpoint: PATH or null (mist), device: cpu (mist),
                         skip: [rules], bootstrap: {n_boot, method, skip: [rules]}}
  a skip rule           {n_above, n_below, joint_dim_above, seed_above, suites, reason}:
                        a case meeting every condition given is skipped (and reported)

examples:
  mist benchmark --config tiny --out /tmp/bench-tiny
  mist benchmark --config quick                       # -> outputs/benchmark/quick
  mist benchmark --config quick --plan                # what would run, what is skipped
  mist benchmark --config full --workers 32 --out runs/full
  mist benchmark --config full --out runs/full --resume   # after a stop
  mist benchmark --config quick --checkpoint checkpoints/mist-small seeds=1 grid.n=[1000]
  mist benchmark --config quick --estimators mist gaussian ksg
  mist benchmark --report-only --out outputs/benchmark/quick
  mist benchmark --suite release --workers 2 --out runs/release   # goals.md: met or not

exit status: 0 on success (a failed single estimate is a row with status "error", counted in
summary.md); 2 on bad arguments or config (or --resume of another config); 3 when --out holds
results and neither --resume nor --overwrite is given; 4 when a mist checkpoint does not load.
"""


def parse_args(argv=None, prog: str = "mist benchmark") -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=prog, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    p.add_argument("--suite", choices=("grid", "bmi", "gaussian", "structures", "small_n", "discrete", "release"), default="grid",
                   help="grid: the generator grid of --config; bmi: BMI's 40 tasks; gaussian: warped Gaussians; "
                        "structures: held-out kinds of dependence beyond elliptical copulas (mist against KSG); "
                        "small_n: elliptical copulas at n 10-500 (mist against its core); "
                        "discrete: binary, 3-level and rounded data, independent and with exact MI; "
                        "release: bmi, gaussian and grid, and the release goals met or not (goals.md)")
    p.add_argument("--bmi-dir", default=".cache/bmi", help="folder of exported BMI tasks (--suite bmi)")
    p.add_argument("--n", type=int, nargs="+", help="sample sizes (--suite bmi: exported ones; gaussian: 300 1000 5000)")
    p.add_argument("--bmi-seeds", type=int, nargs="+",
                   help="--suite bmi: seeds of each task (exported ones; default 0, the paper's protocol; release: 0 1 2)")
    p.add_argument("--config", default="quick",
                   help="a config name in configs/benchmark (tiny, quick, full) or a YAML path (default: quick)")
    p.add_argument("--out", default=None,
                   help="output folder (default: outputs/benchmark/<config name>)")
    p.add_argument("--estimators", nargs="+", metavar="NAME",
                   help="run only these columns of the config, in this order (space- or comma-separated)")
    p.add_argument("--checkpoint", metavar="PATH",
                   help="release checkpoint for every mist column (NAME, NAME.json or NAME.safetensors); "
                        "default: the config's (null = the checkpoint shipped with mist)")
    p.add_argument("--workers", type=int, help="worker processes (overrides the config)")
    p.add_argument("--threads", type=int, help="torch/BLAS threads per worker (overrides the config)")
    p.add_argument("--subsample", type=float, metavar="FRACTION",
                   help="run a deterministic subset of about this fraction of the cases (for a trial)")
    p.add_argument("--reuse", metavar="FOLDER",
                   help="accuracy suites: take the rows of columns not in --estimators from FOLDER/rows.csv, a run of "
                        "the same suite (e.g. KSG, measured once, beside a new checkpoint)")
    p.add_argument("--resume", action="store_true", help="continue a stopped run in --out (same config)")
    p.add_argument("--overwrite", action="store_true", help="discard the results already in --out")
    p.add_argument("--plan", action="store_true",
                   help="print the cases, each estimator's runs and skips, and exit without running")
    p.add_argument("--report-only", action="store_true",
                   help="rewrite tables, summary and plots from the estimates already in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-plots", action="store_true", help="no PNG plots (no matplotlib needed)")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="config overrides, e.g. seeds=1 grid.n=[100,1000] estimators.ksg.options.k=5")
    return p.parse_args(argv)


def main(argv=None, prog: str = "mist benchmark") -> int:
    """Run the benchmark command line `argv` (default: sys.argv[1:]); returns the exit status.

    `prog` is how the command was invoked; the runs record it with their arguments.
    """
    args = parse_args(argv, prog)
    # Before numpy and torch start their thread pools (workers re-limit to the config's threads).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("WANDB_MODE", "disabled")
    from mist.benchmark import (
        ResultsExist,
        build_cases,
        plan_text,
        report_only,
        run_benchmark,
    )
    from mist.benchmark.runner import select_cases

    argv = sys.argv[1:] if argv is None else list(argv)
    command = f"{prog} " + shlex.join(argv)
    if args.suite == "release":
        return run_release(args, command)
    if args.suite != "grid":
        return run_accuracy(args, command)
    if args.report_only:
        if args.out is None:
            print("--report-only needs --out", file=sys.stderr)
            return 2
        meta = report_only(args.out, plots=not args.no_plots)
        print(f"rewrote {', '.join(meta['outputs'])} in {args.out}")
        return 0
    try:
        cfg = grid_config(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.plan:
        cases, dropped = build_cases(cfg)
        print(plan_text(cfg, select_cases(cases, args.subsample), dropped))
        return 0
    out = args.out or os.path.join("outputs", "benchmark", cfg.name)
    from mist.card import CheckpointError

    try:
        meta = run_benchmark(cfg, out, command=command, resume=args.resume, overwrite=args.overwrite,
                             subsample=args.subsample, progress=not args.no_progress, plots=not args.no_plots)
    except ResultsExist as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    except CheckpointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 4
    except ValueError as err:  # e.g. --resume into a run of another config
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{meta['cases']} cases in {meta['wall_seconds']:.0f} s; wrote {', '.join(meta['outputs'])} to {out}")
    print(f"summary: {os.path.join(out, 'summary.md')}")
    return 0


def grid_config(args: argparse.Namespace, estimators: list[str] | None = None):
    """The grid's config: --config with the KEY=VALUE overrides, --workers, --threads, the
    columns of --estimators (or `estimators`) and --checkpoint for every mist column."""
    from mist.benchmark import load_config

    overrides = list(args.overrides)
    if args.estimators:  # argparse lets `--estimators a b KEY=VALUE` swallow the overrides: give them back
        overrides = [e for e in args.estimators if "=" in e] + overrides
        args.estimators = [name for e in args.estimators if "=" not in e for name in e.split(",") if name]
    if args.workers is not None:
        overrides.append(f"workers={args.workers}")
    if args.threads is not None:
        overrides.append(f"threads={args.threads}")
    cfg = load_config(args.config, overrides)
    if estimators or args.estimators:
        cfg = cfg.select(estimators or args.estimators)
    if args.checkpoint:
        import dataclasses

        cfg = dataclasses.replace(cfg, estimators=tuple(
            dataclasses.replace(e, checkpoint=args.checkpoint) if e.kind == "mist" else e for e in cfg.estimators))
    return cfg


_DEFAULT_COLUMNS = {"structures": ["mist", "core", "ksg"], "small_n": ["mist", "core"], "discrete": ["mist"]}


def run_accuracy(args: argparse.Namespace, command: str) -> int:
    """--suite bmi, gaussian, structures or small_n: every column on every case; rows.csv and summary.md in --out."""
    default = _DEFAULT_COLUMNS.get(args.suite, ["mist", "core", "gaussian", "gaussian_copula", "ksg"])
    names = [n for e in (args.estimators or default) for n in e.split(",") if n]
    try:
        cases = accuracy_cases(args.suite, args.bmi_dir, args.n, args.bmi_seeds or [0])
        reused = reused_rows(args.reuse, cases, names) if args.reuse else []
        rows = accuracy_rows(cases, names, args.checkpoint, progress=not args.no_progress) + reused
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    names += sorted({r.column for r in reused} - set(names))
    write_accuracy(rows, names, args.suite, args.out or os.path.join("outputs", "benchmark", args.suite), command)
    return 0


def reused_rows(folder: str, cases: list, names: list[str]) -> list:
    """The rows of FOLDER/rows.csv for the columns not in `names`, checked against `cases` (same
    ids, same exact MI): every case must have them."""
    import csv

    from mist.contract import Row

    truth = {c.case_id: c.mi for c in cases}
    out = []
    with open(os.path.join(folder, "rows.csv"), newline="") as f:
        for r in csv.DictReader(f):
            if r["column"] in names or r["case_id"] not in truth:
                continue
            if abs(float(r["true_mi"]) - truth[r["case_id"]]) > 1e-9:
                raise ValueError(f"--reuse {folder}: case {r['case_id']} has another exact MI there: not the same suite")
            opt = {k: (None if r[k] == "" else float(r[k])) for k in ("lower", "upper")}
            out.append(Row(r["case_id"], r["family"], int(r["n"]), int(r["dx"]), int(r["dy"]), float(r["true_mi"]),
                           r["column"], None if r["mi"] == "" else float(r["mi"]), opt["lower"], opt["upper"],
                           None if r["seconds"] == "" else float(r["seconds"]), status=r.get("status") or "ok",
                           note=r.get("note") or ""))
    if not out:
        raise ValueError(f"--reuse {folder}: none of its rows are of these cases and other columns: not the same suite")
    for column in {r.column for r in out}:
        missing = set(truth) - {r.case_id for r in out if r.column == column}
        if missing:
            raise ValueError(f"--reuse {folder}: column {column} lacks {len(missing)} of the cases, e.g. {sorted(missing)[0]}")
    return out


def accuracy_cases(suite: str, bmi_dir: str, n: list[int] | None, bmi_seeds: list[int]) -> list:
    """The cases of an accuracy suite (a missing BMI export is an error here, before any work)."""
    from mist.benchmark.accuracy import bmi_accuracy_cases, warped_gaussian_cases
    from mist.benchmark.discrete import discrete_cases
    from mist.benchmark.structures import small_n_cases, structure_cases

    if suite == "discrete":
        return discrete_cases(ns=n or (500, 1000, 2000, 5000))
    if suite == "bmi":
        return bmi_accuracy_cases(bmi_dir, n=n, seeds=bmi_seeds)
    if suite == "structures":
        return structure_cases(ns=n or (1000, 5000))
    if suite == "small_n":
        return small_n_cases(**({"ns": n} if n else {}))
    return warped_gaussian_cases(ns=n or (300, 1000, 5000))


def structures_figures(rows: list, names: list[str]) -> str:
    """Markdown: per kind, each column's MAE and 90% coverage; mist's MAE against KSG's overall."""
    from mist.benchmark.accuracy import metrics_by

    groups = metrics_by(rows, lambda r: r.family)
    overall = metrics_by(rows, lambda r: "all")["all"]
    header = ["kind", "cases", *(f"{c} MAE" for c in names), "mist cover90", "mist median width90"]
    text = "## Done-when figures (held-out structures)\n\n| " + " | ".join(header) + " |\n" + "|---" * len(header) + "|\n"
    for g in sorted(groups):
        m = groups[g]
        mist = m.get("mist", {})
        text += (f"| {g} | {next(iter(m.values()))['cases']} | " + " | ".join(f"{m[c]['mae']:.3f}" for c in names if c in m)
                 + f" | {mist.get('cover90') or float('nan'):.2f} | {mist.get('median_width90') or float('nan'):.3f} |\n")
    if "mist" in overall and "ksg" in overall:
        ratio = overall["mist"]["mae"] / overall["ksg"]["mae"] if overall["ksg"]["mae"] > 0 else float("inf")
        text += f"\nmist MAE {overall['mist']['mae']:.3f} against KSG {overall['ksg']['mae']:.3f}: {ratio:.2f}x (goal <= 0.8x)\n"
    manifold = [r for r in rows if r.column == "mist" and r.family == "manifold" and r.mi is not None]
    if manifold:
        high = [r for r in manifold if r.error > 1.0]
        silent = [r for r in high if not r.warnings]
        text += (f"\nmanifold embeddings: {len(high)} of {len(manifold)} read more than 1 nat above the truth, "
                 f"{len(silent)} of them without a warning (goal: none)"
                 + "".join(f"\n- {r.case_id}: {r.mi:.2f} for {r.true_mi:.2f}" for r in silent) + "\n")
    return text


def small_n_figures(rows: list, names: list[str]) -> str:
    """Markdown: each column's MSE per n range (the goal: mist <= core everywhere, <= half below 100)."""
    from mist.benchmark.structures import SMALL_N_RANGES, mse_by_range

    text = "## Done-when figures (small n, elliptical)\n\n| n range | " + " | ".join(f"{c} MSE" for c in names) + " |\n"
    text += "|---" * (len(names) + 1) + "|\n"
    mse = {c: mse_by_range(rows, c) for c in names}
    for lo, hi in SMALL_N_RANGES:
        text += f"| [{lo}, {hi}] | " + " | ".join(f"{mse[c][(lo, hi)]:.4f}" for c in names) + " |\n"
    return text


def discrete_figures(rows: list, names: list[str]) -> str:
    """Markdown: at independence, mean |estimate| and how often the interval holds 0; elsewhere MAE."""
    import numpy as np

    text = ("## Done-when figures (discrete data)\n\n| column | independent cases | mean abs at MI = 0 | interval holds 0 "
            "| dependent cases | MAE | cover90 |\n|---|---|---|---|---|---|---|\n")
    for c in names:
        zero = [r for r in rows if r.column == c and r.family.startswith("independent/")]
        dep = [r for r in rows if r.column == c and not r.family.startswith("independent/")]
        held = [r.lower is not None and r.lower <= 0.0 for r in zero]
        cover = [r.lower <= r.true_mi <= r.upper for r in dep if r.lower is not None]
        text += (f"| {c} | {len(zero)} | {np.mean([abs(r.mi) for r in zero]):.4f} | {np.mean(held):.2f} | {len(dep)} "
                 f"| {np.mean([abs(r.error) for r in dep]):.4f} | {np.mean(cover) if cover else float('nan'):.2f} |\n")
    return text


def accuracy_rows(cases: list, names: list[str], checkpoint: str | None, progress: bool = True) -> list:
    """Every column of `names` on every case (typed rows)."""
    from mist.benchmark.harness import named_estimator, run_suite

    return run_suite(cases, {name: named_estimator(name, checkpoint) for name in names}, progress=progress)


def write_accuracy(rows: list, names: list[str], suite: str, out: str, command: str) -> None:
    """rows.csv and summary.md (overall, per n and per family; the Gaussians' done-when figures) in `out`."""
    import csv

    from mist.benchmark.accuracy import tables
    from mist.benchmark.harness import as_record

    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "rows.csv"), "w", newline="") as f:
        records = [as_record(r) for r in rows]
        w = csv.DictWriter(f, fieldnames=list(records[0]))
        w.writeheader()
        w.writerows(records)
    by = [("n", lambda r: r.n), ("family", lambda r: r.family)]
    if suite == "gaussian":
        by = [("n", lambda r: r.n), ("true MI", lambda r: r.true_mi), ("dims", lambda r: r.family)]
    text = f"# {suite} suite\n\n`{command}`\n\n"
    for n in sorted({r.n for r in rows}):
        text += f"## n = {n}\n\n" + tables([r for r in rows if r.n == n], names, by[1:]) + "\n"
    if suite == "gaussian":
        zero = [r for r in rows if r.true_mi == 0.0]
        big = [r for r in rows if r.n >= 1000 and r.lower is not None]
        text += "## Done-when figures\n\n| column | mean abs at MI = 0 | median width90 at n >= 1000 |\n|---|---|---|\n"
        for c in names:
            z = [abs(r.mi) for r in zero if r.column == c]
            wd = [r.upper - r.lower for r in big if r.column == c]
            text += f"| {c} | {sum(z) / len(z):.3f} | {(sorted(wd)[len(wd) // 2] if wd else float('nan')):.3f} |\n"
    if suite == "structures":
        text += structures_figures(rows, names)
    if suite == "small_n":
        text += small_n_figures(rows, names)
    if suite == "discrete":
        text += discrete_figures(rows, names)
    failed = [r for r in rows if r.status != "ok"]
    if failed:
        text += f"\n## Failed estimates ({len(failed)}, left out of the figures above as NaN)\n\n"
        text += "".join(f"- {r.column} on {r.case_id}: {r.note}\n" for r in failed)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(text)
    print(text)
    print(f"wrote rows.csv and summary.md to {out}")


def run_release(args: argparse.Namespace, command: str) -> int:
    """--suite release: BMI, the warped Gaussians and the grid on one checkpoint, then goals.md."""
    import csv

    from mist.benchmark import ResultsExist, run_benchmark
    from mist.benchmark.goals import (
        bmi_goals,
        gaussian_goals,
        goals_markdown,
        grid_goals,
    )
    from mist.card import CheckpointError

    out = args.out or os.path.join("outputs", "benchmark", "release")
    progress = not args.no_progress
    try:  # every refusal (config, BMI export, results already in --out, a checkpoint that does not load) before any estimate
        cfg = grid_config(args, ["mist", "gaussian_copula"])
        bmi_cases = accuracy_cases("bmi", args.bmi_dir, args.n or [1000, 5000], args.bmi_seeds or [0, 1, 2])
        run_benchmark(cfg, os.path.join(out, "grid"), command=command, resume=args.resume, overwrite=args.overwrite,
                      progress=progress, plots=not args.no_plots)
        bmi = accuracy_rows(bmi_cases, ["mist", "core"], args.checkpoint, progress)
        write_accuracy(bmi, ["mist", "core"], "bmi", os.path.join(out, "bmi"), command)
        gauss = accuracy_rows(accuracy_cases("gaussian", args.bmi_dir, None, [0]), ["mist", "gaussian_copula"],
                              args.checkpoint, progress)
        write_accuracy(gauss, ["mist", "gaussian_copula"], "gaussian", os.path.join(out, "gaussian"), command)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 4 if isinstance(err, CheckpointError) else 2
    except ResultsExist as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    with open(os.path.join(out, "grid", "estimates.csv"), newline="") as f:
        estimates = list(csv.DictReader(f))
    goals = bmi_goals(bmi) + gaussian_goals(gauss) + grid_goals(estimates)
    text = goals_markdown(goals, command)
    with open(os.path.join(out, "goals.md"), "w") as f:
        f.write(text)
    print(text)
    print(f"wrote bmi/, gaussian/, grid/ and goals.md to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
