"""BenchmarkConfig: the grid of test cases, the estimators and how to run them (configs/benchmark/*.yaml)."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.resources
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["BenchmarkConfig", "Suite", "Grid", "EstimatorSpec", "SkipRule", "Bootstrap", "load_config",
           "config_path", "generator_path", "MIST"]

MIST = "mist"  # the estimator kind of the pretrained model; every other kind is a mist.baselines name
_TOP_KEYS = {"name", "seed", "seeds", "workers", "threads", "memory", "levels", "suites", "grid", "estimators"}
_MEMORY = ("auto", "rss", "tracemalloc", "off")


def _err(key: str, msg: str) -> ValueError:
    return ValueError(f"benchmark config '{key}': {msg}")


def _int(value: Any, key: str, lo: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise _err(key, f"must be an integer, got {value!r}")
    if lo is not None and value < lo:
        raise _err(key, f"must be >= {lo}, got {value!r}")
    return int(value)


def _float(value: Any, key: str) -> float:
    if isinstance(value, bool):
        raise _err(key, f"must be a number, got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise _err(key, f"must be a number, got {value!r}") from None
    if not math.isfinite(out):
        raise _err(key, f"must be finite, got {value!r}")
    return out


def _list(value: Any, key: str) -> list:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence) or not value:
        raise _err(key, f"must be a non-empty list, got {value!r}")
    return list(value)


def _mapping(value: Any, key: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _err(key, f"must be a mapping, got {value!r}")
    return dict(value)


def _known(d: Mapping, allowed: set[str], key: str) -> None:
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise _err(key, f"unknown key(s) {unknown}; valid keys are {sorted(allowed)}")


@dataclasses.dataclass(frozen=True)
class Suite:
    """One source of test cases.

    Attributes:
        name: the label in the tables ("in_distribution", "heldout_family", ...).
        generator: a generator config: a name in `configs/generator/` or a path to a YAML file.
        heldout: whether the checkpoint never saw these families or transforms in training.
        overrides: keys of the generator config replaced before sampling (e.g. `families`).
    """

    name: str
    generator: str
    heldout: bool
    overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Grid:
    """The cells: every suite x n x (dx, dy) x MI target, each drawn `seeds` times.

    Attributes:
        n: sample sizes.
        dims: (dx, dy) pairs.
        mi: target MI values in nats. Each case draws its exact MI uniformly from the band
            [max(0, m - mi_halfwidth), m + mi_halfwidth] (the target 0 from [0, zero_mi_high]).
        mi_halfwidth: half-width of each band, nats.
        zero_mi_high: upper end of the band of the target 0, nats (the generator needs low < high).
    """

    n: tuple[int, ...]
    dims: tuple[tuple[int, int], ...]
    mi: tuple[float, ...]
    mi_halfwidth: float = 0.25
    zero_mi_high: float = 0.01

    def band(self, m: float) -> tuple[float, float]:
        """The interval (nats) the exact MI of a case with target `m` is drawn from."""
        if m <= 0:
            return 0.0, self.zero_mi_high
        return max(0.0, m - self.mi_halfwidth), m + self.mi_halfwidth


@dataclasses.dataclass(frozen=True)
class SkipRule:
    """A case is skipped when it meets every condition given (None = no condition).

    Attributes:
        n_above: n > this.
        n_below: n < this.
        joint_dim_above: dx + dy > this.
        seed_above: the seed index (0, 1, ... within a cell) > this; 0 keeps the first seed only.
        suites: the case's suite is one of these.
        reason: why, in words, for the summary.
    """

    n_above: int | None = None
    n_below: int | None = None
    joint_dim_above: int | None = None
    seed_above: int | None = None
    suites: tuple[str, ...] | None = None
    reason: str = ""

    def matches(self, n: int, dx: int, dy: int, seed_index: int, suite: str) -> bool:
        return ((self.n_above is None or n > self.n_above)
                and (self.n_below is None or n < self.n_below)
                and (self.joint_dim_above is None or dx + dy > self.joint_dim_above)
                and (self.seed_above is None or seed_index > self.seed_above)
                and (self.suites is None or suite in self.suites))

    def describe(self) -> str:
        parts = []
        if self.n_above is not None:
            parts.append(f"n > {self.n_above}")
        if self.n_below is not None:
            parts.append(f"n < {self.n_below}")
        if self.joint_dim_above is not None:
            parts.append(f"dx + dy > {self.joint_dim_above}")
        if self.seed_above is not None:
            parts.append(f"seed index > {self.seed_above}")
        if self.suites is not None:
            parts.append(f"suite in {list(self.suites)}")
        text = " and ".join(parts) or "every case"
        return f"{text} ({self.reason})" if self.reason else text


@dataclasses.dataclass(frozen=True)
class Bootstrap:
    """Resampling intervals for a baseline (mist.baselines.bootstrap_interval), where affordable.

    Attributes:
        n_boot: resamples per case.
        method: "subsample" (m-out-of-n without replacement) or "bootstrap".
        skip: cases that get no interval (the point estimate still runs).
    """

    n_boot: int = 50
    method: str = "subsample"
    skip: tuple[SkipRule, ...] = ()


@dataclasses.dataclass(frozen=True)
class EstimatorSpec:
    """One column of the benchmark.

    Attributes:
        name: the column label.
        kind: "mist", or a `mist.baselines.ESTIMATORS` name ("ksg", "gaussian", ...).
        options: keyword arguments of `make_estimator(kind, ...)`; for mist those of
            `MIEstimator.from_pretrained` besides the checkpoint (e.g. batch_tokens).
        checkpoint: mist only: a release checkpoint path, or None for the shipped default.
        device: mist only: "cpu" (the default, comparable timings), "cuda" or "auto".
        skip: rules for cases this estimator does not run (too slow there, or out of its scope).
        bootstrap: intervals for a baseline, or None.
    """

    name: str
    kind: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    checkpoint: str | None = None
    device: str = "cpu"
    skip: tuple[SkipRule, ...] = ()
    bootstrap: Bootstrap | None = None

    def skip_reason(self, n: int, dx: int, dy: int, seed_index: int, suite: str) -> str | None:
        """The first matching rule, described, or None when the case runs."""
        for rule in self.skip:
            if rule.matches(n, dx, dy, seed_index, suite):
                return rule.describe()
        return None

    def bootstrap_skip_reason(self, n: int, dx: int, dy: int, seed_index: int, suite: str) -> str | None:
        if self.bootstrap is None:
            return "no bootstrap configured"
        for rule in self.bootstrap.skip:
            if rule.matches(n, dx, dy, seed_index, suite):
                return rule.describe()
        return None


@dataclasses.dataclass(frozen=True)
class BenchmarkConfig:
    """What the benchmark runs. Build it with `BenchmarkConfig.from_dict` or `load_config`.

    Attributes:
        name: a label for the run ("quick", "full", "tiny").
        seed: the master seed; each case's data seed is a hash of it and the case's key, so a
            case's data do not depend on which other cases run, nor on their order.
        seeds: datasets drawn per grid cell.
        workers: worker processes (each runs whole cases, one at a time, with `threads` threads).
        threads: torch and BLAS threads per worker.
        memory: "auto" (rss where Linux allows it, else tracemalloc), "rss", "tracemalloc" or "off".
        levels: quantile levels compared with the truth (coverage), each in (0, 1).
        suites: where the cases come from.
        grid: the cells.
        estimators: the columns, in table order.
    """

    name: str
    seed: int
    seeds: int
    workers: int
    threads: int
    memory: str
    levels: tuple[float, ...]
    suites: tuple[Suite, ...]
    grid: Grid
    estimators: tuple[EstimatorSpec, ...]

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, cfg: Any) -> BenchmarkConfig:
        """Build and validate a config from a dict or an omegaconf DictConfig.

        Raises:
            ValueError: naming the offending key.
        """
        if isinstance(cfg, BenchmarkConfig):
            return cfg
        try:
            from omegaconf import DictConfig, OmegaConf

            if isinstance(cfg, DictConfig):
                cfg = OmegaConf.to_container(cfg, resolve=True)
        except ImportError:  # pragma: no cover
            pass
        cfg = _mapping(cfg, "<top>")
        _known(cfg, _TOP_KEYS, "<top>")
        for key in ("suites", "grid", "estimators"):
            if key not in cfg:
                raise _err(key, "is required")
        memory = str(cfg.get("memory", "auto"))
        if memory not in _MEMORY:
            raise _err("memory", f"must be one of {list(_MEMORY)}, got {memory!r}")
        levels = tuple(_float(q, "levels") for q in _list(cfg.get("levels", [0.05, 0.25, 0.5, 0.75, 0.95]), "levels"))
        if not all(0 < q < 1 for q in levels) or len(set(levels)) != len(levels):
            raise _err("levels", f"must be distinct numbers in (0, 1), got {list(levels)}")
        out = cls(
            name=str(cfg.get("name", "benchmark")),
            seed=_int(cfg.get("seed", 0), "seed", 0),
            seeds=_int(cfg.get("seeds", 1), "seeds", 1),
            workers=_int(cfg.get("workers", 1), "workers", 1),
            threads=_int(cfg.get("threads", 1), "threads", 1),
            memory=memory,
            levels=tuple(sorted(levels)),
            suites=_suites(cfg["suites"]),
            grid=_grid(cfg["grid"]),
            estimators=_estimators(cfg["estimators"]),
        )
        return out

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-serialisable dict that `from_dict` reads back to an equal config."""
        def rules(rs):
            return [{k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(r).items()
                     if v is not None and v != ""} for r in rs]

        return {
            "name": self.name, "seed": self.seed, "seeds": self.seeds, "workers": self.workers,
            "threads": self.threads, "memory": self.memory, "levels": list(self.levels),
            "suites": {s.name: {"generator": s.generator, "heldout": s.heldout, "overrides": dict(s.overrides)}
                       for s in self.suites},
            "grid": {"n": list(self.grid.n), "dims": [list(d) for d in self.grid.dims], "mi": list(self.grid.mi),
                     "mi_halfwidth": self.grid.mi_halfwidth, "zero_mi_high": self.grid.zero_mi_high},
            "estimators": {
                e.name: {"kind": e.kind, "options": dict(e.options), "checkpoint": e.checkpoint, "device": e.device,
                         "skip": rules(e.skip),
                         "bootstrap": None if e.bootstrap is None else {
                             "n_boot": e.bootstrap.n_boot, "method": e.bootstrap.method,
                             "skip": rules(e.bootstrap.skip)}}
                for e in self.estimators},
        }

    def fingerprint(self) -> str:
        """sha256 of what decides the results (not workers, threads or memory): resuming checks it."""
        d = self.to_dict()
        for key in ("workers", "threads", "memory", "name"):
            d.pop(key)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    def select(self, names: Sequence[str]) -> BenchmarkConfig:
        """The same config with only the estimators `names`, in the given order."""
        by_name = {e.name: e for e in self.estimators}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise ValueError(f"estimators {missing} are not in the config; it has {list(by_name)}")
        return dataclasses.replace(self, estimators=tuple(by_name[n] for n in names))


