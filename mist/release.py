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
from collections.abc import Mapping
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from mist.card import FORMAT_VERSION, Card, CheckpointError
from mist.model import MISTNetwork, NetworkConfig
from mist.version import __version__

__all__ = [
    "FORMAT_VERSION", "CheckpointError", "Card", "save_release", "load_release", "release_paths", "sha256_of",
    "card_digest", "make_readable",
]


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


def card_digest(card: Mapping[str, Any]) -> str:
    """sha256 of a card's canonical JSON without its `weights_sha256` (what the weights' header records)."""
    body = {k: v for k, v in card.items() if k != "weights_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def save_release(network: MISTNetwork, card: Mapping[str, Any], path: str | Path) -> tuple[Path, Path]:
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


def load_release(path: str | Path, map_location: str | torch.device = "cpu") -> tuple[MISTNetwork, Card]:
    """Load a release checkpoint, verifying its sha256.

    Arguments:
        path: `dir/NAME`, or either of its two files.
        map_location: device for the weights.

    Returns:
        The network in eval mode and its card (`mist.card.Card`: checked, typed).

    Raises:
        CheckpointError: a file is missing, the card does not follow the schema (its ranges or
            calibration included), the weights do not match the card's sha256, or the weights do
            not fit the architecture the card describes.
    """
    weights, card_path = release_paths(path)
    for f in (card_path, weights):
        if not f.is_file():
            raise CheckpointError(
                f"checkpoint file {f} does not exist; pass the path of a release checkpoint "
                "(NAME.json beside NAME.safetensors), e.g. one written by `mist-export`"
            )
    try:
        raw = json.loads(card_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"checkpoint card {card_path} is not valid JSON ({e}); the file is corrupt") from e
    card = Card(raw, card_path, release=True)
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
