"""What must hold before adapting: the base checkpoint exists, and the data's dims are ones it was trained on."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mist.card import TrainedRanges

__all__ = ["AdaptationError", "base_checkpoint", "check_dims"]


class AdaptationError(ValueError):
    """The data, the flows and the base checkpoint do not fit together."""


def base_checkpoint(path: str | Path | None) -> Path:
    """The base release's path (the shipped default when None); CheckpointError when it is missing."""
    from mist.inference.estimator import MIEstimator, default_checkpoint

    if path is None:
        MIEstimator.from_pretrained(None, device="cpu")  # raises the clear "default checkpoint is missing" error
        return default_checkpoint()
    return Path(path)


def check_dims(card: Mapping[str, Any], dx: int, dy: int) -> None:
    """AdaptationError unless dx and dy lie in the base checkpoint's trained ranges."""
    r = TrainedRanges.from_card(card)
    for name, d, (lo, hi) in (("X", dx, r.dx), ("Y", dy, r.dy)):
        if not lo <= d <= hi:
            raise AdaptationError(
                f"{name} has {d} coordinate(s), outside the range the base checkpoint was trained on ({lo} to {hi}); "
                f"fine-tuning cannot teach it new dimensions: reduce {name} to at most {hi} coordinates (e.g. PCA) "
                "or start from a checkpoint trained on larger dimensions"
            )