def _suites(value: Any) -> tuple[Suite, ...]:
    value = _mapping(value, "suites")
    if not value:
        raise _err("suites", "is empty; name at least one generator config")
    out = []
    for name, s in value.items():
        key = f"suites.{name}"
        s = _mapping(s, key)
        _known(s, {"generator", "heldout", "overrides"}, key)
        if "generator" not in s or "heldout" not in s:
            raise _err(key, "needs 'generator' (a name in configs/generator or a YAML path) and 'heldout' (true/false)")
        if not isinstance(s["heldout"], bool):
            raise _err(f"{key}.heldout", f"must be true or false, got {s['heldout']!r}")
        out.append(Suite(str(name), str(s["generator"]), s["heldout"], _mapping(s.get("overrides"), f"{key}.overrides")))
    return tuple(out)


def _grid(value: Any) -> Grid:
    g = _mapping(value, "grid")
    _known(g, {"n", "dims", "mi", "mi_halfwidth", "zero_mi_high"}, "grid")
    for key in ("n", "dims", "mi"):
        if key not in g:
            raise _err(f"grid.{key}", "is required")
    n = tuple(_int(v, "grid.n", 10) for v in _list(g["n"], "grid.n"))
    dims = []
    for d in _list(g["dims"], "grid.dims"):
        if isinstance(d, str) or not isinstance(d, Sequence) or len(d) != 2:
            raise _err("grid.dims", f"entries must be [dx, dy] pairs, got {d!r}")
        dims.append((_int(d[0], "grid.dims", 1), _int(d[1], "grid.dims", 1)))
    mi = tuple(_float(v, "grid.mi") for v in _list(g["mi"], "grid.mi"))
    if any(m < 0 for m in mi):
        raise _err("grid.mi", f"targets must be >= 0 nats, got {list(mi)}")
    halfwidth = _float(g.get("mi_halfwidth", 0.25), "grid.mi_halfwidth")
    zero_high = _float(g.get("zero_mi_high", 0.01), "grid.zero_mi_high")
    if halfwidth <= 0 or zero_high <= 0:
        raise _err("grid", "mi_halfwidth and zero_mi_high must be > 0 (the generator draws from low < high)")
    for key, values in (("n", n), ("dims", dims), ("mi", mi)):
        if len(set(values)) != len(values):
            raise _err(f"grid.{key}", f"has duplicates: {list(values)}")
    return Grid(n, tuple(dims), mi, halfwidth, zero_high)


