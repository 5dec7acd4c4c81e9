"""Cluster scale through hydra-submitit-launcher: the SLURM preset's sbatch script, and the local
launcher running generation as an array of jobs and training (resumed by a relaunch, as after a
requeue) with the same results as the direct commands."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

pytest.importorskip("hydra_plugins.hydra_submitit_launcher")

from mist.cluster import sbatch_script  # noqa: E402

ENV = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}


def _launcher(config: str, *overrides: str) -> dict:
    with initialize_config_module(config_module="mist.configs", version_base="1.3"):
        cfg = compose(config, overrides=["hydra/launcher=slurm", *overrides], return_hydra_config=True)
    OmegaConf.resolve(cfg)
    return OmegaConf.to_container(cfg.hydra.launcher)


@pytest.fixture()
def fake_srun(tmp_path, monkeypatch):
    """submitit checks for `srun` before it writes a script: a stub on PATH stands in for a login node."""
    srun = tmp_path / "bin" / "srun"
    srun.parent.mkdir()
    srun.write_text("#!/bin/sh\nexit 0\n")
    srun.chmod(srun.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{srun.parent}{os.pathsep}{os.environ['PATH']}")


def test_slurm_preset_for_two_nodes_of_eight_gpus(fake_srun):
    text = sbatch_script(_launcher("train", "trainer=ddp", "trainer.num_nodes=2", "trainer.devices=8",
                                   "hydra.launcher.partition=gpu", "hydra.launcher.timeout_min=600"))
    lines = set(text.splitlines())
    for flag in ("--nodes=2", "--ntasks-per-node=8", "--gpus-per-node=8", "--time=600", "--requeue",
                 "--partition=gpu", "--signal=USR2@120"):
        assert f"#SBATCH {flag}" in lines, (flag, text)
    assert "srun" in text


def test_slurm_preset_for_generation_is_one_cpu_task_per_job(fake_srun):
    text = sbatch_script(_launcher("generate"))
    assert "#SBATCH --nodes=1" in text and "#SBATCH --ntasks-per-node=1" in text and "gpus-per-node" not in text


def _run(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    return out


def test_generation_as_two_local_jobs_matches_the_direct_command(tmp_path):
    common = ["num_shards=2", "datasets_per_shard=2", "generator.n=[16,32]", "generator.dx=[1,2]", "generator.dy=[1,2]",
              "progress=false"]
    _run("data_gen.generate", "-m", "hydra/launcher=local", f"out_dir={tmp_path / 'jobs'}", "shard_index=0,1", *common,
         cwd=tmp_path)
    out = _run("data_gen.generate", f"out_dir={tmp_path / 'direct'}", *common, cwd=tmp_path)
    assert "2 of the run's 2 are complete" in out.stdout
    for k in range(2):
        name = f"shard-{k:06d}.h5"
        assert (tmp_path / "jobs" / name).read_bytes() == (tmp_path / "direct" / name).read_bytes()


@pytest.mark.slow
def test_a_killed_job_relaunched_with_the_same_command_resumes(tmp_path):
    """What SLURM's requeue does: the job dies mid-run and the same command runs again."""
    import signal
    import time

    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "mist.training.train", "-m", "hydra/launcher=local", "experiment=smoke",
           "trainer=ddp_cpu", f"run_dir={run}", "export=false", "logger=csv", "trainer.max_steps=30",
           f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    job = subprocess.Popen(cmd, cwd=tmp_path, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    last = run / "checkpoints" / "last.ckpt"
    deadline = time.time() + 300
    while time.time() < deadline and job.poll() is None:
        if last.is_file() and torch.load(last, weights_only=False)["global_step"] >= 4:
            break
        time.sleep(0.5)
    assert job.poll() is None, "the job ended before it could be killed"
    os.killpg(job.pid, signal.SIGKILL)  # the launcher, the job and its DDP processes
    job.wait()
    killed_at = torch.load(last, weights_only=False)["global_step"]
    assert 4 <= killed_at < 30
    out = subprocess.run(cmd, cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert torch.load(last, weights_only=False)["global_step"] == 30
    resumed = (run / "csv" / "version_1" / "metrics.csv").read_text().splitlines()
    col = resumed[0].split(",").index("step")
    assert min(int(r.split(",")[col]) for r in resumed[1:]) >= killed_at  # continued, not restarted
