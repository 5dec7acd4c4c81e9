"""Export the 40 tasks of the BMI benchmark (Czyz et al., NeurIPS 2023, "Beyond normal") to .npz files.

Runs in .venv-bmi (made by scripts/setup_bmi.sh), never in mist's environment: it imports
benchmark-mi and jax, and nothing from mist. mist reads the files back with
`mist.benchmark.bmi.load_bmi_cases`, so mist itself never depends on jax.

For every task of `bmi.benchmark.BENCHMARK_TASKS` (the paper's main table), every n and seed:
{out}/{task_id}__n{n}__s{seed}.npz with x (n, dx) float64, y (n, dy) float64, mi_true (nats),
task_id, task_name, family and task_params (JSON). The samples are BMI's own, `task.sample(n, seed)`
(jax's default float32 precision, stored as float64). Existing files are kept (resume);
{out}/index.json lists every file in the folder.

example:
  bash scripts/setup_bmi.sh
  .venv-bmi/bin/python scripts/bmi_export.py --n 1000 5000 --seeds 0 1 2 --out .cache/bmi
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

# Before jax starts: CPU only, one thread (the export is cheap; keep the machine free for others).
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

INDEX = "index.json"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bmi_export.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, nargs="+", default=[1000, 5000], help="sample sizes (default: 1000 5000)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds of task.sample (default: 0)")
    p.add_argument("--out", default=".cache/bmi", help="output folder (default: .cache/bmi)")
    p.add_argument("--tasks", nargs="+", metavar="TASK_ID", help="only these task ids (default: all 40)")
    return p.parse_args(argv)


def file_name(task_id: str, n: int, seed: int) -> str:
    return f"{task_id}__n{n}__s{seed}.npz"


def benchmark_tasks() -> list[tuple[str, object]]:
    """(family, task) for the 40 tasks in BMI's order; family is the paper's group of the task."""
    from bmi.benchmark import task_list as tl

    groups = {"one_dim": tl.ONE_DIM_TASKS, "embeddings": tl.EMBEDDINGS_TASKS, "multinormal": tl.MULTINORMAL_TASKS,
              "student": tl.STUDENT_TASKS, "transformed": tl.TRANSFORMED_TASKS}
    tasks = [(family, task) for family, group in groups.items() for task in group]
    assert [t.id for _, t in tasks] == [t.id for t in tl.BENCHMARK_TASKS_LIST], "benchmark-mi's task groups changed"
    return tasks


def write_npz(path: pathlib.Path, **arrays) -> None:
    """Write atomically, so a stopped export never leaves a half-written file to resume from."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path)


def write_index(out: pathlib.Path, order: list[str]) -> list[dict]:
    """index.json: every .npz in `out` (this run's and earlier ones'), in BMI's task order, then n, seed."""
    rank = {task_id: i for i, task_id in enumerate(order)}
    entries = []
    for path in out.glob("*.npz"):
        with np.load(path) as z:
            entries.append({"file": path.name, "task_id": str(z["task_id"]), "task_name": str(z["task_name"]),
                            "family": str(z["family"]), "n": int(z["n"]), "seed": int(z["seed"]),
                            "dx": int(z["x"].shape[1]), "dy": int(z["y"].shape[1]), "mi_true": float(z["mi_true"])})
    entries.sort(key=lambda e: (rank.get(e["task_id"], len(rank)), e["task_id"], e["n"], e["seed"]))
    index = {"source": "benchmark-mi 0.1.3 (Czyz et al., NeurIPS 2023)", "mi_unit": "nats", "files": entries}
    (out / INDEX).write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return entries


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    import bmi

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tasks = benchmark_tasks()
    if args.tasks:
        unknown = set(args.tasks) - {t.id for _, t in tasks}
        if unknown:
            print(f"error: unknown task ids {sorted(unknown)}", file=sys.stderr)
            return 2
        tasks = [(f, t) for f, t in tasks if t.id in args.tasks]
    print(f"bmi {getattr(bmi, '__version__', '0.1.3')}: {len(tasks)} tasks x n {args.n} x seeds {args.seeds} -> {out}",
          flush=True)
    written = skipped = 0
    for i, (family, task) in enumerate(tasks, 1):
        meta = task.metadata  # computed once: the property recomputes the MI on every access
        t0, done = time.perf_counter(), []
        for n in args.n:
            for seed in args.seeds:
                path = out / file_name(meta.task_id, n, seed)
                if path.exists():
                    skipped += 1
                    continue
                x, y = task.sample(n, seed)
                x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
                assert x.shape == (n, meta.dim_x) and y.shape == (n, meta.dim_y), (x.shape, y.shape)
                write_npz(path, x=x, y=y, mi_true=np.float64(meta.mi_true), task_id=meta.task_id,
                          task_name=meta.task_name, family=family, n=n, seed=seed,
                          task_params=json.dumps(meta.task_params))
                written += 1
                done.append(f"n{n}/s{seed}")
        print(f"[{i:2d}/{len(tasks)}] {meta.task_id:49s} {meta.dim_x:2d}x{meta.dim_y:<2d} MI {meta.mi_true:.4f} nats  "
              f"{'wrote ' + str(len(done)) if done else 'all present':11s} {time.perf_counter() - t0:5.1f} s", flush=True)
    entries = write_index(out, [t.id for _, t in benchmark_tasks()])
    print(f"{written} files written, {skipped} already there; index of {len(entries)} files: {out / INDEX}; "
          f"{time.perf_counter() - start:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
