"""The one training harness: what `mist-train` and `mist-finetune` share around `trainer.fit`.

Both build a Lightning module and a DataModule their own way; from there on the run is the same:
the configured callbacks and loggers, the trainer, the config logged as hyperparameters, a
resume from the run's last checkpoint, and the best checkpoint found afterwards.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

__all__ = ["best_checkpoint", "resume_path", "fit"]


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


def fit(cfg: DictConfig, module: L.LightningModule, datamodule: L.LightningDataModule,
        **trainer_options: Any) -> tuple[L.Trainer, dict[str, Any]]:
    """Fit `module` on `datamodule` with the trainer, callbacks and loggers of `cfg`.

    Arguments:
        cfg: a composed config with `trainer`, and optionally `callbacks`, `logger`, `ckpt_path`,
            `resume` and `run_dir` (the `train` and `finetune` configs).
        module, datamodule: what to fit, on what.
        trainer_options: passed to the trainer beside `cfg.trainer` (e.g. enable_progress_bar).

    Returns:
        (the trainer, its last logged metrics as floats with "ckpt_path": the best checkpoint,
        "" when none was written).
    """
    callbacks = [hydra.utils.instantiate(c) for c in (cfg.get("callbacks") or {}).values()]
    loggers = [hydra.utils.instantiate(c) for c in (cfg.get("logger") or {}).values()]
    trainer: L.Trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False,
                                                 **trainer_options)
    for lg in loggers:
        lg.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_path(cfg))
    result: dict[str, Any] = {k: float(v) for k, v in trainer.callback_metrics.items()}
    result["ckpt_path"] = best_checkpoint(trainer)
    return trainer, result
