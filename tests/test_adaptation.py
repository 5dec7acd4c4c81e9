"""Modality adaptation end to end on a tiny release: `mist-finetune` from a data file, `mist.adapt`
from arrays, the adapted card, resuming, and clear errors for inputs that cannot work."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch

from mist.calibration import DEFAULT_EDGES
from mist.adaptation import AdaptationError, FlowError, adapt
from mist.adaptation.cli import main as finetune_main
from mist.adaptation.finetune import finetune_generator, read_samples
from mist.cli import main as mist_main
from mist.inference import MIEstimator
from mist.inference import estimator as estimator_mod
from mist.model import MISTNetwork, NetworkConfig
from mist.release import CheckpointError, load_release, save_release

GENERATOR = {  # a small training generator for the tiny base release (fast fine-tuning steps)
    "families": ["gaussian_dense", "student_t"],
    "transforms": ["linear"],
    "n": [16, 64],
    "dx": [1, 4],
    "dy": [1, 4],
    "mi_prior": [{"weight": 1.0, "low": 0.0, "high": 3.0}],
}
RANGES = {"n": [16, 64], "dx": [1, 4], "dy": [1, 4], "mi": [0.0, 3.0], "max_mi_per_dim": 8.0}
TINY = [  # Hydra overrides that make a fine-tune take seconds
    "trainer.max_steps=4", "trainer.val_check_interval=2", "trainer.log_every_n_steps=1",
    "finetune.batch_size=4", "finetune.batches_per_epoch=4", "finetune.num_workers=0",
    "finetune.val_batches=1", "finetune.val_batch_size=4", "callbacks.last.every_n_train_steps=2",
    "evaluation.n=[16,48]", "evaluation.sets_per_n=4", "calibration.sets_per_bin=16",
    "flows.max_epochs=3", "flows.layers=2", "flows.hidden=16", "progress=false",
]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A tiny base release with its training generator on the card; returns its path stem."""
    torch.manual_seed(0)
    net = MISTNetwork(NetworkConfig(hidden=16, sample_hidden=16, heads=2, blocks=1, sample_blocks=1, inducing_points=4))
    path = tmp_path_factory.mktemp("base") / "tiny"
    card = {"trained_ranges": RANGES, "training": {"generator": GENERATOR},
            "calibration": {"edges": [16, 4097], "offsets": [[0.0] * 5], "levels": [0.05, 0.25, 0.5, 0.75, 0.95]}}
    save_release(net, card, path)
    return path


