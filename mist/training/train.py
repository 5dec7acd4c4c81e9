"""`mist-train`: the Hydra entry point. It instantiates configs and calls `trainer.fit`.

Run it again with the same run name and it resumes from the run's last checkpoint.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

__all__ = ["best_checkpoint", "main", "resume_path", "train"]


def best_checkpoint(trainer: L.Trainer) -> str:
    """The best checkpoint by the monitored metric, else last.ckpt, else "" (none written).

    A resumed run restores the monitoring callback's state from last.ckpt, which is written
    before the validation of its step: if a better checkpoint was saved at that validation, the
    restored `best_model_path` names the file it replaced (deleted). The newest top-k file in the
    folder is then the best (top-k saves happen only for a new best, with save_top_k = 1).
    """
    for c in trainer.checkpoint_callbacks:
        if not c.best_model_path:
            continue
        if Path(c.best_model_path).is_file():
            return c.best_model_path
        saved = [p for p in Path(c.dirpath).glob("*.ckpt") if not p.name.startswith("last")]
        if saved:
            return str(max(saved, key=lambda p: p.stat().st_mtime_ns))
    return next((c.last_model_path for c in trainer.checkpoint_callbacks if c.last_model_path), "")


def resume_path(cfg: DictConfig) -> str | None:
    """The checkpoint a run continues from: cfg.ckpt_path, else the run's last.ckpt (if resume)."""
    if cfg.get("ckpt_path"):
        return str(cfg.ckpt_path)
    last = Path(cfg.run_dir) / "checkpoints" / "last.ckpt"
    if cfg.get("resume", True) and last.is_file():
        log.info("resuming from %s", last)
        return str(last)
    return None


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train the estimator as `cfg` says; returns the final metrics (and the release path).

    Arguments:
        cfg: a composed `train` config (see configs/train.yaml).

    Returns:
        A dict of the trainer's last logged metrics as floats, plus "release" (the exported
        checkpoint path, when cfg.export) and "ckpt_path" (the best Lightning checkpoint).
    """
    from mist.training.config_check import check_config

    check_config(cfg)
    L.seed_everything(cfg.seed, workers=True)
    datamodule = hydra.utils.instantiate(cfg.data)
    module = hydra.utils.instantiate(cfg.model, val_names=list(cfg.data.val_generators))
    callbacks = [hydra.utils.instantiate(c) for c in (cfg.get("callbacks") or {}).values()]
    loggers = [hydra.utils.instantiate(c) for c in (cfg.get("logger") or {}).values()]
    extra = {}
    if cfg.trainer.get("max_epochs") is None and int(cfg.trainer.get("max_steps") or -1) > 0:
        # the step budget in epochs, so the progress bar counts to a real number (not "Epoch 0/-2")
        extra["max_epochs"] = -(-int(cfg.trainer.max_steps) // int(cfg.data.batches_per_epoch))
    trainer: L.Trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False, **extra)
    for lg in loggers:
        lg.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))

    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_path(cfg))

    result: dict[str, Any] = {k: float(v) for k, v in trainer.callback_metrics.items()}
    best = best_checkpoint(trainer)
    result["ckpt_path"] = best
    if cfg.get("export") and trainer.is_global_zero and best:
        from mist.training.export import export_checkpoint

        weights, _ = export_checkpoint(best, Path(cfg.run_dir) / "release" / "mist")
        result["release"] = str(weights.with_suffix(""))
        log.info("release checkpoint written to %s", result["release"])
    return result


@hydra.main(version_base="1.3", config_path="pkg://mist.configs", config_name="train")
def main(cfg: DictConfig) -> None:
    from mist.errors import one_line_errors

    with one_line_errors("mist-train"):
        train(cfg)


if __name__ == "__main__":
    main()
