"""Tensors on disk as mist stores them: `NAME.safetensors` beside a JSON card `NAME.json`.

Releases (`mist.release`) and fitted flows (`mist.adaptation.flows`) share this format: the card
records the sha256 of the weights file, and the weights' header may record a digest of the card
(`json_sha256`, canonical JSON), so that each binds the other. Reading never unpickles.

The header's entries are written as one canonical-JSON metadata value (key `mist`): safetensors
writes several metadata keys in a random order (safetensors issue 584), which gave the same
weights a different sha256 at every save. Files with the entries as separate keys still read.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from mist.card import CheckpointError

HEADER_KEY = "mist"  # the weights' metadata key holding the header's entries

__all__ = ["HEADER_KEY", "pair_paths", "file_sha256", "json_sha256", "make_readable", "write_pair", "read_pair"]


def pair_paths(path: str | Path) -> tuple[Path, Path]:
    """`dir/NAME`, `dir/NAME.json` or `dir/NAME.safetensors` -> (weights, card)."""
    if not str(path).strip():
        raise CheckpointError("the checkpoint path is empty; pass dir/NAME of a release (NAME.json + NAME.safetensors), "
                              "or None for the shipped checkpoint")
    p = Path(path)
    if p.suffix in (".json", ".safetensors"):
        p = p.with_suffix("")
    return p.with_suffix(".safetensors"), p.with_suffix(".json")


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def json_sha256(card: Mapping[str, Any]) -> str:
    """sha256 of a card's canonical JSON (sorted keys, no spaces) without its `weights_sha256`."""
    body = {k: v for k, v in card.items() if k != "weights_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def make_readable(path: Path) -> None:
    """Give a written file the mode an ordinary write gets (0666 less the umask): safetensors
    writes through a private temporary file (0600), so a shared checkpoint could not be read by others."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def write_pair(path: str | Path, tensors: Mapping[str, torch.Tensor], card: Mapping[str, Any],
               header: Mapping[str, str]) -> tuple[Path, Path]:
    """Write `PATH.safetensors` (the tensors, `header` in its metadata) and `PATH.json` (the card
    with `weights_file` and `weights_sha256` added); returns both paths."""
    weights, card_path = pair_paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    packed = {HEADER_KEY: json.dumps(dict(header), sort_keys=True, separators=(",", ":"))}  # one key: a fixed order
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(weights), metadata=packed)
    make_readable(weights)
    full = {**card, "weights_file": weights.name, "weights_sha256": file_sha256(weights)}
    card_path.write_text(json.dumps(full, indent=2, sort_keys=True) + "\n")
    return weights, card_path


def read_pair(
    path: str | Path,
    *,
    error: type[ValueError] = CheckpointError,
    what: str = "checkpoint",
    missing: str = "",
    mismatch: str = "",
    check: Callable[[Any, Path], Any] | None = None,
) -> tuple[dict[str, torch.Tensor], Any, dict[str, str], Path, Path]:
    """Read a pair written by `write_pair`, verifying the weights against the card's sha256.

    Arguments:
        path: `dir/NAME` or either of its files.
        error: the exception raised on any problem (a ValueError subclass).
        what: what the files are, for messages ("checkpoint", "flow").
        missing, mismatch: how to mend a missing file, a sha256 mismatch (appended to the messages).
        check: called with the card's JSON and its path before the sha256 is compared; what it
            returns is the card returned (to validate and type it).

    Returns:
        (tensors, card, the weights' header metadata, weights path, card path).
    """
    weights, card_path = pair_paths(path)
    for f in (card_path, weights):
        if not f.is_file():
            raise error(f"{what} file {f} does not exist; {missing}")
    try:
        card = json.loads(card_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise error(f"{what} card {card_path} is not valid JSON ({e}); the file is corrupt") from e
    if check is not None:
        card = check(card, card_path)
    digest = file_sha256(weights)
    recorded = card.get("weights_sha256") if isinstance(card, Mapping) else None
    if digest != recorded:
        raise error(f"{weights} does not match its card: its sha256 is {digest}, {card_path.name} records "
                    f"{recorded}; {mismatch}")
    try:
        with safe_open(str(weights), framework="pt") as f:
            header = dict(f.metadata() or {})
        if HEADER_KEY in header:
            header = json.loads(header[HEADER_KEY])
        tensors = load_file(str(weights))
    except Exception as e:  # safetensors raises its own error types for truncated or foreign files
        raise error(f"{weights} is not a readable safetensors file ({e}); {mismatch}") from e
    return tensors, card, header, weights, card_path
