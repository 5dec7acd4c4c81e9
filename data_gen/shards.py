"""HDF5 shards of generated datasets: a deterministic writer and a random-access reader.

Layout of one shard file `shard-000123.h5`:

    /                  attrs: format, format_version, shard_index, base_seed, num_datasets,
                              config (JSON), config_sha256
    /index             compound table (n, dx, dy, mi) with one row per dataset
    /000000 ...        one group per dataset: datasets x (n, dx), y (n, dy) float32 (one chunk
                       each, fletcher32 checksum, optional compression) and attrs mi, family,
                       transform, params (JSON), n, dx, dy, seed

Same config, shard index and base seed give the same bytes: every dataset's seed derives from
(base_seed, shard_index, position), and no timestamps are stored. A shard is written to
`<name>.tmp` and renamed when complete, so a file with the final name is always whole.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from data_gen.config import GeneratorConfig
from data_gen.sampler import DatasetSampler, SampleSet

__all__ = ["ShardReader", "ShardError", "write_shard", "shard_path", "dataset_seed", "FORMAT_VERSION"]

FORMAT = "mist-shard"
FORMAT_VERSION = 1
INDEX_DTYPE = np.dtype([("n", "<i4"), ("dx", "<i2"), ("dy", "<i2"), ("mi", "<f8")])


class ShardError(OSError):
    """A shard file that is corrupt, truncated, or not a shard. The message names the file."""


def shard_path(out_dir: str | os.PathLike, shard_index: int) -> Path:
    """Where shard `shard_index` lives in `out_dir`."""
    return Path(out_dir) / f"shard-{int(shard_index):06d}.h5"


def dataset_seed(base_seed: int, shard_index: int, position: int) -> int:
    """The seed of dataset `position` of shard `shard_index`: independent streams by construction."""
    return int(np.random.SeedSequence([int(base_seed), int(shard_index), int(position)]).generate_state(2, np.uint64)[0] >> np.uint64(1))


def _gcpl() -> h5py.h5p.PropGCID:
    plist = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    plist.set_obj_track_times(False)  # no timestamps: identical bytes on every run
    return plist


def _group(parent: h5py.Group, name: str) -> h5py.Group:
    gid = h5py.h5g.create(parent.id, name.encode(), gcpl=_gcpl())
    return h5py.Group(gid)


def write_shard(out_dir: str | os.PathLike, shard_index: int, cfg: GeneratorConfig | Any, datasets_per_shard: int,
                base_seed: int, *, overwrite: bool = False, compression: str | None = None,
                progress: Callable[[int], None] | None = None) -> Path:
    """Write shard `shard_index` of `datasets_per_shard` datasets to `out_dir` and return its path.

    A complete shard already at that path with the same config, seed and size is kept as is
    (resume); one from a different config raises, unless `overwrite`.

    Arguments:
        out_dir: output folder (created if missing).
        shard_index: which shard (>= 0); seeds derive from (base_seed, shard_index, position).
        cfg: GeneratorConfig or a dict / DictConfig for it.
        datasets_per_shard: datasets in the shard (>= 1).
        base_seed: the run's seed.
        overwrite: rewrite the shard even if a complete one exists.
        compression: None, "gzip" or "lzf" for the x and y arrays.
        progress: called with 1 after each dataset is written.

    Returns:
        Path of the complete shard.
    """
    cfg = GeneratorConfig.from_dict(cfg)
    if int(datasets_per_shard) < 1:
        raise ValueError(f"datasets_per_shard must be >= 1, got {datasets_per_shard}")
    if int(shard_index) < 0:
        raise ValueError(f"shard_index must be >= 0, got {shard_index}")
    if compression not in (None, "gzip", "lzf"):
        raise ValueError(f"compression must be null, 'gzip' or 'lzf', got {compression!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = shard_path(out_dir, shard_index)
    if path.exists() and not overwrite:
        try:
            attrs = _read_root(path)
        except ShardError as e:
            if "not a mist shard" in str(e):
                raise
            print(f"mist-generate: {path.name} is corrupt or incomplete ({e}); regenerating it", file=sys.stderr)
            attrs = None
    if path.exists() and not overwrite and attrs is not None:
        expected = {"config_sha256": cfg.fingerprint(), "base_seed": int(base_seed),
                    "num_datasets": int(datasets_per_shard), "shard_index": int(shard_index)}
        differing = sorted(k for k, v in expected.items() if attrs.get(k) != v)
        if differing:
            raise FileExistsError(
                f"{path} exists but was written with a different {', '.join(differing)}; "
                "use another out_dir, delete it, or pass overwrite=true")
        return path

    sampler = DatasetSampler(cfg)
    tmp = path.with_name(path.name + ".tmp")
    with _single_thread():
        _write_file(tmp, sampler, cfg, shard_index, datasets_per_shard, base_seed, compression, progress)
    os.replace(tmp, path)
    return path


@contextmanager
def _single_thread():
    """One BLAS (and torch) thread while writing: matrix products summed in a thread-count
    dependent order would make the bytes depend on the machine's load and core count."""
    torch = sys.modules.get("torch")
    saved = torch.get_num_threads() if torch is not None else None
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn and mist's deps
        limits = nullcontext()
    else:
        limits = threadpool_limits(1)
    try:
        if torch is not None:
            torch.set_num_threads(1)
        with limits:
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(saved)


