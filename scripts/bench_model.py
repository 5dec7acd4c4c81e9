"""Latency of a whole estimate (statistics on all n, then the network), peak memory and
training throughput of the estimator on this CPU.

Run it on an otherwise idle machine: a second busy process halves the figures (or worse, when
threads are oversubscribed).

    python scripts/bench_model.py                 # the issue's cases, small config
    python scripts/bench_model.py --threads 2 --repeats 5

Each latency case runs in a fresh subprocess so that its peak resident memory (ru_maxrss,
minus the process's footprint before the forward pass) is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

CASES = [(1_000, 5, 5), (10_000, 5, 5), (100_000, 5, 5), (10_000, 32, 32)]


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def latency_case(n: int, dx: int, dy: int, repeats: int, threads: int, checkpoint: str | None) -> dict:
    import warnings

    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    from mist import MIEstimator
    from mist.inference.threads import one_blas_thread
    from mist.stats import summarize

    torch.set_num_threads(threads)
    threadpool_limits(threads)
    warnings.simplefilter("ignore")
    est = MIEstimator.from_pretrained(checkpoint, device="cpu")
    rng = np.random.default_rng(0)
    xn = rng.standard_normal((n, dx))
    yn = np.tile(xn[:, : min(dx, dy)], (1, -(-dy // dx)))[:, :dy] + rng.standard_normal((n, dy))
    before = _rss_mib()
    times, stats = [], []
    est.estimate(xn, yn)  # warm-up
    for _ in range(repeats):
        t0 = time.perf_counter()
        est.estimate(xn, yn)
        times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with one_blas_thread():  # as the estimator runs them
            summarize(xn, yn)
        stats.append(time.perf_counter() - t0)
    out = {
        "n": n, "dx": dx, "dy": dy, "median_ms": 1e3 * statistics.median(times), "stats_ms": 1e3 * statistics.median(stats),
        "min_ms": 1e3 * min(times), "peak_mib_over_baseline": _rss_mib() - before, "peak_rss_mib": _rss_mib(),
    }
    # The classical estimators on the same data, side by side (KSG only where it takes seconds).
    from mist.baselines import make_estimator

    for name in ("gaussian_copula", "ksg"):
        if name == "ksg" and n * (dx + dy) > 100_000:
            out[f"{name}_ms"] = None
            continue
        est = make_estimator(name)
        t0 = time.perf_counter()
        est.estimate(xn, yn)
        out[f"{name}_ms"] = 1e3 * (time.perf_counter() - t0)
    return out


def training_throughput(steps: int, threads: int, model: str) -> dict:
    import numpy as np
    import torch
    from hydra import compose, initialize_config_module

    from data_gen import make_sampler
    from mist.model import pinball_loss
    from mist.training.datasets import generate_batch
    from mist.training.module import MISTModule

    torch.set_num_threads(threads)
    with initialize_config_module(config_module="mist.configs", version_base="1.3"):
        cfg = compose(config_name="train", overrides=["experiment=default_cpu", f"model={model}"])
    module = MISTModule(network=dict(cfg.model.network))
    opt = torch.optim.AdamW(module.parameters(), lr=1e-3)
    sampler = make_sampler(cfg.data.generator)
    rows = cfg.model.network.attention_rows
    rng = np.random.default_rng(0)
    batches = [generate_batch(sampler, cfg.data.batch_size, rng, cfg.data.max_tokens, rows) for _ in range(steps)]
    t0 = time.perf_counter()
    for b in batches:
        loss = pinball_loss(module(b), torch.log1p(b["mi"]), module.levels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    dt = time.perf_counter() - t0
    t1 = time.perf_counter()
    for _ in range(steps):
        generate_batch(sampler, cfg.data.batch_size, rng, cfg.data.max_tokens, rows)
    gen = time.perf_counter() - t1
    sets = sum(b["x"].shape[0] for b in batches)
    return {"model": model, "steps": steps, "datasets_per_s_train": sets / dt, "datasets_per_s_generate": sets / gen,
            "steps_per_s": steps / dt,
            "mean_n": float(np.mean([b["x"].shape[1] for b in batches])),
            "mean_d": float(np.mean([b["x"].shape[2] + b["y"].shape[2] for b in batches]))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="small", help="model config for the training throughput")
    p.add_argument("--checkpoint", default=None, help="release checkpoint timed for latency (default: the shipped one)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--train-steps", type=int, default=20)
    p.add_argument("--case", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.case:  # child process: one latency case
        n, dx, dy = map(int, a.case.split(","))
        print(json.dumps(latency_case(n, dx, dy, a.repeats, a.threads, a.checkpoint)))
        return
    print(f"threads={a.threads}; a whole mist.estimate (statistics on all n + network); KSG (k=3) and the "
          "Gaussian-copula estimator timed on the same data")
    print("| n | dx | dy | mist median ms | of which statistics ms | mist min ms | peak MiB over baseline | peak RSS MiB "
          "| gaussian_copula ms | KSG ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, dx, dy in CASES:
        cmd = [sys.executable, __file__, "--case", f"{n},{dx},{dy}", "--repeats", str(a.repeats), "--threads", str(a.threads)]
        if a.checkpoint:
            cmd += ["--checkpoint", a.checkpoint]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode:
            print(f"| {n:,} | {dx} | {dy} | failed: {out.stderr.strip().splitlines()[-1]} |")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        ksg = "skipped" if r["ksg_ms"] is None else f"{r['ksg_ms']:.0f}"
        print(f"| {n:,} | {dx} | {dy} | {r['median_ms']:.1f} | {r['stats_ms']:.1f} | {r['min_ms']:.1f} | {r['peak_mib_over_baseline']:.0f} "
              f"| {r['peak_rss_mib']:.0f} | {r['gaussian_copula_ms']:.1f} | {ksg} |")
    if a.train_steps:
        t = training_throughput(a.train_steps, a.threads, a.model)
        print(f"\ntraining ({a.model}, {t['steps']} steps, mean n {t['mean_n']:.0f}, mean dx+dy {t['mean_d']:.1f}): "
              f"{t['datasets_per_s_train']:.1f} datasets/s ({t['steps_per_s']:.2f} steps/s, data generated beforehand, "
              f"the experiment=default_cpu batches); the generator alone makes {t['datasets_per_s_generate']:.0f} datasets/s")


if __name__ == "__main__":
    main()
