"""Fine-tune a release checkpoint on flow-pushed synthetic sets and export the adapted release.

`finetune(cfg)` takes a composed `finetune` config (configs/finetune.yaml): it loads the base
release, reads the user's samples (when given) and fits or reuses the X and Y flows, fixes the
base's training generator to the data's dims, fine-tunes with the same Lightning module and
trainer as `mist-train`, exports the best checkpoint in the release format, scores base and
adapted networks on fresh pushed sets, refits the split-conformal calibration on pushed sets,
and records all of it in the card's `adaptation` entry. Run again with the same run folder, it
resumes (flows and Lightning checkpoints are reused).
"""

from __future__ import annotations

import importlib.resources
import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, ListConfig, OmegaConf

from data_gen import GeneratorConfig
from mist.adaptation.checks import AdaptationError, base_checkpoint, check_dims
from mist.adaptation.evaluate import CALIBRATION_EDGES, calibrate, predict, score
from mist.adaptation.flows import FittedFlow, FlowOptions, flow_pair
from mist.adaptation.push import pushed_sets
from mist.card import Card, TrainedRanges
from mist.release import load_release, save_release

log = logging.getLogger(__name__)

__all__ = ["finetune", "finetune_generator", "read_samples"]


def finetune_generator(card: Mapping[str, Any], dx: int, dy: int, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The base checkpoint's training generator with dims fixed to (dx, dy), plus overrides.

    A training prior that is a mixture of generators (the shipped checkpoint's) stays a mixture
    with the same weights: the dims and the overrides apply to every component. Falls back to
    the shipped default generator (configs/generator/default.yaml) with the card's trained n
    when the card records none.

    Returns:
        A validated, JSON-ready generator config, or {"mixture": {name: {"weight", "generator"}}}.
    """
    gen = (card.get("training") or {}).get("generator")
    if not gen:
        text = importlib.resources.files("mist.configs").joinpath("generator/default.yaml").read_text()
        gen = OmegaConf.to_container(OmegaConf.create(text), resolve=True)
        gen["n"] = list(TrainedRanges.from_card(card).n)

    def fixed(g: Mapping[str, Any]) -> dict[str, Any]:
        g = {**dict(g), **dict(overrides or {})}
        g["dx"], g["dy"] = [int(dx), int(dx)], [int(dy), int(dy)]
        return GeneratorConfig.from_dict(g).to_dict()

    if "mixture" in gen:
        return {"mixture": {name: {"weight": float(c["weight"]), "generator": fixed(c["generator"])}
                            for name, c in gen["mixture"].items()}}
    return fixed(gen)


def read_samples(data: Mapping[str, Any]) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """The user's X and Y samples named by the config's `data` group; rows with a missing value
    are dropped per side (pairing is not needed).

    Returns:
        (x (n_x, dx) or None, y (n_y, dy) or None, a description of the source for the card).
    """
    if not data.get("x") and not data.get("y"):
        return None, None, str(data.get("description") or "saved flows")
    if not data.get("x") or not data.get("y"):
        raise AdaptationError("name both sides: data.x and data.y (columns of data.file, or two .npy files)")
    from mist.datafiles import read_xy

    xspec, yspec = (_spec(data[k]) for k in ("x", "y"))
    cx, cy = read_xy(data.get("file"), xspec, yspec, fmt=data.get("format"), delimiter=data.get("delimiter"))
    out = []
    for side, c in (("x", cx), ("y", cy)):
        keep = np.isfinite(c.data).all(axis=1)
        if not keep.all():
            log.info("%s: dropped %d rows with missing or infinite values", side, int((~keep).sum()))
        out.append(c.data[keep])
    source = f"{data.get('file')} (x: {xspec}, y: {yspec})" if data.get("file") else f"{xspec}, {yspec}"
    return out[0], out[1], source


def _spec(v: Any) -> str:
    """A column selection: a string ("a,b", "0:4") or a list (Hydra's `data.x=[a,b]`)."""
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple, ListConfig)):
        return ",".join(str(c) for c in v)
    return str(v)


def _flow_entry(flow: FittedFlow) -> dict[str, Any]:
    return {"dim": flow.dim, "options": flow.options.to_dict(), **flow.record}


def _evaluation_sets(cfg: DictConfig, generator: dict, x_flow: FittedFlow, y_flow: FittedFlow, lo: int, hi: int):
    """Fresh pushed sets for scoring (fixed n grid) and for calibration (n log-uniform per bin)."""
    ev = cfg.evaluation
    grid = sorted({int(min(max(n, lo), hi)) for n in ev.n})
    scoring = [s for n in grid for s in pushed_sets(generator, x_flow, y_flow, n, int(ev.sets_per_n), (30_000, cfg.seed, n))]
    calib = []
    per_bin = int(cfg.calibration.sets_per_bin)
    rng = np.random.default_rng((40_000, cfg.seed))
    for b, (a, z) in enumerate(zip(CALIBRATION_EDGES[:-1], CALIBRATION_EDGES[1:])):
        a, z = max(a, lo), min(z - 1, hi)
        if a > z or per_bin <= 0:
            continue
        for g in range(0, per_bin, 8):  # groups of 8 sets share one n (one forward pass)
            n = int(math.exp(rng.uniform(math.log(a), math.log(z + 1))))
            n = min(max(n, a), z)
            calib += pushed_sets(generator, x_flow, y_flow, n, min(8, per_bin - g), (40_000, cfg.seed, b, g))
    return scoring, calib


def _update_card(out: Path, entries: Mapping[str, Any]) -> Card:
    """Add entries to a release card: load the release and save it again, so that card and weights bind."""
    network, card = load_release(out)
    save_release(network, {**card, **entries}, out)
    return load_release(out)[1]


def finetune(cfg: DictConfig) -> dict[str, Any]:
    """Adapt the base checkpoint to the data as `cfg` says; returns what it measured.

    Arguments:
        cfg: a composed `finetune` config (configs/finetune.yaml).

    Returns:
        A dict: "release" (the adapted checkpoint, path without suffix), "card" (its card),
        "ckpt_path" (the Lightning checkpoint exported), "evaluation" (base and adapted scores
        on fresh pushed sets) and the trainer's last metrics as floats.

    Raises:
        AdaptationError: dims outside the base checkpoint's trained ranges, or half the data named.
        FlowError: too few samples to fit a flow, saved flows for other data, a flow that does
            not invert.
        CheckpointError: the base checkpoint is missing or corrupt.
    """
    import hydra  # Lightning and Hydra load here, not on `import mist.adaptation`
    import lightning as L

    from mist.adaptation.data import VAL_NAME
    from mist.training.export import export_checkpoint
    from mist.training.module import MISTModule
    from mist.training.fit import fit

    start = time.perf_counter()
    L.seed_everything(cfg.seed, workers=True)
    base_path = base_checkpoint(cfg.get("checkpoint"))
    base_net, base_card = load_release(base_path)
    x, y, source = read_samples(cfg.data)
    if x is not None:
        check_dims(base_card, x.shape[1], y.shape[1])  # before spending time on flows
    flows_dir = Path(cfg.flows.dir)
    options = FlowOptions.from_dict({k: v for k, v in OmegaConf.to_container(cfg.flows, resolve=True).items()
                                     if k not in ("dir", "refit")})
    x_flow, y_flow = flow_pair(flows_dir, x, y, options, refit=bool(cfg.flows.refit), progress=bool(cfg.progress))
    check_dims(base_card, x_flow.dim, y_flow.dim)
    generator = finetune_generator(base_card, x_flow.dim, y_flow.dim, OmegaConf.to_container(cfg.generator, resolve=True))

    datamodule = hydra.utils.instantiate(cfg.finetune, generator=generator, flows=str(flows_dir))
    module = MISTModule(network=base_card.architecture, max_steps=int(cfg.trainer.max_steps), val_names=(VAL_NAME,),
                        **OmegaConf.to_container(cfg.optim, resolve=True))
    module.net.load_state_dict(base_net.state_dict())
    t_fit = time.perf_counter()
    trainer, result = fit(cfg, module, datamodule, enable_progress_bar=bool(cfg.progress))
    t_fit = time.perf_counter() - t_fit
    best = result["ckpt_path"]
    if not best:
        raise AdaptationError("fine-tuning wrote no Lightning checkpoint to export; keep the `checkpoint` callback")
    if not trainer.is_global_zero:
        return result

    out = Path(cfg.out)
    export_checkpoint(best, out)
    net, card = load_release(out)
    levels = list(card.levels)
    lo, hi = card.ranges().n
    t_eval = time.perf_counter()
    scoring, calib_sets = _evaluation_sets(cfg, generator, x_flow, y_flow, int(lo), int(hi))
    base_score = score(predict(base_net, scoring), scoring, levels, base_card.calibration)
    calibration = calibrate(predict(net, calib_sets), calib_sets, levels) if calib_sets else None
    if calibration:
        calibration["generator"] = "the fine-tuning generator pushed through the flows, fresh seeds"
    adapted_score = score(predict(net, scoring), scoring, levels, calibration)
    improved = all(adapted_score[k] < base_score[k] for k in ("mae", "mae_log1p"))
    if not improved:
        log.warning("the adapted checkpoint's errors on fresh pushed sets (MAE %.3f nats, of log1p %.3f) are not both "
                    "below the base's (%.3f, %.3f)", adapted_score["mae"], adapted_score["mae_log1p"],
                    base_score["mae"], base_score["mae_log1p"])
    adaptation = {
        "method": ("fine-tuned on synthetic exact-MI sets pushed through normalizing flows fitted to the user's X "
                   "and Y (columns to normal scores of their ranks, then the flow's base-to-data map); invertible "
                   "maps of X and of Y separately keep the MI labels exact"),
        "base_checkpoint": {
            "path": str(base_path),
            "weights_sha256": base_card.get("weights_sha256"),
            "mist_version": base_card.get("mist_version"),
            "exported": base_card.get("exported"),
            "trained_ranges": base_card.get("trained_ranges"),
        },
        "data": {"source": source, "x": {"n": x_flow.record.get("n"), "dim": x_flow.dim},
                 "y": {"n": y_flow.record.get("n"), "dim": y_flow.dim}},
        "flows": {"folder": str(flows_dir), "x": _flow_entry(x_flow), "y": _flow_entry(y_flow)},
        "finetune": {
            "steps": int(trainer.global_step),
            "exported_checkpoint": Path(best).name,
            "optim": OmegaConf.to_container(cfg.optim, resolve=True),
            "batch_size": int(cfg.finetune.batch_size),
            "max_tokens": cfg.finetune.max_tokens,
            "seed": int(cfg.seed),
        },
        "evaluation": {
            "what": "median vs exact MI on fresh pushed sets (seeds never used in fine-tuning), each with its card's calibration",
            "base": base_score,
            "adapted": adapted_score,
        },
        "improved": bool(improved),  # both MAE and MAE of log1p lower than the base's
        "seconds": {  # flows: the fits' own time (they may have been fitted by an earlier run, or by mist.adapt)
            "flows": round(float(x_flow.record.get("seconds", 0)) + float(y_flow.record.get("seconds", 0)), 1),
            "finetune": round(t_fit, 1),
            "evaluation": round(time.perf_counter() - t_eval, 1),
            "this_run": round(time.perf_counter() - start, 1),
        },
    }
    card = _update_card(out, {"adaptation": adaptation, "calibration": calibration})
    log.info("adapted checkpoint written to %s (fresh pushed sets: MAE %.3f nats, base %.3f)", out,
             adapted_score["mae"], base_score["mae"])
    result.update({"release": str(out), "card": card, "evaluation": adaptation["evaluation"]})
    return result