def _write_file(tmp: Path, sampler: DatasetSampler, cfg: GeneratorConfig, shard_index: int, datasets_per_shard: int,
                base_seed: int, compression: str | None, progress: Callable[[int], None] | None) -> None:
    config_json = json.dumps(cfg.to_dict(), sort_keys=True, separators=(",", ":"))
    index = np.zeros(datasets_per_shard, dtype=INDEX_DTYPE)
    with h5py.File(tmp, "w", track_order=False, libver=("earliest", "v110")) as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["shard_index"] = int(shard_index)
        f.attrs["base_seed"] = int(base_seed)
        f.attrs["num_datasets"] = int(datasets_per_shard)
        f.attrs["config"] = config_json
        f.attrs["config_sha256"] = cfg.fingerprint()
        for i in range(datasets_per_shard):
            s = sampler.sample_seeded(dataset_seed(base_seed, shard_index, i))
            _write_set(f, i, s, compression)
            index[i] = (s.n, s.dx, s.dy, s.mi)
            if progress is not None:
                progress(1)
        f.create_dataset("index", data=index, track_times=False)
        f.flush()
        os.fsync(f.id.get_vfd_handle())


def _write_set(f: h5py.File, i: int, s: SampleSet, compression: str | None) -> None:
    g = _group(f, f"{i:06d}")
    for key, arr in (("x", s.x), ("y", s.y)):
        g.create_dataset(key, data=np.ascontiguousarray(arr, dtype=np.float32), chunks=arr.shape,
                         fletcher32=True, compression=compression, shuffle=compression is not None,
                         track_times=False)
    g.attrs["mi"] = float(s.mi)
    g.attrs["family"] = s.family
    g.attrs["transform"] = s.transform
    g.attrs["params"] = json.dumps(s.params, sort_keys=True, separators=(",", ":"))
    g.attrs["n"] = s.n
    g.attrs["dx"] = s.dx
    g.attrs["dy"] = s.dy
    g.attrs["seed"] = -1 if s.seed is None else int(s.seed)


