"""`mist-export`: a Lightning checkpoint to the release format (safetensors + JSON card)."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

import torch

from mist.model import MISTNetwork, NetworkConfig
from mist.release import save_release

__all__ = ["export_checkpoint", "trained_ranges", "main"]


def trained_ranges(generator: dict[str, Any]) -> dict[str, Any]:
    """The ranges of n, dx, dy and MI a generator config covers, for the card."""
    from data_gen import GeneratorConfig

    g = GeneratorConfig.from_dict(generator)
    mi_hi = min(max(c.high for c in g.mi_prior), min(g.dx[1], g.dy[1]) * g.max_mi_per_dim)
    return {
        "n": list(g.n),
        "dx": list(g.dx),
        "dy": list(g.dy),
        "mi": [min(c.low for c in g.mi_prior), mi_hi],
        "max_mi_per_dim": g.max_mi_per_dim,
        "families": sorted(g.families),
        "transforms": sorted(g.transforms),
    }


def export_checkpoint(ckpt_path: str | Path, out: str | Path, extra: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """Export a Lightning checkpoint written by `mist-train`.

    Arguments:
        ckpt_path: the `.ckpt` file (trusted: Lightning checkpoints are pickles).
        out: destination without suffix; writes OUT.safetensors and OUT.json.
        extra: further card entries (e.g. calibration).

    Returns:
        Paths of the weights and the card.
    """
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    hp = ckpt["hyper_parameters"]
    network = MISTNetwork(NetworkConfig(**dict(hp["network"])))
    state = {k.removeprefix("net."): v for k, v in ckpt["state_dict"].items() if k.startswith("net.")}
    network.load_state_dict(state, strict=True)
    data_hp = ckpt.get("datamodule_hyper_parameters", {})
    card: dict[str, Any] = {
        "trained_ranges": trained_ranges(dict(data_hp["generator"])) if "generator" in data_hp else None,
        "training": {
            "global_step": ckpt.get("global_step"),
            "epoch": ckpt.get("epoch"),
            "batch_size": data_hp.get("batch_size"),
            "source": data_hp.get("source"),
            "optimizer": {k: hp.get(k) for k in ("lr", "weight_decay", "warmup_steps", "max_steps")},
            "generator": data_hp.get("generator"),
            "lightning_checkpoint": Path(ckpt_path).name,
        },
        "preprocessing": {"copula": network.cfg.copula, "shrinkage": network.cfg.shrinkage, "whitening": "zca"},
        "exported": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **(extra or {}),
    }
    return save_release(network, card, out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="mist-export", description=__doc__)
    p.add_argument("ckpt", help="Lightning checkpoint (.ckpt) written by mist-train")
    p.add_argument("out", help="destination without suffix, e.g. checkpoints/mist-default")
    args = p.parse_args(argv)
    weights, card = export_checkpoint(args.ckpt, args.out)
    print(f"wrote {weights} and {card}")


if __name__ == "__main__":
    main()
