"""A composed training config checked before anything is built: every unknown key is named.

Hydra accepts a new key with `+key=value` and Lightning or a constructor may never read it: a
misspelt or invented key (`+learning_rate=1e-3`) would be silently ignored, or fail deep inside
instantiation. Here each top-level key must be one `configs/train.yaml` knows, and each key of a
section with a `_target_` must be a parameter of that target; the error names the nearest
valid key.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable

import hydra
from omegaconf import DictConfig

__all__ = ["TOP_LEVEL", "check_config"]

TOP_LEVEL = ("seed", "run_name", "run_dir", "resume", "ckpt_path", "export", "model", "data", "trainer", "callbacks", "logger")
_HYDRA_KEYS = {"_target_", "_recursive_", "_convert_", "_partial_", "_args_"}
# names users reach for first, and where they live
_ALIASES = {
    "learning_rate": "model.lr", "lr": "model.lr", "batch_size": "data.batch_size", "max_steps": "trainer.max_steps",
    "max_epochs": "trainer.max_epochs", "epochs": "trainer.max_epochs", "steps": "trainer.max_steps",
    "num_workers": "data.num_workers", "workers": "data.num_workers", "devices": "trainer.devices",
    "precision": "trainer.precision", "init_from": "model.init_from", "max_time": "trainer.max_time",
}


def _nearest(key: str, valid: Iterable[str]) -> str:
    valid = list(valid)
    if key in _ALIASES:
        return f" (did you mean {_ALIASES[key]}?)"
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _parameters(target: str) -> set[str] | None:
    """The keyword parameters of a target, or None when it takes **kwargs (anything goes)."""
    obj = hydra.utils.get_object(target)
    params = inspect.signature(obj).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}


def _check_section(name: str, section: DictConfig) -> None:
    target = section.get("_target_")
    if not target:
        return
    valid = _parameters(str(target))
    if valid is None:
        return
    unknown = [k for k in section.keys() if k not in valid and k not in _HYDRA_KEYS]
    if unknown:
        k = str(unknown[0])
        raise ValueError(
            f"{name} config: unknown key {k!r}{_nearest(k, valid)}; {target} takes {sorted(valid)}: fix the "
            "override's spelling (an existing key is set without '+')"
        )


def check_config(cfg: DictConfig) -> None:
    """Raise ValueError naming the first unknown key of `cfg` and the nearest valid one."""
    unknown = [k for k in cfg.keys() if k not in TOP_LEVEL]
    if unknown:
        k = str(unknown[0])
        raise ValueError(
            f"unknown config key {k!r}{_nearest(k, TOP_LEVEL)}: the top-level keys are {list(TOP_LEVEL)}; settings "
            "live in their section (model.lr, data.batch_size, trainer.max_steps, ...): see configs/train.yaml"
        )
    for name in ("model", "data", "trainer"):
        if cfg.get(name) is not None:
            _check_section(name, cfg[name])
    for group in ("callbacks", "logger"):
        for key, section in (cfg.get(group) or {}).items():
            if isinstance(section, DictConfig):
                _check_section(f"{group}.{key}", section)
