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

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from mist.card import FORMAT_VERSION, Card, CheckpointError
from mist.model import MISTNetwork, NetworkConfig
from mist.tensorfiles import json_sha256, pair_paths, read_pair, write_pair
from mist.version import __version__

__all__ = ["FORMAT_VERSION", "CheckpointError", "Card", "save_release", "load_release"]


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
    weights, card_path = pair_paths(path)
    for target in (weights, card_path):
        if target.is_dir():
            raise ValueError(f"{target} is a directory, so the release cannot be written there; pass another path "
                             "or remove that directory")
    full = json.loads(json.dumps({  # through JSON, so the digest is of what the file will hold
        **{k: v for k, v in card.items() if k != "weights_sha256"},
        "format_version": FORMAT_VERSION,
        "mist_version": __version__,
        "architecture": network.cfg.to_dict(),
        "quantile_levels": list(network.cfg.quantiles),
        "weights_file": weights.name,
    }))
    header = {"format": "mist", "format_version": str(FORMAT_VERSION), "card_sha256": json_sha256(full)}
    return write_pair(path, network.state_dict(), full, header)


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
    tensors, card, header, weights, card_path = read_pair(
        path, missing="pass the path of a release checkpoint (NAME.json beside NAME.safetensors), e.g. one written by "
        "`mist-export`", mismatch="one of the two files was changed or is corrupt: restore both (e.g. `git checkout`) "
        "or reinstall mist", check=lambda raw, where: Card(raw, where, release=True))
    if header.get("card_sha256") != json_sha256(card):
        raise CheckpointError(
            f"{card_path} was edited after export: its content no longer matches the sha256 that "
            f"{weights.name} records; restore the card (e.g. `git checkout`), or change a card only by "
            "loading the release and saving it again with mist.release.save_release"
        )
    try:
        network = MISTNetwork(NetworkConfig(**card.architecture))
        network.load_state_dict(tensors, strict=True)
    except (RuntimeError, TypeError, ValueError) as e:
        raise CheckpointError(f"{weights} does not fit the architecture in {card_path.name}: {e}") from e
    return network.to(map_location).eval(), card
