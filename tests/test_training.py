"""The training pipeline: configs compose, a few steps learn, runs resume, DDP runs, export loads."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import pytest
import torch
from hydra import compose, initialize_config_module
from omegaconf import open_dict

import numpy as np

from data_gen import SampleSet
from mist.model import pinball_loss
from mist.training.batching import collate
from mist.release import CheckpointError, load_release
from mist.training.module import MISTModule
from mist.training.train import train


def _cfg(tmp_path: Path, *overrides: str):
    with initialize_config_module(config_module="mist.configs", version_base="1.3"):
        return compose(
            config_name="train",
            overrides=["experiment=smoke", f"run_dir={tmp_path}", *overrides],
        )


@pytest.mark.parametrize("model", ["small", "large"])
def test_shipped_model_configs_compose(tmp_path, model):
    cfg = _cfg(tmp_path, f"model={model}")
    assert cfg.model.network.hidden > 0 and cfg.model.max_steps == cfg.trainer.max_steps


@pytest.mark.parametrize("experiment", ["default_cpu", "refine_cpu", "structures_cpu", "structures_balanced_cpu"])
def test_shipped_experiments_compose_and_draw_batches(tmp_path, experiment):
    from data_gen import make_sampler
    from mist.training.config_check import check_config
    from mist.training.datasets import generate_batch

    with initialize_config_module(config_module="mist.configs", version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"experiment={experiment}", f"run_dir={tmp_path}"])
    check_config(cfg)  # every key of the experiment is one its target reads
    sampler = make_sampler(cfg.data.generator)
    batch = generate_batch(sampler, 4, np.random.default_rng(0), max_tokens=20_000)
    assert batch["x"].shape[0] >= 1 and "elliptical" in batch
    for gen in cfg.data.val_generators.values():
        make_sampler(gen).sample(np.random.default_rng(1))


def test_the_users_prior_puts_a_share_of_sets_where_users_measure():
    """refine_cpu's prior: 40% of sets at n >= 1000 and MI <= 3 nats, wide sides as often as narrow,
    and a tenth elliptical with both sides 16-32 wide (where the gate opened on sparse Gaussians)."""
    from data_gen import make_sampler

    with initialize_config_module(config_module="mist.configs", version_base="1.3"):
        cfg = compose(config_name="train", overrides=["experiment=refine_cpu"])
    sampler = make_sampler(cfg.data.generator)
    rng = np.random.default_rng(0)
    draws = [sampler.sample(rng, n=16) for _ in range(600)]  # n fixed: only the priors of MI and dims are drawn
    users = [cfg.data.generator.mixture[k].weight for k in ("users_elliptical", "users_broad", "users_elliptical_wide")]
    assert sum(users) == pytest.approx(0.4)
    assert list(cfg.data.generator.mixture.users_elliptical_wide.generator.dx) == [16, 32]
    wide = np.mean([min(s.dx, s.dy) >= 16 for s in draws])
    assert 0.14 < wide < 0.28  # log-uniform alone: about 2%; the users' uniform dims about 8%; the wide tenth 10%


def test_smoke_training_exports_a_release_that_reproduces_the_module(tmp_path):
    result = train(_cfg(tmp_path))
    assert result["release"] and Path(result["ckpt_path"]).is_file()
    assert torch.isfinite(torch.tensor(result["train/loss"]))
    net, card = load_release(result["release"])
    module = MISTModule.load_from_checkpoint(result["ckpt_path"], map_location="cpu").eval()
    x, y = torch.randn(2, 64, 3), torch.randn(2, 64, 2)
    f, base = torch.randn(2, net.cfg.num_features), torch.tensor([0.2, 1.5])
    with torch.no_grad():
        assert torch.equal(net(x, y, f, base), module.net(x, y, f, base))
    assert card["quantile_levels"] == [0.05, 0.25, 0.5, 0.75, 0.95]
    assert card["training"]["global_step"] == 4
    assert card["trained_ranges"]["n"] == [16, 64]

    from mist.training.export import main as export_main  # the mist-export command

    export_main([result["ckpt_path"], str(tmp_path / "again" / "m")])
    again, _ = load_release(tmp_path / "again" / "m.json")
    with torch.no_grad():
        assert torch.equal(again(x, y, f, base), net(x, y, f, base))


class CrashAtStep(L.Callback):
    """Kills training with an exception once `step` optimiser steps are done."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step == self.step:
            raise RuntimeError("simulated crash")


@pytest.mark.parametrize("validate_every", [2, 4])  # 4: the crash comes before the first validation
def test_interrupted_run_resumes_from_its_last_checkpoint(tmp_path, validate_every):
    cfg = _cfg(tmp_path, "trainer.max_steps=6", "export=false", f"trainer.val_check_interval={validate_every}")
    with open_dict(cfg):
        cfg.callbacks.crash = {"_target_": f"{__name__}.CrashAtStep", "step": 3}
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(cfg)
    last = tmp_path / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=False)["global_step"] == 2  # checkpoints every 2 steps

    result = train(_cfg(tmp_path, "trainer.max_steps=6", "export=false", f"trainer.val_check_interval={validate_every}"))
    assert torch.load(last, weights_only=False)["global_step"] == 6
    assert Path(result["ckpt_path"]).is_file()


