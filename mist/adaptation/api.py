"""`mist.adapt`: adapt the estimator to a user's X and Y in one call (flows, fine-tuning, export)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mist.adaptation.checks import base_checkpoint, check_dims
from mist.adaptation.flows import FittedFlow, FlowOptions, flow_pair
from mist.inputs import as_matrix
from mist.release import load_release

__all__ = ["adapt", "Adaptation", "finetune_config"]


@dataclasses.dataclass
class Adaptation:
    """An adapted release checkpoint and what made it.

    Attributes:
        checkpoint: the release path without suffix (CHECKPOINT.json beside CHECKPOINT.safetensors).
        card: its card; `card["adaptation"]` records the base, the data, the flows, the
            fine-tuning and the evaluation.
        x_flow, y_flow: the fitted flows (saved in `card["adaptation"]["flows"]["folder"]`).
    """

    checkpoint: Path
    card: dict[str, Any]
    x_flow: FittedFlow
    y_flow: FittedFlow

    @property
    def evaluation(self) -> dict[str, Any]:
        """Base and adapted scores (MAE in nats, bias, coverage; overall and by n) on fresh pushed sets."""
        return self.card["adaptation"]["evaluation"]

    def estimator(self, device: str = "auto", **kwargs):
        """The adapted checkpoint as an `mist.MIEstimator`."""
        from mist.inference import MIEstimator

        return MIEstimator.from_pretrained(self.checkpoint, device=device, **kwargs)

    def __repr__(self) -> str:
        ev = self.evaluation
        return (f"Adaptation(checkpoint={str(self.checkpoint)!r}, dx={self.x_flow.dim}, dy={self.y_flow.dim}, "
                f"MAE on fresh pushed sets: base {ev['base']['mae']:.3f} -> adapted {ev['adapted']['mae']:.3f} nats)")


def finetune_config(overrides: Sequence[str] = ()):
    """The shipped `finetune` config (configs/finetune.yaml) composed with Hydra overrides (a DictConfig)."""
    from hydra import compose, initialize_config_module

    with initialize_config_module(config_module="mist.configs", version_base="1.3"):
        return compose(config_name="finetune", overrides=list(overrides))


def adapt(
    x,
    y,
    *,
    checkpoint: str | Path | None = None,
    run_dir: str | Path = "runs/adapted",
    out: str | Path | None = None,
    steps: int | None = None,
    flows: Mapping[str, Any] | None = None,
    refit: bool = False,
    seed: int = 0,
    progress: bool = True,
    overrides: Sequence[str] = (),
) -> Adaptation:
    """Adapt a release checkpoint to the modality of x and y and export the adapted release.

    Fits one normalizing flow to x and one to y (saved in RUN_DIR/flows), pushes synthetic
    datasets with exact MI through them, fine-tunes the checkpoint on those (Lightning, the
    same training code as `mist-train`) and exports a release checkpoint whose card records the
    adaptation, with base and adapted errors on fresh pushed sets. The defaults (about 5
    minutes on 2 CPU cores for the small model) are those of configs/finetune.yaml, which is
    also what `mist-finetune` runs. Calling again with the same run_dir resumes or repeats it.

    Arguments:
        x: samples of X, shape (n_x, dx) or (n_x,): numpy array, torch tensor, DataFrame or list.
        y: samples of Y, shape (n_y, dy) or (n_y,); need not be paired with x (n_y may differ).
        checkpoint: the base release; None for the shipped default.
        run_dir: folder for the flows, Lightning checkpoints and logs.
        out: the adapted release's path without suffix; None: RUN_DIR/release/mist-adapted.
        steps: fine-tuning optimiser steps; None: the config's (300).
        flows: FlowOptions fields for both flows, e.g. {"layers": 4, "kind": "spline"}.
        refit: fit the flows again even when RUN_DIR/flows holds flows for this data.
        seed: seeds the flows and the synthetic streams.
        progress: progress bars.
        overrides: further Hydra overrides of the finetune config, e.g. ["optim.lr=1e-4"].

    Returns:
        An Adaptation: `checkpoint`, `card`, `x_flow`, `y_flow`, `evaluation`, `estimator()`.

    Raises:
        ValueError: bad samples (see `mist.inputs.as_matrix`).
        AdaptationError: dx or dy outside the base checkpoint's trained ranges.
        FlowError: too few samples to fit a flow (fewer than max(100, 10 * dim) per side),
            flows saved in run_dir for other data or options, a flow that does not invert.
        CheckpointError: the base checkpoint is missing or corrupt.

    Example:
        >>> a = mist.adapt(x_train, y_train, run_dir="runs/digits")        # doctest: +SKIP
        >>> a.evaluation["adapted"]["mae"], a.evaluation["base"]["mae"]    # doctest: +SKIP
        >>> a.estimator().estimate(x_test, y_test)                         # doctest: +SKIP
    """
    from omegaconf import OmegaConf, open_dict

    from mist.adaptation.finetune import finetune

    xm, _ = as_matrix(x, "x")
    ym, _ = as_matrix(y, "y")
    base = base_checkpoint(checkpoint)
    _, card = load_release(base)
    check_dims(card, xm.shape[1], ym.shape[1])
    cfg = finetune_config(overrides)
    with open_dict(cfg):
        cfg.checkpoint = str(base)
        cfg.run_dir = str(run_dir)
        if out is not None:
            cfg.out = str(out)
        if steps is not None:
            cfg.trainer.max_steps = int(steps)
            cfg.trainer.val_check_interval = max(1, min(int(cfg.trainer.val_check_interval), int(steps)))
        cfg.seed = int(seed)
        cfg.progress = bool(progress)
        cfg.flows.refit = False  # refit (if asked) happens here, once
        for k, v in dict(flows or {}).items():
            if k in ("dir", "refit"):
                raise ValueError(f"flows[{k!r}] is not a flow option; pass run_dir= or refit= instead")
            cfg.flows[k] = v
        cfg.data.description = f"arrays passed to mist.adapt (x: {xm.shape[0]} x {xm.shape[1]}, y: {ym.shape[0]} x {ym.shape[1]})"
    options = FlowOptions.from_dict({k: v for k, v in OmegaConf.to_container(cfg.flows, resolve=True).items()
                                     if k not in ("dir", "refit")})
    x_flow, y_flow = flow_pair(cfg.flows.dir, xm, ym, options, refit=refit, progress=progress)
    result = finetune(cfg)
    return Adaptation(Path(result["release"]), result["card"], x_flow, y_flow)
