"""Benchmark the generator: datasets/s and MB/s, in memory (`sample`: what on-the-fly training
uses), written to HDF5 shards (`shards`: what mist-generate does) and read back at random
(`read`: ShardReader), for n = 512 and n = 4096, with one worker process and with every core.
Also the latency of one sample(n=4096, dx=32, dy=32) per family.

    python scripts/bench_generate.py              # default generator config, ~1-2 minutes
    python scripts/bench_generate.py --quick      # fewer datasets
    python scripts/bench_generate.py --generator configs/generator/heldout.yaml

MB are the float32 bytes of x and y (10^6 bytes). Dimensions are drawn from the config
(log-uniform 1..32 by default), so a dataset averages far fewer than 64 columns.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _load(path: str) -> dict:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.load(path), resolve=True)


def _sample_job(args) -> tuple[int, int, float]:
    cfg, n, count, seed = args
    import numpy as np

    from data_gen import DatasetSampler

    sampler = DatasetSampler(cfg)
    rng = np.random.default_rng(seed)
    sampler.sample(rng, n=n)  # warm-up (imports, caches)
    t0, nbytes = time.perf_counter(), 0
    for _ in range(count):
        s = sampler.sample(rng, n=n)
        nbytes += s.x.nbytes + s.y.nbytes
    return count, nbytes, time.perf_counter() - t0


def _write_job(args) -> tuple[int, int, float]:
    cfg, n, count, seed, out = args
    import h5py
    import numpy as np

    from data_gen import DatasetSampler, write_shard

    DatasetSampler(cfg).sample(np.random.default_rng(seed), n=n)  # warm-up (lazy imports)
    t0 = time.perf_counter()
    path = write_shard(out, seed, {**cfg, "n": n}, count, base_seed=0, overwrite=True)
    elapsed = time.perf_counter() - t0
    with h5py.File(path) as f:
        nbytes = int(sum(f[g]["x"].nbytes + f[g]["y"].nbytes for g in f if g != "index"))
    return count, nbytes, elapsed


def _read_job(args) -> tuple[int, int, float]:
    folder, seed, count = args
    import numpy as np

    from data_gen import ShardReader

    reader = ShardReader(folder)
    order = np.random.default_rng(seed).integers(0, len(reader), count)
    reader[int(order[0])]  # open the file outside the timing
    t0, nbytes = time.perf_counter(), 0
    for i in order:
        s = reader[int(i)]
        nbytes += s.x.nbytes + s.y.nbytes
    return count, nbytes, time.perf_counter() - t0


def _run(job, jobs: list, workers: int) -> tuple[float, float]:
    """(datasets/s, MB/s) over all jobs. Each job times its own loop (after a warm-up); with
    several workers running at once, the slowest worker's time is the wall time."""
    if workers == 1:
        results = [job(j) for j in jobs]
        wall = sum(r[2] for r in results)
    else:
        saved = {k: os.environ.get(k) for k in _THREADS}
        os.environ.update({k: "1" for k in _THREADS})
        try:
            with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
                results = list(pool.map(job, jobs))
            wall = max(r[2] for r in results)
        finally:
            for k, v in saved.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    count = sum(r[0] for r in results)
    nbytes = sum(r[1] for r in results)
    return count / wall, nbytes / wall / 1e6


def _latency(cfg: dict, repeats: int) -> list[tuple[str, float]]:
    import numpy as np

    from data_gen import DatasetSampler

    rows = []
    for fam in cfg["families"]:
        sampler = DatasetSampler({**cfg, "families": [fam]})
        rng = np.random.default_rng(0)
        sampler.sample(rng, n=4096, dx=32, dy=32)
        t0 = time.perf_counter()
        for _ in range(repeats):
            sampler.sample(rng, n=4096, dx=32, dy=32)
        rows.append((fam, (time.perf_counter() - t0) / repeats * 1e3))
    return rows


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--generator", default=str(ROOT / "configs" / "generator" / "default.yaml"))
    p.add_argument("--datasets", type=int, default=400, help="datasets per measurement at n=512 (n=4096: / 4)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="the 'all workers' row")
    p.add_argument("--quick", action="store_true", help="a quarter of the datasets")
    args = p.parse_args(argv)
    # one BLAS thread in this process too: the single-worker rows measure one core
    if any(os.environ.get(k) != "1" for k in _THREADS):
        os.environ.update({k: "1" for k in _THREADS})
        os.execv(sys.executable, [sys.executable, *sys.argv])
    cfg = _load(args.generator)
    base = max(8, args.datasets // (4 if args.quick else 1))
    print(f"generator: {args.generator}   cores: {os.cpu_count()}   "
          f"load average: {os.getloadavg()[0]:.1f}   (datasets drawn with the config's dims)")
    print(f"{'mode':<8}{'n':>6}{'workers':>9}{'datasets/s':>12}{'MB/s':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (512, 4096):
            count = base if n == 512 else max(4, base // 4)
            for workers in sorted({1, args.workers}):
                per = max(1, count // workers)
                for mode, job, jobs in (
                    ("sample", _sample_job, [(cfg, n, per, w) for w in range(workers)]),
                    ("shards", _write_job, [(cfg, n, per, w, tmp) for w in range(workers)]),
                ):
                    ds, mb = _run(job, jobs, workers)
                    print(f"{mode:<8}{n:>6}{workers:>9}{ds:>12.1f}{mb:>9.1f}", flush=True)
                ds, mb = _run(_read_job, [(tmp, w, 4 * per) for w in range(workers)], workers)
                print(f"{'read':<8}{n:>6}{workers:>9}{ds:>12.1f}{mb:>9.1f}", flush=True)
    import numpy as np

    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(20):
        rng.standard_normal((4096, 64))
    floor = (time.perf_counter() - t0) / 20 * 1e3
    print("\nlatency of one sample(n=4096, dx=32, dy=32), one thread, transforms as configured")
    print(f"(for scale: drawing the 4096 x 64 standard normals alone takes {floor:.1f} ms here):")
    for fam, ms in _latency(cfg, 5 if args.quick else 20):
        print(f"  {fam:<20}{ms:8.1f} ms")


if __name__ == "__main__":
    main()