def test_weight_averaging_ships_the_average_and_resumes_it(tmp_path):
    """With the EMA callback, validation, checkpoints and the release use the averaged weights; the
    last step's weights ride along in the checkpoint, and a resumed run continues both."""
    cfg = _cfg(tmp_path, "trainer.max_steps=4", "callbacks.ema.decay=0.5")
    with open_dict(cfg):
        cfg.callbacks.crash = {"_target_": f"{__name__}.CrashAtStep", "step": 3}
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(cfg)
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["global_step"] == 2 and int(ckpt["averaging_state"]["n_averaged"]) == 2
    key = "net.head.proj.bias"
    assert not torch.equal(ckpt["state_dict"][key], ckpt["current_model_state"][key])  # the average is not the last step

    result = train(_cfg(tmp_path, "trainer.max_steps=4", "callbacks.ema.decay=0.5"))
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["global_step"] == 4 and int(ckpt["averaging_state"]["n_averaged"]) == 4
    best = torch.load(result["ckpt_path"], weights_only=False)
    net, _ = load_release(result["release"])
    assert torch.equal(net.state_dict()["head.proj.bias"], best["state_dict"][key])  # the release is an average

    from mist.training.export import export_checkpoint

    weights, card = export_checkpoint(result["ckpt_path"], tmp_path / "last", last_step=True)  # to compare the two
    last, _ = load_release(weights)
    assert torch.equal(last.state_dict()["head.proj.bias"], best["current_model_state"][key])
    assert json.loads(card.read_text())["training"]["weights"] == "last step"


def test_exporting_the_last_step_of_a_run_without_averaging_is_a_clear_error(tmp_path):
    from mist.training.export import export_checkpoint

    result = train(_cfg(tmp_path, "~callbacks.ema"))
    _, card = load_release(result["release"])
    assert card["training"]["weights"] == "last step"
    with pytest.raises(ValueError, match="without weight averaging"):
        export_checkpoint(result["ckpt_path"], tmp_path / "m", last_step=True)


def test_fixed_batch_is_overfit_by_a_few_steps():
    torch.manual_seed(0)
    module = MISTModule(network={"hidden": 32, "heads": 4, "blocks": 1, "inducing_points": 4})
    rng = np.random.default_rng(0)
    sets = []
    for i, noise in enumerate(np.linspace(0.05, 2.0, 8)):  # each set its own dependence strength
        x = rng.normal(size=(64, 2))
        y = np.tanh(3 * x) + noise * rng.normal(size=(64, 2))
        sets.append(SampleSet(x, y, float(np.linspace(4.0, 0.5, 8)[i]), "test", "", {}))  # labels to tell apart
    batch = collate(sets, 64, rng)
    opt = torch.optim.Adam(module.parameters(), lr=3e-3)
    losses = []
    for _ in range(150):
        loss = pinball_loss(module(batch), torch.log1p(batch["mi"]), module.levels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.25 * losses[0]


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path):
    result = train(_cfg(tmp_path, "trainer=ddp_cpu", "trainer.max_steps=2", "export=false"))
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 2
    assert torch.isfinite(torch.tensor(result["train/loss"]))  # metrics come back from the spawned ranks
    assert 0.0 <= result["heldout/cover90"] <= 1.0  # validation ran and was reduced across ranks


def test_release_with_wrong_sha256_is_refused(tmp_path):
    from mist.model import MISTNetwork, NetworkConfig
    from mist.release import save_release

    weights, card = save_release(MISTNetwork(NetworkConfig(hidden=8, heads=2, blocks=1)), {}, tmp_path / "m")
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt"):
        load_release(tmp_path / "m")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_release(tmp_path / "missing")


@pytest.mark.parametrize("override, message", [
    ("data.batch_size=0", "data.batch_size must be an integer >= 1"),
    ("data.generator.n=5", "must be an int >= 10"),
    ("+learning_rate=1e-3", "unknown config key 'learning_rate' (did you mean model.lr?)"),  # was silently ignored
    ("+data.batch_sise=4", "data config: unknown key 'batch_sise' (did you mean batch_size?)"),  # was InstantiationException
    ("+trainer.max_step=3", "trainer config: unknown key 'max_step' (did you mean max_steps?)"),
])
def test_configs_that_cannot_work_are_one_line_errors(tmp_path, override, message):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "mist.training.train", "experiment=smoke", f"run_dir={tmp_path}", override],
                         capture_output=True, text=True, env={**__import__("os").environ, "WANDB_MODE": "disabled"})
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("mist-train: error:") and message in last and "Traceback" not in out.stderr


