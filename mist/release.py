"""The release checkpoint format: safetensors weights plus a JSON card. Loading never unpickles.

A release is two files side by side, `NAME.safetensors` and `NAME.json`. The card holds the
architecture, preprocessing, quantile levels, the ranges the model was trained on, calibration,
the package version and the sha256 of the weights file, which is verified on every load.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from mist.model import MISTNetwork, NetworkConfig

__all__ = ["FORMAT_VERSION", "CheckpointError", "save_release", "load_release", "release_paths", "sha256_of"]

FORMAT_VERSION = 1


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
    p = Path(path)
    if p.suffix in (".json", ".safetensors"):
        p = p.with_suffix("")
    return p.with_suffix(".safetensors"), p.with_suffix(".json")


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
    from mist import __version__

    weights, card_path = release_paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
    save_file(tensors, str(weights), metadata={"format": "mist", "format_version": str(FORMAT_VERSION)})
    full = {
        **card,
        "format_version": FORMAT_VERSION,
        "mist_version": __version__,
        "architecture": network.cfg.to_dict(),
        "quantile_levels": list(network.cfg.quantiles),
        "weights_file": weights.name,
        "weights_sha256": sha256_of(weights),
    }
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
    except json.JSONDecodeError as e:
        raise CheckpointError(f"checkpoint card {card_path} is not valid JSON ({e}); the file is corrupt") from e
    if card.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{card_path} has format_version {card.get('format_version')!r}; this mist reads "
            f"version {FORMAT_VERSION}: upgrade mist or re-export the checkpoint"
        )
    digest = sha256_of(weights)
    if digest != card.get("weights_sha256"):
        raise CheckpointError(
            f"{weights} is corrupt: its sha256 is {digest}, the card {card_path.name} records "
            f"{card.get('weights_sha256')}; restore the file (e.g. `git checkout`) or reinstall mist"
        )
    network = MISTNetwork(NetworkConfig(**card["architecture"]))
    try:
        network.load_state_dict(load_file(str(weights)), strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{weights} does not fit the architecture in {card_path.name}: {e}") from e
    return network.to(map_location).eval(), card
