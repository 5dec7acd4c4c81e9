"""`mist-generate`: write HDF5 shards of generated datasets (Hydra entry point).

    mist-generate out_dir=example_shards num_shards=2 datasets_per_shard=8
    mist-generate out_dir=shards num_shards=1000 workers=0                 # all local cores
    mist-generate out_dir=shards num_shards=1000 shard_index=17            # one shard (array job)
    mist-generate -m out_dir=shards num_shards=1000 'shard_index=range(0,1000)'   # Hydra multirun
    mist-generate generator=heldout out_dir=heldout_shards                 # another generator config

Every shard is an independent job; rerunning skips complete shards, so an interrupted run
resumes where it stopped.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from data_gen.config import GeneratorConfig
from data_gen.shards import shard_path, write_shard

__all__ = ["generate", "select_shards", "complete_shards", "main"]

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def select_shards(shard_index: Any, num_shards: int) -> list[int]:
    """Shard indices to write: None -> all; K -> [K]; "A:B" -> A..B-1; a list -> those."""
    if num_shards < 1:
        raise ValueError(f"num_shards must be >= 1, got {num_shards}")
    if shard_index is None:
        picked = list(range(num_shards))
    elif isinstance(shard_index, bool):
        raise ValueError(f"shard_index must be null, an int, 'A:B' or a list, got {shard_index!r}")
    elif isinstance(shard_index, int):
        picked = [shard_index]
    elif isinstance(shard_index, str) and ":" in shard_index:
        a, b = shard_index.split(":", 1)
        try:
            picked = list(range(int(a) if a else 0, int(b) if b else num_shards))
        except ValueError:
            raise ValueError(f"shard_index range must be 'A:B' with integers, got {shard_index!r}") from None
    elif isinstance(shard_index, str) and shard_index.strip().lstrip("-").isdigit():
        picked = [int(shard_index)]
    elif isinstance(shard_index, Iterable) and not isinstance(shard_index, str):
        picked = [int(k) for k in shard_index]
    else:
        raise ValueError(f"shard_index must be null, an int, 'A:B' or a list, got {shard_index!r}")
    bad = [k for k in picked if not 0 <= k < num_shards]
    if bad:
        raise ValueError(f"shard_index {bad} outside 0..{num_shards - 1} (num_shards={num_shards})")
    return picked


@contextmanager
def _single_threaded_children():
    """Worker processes inherit one BLAS/OpenMP thread each: one process per core is faster
    than many threads fighting over the same cores."""
    saved = {k: os.environ.get(k) for k in _THREAD_VARS}
    os.environ.update({k: "1" for k in _THREAD_VARS})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def die_with_parent(parent_pid: int) -> None:
    """Worker initializer: end this process when the parent dies (even by SIGKILL), so that no
    orphan keeps writing shards that a rerun would write too. Linux: the kernel's parent-death
    signal; elsewhere: a thread that watches the parent's pid."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _write(args: tuple) -> str:
    out_dir, k, cfg_dict, per_shard, seed, overwrite, compression = args
    return str(write_shard(out_dir, k, cfg_dict, per_shard, seed, overwrite=overwrite, compression=compression))