def test_mist_export_mistakes_are_one_line_errors(tmp_path, capsys):
    from mist.training.export import main as export_main

    csv = tmp_path / "data.csv"
    csv.write_text("a,b\n1,2\n")
    for path, message in [(tmp_path / "none.ckpt", "does not exist"), (csv, "not a Lightning checkpoint"),
                          (tmp_path / "m.json", "release checkpoint already")]:
        if path.suffix == ".json":
            path.write_text("{}")
        with pytest.raises(SystemExit) as e:
            export_main([str(path), str(tmp_path / "out")])
        assert e.value.code == 1
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err


def test_mist_export_onto_a_directory_names_the_fix(tmp_path, capsys):
    from mist.training.export import main as export_main

    cfg = _cfg(tmp_path / "run", "trainer.max_steps=2", "export=false")
    ckpt = train(cfg)["ckpt_path"]
    (tmp_path / "taken.safetensors").mkdir()
    for out, message in [(tmp_path, "is a directory; a release is a path without suffix inside one"),
                         (tmp_path / "taken", "taken.safetensors is a directory")]:
        with pytest.raises(SystemExit):
            export_main([ckpt, str(out)])
        last = capsys.readouterr().err.strip().splitlines()[-1]
        assert last.startswith("mist-export: error:") and message in last  # was "internal error: SafetensorError"


def test_the_progress_bar_counts_epochs_of_the_step_budget(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "mist.training.train", "experiment=smoke", f"run_dir={tmp_path}",
                          "export=false", "logger=csv"], capture_output=True, text=True,
                         env={**__import__("os").environ, "WANDB_MODE": "disabled", "COLUMNS": "200"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Epoch 0/-" not in out.stdout + out.stderr
    assert "Epoch 0/0" in out.stdout + out.stderr  # 4 steps of 4 batches per epoch: one epoch


def _mixed_batch(n: int = 128) -> dict[str, torch.Tensor]:
    """Eight 2 + 2 sets, half with an elliptical copula (warped Gaussians), half swirled."""
    from data_gen import DatasetSampler

    rng = np.random.default_rng(0)
    prior = [{"weight": 1, "low": 0.5, "high": 2.0}]
    warped = DatasetSampler({"families": ["gaussian_dense"], "transforms": ["warp_asinh"], "mi_prior": prior})
    swirled = DatasetSampler({"families": ["gaussian_dense"], "transforms": ["spiral"], "min_chain": 1,
                              "max_chain": 2, "mi_prior": prior})
    sets = [(warped if i % 2 else swirled).sample(rng, n=n, dx=2, dy=2) for i in range(8)]
    return collate(sets, n, rng)


def test_batches_flag_the_sets_with_an_elliptical_copula():
    batch = _mixed_batch()
    assert batch["elliptical"].tolist() == [0.0, 1.0] * 4


def test_fitting_only_the_gate_leaves_the_rest_of_the_network_untouched():
    torch.manual_seed(0)
    module = MISTModule(network={"hidden": 16, "sample_hidden": 16, "heads": 2, "blocks": 1, "inducing_points": 4,
                                 "gated": True}, gate_target="generator", gate_weight=1.0, pinball_weight=0.0,
                        train_only=["head.gate"], lr=0.05, warmup_steps=1)
    before = {k: v.clone() for k, v in module.net.state_dict().items()}
    batch = _mixed_batch()
    opt = module.configure_optimizers()["optimizer"]
    assert sum(p.numel() for g in opt.param_groups for p in g["params"]) == 16 + 1  # the gate: 16 weights, 1 bias
    losses = []
    for _ in range(60):
        _, _, bce, _ = module._losses(batch)
        loss = module.training_step(batch, 0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(bce.item())
    after = module.net.state_dict()
    changed = sorted(k for k in after if not torch.equal(after[k], before[k]))
    assert changed == ["head.gate.bias", "head.gate.weight"]
    assert losses[-1] < 0.5 * losses[0]  # the gate learns the flag (it starts wide open: a large loss)


@pytest.mark.parametrize("kwargs, message", [
    ({"train_only": ["head.gates"]}, "no parameters named \\['head.gates'\\]"),
    ({"gate_target": "oracle"}, "must be 'error' or 'generator'"),
])
def test_gate_options_that_cannot_work_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MISTModule(network={"hidden": 8, "sample_hidden": 8, "heads": 2, "blocks": 1, "gated": True}, **kwargs)


def test_the_generator_gate_target_needs_batches_that_name_their_sets():
    module = MISTModule(network={"hidden": 8, "sample_hidden": 8, "heads": 2, "blocks": 1, "gated": True},
                        gate_target="generator")
    batch = {k: v for k, v in _mixed_batch(32).items() if k != "elliptical"}
    with pytest.raises(ValueError, match="gate_target=error otherwise"):
        module.training_step(batch, 0)


def test_weight_averaging_decay_outside_0_1_is_a_clear_error():
    from mist.training.averaging import EMAWeights

    with pytest.raises(ValueError, match=r"callbacks.ema.decay must be in \(0, 1\), got 1.0"):
        EMAWeights(decay=1.0)