def _read_root(path: Path) -> dict[str, Any]:
    """Root attributes of a shard; ShardError naming the file if it is not a readable shard."""
    try:
        with h5py.File(path, "r") as f:
            attrs = {k: _plain(v) for k, v in f.attrs.items()}
            if attrs.get("format") != FORMAT:
                raise ShardError(f"{path}: not a mist shard (no format={FORMAT!r} attribute)")
            if "index" not in f or f["index"].shape != (attrs.get("num_datasets"),):
                raise ShardError(f"{path}: incomplete shard (index missing or wrong length)")
            return attrs
    except ShardError:
        raise
    except (OSError, KeyError, ValueError) as e:
        raise ShardError(f"{path}: corrupt or truncated shard ({e}); delete it and rerun mist-generate "
                         "to rewrite it") from e


def _plain(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    return v


class ShardReader:
    """Random access to every dataset in a folder of shards (or in a list of shard files).

    Opening reads only each shard's small index table; `reader[i]` reads one dataset. File
    handles open lazily and are reopened after a fork (safe in DataLoader workers).

    Arguments:
        shards: a folder (all `*.h5` in it, sorted) or a sequence of shard paths.

    Attributes:
        shard_paths: the shard files, in index order.
        index: structured array (n, dx, dy, mi) with one row per dataset, over all shards.

    Raises:
        FileNotFoundError: no shards found.
        ShardError: a corrupt or truncated shard (the message names the file).
    """

    def __init__(self, shards: str | os.PathLike | Sequence[str | os.PathLike]):
        if isinstance(shards, (str, os.PathLike)):
            folder = Path(shards)
            if not folder.is_dir():
                raise FileNotFoundError(f"{folder} is not a folder of shards")
            paths = sorted(folder.glob("*.h5"))
            if not paths:
                raise FileNotFoundError(f"no shards (*.h5) in {folder}; write some with `mist-generate out_dir={folder}`")
        else:
            paths = [Path(p) for p in shards]
        self.shard_paths: list[str] = [str(p) for p in paths]
        tables = []
        for p in paths:
            if not p.exists():
                raise FileNotFoundError(f"shard {p} does not exist")
            _read_root(p)
            with h5py.File(p, "r") as f:
                tables.append(f["index"][()])
        self.index = np.concatenate(tables) if tables else np.zeros(0, dtype=INDEX_DTYPE)
        self._offsets = np.cumsum([0] + [len(t) for t in tables])
        self._handles: dict[int, h5py.File] = {}
        self._pid = os.getpid()

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def locate(self, i: int) -> tuple[str, int]:
        """(shard path, position in that shard) of dataset i."""
        k, j = self._locate(i)
        return self.shard_paths[k], j

    def _locate(self, i: int) -> tuple[int, int]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"dataset {i} out of range for {len(self)} datasets")
        i = i % len(self)
        k = int(np.searchsorted(self._offsets, i, side="right") - 1)
        return k, i - int(self._offsets[k])

    def __getitem__(self, i: int) -> SampleSet:
        k, j = self._locate(int(i))
        path = self.shard_paths[k]
        try:
            g = self._file(k)[f"{j:06d}"]
            a = g.attrs
            return SampleSet(x=g["x"][()], y=g["y"][()], mi=float(a["mi"]), family=_plain(a["family"]),
                             transform=_plain(a["transform"]), params=json.loads(_plain(a["params"])),
                             seed=None if int(a["seed"]) < 0 else int(a["seed"]))
        except (OSError, KeyError, ValueError) as e:
            raise ShardError(f"{path}: cannot read dataset {j} ({e}); the shard is corrupt, "
                             "delete it and rerun mist-generate to rewrite it") from e

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def _file(self, k: int) -> h5py.File:
        if os.getpid() != self._pid:  # forked: the parent's handles are not ours to use
            self._handles, self._pid = {}, os.getpid()
        if k not in self._handles:
            self._handles[k] = h5py.File(self.shard_paths[k], "r")
        return self._handles[k]

    def close(self) -> None:
        for h in self._handles.values():
            h.close()
        self._handles = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_handles"] = {}
        return state

    def __del__(self):
        try:
            if os.getpid() == self._pid:
                self.close()
        except Exception:  # pragma: no cover
            pass
