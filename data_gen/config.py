"""GeneratorConfig: what the sampler draws (families, transforms, n, dims, MI label prior)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["GeneratorConfig", "MIComponent"]

# Upper limits on what a config may ask for. They are generous; the sampler itself has none.
MIN_SAMPLES = 10  # the fewest samples a dataset may have: what the estimator accepts
_MAX_DIM = 1024


@dataclasses.dataclass(frozen=True)
class MIComponent:
    """One uniform component of the MI label prior: weight, and the interval [low, high] in nats."""

    weight: float
    low: float
    high: float


def _default_prior() -> tuple[MIComponent, ...]:
    return (MIComponent(0.7, 0.0, 5.0), MIComponent(0.2, 5.0, 15.0), MIComponent(0.1, 15.0, 40.0))


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    """What `DatasetSampler` draws. Build it with `GeneratorConfig.from_dict`, which validates.

    Arguments:
        families: registry name -> relative weight of each distribution family.
        transforms: registry name -> relative weight of each invertible transform.
        min_chain: the fewest transforms in each side's chain (a side whose dimension no listed
            transform accepts stays untransformed).
        max_chain: the most; the length is uniform on [min_chain, max_chain].
        n: samples per dataset, (lo, hi) drawn log-uniformly; lo == hi fixes it.
        dx: dimension of X, (lo, hi) inclusive integers; lo == hi fixes it.
        dy: dimension of Y, (lo, hi) inclusive integers; lo == hi fixes it.
        dim_prior: "log_uniform" (small dims more often) or "uniform" over [lo, hi].
        mi_prior: mixture of uniform components on the MI label, in nats.
        max_mi_per_dim: the most MI (nats) one dependent coordinate pair may carry. The target
            MI is drawn from `mi_prior` truncated to [0, min(dx, dy) * max_mi_per_dim], because
            a pair of float32 coordinates cannot represent more than about 10 nats: past that
            the noise that makes the dependence finite falls below float32 resolution.
        family_options: per-family settings, e.g. {"student_t": {"dof": [1, 20]}}.
        transform_options: per-transform settings, e.g. {"linear": {"max_condition": 10}}.
    """

    families: Mapping[str, float]
    transforms: Mapping[str, float]
    min_chain: int = 0
    max_chain: int = 2
    n: tuple[int, int] = (16, 4096)
    dx: tuple[int, int] = (1, 32)
    dy: tuple[int, int] = (1, 32)
    dim_prior: str = "log_uniform"
    mi_prior: tuple[MIComponent, ...] = dataclasses.field(default_factory=_default_prior)
    max_mi_per_dim: float = 8.0
    family_options: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    transform_options: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, cfg: Any) -> GeneratorConfig:
        """Build and validate a config from a dict or an omegaconf DictConfig.

        Raises:
            ValueError: naming the offending key and how to fix it.
        """
        if isinstance(cfg, GeneratorConfig):
            return cfg
        try:  # omegaconf is a dependency of hydra; accept its containers without requiring it
            from omegaconf import DictConfig, OmegaConf

            if isinstance(cfg, DictConfig):
                cfg = OmegaConf.to_container(cfg, resolve=True)
        except ImportError:  # pragma: no cover
            pass
        if not isinstance(cfg, Mapping):
            raise ValueError(f"generator config must be a mapping, got {type(cfg).__name__}")
        cfg = dict(cfg)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ValueError(f"generator config: unknown key(s) {unknown}; valid keys are {sorted(known)}")
        if "families" not in cfg or "transforms" not in cfg:
            raise ValueError("generator config needs 'families' (names or name: weight) and 'transforms' "
                             "(names or name: weight; [] for none)")
        kwargs: dict[str, Any] = {
            "families": _weights(cfg["families"], "families"),
            "transforms": _weights(cfg["transforms"], "transforms", allow_empty=True),
        }
        for key in ("min_chain", "max_chain"):
            if key in cfg:
                kwargs[key] = _int(cfg[key], key)
        for key in ("n", "dx", "dy"):
            if key in cfg:
                kwargs[key] = _int_range(cfg[key], key)
        if "dim_prior" in cfg:
            kwargs["dim_prior"] = str(cfg["dim_prior"])
        if "mi_prior" in cfg:
            kwargs["mi_prior"] = _prior(cfg["mi_prior"])
        if "max_mi_per_dim" in cfg:
            kwargs["max_mi_per_dim"] = _float(cfg["max_mi_per_dim"], "max_mi_per_dim")
        for key in ("family_options", "transform_options"):
            if key in cfg:
                value = cfg[key] or {}
                if not isinstance(value, Mapping) or not all(isinstance(v, Mapping) for v in value.values()):
                    raise ValueError(f"generator config: '{key}' must map names to option mappings, got {value!r}")
                kwargs[key] = {str(k): dict(v) for k, v in value.items()}
        out = cls(**kwargs)
        out.validate()
        return out

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-serialisable dict that `from_dict` reads back to an equal config."""
        return {
            "families": dict(self.families),
            "transforms": dict(self.transforms),
            "min_chain": self.min_chain,
            "max_chain": self.max_chain,
            "n": list(self.n),
            "dx": list(self.dx),
            "dy": list(self.dy),
            "dim_prior": self.dim_prior,
            "mi_prior": [dataclasses.asdict(c) for c in self.mi_prior],
            "max_mi_per_dim": self.max_mi_per_dim,
            "family_options": {k: dict(v) for k, v in self.family_options.items()},
            "transform_options": {k: dict(v) for k, v in self.transform_options.items()},
        }

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of this config: shards record it to detect mixed configs."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Raise ValueError naming the key and the fix for anything the sampler cannot honour."""
        from data_gen.registry import FAMILIES, TRANSFORMS

        for name in self.families:
            if name not in FAMILIES:
                raise ValueError(f"generator config 'families': unknown family {name!r}; "
                                 f"choose from {sorted(FAMILIES)}")
        for name in self.transforms:
            if name not in TRANSFORMS:
                raise ValueError(f"generator config 'transforms': unknown transform {name!r}; "
                                 f"choose from {sorted(TRANSFORMS)}")
        if self.min_chain < 0 or self.max_chain < self.min_chain:
            raise ValueError(f"generator config needs 0 <= min_chain <= max_chain, got min_chain={self.min_chain}, "
                             f"max_chain={self.max_chain}")
        if self.min_chain > 0 and not self.transforms:
            raise ValueError("generator config: 'min_chain' > 0 needs at least one entry in 'transforms' "
                             "(or set min_chain: 0)")
        lo, hi = self.n
        if lo < MIN_SAMPLES or hi < lo:
            raise ValueError(f"generator config 'n' must be an int >= {MIN_SAMPLES} or [lo, hi] with {MIN_SAMPLES} <= lo <= hi "
                             f"(the estimator needs at least {MIN_SAMPLES} samples), got {list(self.n)}")
        for key in ("dx", "dy"):
            lo, hi = getattr(self, key)
            if lo < 1 or hi < lo or hi > _MAX_DIM:
                raise ValueError(f"generator config '{key}' must be an int >= 1 or [lo, hi] with "
                                 f"1 <= lo <= hi <= {_MAX_DIM}, got {list(getattr(self, key))}")
        if self.dim_prior not in ("log_uniform", "uniform"):
            raise ValueError(f"generator config 'dim_prior' must be 'log_uniform' or 'uniform', got {self.dim_prior!r}")
        if not self.mi_prior:
            raise ValueError("generator config 'mi_prior' is empty; give at least one "
                             "{weight, low, high} component, e.g. [{weight: 1, low: 0, high: 10}]")
        for i, c in enumerate(self.mi_prior):
            if not (c.low >= 0 and c.high > c.low and math.isfinite(c.high)):
                raise ValueError(f"generator config 'mi_prior[{i}]': need 0 <= low < high < inf (nats), "
                                 f"got low={c.low}, high={c.high}")
            if not (c.weight > 0 and math.isfinite(c.weight)):
                raise ValueError(f"generator config 'mi_prior[{i}].weight' must be > 0, got {c.weight}")
        if not (0 < self.max_mi_per_dim <= 12):
            raise ValueError(f"generator config 'max_mi_per_dim' must be in (0, 12] nats (float32 cannot "
                             f"resolve more per coordinate pair; 8 is a safe default), got {self.max_mi_per_dim}")
        top = min(self.dx[1], self.dy[1]) * self.max_mi_per_dim
        if top <= min(c.low for c in self.mi_prior):
            raise ValueError(f"generator config 'mi_prior': no component reaches below {top:g} nats, the most that "
                             f"min(dx, dy) = {min(self.dx[1], self.dy[1])} coordinate pairs at max_mi_per_dim = "
                             f"{self.max_mi_per_dim} can carry; lower the prior or raise dx/dy")
        for key, registry in (("family_options", FAMILIES), ("transform_options", TRANSFORMS)):
            for name, opts in getattr(self, key).items():
                if name not in registry:
                    raise ValueError(f"generator config '{key}': unknown name {name!r}; choose from {sorted(registry)}")
                registry[name].check_options(opts, where=f"{key}.{name}")


