"""The sbatch script that a SLURM launcher preset submits (a dry run of `-m hydra/launcher=slurm`).

hydra-submitit-launcher turns `hydra.launcher` into submitit executor parameters and submitit
writes the sbatch script; `sbatch_script` does the same translation without submitting, so a
preset can be checked (nodes, tasks per node, GPUs, time limit, requeue) on a login node.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from typing import Any

__all__ = ["sbatch_script"]


def sbatch_script(launcher: Mapping[str, Any], command: str = "python -u -m submitit.core._submit FOLDER") -> str:
    """The sbatch script for a resolved `hydra.launcher` config of the submitit SLURM launcher.

    Arguments:
        launcher: `cfg.hydra.launcher` as a plain dict (resolved), e.g. from
            `compose(..., return_hydra_config=True)`.
        command: the command line the script runs (submitit's own in a real submission).

    Returns:
        The script's text. Needs `submitit` (pip install "mist-mi[cluster]") and `srun` on PATH.
    """
    import submitit

    params = {k: v for k, v in launcher.items() if k not in ("_target_", "submitit_folder")}
    init = {"slurm_max_num_timeout": params.pop("max_num_timeout", 0)}
    base = {"timeout_min", "cpus_per_task", "gpus_per_node", "tasks_per_node", "mem_gb", "nodes", "name", "stderr_to_stdout"}
    params = {k if k in base else f"slurm_{k}": v for k, v in params.items()}
    with tempfile.TemporaryDirectory() as folder:
        executor = submitit.AutoExecutor(folder=folder, cluster="slurm", **init)
        executor.update_parameters(**params)
        return executor._executor._make_submission_file_text(command, "preview")
