"""Flows fitted to a user's samples (fit, invert, save, reload, reuse) and the push of synthetic
sets through them: the MI labels stay exact."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from data_gen import DatasetSampler
from mist.adaptation.flows import FlowError, FlowOptions, fit_flow, flow_pair, load_flow, min_samples
from mist.adaptation.push import PushedBatches, push, pushed_sets
from mist.stats import normal_scores
from mist.baselines import ksg
from mist.training.datasets import GeneratedBatches

FAST = {"max_epochs": 25, "patience": 5, "layers": 4, "hidden": 32}


def banana(n, seed=0):
    """2-D samples on a curved ridge: x2 = x1^2 + 0.3 noise."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, 2))
    a[:, 1] = 0.3 * a[:, 1] + a[:, 0] ** 2
    return a


def ring(n, seed=1):
    """2-D samples near the unit circle."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 2 * np.pi, n)
    r = 1 + 0.1 * rng.normal(size=n)
    return np.c_[r * np.cos(t), r * np.sin(t)]


@pytest.fixture(scope="module")
def flows():
    """Flows fitted to two distinctly non-Gaussian 2-D data sets (X: banana, Y: ring)."""
    with torch.random.fork_rng():
        torch.set_num_threads(1)
        return fit_flow(banana(1000), FAST, name="x"), fit_flow(ring(1000), FAST, name="y")


def gaussian_pair(n, rhos, seed):
    """X, Y in R^d with canonical correlations rhos; exact MI = -1/2 sum log(1 - rho^2) nats."""
    rng = np.random.default_rng(seed)
    r = np.asarray(rhos)
    x = rng.normal(size=(n, len(r)))
    y = r * x + np.sqrt(1 - r**2) * rng.normal(size=(n, len(r)))
    return x, y, float(-0.5 * np.log(1 - r**2).sum())


# --- fitting, inverting, saving ------------------------------------------------------------------


def test_fit_beats_the_gaussian_and_inverts(flows):
    fx, fy = flows
    for f in flows:
        rec = f.record
        assert rec["n_train"] + rec["n_val"] == 1000 and rec["n_val"] == 200
        assert rec["val_nll"] < rec["gaussian_val_nll"] - 0.1  # learnt the curved shape (held-out rows)
        assert rec["roundtrip_error"] < 1e-4
        assert 1 <= rec["best_epoch"] <= rec["epochs"] <= FAST["max_epochs"]
    z = np.random.default_rng(2).normal(size=(500, 2))
    assert np.abs(fx.to_base(fx.to_data(z)) - z).max() < 1e-4
    # the fitted map lands on the data: pushed normal points follow the ridge x2 ~ x1^2
    s = fx.to_data(z)
    assert np.corrcoef(s[:, 1], s[:, 0] ** 2)[0, 1] > 0.5  # a Gaussian fit gives about 0


def test_early_stopping_keeps_the_best_epoch():
    f = fit_flow(banana(300), {"max_epochs": 200, "patience": 3, "layers": 2, "hidden": 16, "lr": 3e-2})
    assert f.record["stopped_early"] and f.record["epochs"] == f.record["best_epoch"] + 3 < 200


@pytest.mark.parametrize("kind", ["affine", "spline"])
def test_save_and_load_give_the_same_maps(tmp_path, kind):
    f = fit_flow(banana(300), {"kind": kind, "max_epochs": 2, "layers": 2, "hidden": 16})
    weights, card = f.save(tmp_path / "x")
    g = load_flow(tmp_path / "x")
    z = np.random.default_rng(0).normal(size=(50, 2))
    assert np.array_equal(g.to_data(z), f.to_data(z)) and g.options == f.options and g.record == f.record
    assert g.roundtrip_error(banana(300)) < 1e-3
    raw = bytearray(weights.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # corrupt one byte of the weights
    weights.write_bytes(bytes(raw))
    with pytest.raises(FlowError, match="sha256"):
        load_flow(card)
    with pytest.raises(FlowError, match="does not exist"):
        load_flow(tmp_path / "nothing")


def test_one_coordinate_gets_the_identity_up_to_scale():
    """Every invertible map of R is monotone, and the estimator's ranks ignore monotone maps."""
    a = np.random.default_rng(0).exponential(size=(200, 1)) * 5 + 3
    f = fit_flow(a)
    assert f.record["epochs"] == 0
    z = np.linspace(-2, 2, 5)[:, None]
    assert np.allclose(f.to_data(z), z * f.std + f.mean) and abs(f.std[0] / a.std() - 1) < 0.1


def test_too_few_samples_is_a_clear_error():
    assert min_samples(2) == 100 and min_samples(30) == 300
    with pytest.raises(FlowError, match=r"y has 99 samples; fitting a flow to 2 coordinate\(s\) needs at least 100"):
        fit_flow(banana(99), name="y")


