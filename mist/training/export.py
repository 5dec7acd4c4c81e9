"""`mist-export`: a Lightning checkpoint to the release format (safetensors + JSON card)."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

import torch

from mist.errors import one_line_errors
from mist.model import MISTNetwork, NetworkConfig
from mist.release import save_release
from mist.stats import FEATURE_NAMES

__all__ = ["export_checkpoint", "trained_ranges", "main"]


def trained_ranges(generator: dict[str, Any]) -> dict[str, Any]:
    """The ranges of n, dx, dy and MI a generator config (or a mixture of them) covers, for the card."""
    from data_gen import MixtureSampler, make_sampler

    sampler = make_sampler(generator)
    gs = [s.cfg for s in sampler.samplers] if isinstance(sampler, MixtureSampler) else [sampler.cfg]

    def span(key: str) -> list[int]:
        return [min(getattr(g, key)[0] for g in gs), max(getattr(g, key)[1] for g in gs)]

    per_dim = max(g.max_mi_per_dim for g in gs)
    dx, dy = span("dx"), span("dy")
    mi_hi = min(max(c.high for g in gs for c in g.mi_prior), min(dx[1], dy[1]) * per_dim)
    return {
        "n": span("n"),
        "dx": dx,
        "dy": dy,
        "mi": [min(c.low for g in gs for c in g.mi_prior), mi_hi],
        "max_mi_per_dim": per_dim,
        "families": sorted({f for g in gs for f in g.families}),
        "transforms": sorted({t for g in gs for t in g.transforms}),
    }


def export_checkpoint(
    ckpt_path: str | Path, out: str | Path, extra: dict[str, Any] | None = None, last_step: bool = False
) -> tuple[Path, Path]:
    """Export a Lightning checkpoint written by `mist-train`.

    Arguments:
        ckpt_path: the `.ckpt` file (trusted: Lightning checkpoints are pickles).
        out: destination without suffix; writes OUT.safetensors and OUT.json.
        extra: further card entries (e.g. calibration).
        last_step: in a run with weight averaging (the `ema` callback), export the last optimiser
            step's weights instead of the average (to compare the two).

    Returns:
        Paths of the weights and the card.
    """
    path = Path(ckpt_path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; pass a Lightning checkpoint (.ckpt) written by mist-train, "
                                "e.g. runs/NAME/checkpoints/last.ckpt")
    if path.suffix in (".json", ".safetensors"):
        raise ValueError(f"{path} is a release checkpoint already; mist-export converts a Lightning .ckpt into one")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # pickle and zip errors of a file that is not a checkpoint
        raise ValueError(f"{path} is not a Lightning checkpoint ({type(e).__name__}); pass a .ckpt written by mist-train") from e
    if not isinstance(ckpt, dict) or "hyper_parameters" not in ckpt or "state_dict" not in ckpt:
        raise ValueError(f"{path} is not a checkpoint of mist-train (no hyper_parameters or state_dict)")
    averaged = "current_model_state" in ckpt  # EMAWeightAveraging: the average in state_dict, the last step here
    if last_step and not averaged:
        raise ValueError(f"{path} was trained without weight averaging: its weights are the last step's already; "
                         "drop --last-step")
    hp = ckpt["hyper_parameters"]
    network = MISTNetwork(NetworkConfig(**dict(hp["network"])))
    weights = ckpt["current_model_state" if last_step else "state_dict"]
    state = {k.removeprefix("net."): v for k, v in weights.items() if k.startswith("net.")}
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
            "weights": "last step" if last_step or not averaged else "exponential moving average",
        },
        "preprocessing": {
            "copula": "normal scores of average ranks (mist.stats.normal_scores)",
            "core": "elliptical (Student-t) copula MI, Wishart and rank-noise bias-corrected (mist.stats.fit_elliptical)",
            "features": list(FEATURE_NAMES[: network.cfg.num_features]),
            "attention_rows": network.cfg.attention_rows,
            "shrinkage": network.cfg.shrinkage,
            "whitening": "zca",
        },
        "exported": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **(extra or {}),
    }
    return save_release(network, card, out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="mist-export", description=__doc__)
    p.add_argument("ckpt", help="Lightning checkpoint (.ckpt) written by mist-train")
    p.add_argument("out", help="destination without suffix, e.g. checkpoints/mist-default")
    p.add_argument("--last-step", action="store_true",
                   help="export the last step's weights of a run with weight averaging, not the average")
    args = p.parse_args(argv)
    with one_line_errors("mist-export"):
        weights, card = export_checkpoint(args.ckpt, args.out, last_step=args.last_step)
    print(f"wrote {weights} and {card}")


if __name__ == "__main__":
    main()