def samples(n_x=240, n_y=200, dy=1, seed=0):
    """Unpaired samples: X on a 2-D curved ridge, Y heavy-tailed in dy coordinates."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_x, 2))
    x[:, 1] = 0.3 * x[:, 1] + x[:, 0] ** 2
    y = rng.standard_t(3, size=(n_y, dy))
    return x, y


def test_mist_finetune_from_a_data_file_writes_an_adapted_release(base, tmp_path, monkeypatch, capsys):
    x, y = samples(dy=2, n_y=240)
    table = tmp_path / "data.csv"
    np.savetxt(table, np.hstack([x, y]), delimiter=",", header="a,b,c,d", comments="")
    run = tmp_path / "run"
    argv = ["mist-finetune", f"checkpoint={base}", f"run_dir={run}", f"data.file={table}", "data.x=[a,b]", "data.y=2:4", *TINY]
    monkeypatch.setattr(sys, "argv", argv)
    finetune_main()

    release = run / "release" / "mist-adapted"
    net, card = load_release(release)
    base_net, base_card = load_release(base)
    a = card["adaptation"]
    assert a["base_checkpoint"]["weights_sha256"] == base_card["weights_sha256"]
    assert a["data"]["source"].startswith(str(table)) and a["data"]["x"] == {"n": 240, "dim": 2}
    for side in ("x", "y"):
        assert a["flows"][side]["roundtrip_error"] < 1e-3 and a["flows"][side]["options"]["layers"] == 2
        assert (run / "flows" / f"{side}.json").is_file()
    assert a["finetune"]["steps"] == 4
    for who in ("base", "adapted"):
        ev = a["evaluation"][who]
        assert ev["sets"] == 8 and set(ev["by_n"]) == {"16", "48"} and np.isfinite(ev["mae"])
        assert np.isfinite(ev["mae_log1p"]) and ev["by_n"]["16"]["sets"] == 4
    ev = a["evaluation"]
    assert a["improved"] == all(ev["adapted"][k] < ev["base"][k] for k in ("mae", "mae_log1p"))
    # the adapted model was trained at these dims only, on the flow-pushed generator, and recalibrated
    assert card["trained_ranges"]["dx"] == [2, 2] and card["trained_ranges"]["dy"] == [2, 2]
    assert card["training"]["generator"]["families"] == {"gaussian_dense": 1.0, "student_t": 1.0}
    assert card["training"]["source"] == "flow-pushed generator"
    assert card["calibration"]["edges"] == DEFAULT_EDGES and card["calibration"]["count"][0] == 16
    changed = any(not torch.equal(p, q) for p, q in zip(net.state_dict().values(), base_net.state_dict().values()))
    assert changed

    # `mist estimate --checkpoint PATH` and MIEstimator.from_pretrained use it
    capsys.readouterr()  # drop the fine-tuning's log lines
    assert mist_main(["estimate", str(table), "--x", "a,b", "--y", "c,d", "--checkpoint", str(release), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dx"] == 2 and out["dy"] == 2 and np.isfinite(out["mi"])
    r = MIEstimator.from_pretrained(release).estimate(x[:50], y[:50])
    assert r.lower <= r.mi <= r.upper

    # the same command again resumes: flows loaded (not refitted), training already done, re-exported
    stamp = (run / "flows" / "x.safetensors").stat().st_mtime_ns
    finetune_main()
    assert (run / "flows" / "x.safetensors").stat().st_mtime_ns == stamp
    _, again = load_release(release)
    assert again["adaptation"]["finetune"]["steps"] == 4
    assert again["adaptation"]["flows"]["x"]["data_sha256"] == a["flows"]["x"]["data_sha256"]


def test_adapt_from_arrays(base, tmp_path):
    x, y = samples()  # Y one-dimensional: its flow is the identity (the estimator's ranks ignore 1-D maps)
    result = adapt(x, y, checkpoint=base, run_dir=tmp_path / "run", out=tmp_path / "mine", steps=3,
                   flows={"max_epochs": 3, "layers": 2, "hidden": 16}, progress=False,
                   overrides=[o for o in TINY if not o.startswith(("trainer.max_steps", "flows.", "progress"))])
    assert result.checkpoint == tmp_path / "mine" and (tmp_path / "mine.json").is_file()
    assert result.x_flow.dim == 2 and result.y_flow.dim == 1 and result.y_flow.record["epochs"] == 0
    assert result.card["adaptation"]["data"]["source"].startswith("arrays passed to mist.adapt (x: 240 x 2, y: 200 x 1)")
    assert set(result.evaluation) >= {"base", "adapted"} and "MAE on fresh pushed sets" in repr(result)
    est = result.estimator(device="cpu")
    assert est.ranges.dx == (2, 2) and est.ranges.dy == (1, 1)
    assert np.isfinite(est.estimate(x[:40], y[:40]).mi)


def test_dimensions_outside_the_trained_range_are_refused_before_any_fitting(base, tmp_path):
    x, _ = samples()
    with pytest.raises(AdaptationError, match=r"Y has 6 coordinate\(s\), outside the range the base checkpoint was trained on \(1 to 4\)"):
        adapt(x, np.random.default_rng(0).normal(size=(300, 6)), checkpoint=base, run_dir=tmp_path)
    assert not (tmp_path / "flows").exists()


def test_too_few_samples_is_a_clear_error(base, tmp_path):
    x, y = samples(n_y=60)
    with pytest.raises(FlowError, match="y has 60 samples; fitting a flow to 1 coordinate\\(s\\) needs at least 100"):
        adapt(x, y, checkpoint=base, run_dir=tmp_path, progress=False, flows={"max_epochs": 1})


def test_saved_flows_for_other_data_are_refused(base, tmp_path):
    x, y = samples()
    from mist.adaptation.flows import FlowOptions, flow_pair

    flow_pair(tmp_path / "flows", x, y, FlowOptions(max_epochs=1, layers=2, hidden=16))
    with pytest.raises(FlowError, match="fitted to other samples of x"):
        adapt(samples(seed=1)[0], y, checkpoint=base, run_dir=tmp_path, progress=False,
              flows={"max_epochs": 1, "layers": 2, "hidden": 16})


def test_missing_base_checkpoint(tmp_path, monkeypatch):
    x, y = samples()
    with pytest.raises(CheckpointError, match="does not exist"):
        adapt(x, y, checkpoint=tmp_path / "nope", run_dir=tmp_path)
    monkeypatch.setattr(estimator_mod, "default_checkpoint", lambda: tmp_path / "mist-default")
    with pytest.raises(CheckpointError, match="the default checkpoint is missing"):
        adapt(x, y, run_dir=tmp_path)


def test_half_named_data_and_generator_dims():
    with pytest.raises(AdaptationError, match="name both sides"):
        read_samples({"file": "d.csv", "x": "a", "y": None})
    assert read_samples({"x": None, "y": None, "description": "d"}) == (None, None, "d")
    gen = finetune_generator({"trained_ranges": RANGES, "training": {"generator": GENERATOR}}, 3, 1, {"n": [16, 32]})
    assert gen["dx"] == [3, 3] and gen["dy"] == [1, 1] and gen["n"] == [16, 32]
    fallback = finetune_generator({"trained_ranges": RANGES}, 2, 2)  # no generator on the card: the shipped default
    assert fallback["n"] == [16, 64] and "gaussian_sparse" in fallback["families"]


def test_finetune_generator_keeps_a_mixture_prior_with_dims_and_overrides_in_every_component():
    _, card = load_release(estimator_mod.default_checkpoint())
    assert "mixture" in card["training"]["generator"], "the shipped prior is a mixture"
    gen = finetune_generator(card, 3, 2, {"n": [64, 256]})
    weights = {k: c["weight"] for k, c in card["training"]["generator"]["mixture"].items()}
    assert {k: c["weight"] for k, c in gen["mixture"].items()} == weights
    for c in gen["mixture"].values():
        assert c["generator"]["dx"] == [3, 3] and c["generator"]["dy"] == [2, 2] and c["generator"]["n"] == [64, 256]


def test_mist_finetune_from_the_shipped_checkpoint_writes_a_release(tmp_path, monkeypatch):
    """The command that failed on the shipped card (its prior is a mixture), with no checkpoint= given."""
    x, y = samples(dy=2, n_y=240)
    table = tmp_path / "d.csv"
    np.savetxt(table, np.hstack([x, y]), delimiter=",", header="a,b,c,d", comments="")
    run = tmp_path / "run"
    tiny = [o for o in TINY if not o.startswith(("trainer.max_steps", "trainer.val_check"))]
    argv = ["mist-finetune", f"data.file={table}", "data.x=[a,b]", "data.y=[c,d]", f"run_dir={run}", *tiny,
            "trainer.max_steps=2", "trainer.val_check_interval=2", "+generator.n=[64,128]"]
    monkeypatch.setattr(sys, "argv", argv)
    finetune_main()
    _, card = load_release(run / "release" / "mist-adapted")
    _, shipped = load_release(estimator_mod.default_checkpoint())
    assert card["adaptation"]["base_checkpoint"]["weights_sha256"] == shipped["weights_sha256"]
    assert "mixture" in card["training"]["generator"] and card["trained_ranges"]["dx"] == [2, 2]


def test_mist_adapt_from_the_shipped_checkpoint_exports_a_release_mist_estimate_reads(tmp_path, capsys):
    """The shipped card's prior is a mixture of generators: fine-tuning from it works end to end."""
    x, y = samples()
    result = adapt(x, y, run_dir=tmp_path / "run", out=tmp_path / "adapted", steps=2,
                   flows={"max_epochs": 2, "layers": 2, "hidden": 16}, progress=False,
                   overrides=[o for o in TINY if not o.startswith(("trainer.max_steps", "flows.", "progress"))]
                   + ["+generator.n=[64,128]"])
    assert "mixture" in result.card["training"]["generator"]
    table = tmp_path / "d.csv"
    np.savetxt(table, np.hstack([x[:200], y]), delimiter=",", header="a,b,c", comments="")
    capsys.readouterr()
    assert mist_main(["estimate", str(table), "--x", "a,b", "--y", "c", "--checkpoint", str(tmp_path / "adapted"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dx"] == 2 and out["dy"] == 1 and np.isfinite(out["mi"])
