"""`mist-train`: the Hydra entry point. It instantiates the module and data and fits them
(`mist.training.fit`, the harness `mist-finetune` shares).

Run it again with the same run name and it resumes from the run's last checkpoint.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from omegaconf import DictConfig

from mist.training.fit import fit

log = logging.getLogger(__name__)

__all__ = ["main", "train"]


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
    extra = {}
    if cfg.trainer.get("max_epochs") is None and int(cfg.trainer.get("max_steps") or -1) > 0:
        # the step budget in epochs, so the progress bar counts to a real number (not "Epoch 0/-2")
        extra["max_epochs"] = -(-int(cfg.trainer.max_steps) // int(cfg.data.batches_per_epoch))
    trainer, result = fit(cfg, module, datamodule, **extra)
    best = result["ckpt_path"]
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
