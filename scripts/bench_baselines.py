"""Time and accuracy of the baseline estimators on correlated Gaussians, as a Markdown table.

Each cell is one dataset with exact MI (the first min(dx, dy) coordinate pairs correlated with
rho, the rest independent); the time is the median over --repeats warm calls. Run with one
torch thread by default, as on a shared 2-core machine.

    python scripts/bench_baselines.py                        # the default grid
    python scripts/bench_baselines.py --n 1000 100000 --estimators ksg gaussian --dims 1,1 3,3
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
import torch

from mist.baselines import ESTIMATORS, make_estimator

NEURAL = ("infonce", "nwj", "mine")


def correlated_gaussian(n: int, dx: int, dy: int, rho: float, seed: int):
    """(x, y, exact MI in nats) with the first min(dx, dy) pairs correlated with rho."""
    rng = np.random.default_rng(seed)
    m = min(dx, dy)
    x = rng.standard_normal((n, dx))
    y = rng.standard_normal((n, dy))
    y[:, :m] = rho * x[:, :m] + math.sqrt(1 - rho**2) * y[:, :m]
    return x, y, -m / 2 * math.log1p(-(rho**2))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estimators", nargs="+", default=sorted(ESTIMATORS), choices=sorted(ESTIMATORS))
    parser.add_argument("--n", nargs="+", type=int, default=[100, 1000, 10000, 100000])
    parser.add_argument("--dims", nargs="+", default=["1,1", "3,3", "10,10"], help="dx,dy pairs")
    parser.add_argument("--rho", type=float, default=0.8, help="correlation of each coordinate pair")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per cell (median reported)")
    parser.add_argument("--neural-max-n", type=int, default=10000, help="skip neural estimators above this n")
    parser.add_argument(
        "--max-seconds", type=float, default=60.0,
        help="skip a cell when the previous n's time, extrapolated as n^2, exceeds this",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    print(f"rho = {args.rho} per coordinate pair; torch threads = {args.threads}; median of {args.repeats} warm calls\n")
    print("| estimator | dx | dy | n | true MI | estimate | error | seconds |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.estimators:
        for dims in args.dims:
            dx, dy = (int(d) for d in dims.split(","))
            previous = None  # (n, seconds)
            for n in sorted(args.n):
                if name in NEURAL and n > args.neural_max_n:
                    continue
                power = 2 if name == "ksg" else 1  # KSG is up to quadratic in n, the others linear
                if previous and previous[1] * (n / previous[0]) ** power > args.max_seconds:
                    print(f"| {name} | {dx} | {dy} | {n} | | | | skipped (> {args.max_seconds:g} s expected) |")
                    continue
                x, y, mi = correlated_gaussian(n, dx, dy, args.rho, seed=n)
                estimator = make_estimator(name)
                estimate = estimator.estimate(x, y)  # warm-up (imports, allocations)
                times = []
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    estimator.estimate(x, y)
                    times.append(time.perf_counter() - start)
                seconds = statistics.median(times)
                previous = (n, seconds)
                print(
                    f"| {name} | {dx} | {dy} | {n} | {mi:.3f} | {estimate:.3f} | {estimate - mi:+.3f} | {seconds:.3g} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