def _rules(value: Any, key: str) -> tuple[SkipRule, ...]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        value = [value]
    out = []
    for i, r in enumerate(_list(value, key) if value else []):
        k = f"{key}[{i}]"
        r = _mapping(r, k)
        fields = {f.name for f in dataclasses.fields(SkipRule)}
        _known(r, fields, k)
        kwargs: dict[str, Any] = {}
        for f in ("n_above", "n_below", "joint_dim_above", "seed_above"):
            if r.get(f) is not None:
                kwargs[f] = _int(r[f], f"{k}.{f}")
        if r.get("suites") is not None:
            suites = r["suites"]
            kwargs["suites"] = (str(suites),) if isinstance(suites, str) else tuple(str(s) for s in _list(suites, f"{k}.suites"))
        kwargs["reason"] = str(r.get("reason", ""))
        if len(kwargs) == 1:
            raise _err(k, f"has no condition; give one of {sorted(fields - {'reason'})}")
        out.append(SkipRule(**kwargs))
    return tuple(out)


def _estimators(value: Any) -> tuple[EstimatorSpec, ...]:
    from mist.baselines import ESTIMATORS

    value = _mapping(value, "estimators")
    if not value:
        raise _err("estimators", "is empty; name at least one")
    out = []
    for name, e in value.items():
        key = f"estimators.{name}"
        e = _mapping(e, key)
        _known(e, {"kind", "options", "checkpoint", "device", "skip", "bootstrap"}, key)
        kind = str(e.get("kind", name))
        if kind != MIST and kind not in ESTIMATORS:
            raise _err(f"{key}.kind", f"unknown estimator {kind!r}; choose 'mist' or one of {sorted(ESTIMATORS)}")
        if kind != MIST and (e.get("checkpoint") is not None):
            raise _err(f"{key}.checkpoint", "only the mist estimator takes a checkpoint")
        boot = e.get("bootstrap")
        if boot is not None:
            if kind == MIST:
                raise _err(f"{key}.bootstrap", "mist has its own quantiles; bootstrap is for the baselines")
            b = _mapping(boot, f"{key}.bootstrap")
            _known(b, {"n_boot", "method", "skip"}, f"{key}.bootstrap")
            method = str(b.get("method", "subsample"))
            if method not in ("subsample", "bootstrap"):
                raise _err(f"{key}.bootstrap.method", f"must be 'subsample' or 'bootstrap', got {method!r}")
            boot = Bootstrap(_int(b.get("n_boot", 50), f"{key}.bootstrap.n_boot", 2), method,
                             _rules(b.get("skip"), f"{key}.bootstrap.skip"))
        device = str(e.get("device", "cpu"))
        out.append(EstimatorSpec(
            name=str(name), kind=kind, options=_mapping(e.get("options"), f"{key}.options"),
            checkpoint=None if e.get("checkpoint") is None else str(e["checkpoint"]),
            device=device, skip=_rules(e.get("skip"), f"{key}.skip"), bootstrap=boot,
        ))
    return tuple(out)


