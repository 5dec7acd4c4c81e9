"""The release checkpoint format: safetensors weights plus a JSON card. Loading never unpickles.

A release is two files side by side, `NAME.safetensors` and `NAME.json`. The card holds the
architecture, preprocessing, quantile levels, the ranges the model was trained on, calibration,
the package version and the sha256 of the weights file; the weights file's header holds the
sha256 of the card's content (canonical JSON without `weights_sha256`). Each file binds the
other, so an edit of either (a calibration offset, a trained range, a weight) is refused on load
with a CheckpointError, as is a card that does not follow the schema. To change a card, load
the release and save it again with `save_release`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from mist.model import MISTNetwork, NetworkConfig
from mist.version import __version__

__all__ = [
    "FORMAT_VERSION", "CheckpointError", "save_release", "load_release", "release_paths", "sha256_of", "card_digest",
    "validate_card", "make_readable",
]

FORMAT_VERSION = 2  # 2: the weights' header carries the card's sha256


class CheckpointError(ValueError):
    """A release checkpoint is missing, corrupt or does not fit this version of mist."""


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def release_paths(path: str | Path) -> tuple[Path, Path]:
    """`dir/NAME`, `dir/NAME.json` or `dir/NAME.safetensors` -> (weights, card)."""
    if not str(path).strip():
        raise CheckpointError("the checkpoint path is empty; pass dir/NAME of a release (NAME.json + NAME.safetensors), "
                              "or None for the shipped checkpoint")
    p = Path(path)
    if p.suffix in (".json", ".safetensors"):
        p = p.with_suffix("")
    return p.with_suffix(".safetensors"), p.with_suffix(".json")


def make_readable(path: Path) -> None:
    """Give a written file the mode an ordinary write gets (0666 less the umask): safetensors
    writes through a private temporary file (0600), so a shared checkpoint could not be read by others."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def card_digest(card: dict[str, Any]) -> str:
    """sha256 of a card's canonical JSON without its `weights_sha256` (what the weights' header records)."""
    body = {k: v for k, v in card.items() if k != "weights_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _require(ok: bool, card_path: Path, what: str) -> None:
    if not ok:
        raise CheckpointError(
            f"checkpoint card {card_path} is malformed: {what}; re-export it with `mist-export` "
            "(or restore the file, e.g. `git checkout`, or reinstall mist)"
        )


def validate_card(card: Any, card_path: Path) -> None:
    """Check a card against the release schema before anything is built from it (CheckpointError if not)."""
    _require(isinstance(card, dict), card_path, f"it is a JSON {type(card).__name__}, not an object")
    _require(card.get("format_version") == FORMAT_VERSION, card_path,
             f"format_version is {card.get('format_version')!r}, this mist reads {FORMAT_VERSION} "
             "(upgrade mist, or re-export an older checkpoint)")
    for key, kind in (("architecture", dict), ("quantile_levels", list), ("weights_sha256", str), ("mist_version", str)):
        _require(isinstance(card.get(key), kind), card_path, f"`{key}` is missing or not a {kind.__name__}")
    fields = set(NetworkConfig.__dataclass_fields__)
    extra = sorted(set(card["architecture"]) - fields)
    _require(not extra, card_path, f"`architecture` has unknown keys {extra} (known: {sorted(fields)})")
    levels = card["quantile_levels"]
    _require(all(isinstance(q, (int, float)) and 0 < q < 1 for q in levels) and levels == sorted(set(levels))
             and 0.5 in levels, card_path, f"`quantile_levels` {levels} must increase within (0, 1) and hold 0.5")
    _require(list(card["architecture"].get("quantiles", levels)) == levels, card_path,
             "`quantile_levels` differ from the architecture's quantiles")
    tr = card.get("trained_ranges")
    if tr is not None:
        ok = isinstance(tr, dict) and all(
            isinstance(tr.get(k), list) and len(tr[k]) == 2 and all(isinstance(v, (int, float)) for v in tr[k])
            and tr[k][0] <= tr[k][1] for k in ("n", "dx", "dy", "mi"))
        _require(ok, card_path, "`trained_ranges` needs n, dx, dy and mi as [low, high] with low <= high")
    cal = card.get("calibration")
    _require(cal is None or isinstance(cal, dict), card_path, "`calibration` must be an object")


def save_release(network: MISTNetwork, card: dict[str, Any], path: str | Path) -> tuple[Path, Path]:
    """Write `network` and its card as `PATH.safetensors` and `PATH.json`.

    Arguments:
        network: the trained estimator.
        card: what to record besides the architecture: trained ranges, calibration, training
            provenance (JSON-serialisable).
        path: destination without suffix, e.g. `checkpoints/mist-default`.

    Returns:
        The paths of the weights and of the card.
    """
    if str(path).endswith(("/", "\\")) or Path(path).is_dir():
        raise ValueError(f"{path} is a directory; a release is a path without suffix inside one, e.g. "
                         f"{Path(path) / 'mist'} (writes mist.safetensors and mist.json there)")
    weights, card_path = release_paths(path)
    for target in (weights, card_path):
        if target.is_dir():
            raise ValueError(f"{target} is a directory, so the release cannot be written there; pass another path "
                             "or remove that directory")
    weights.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
    full = json.loads(json.dumps({  # through JSON, so the digest is of what the file will hold
        **{k: v for k, v in card.items() if k != "weights_sha256"},
        "format_version": FORMAT_VERSION,
        "mist_version": __version__,
        "architecture": network.cfg.to_dict(),
        "quantile_levels": list(network.cfg.quantiles),
        "weights_file": weights.name,
    }))
    meta = {"format": "mist", "format_version": str(FORMAT_VERSION), "card_sha256": card_digest(full)}
    save_file(tensors, str(weights), metadata=meta)
    make_readable(weights)
    full["weights_sha256"] = sha256_of(weights)
    card_path.write_text(json.dumps(full, indent=2, sort_keys=True) + "\n")
    return weights, card_path


def load_release(path: str | Path, map_location: str | torch.device = "cpu") -> tuple[MISTNetwork, dict[str, Any]]:
    """Load a release checkpoint, verifying its sha256.

    Arguments:
        path: `dir/NAME`, or either of its two files.
        map_location: device for the weights.

    Returns:
        The network in eval mode and its card.

    Raises:
        CheckpointError: a file is missing, the weights do not match the card's sha256, or the
            weights do not fit the architecture the card describes.
    """
    weights, card_path = release_paths(path)
    for f in (card_path, weights):
        if not f.is_file():
            raise CheckpointError(
                f"checkpoint file {f} does not exist; pass the path of a release checkpoint "
                "(NAME.json beside NAME.safetensors), e.g. one written by `mist-export`"
            )
    try:
        card = json.loads(card_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"checkpoint card {card_path} is not valid JSON ({e}); the file is corrupt") from e
    validate_card(card, card_path)
    digest = sha256_of(weights)
    if digest != card["weights_sha256"]:
        raise CheckpointError(
            f"{weights} does not match its card: its sha256 is {digest}, {card_path.name} records "
            f"{card['weights_sha256']}; one of the two files was changed or is corrupt: restore both "
            "(e.g. `git checkout`) or reinstall mist"
        )
    try:
        with safe_open(str(weights), framework="pt") as f:
            bound = (f.metadata() or {}).get("card_sha256")
        tensors = load_file(str(weights))
    except Exception as e:  # safetensors raises its own error types for truncated or foreign files
        raise CheckpointError(f"{weights} is not a readable safetensors file ({e}); restore it or reinstall mist") from e
    if bound != card_digest(card):
        raise CheckpointError(
            f"{card_path} was edited after export: its content no longer matches the sha256 that "
            f"{weights.name} records; restore the card (e.g. `git checkout`), or change a card only by "
            "loading the release and saving it again with mist.release.save_release"
        )
    try:
        network = MISTNetwork(NetworkConfig(**card["architecture"]))
        network.load_state_dict(tensors, strict=True)
    except (RuntimeError, TypeError, ValueError) as e:
        raise CheckpointError(f"{weights} does not fit the architecture in {card_path.name}: {e}") from e
    return network.to(map_location).eval(), card