def generate(generator: GeneratorConfig | Mapping[str, Any], out_dir: str | os.PathLike, num_shards: int,
             datasets_per_shard: int, seed: int = 0, workers: int | None = 1, shard_index: Any = None,
             overwrite: bool = False, compression: str | None = None, progress: bool = True) -> list[Path]:
    """Write the selected shards of a run to `out_dir`; complete ones already there are skipped.

    Arguments:
        generator: the generator config (GeneratorConfig, dict or DictConfig).
        out_dir: output folder.
        num_shards: shards in the whole run.
        datasets_per_shard: datasets per shard.
        seed: the run's base seed.
        workers: local worker processes; 0 or None uses every core.
        shard_index: which shards (see `select_shards`); None writes them all.
        overwrite: rewrite complete shards too.
        compression: None, "gzip" or "lzf".
        progress: show a rich progress bar.

    Returns:
        Paths of the selected shards, in index order.
    """
    cfg = GeneratorConfig.from_dict(generator)
    picked = select_shards(shard_index, int(num_shards))
    if workers is not None and (isinstance(workers, bool) or int(workers) != workers or workers < 0):
        raise ValueError(f"workers must be an integer >= 0 (0: every core), got {workers!r}")
    workers = int(workers) if workers else (os.cpu_count() or 1)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"out_dir {str(out_dir)!r} is a file, not a folder: name a folder for the shards")
    out_dir.mkdir(parents=True, exist_ok=True)
    todo = [k for k in picked if overwrite or not shard_path(out_dir, k).exists()]
    jobs = [(str(out_dir), k, cfg.to_dict(), int(datasets_per_shard), int(seed), overwrite, compression) for k in todo]
    # complete shards are still checked (same config?) by write_shard, which returns at once
    for k in picked:
        if k not in todo:
            write_shard(out_dir, k, cfg, int(datasets_per_shard), int(seed), compression=compression)

    bar, task = _progress(progress, len(todo) * int(datasets_per_shard), len(picked) - len(todo))
    try:
        if workers == 1 or len(jobs) <= 1:
            for job in jobs:
                out_dir_, k, cfg_dict, per_shard, seed_, over, comp = job
                write_shard(out_dir_, k, cfg, per_shard, seed_, overwrite=over, compression=comp,
                            progress=(lambda m: bar.advance(task, m)) if bar else None)
        else:
            with _single_threaded_children(), ProcessPoolExecutor(
                    max_workers=min(workers, len(jobs)), mp_context=get_context("spawn"),
                    initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
                for fut in as_completed([pool.submit(_write, job) for job in jobs]):
                    fut.result()
                    if bar:
                        bar.advance(task, int(datasets_per_shard))
    finally:
        if bar:
            bar.stop()
    return [shard_path(out_dir, k) for k in picked]


def _progress(enabled: bool, total: int, skipped: int):
    if not enabled or total == 0:
        if enabled and skipped:
            print(f"all {skipped} selected shards are complete; nothing to do", file=sys.stderr)
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TextColumn("datasets"),
                   TimeRemainingColumn(), transient=False)
    bar.start()
    task = bar.add_task("datasets", total=total)
    if skipped:
        bar.console.print(f"skipping {skipped} complete shard(s)")
    return bar, task


@hydra.main(version_base=None, config_path="pkg://mist.configs", config_name="generate")
def main(cfg: DictConfig) -> None:
    """Console script `mist-generate` (config: configs/generate.yaml); expected errors are one line."""
    try:
        paths = generate(cfg.generator, cfg.out_dir, cfg.num_shards, cfg.datasets_per_shard, seed=cfg.seed,
                         workers=cfg.workers, shard_index=cfg.shard_index, overwrite=cfg.overwrite,
                         compression=cfg.compression, progress=cfg.progress)
    except (ValueError, OSError) as e:  # bad config, shards of another run, unwritable folder
        if os.environ.get("MIST_TRACEBACK"):
            raise
        print(f"mist-generate: error: {' '.join(str(e).split())}", file=sys.stderr)
        sys.exit(1)
    print(f"{len(paths)} shard(s) written or checked in {Path(cfg.out_dir).resolve()}; "
          f"{complete_shards(cfg.out_dir, cfg.num_shards)} of the run's {cfg.num_shards} are complete")


def complete_shards(out_dir: str | os.PathLike, num_shards: int) -> int:
    """How many of a run's shards 0..num_shards-1 are complete in `out_dir` (array jobs report progress)."""
    return sum(shard_path(Path(out_dir), k).exists() for k in range(int(num_shards)))


if __name__ == "__main__":  # pragma: no cover
    main()