# ---------------------------------------------------------------------- parsing helpers
def _weights(value: Any, key: str, allow_empty: bool = False) -> dict[str, float]:
    if value is None:
        value = []
    if isinstance(value, str):
        value = [value]
    if isinstance(value, Mapping):
        out = {}
        for name, w in value.items():
            w = _float(w, f"{key}.{name}")
            if not (w > 0 and math.isfinite(w)):
                raise ValueError(f"generator config '{key}.{name}': weight must be > 0, got {w} "
                                 f"(remove the entry to leave it out)")
            out[str(name)] = w
    elif isinstance(value, Sequence):
        out = {}
        for name in value:
            if not isinstance(name, str):
                raise ValueError(f"generator config '{key}': entries must be names, got {name!r}")
            out[name] = 1.0
    else:
        raise ValueError(f"generator config '{key}' must be a list of names or a mapping name: weight, got {value!r}")
    if not out and not allow_empty:
        raise ValueError(f"generator config '{key}' is empty; name at least one")
    return out


def _float(value: Any, key: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"generator config '{key}' must be a number, got {value!r}") from None


def _int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ValueError(f"generator config '{key}' must be an integer, got {value!r}")
    return int(value)


def _int_range(value: Any, key: str) -> tuple[int, int]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = _int(value, key)
        return (v, v)
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        return (_int(value[0], f"{key}[0]"), _int(value[1], f"{key}[1]"))
    raise ValueError(f"generator config '{key}' must be an integer or [lo, hi], got {value!r}")


def _prior(value: Any) -> tuple[MIComponent, ...]:
    if isinstance(value, Mapping):  # a single interval {low, high}
        value = [value]
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ValueError(f"generator config 'mi_prior' must be a list of {{weight, low, high}}, got {value!r}")
    out = []
    for i, c in enumerate(value):
        if isinstance(c, Sequence) and not isinstance(c, str) and len(c) == 2:
            c = {"weight": 1.0, "low": c[0], "high": c[1]}
        if not isinstance(c, Mapping) or not {"low", "high"} <= set(c) or set(c) - {"weight", "low", "high"}:
            raise ValueError(f"generator config 'mi_prior[{i}]' must be {{weight, low, high}} (nats), got {c!r}")
        out.append(MIComponent(_float(c.get("weight", 1.0), f"mi_prior[{i}].weight"),
                               _float(c["low"], f"mi_prior[{i}].low"), _float(c["high"], f"mi_prior[{i}].high")))
    return tuple(out)