def test_bad_samples_are_clear_errors():
    a = banana(200)
    a[:, 1] = 4.0
    with pytest.raises(FlowError, match="x column 1 is constant"):
        fit_flow(a)
    a = banana(200)
    a[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit_flow(a)
    with pytest.raises(ValueError, match="unknown key"):
        fit_flow(banana(200), {"depth": 3})
    with pytest.raises(FlowError, match="maps 2 coordinates"):
        fit_flow(banana(200), {"max_epochs": 1, "layers": 1}).to_data(np.zeros((4, 3)))


def test_saved_flows_are_reused_only_for_their_data_and_options(tmp_path):
    x, y = banana(200), ring(150)  # unpaired: different n
    opts = FlowOptions(max_epochs=2, layers=2, hidden=16)
    fx, fy = flow_pair(tmp_path, x, y, opts)
    stamp = (tmp_path / "x.safetensors").stat().st_mtime_ns
    again_x, again_y = flow_pair(tmp_path, x, y, opts)  # same data and options: loaded, not refitted
    assert (tmp_path / "x.safetensors").stat().st_mtime_ns == stamp and again_x.record == fx.record
    assert flow_pair(tmp_path, None, None, opts)[1].record == fy.record  # no data: the saved flows
    with pytest.raises(FlowError, match="fitted to other samples of x"):
        flow_pair(tmp_path, banana(200, seed=5), y, opts)
    with pytest.raises(FlowError, match="y has 3 coordinate.* maps 2"):
        flow_pair(tmp_path, x, np.c_[y, y[:, :1] ** 3], opts)
    with pytest.raises(FlowError, match="other options"):
        flow_pair(tmp_path, x, y, FlowOptions(max_epochs=3, layers=2, hidden=16))
    refit_x, _ = flow_pair(tmp_path, banana(200, seed=5), y, opts, refit=True)
    assert refit_x.record["data_sha256"] != fx.record["data_sha256"]
    with pytest.raises(FlowError, match="no flow saved"):
        flow_pair(tmp_path / "empty", None, None, opts)
    card = json.loads((tmp_path / "y.json").read_text())
    assert card["dim"] == 2 and card["record"]["n"] == 150


# --- the push keeps the labels -------------------------------------------------------------------


def test_pushed_sets_are_invertible_maps_of_each_side(flows):
    """Pulled back through the flow, a pushed side has exactly the original's ranks per column:
    the push is a strictly monotone map per column followed by an invertible map of the side."""
    fx, fy = flows
    x, y, _ = gaussian_pair(3000, (0.9, 0.5), seed=3)
    for a, f in ((x, fx), (y, fy)):
        pushed = push(torch.from_numpy(a).float(), f)
        back = f.to_base(pushed.numpy().astype(np.float64))
        assert np.abs(back - normal_scores(a)).max() < 1e-3
        assert (np.argsort(back, axis=0) == np.argsort(a, axis=0)).all()
        # ...and the push is not a per-column warp: it mixes the coordinates (else adapting would be moot)
        assert not (np.argsort(pushed.numpy(), axis=0) == np.argsort(a, axis=0)).all()


@pytest.mark.parametrize(
    "rhos, tol",
    [
        ((0.6, 0.3), 0.05),   # 0.27 nats
        ((0.9, 0.5), 0.08),   # 0.97 nats
        ((0.97, 0.8), 0.20),  # 1.93 nats: KSG's downward bias grows with MI (and on curved supports)
    ],
)
def test_labels_unchanged_by_the_push_ksg_at_large_n(flows, rhos, tol):
    """KSG (consistent) on a Gaussian pushed through the fitted flows agrees with the exact MI."""
    fx, fy = flows
    x, y, mi = gaussian_pair(5000, rhos, seed=4)
    px = push(torch.from_numpy(x).float(), fx).numpy()
    py = push(torch.from_numpy(y).float(), fy).numpy()
    assert abs(ksg(px, py) - mi) < tol
    assert abs(ksg(x, y) - mi) < tol  # the same estimator before the push


def test_pushed_batches_keep_labels_and_dims(flows):
    fx, fy = flows
    gen = {"families": ["gaussian_dense", "student_t"], "transforms": ["linear", "warp_asinh"], "n": [16, 64],
           "dx": 2, "dy": 2}
    torch.manual_seed(0)
    plain = list(GeneratedBatches(gen, 4, 3, seed=7))
    torch.manual_seed(0)
    pushed = list(PushedBatches(gen, fx, fy, 4, 3, seed=7))
    for p, q in zip(plain, pushed):
        assert torch.equal(p["mi"], q["mi"]) and q["x"].shape == p["x"].shape and q["y"].shape == p["y"].shape
        assert not torch.equal(q["x"], p["x"]) and q["x"].dtype == torch.float32  # pushed before summarising
        assert bool(q["x_mask"].all()) and torch.isfinite(q["x"]).all() and torch.isfinite(q["y"]).all()
    sets = pushed_sets(gen, fx, fy, n=40, count=3, seed=1)
    assert [s.x.shape for s in sets] == [(40, 2)] * 3 and all(s.transform.endswith("|pushed") for s in sets)
    with pytest.raises(ValueError, match="fix the generator's dims"):
        PushedBatches({**gen, "dx": [1, 3]}, fx, fy, 4, 3)
    with pytest.raises(ValueError, match="fix the generator's dims"):
        pushed_sets({**gen, "dy": 3}, fx, fy, n=40, count=1, seed=0)


def test_normal_scores_are_standard_normal_ranks():
    s = DatasetSampler({"families": ["student_t"], "transforms": []}).sample(np.random.default_rng(0), n=999, dx=2, dy=1)
    z = normal_scores(s.x)
    assert (np.argsort(z, axis=0) == np.argsort(s.x, axis=0)).all()
    assert abs(z.mean()) < 1e-6 and abs(z.std() - 1) < 0.01
