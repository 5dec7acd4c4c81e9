"""`mist-finetune`: the Hydra entry point of modality adaptation (configs/finetune.yaml)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

__all__ = ["main"]


@hydra.main(version_base="1.3", config_path="pkg://mist.configs", config_name="finetune")
def main(cfg: DictConfig) -> None:
    from mist.adaptation.finetune import finetune
    from mist.errors import one_line_errors

    with one_line_errors("mist-finetune"):
        finetune(cfg)


if __name__ == "__main__":
    main()