# ---------------------------------------------------------------------- files
def _resolve(name_or_path: str | Path, folder: str) -> Path:
    """A YAML path as given, or `NAME` in the shipped `mist.configs/<folder>/NAME.yaml`."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.is_file():
            raise FileNotFoundError(f"config file {p} does not exist")
        return p
    shipped = Path(str(importlib.resources.files("mist.configs"))) / folder
    candidate = shipped / f"{name_or_path}.yaml"
    if not candidate.is_file():
        names = sorted(f.stem for f in shipped.glob("*.yaml"))
        raise FileNotFoundError(f"no config {name_or_path!r} in {shipped}; choose one of {names} or pass a YAML path")
    return candidate


def config_path(name_or_path: str | Path) -> Path:
    """The YAML file of a benchmark config: a name in `configs/benchmark/` or a path."""
    return _resolve(name_or_path, "benchmark")


def generator_path(name_or_path: str | Path) -> Path:
    """The YAML file of a generator config: a name in `configs/generator/` or a path."""
    return _resolve(name_or_path, "generator")


def load_config(name_or_path: str | Path, overrides: Sequence[str] = ()) -> BenchmarkConfig:
    """Load a benchmark config and apply dotted `KEY=VALUE` overrides (YAML values).

    Arguments:
        name_or_path: "tiny", "quick", "full" (shipped in `configs/benchmark/`), or a YAML path.
        overrides: e.g. ["seeds=1", "grid.n=[100,1000]", "estimators.mist.checkpoint=ckpt/m"].

    Returns:
        The validated config.
    """
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(config_path(name_or_path))
    if overrides:
        bad = [o for o in overrides if "=" not in o]
        if bad:
            raise ValueError(f"overrides must be KEY=VALUE, got {bad}")
        cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(list(overrides)))
    return BenchmarkConfig.from_dict(cfg)
