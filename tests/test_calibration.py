"""Split-conformal calibration (mist.calibration): scaled offsets keep narrow intervals narrow."""

import numpy as np
import pytest
import torch

from mist.calibration import (
    DEFAULT_DIM_EDGES,
    apply_calibration,
    coverage,
    fit_calibration,
)

LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
Z = np.array([-1.6449, -0.6745, 0.0, 0.6745, 1.6449])
EDGES = [16, 10**6]


def _sets(rng, m):
    """Predictions whose spread is half the true noise: too narrow by the same factor everywhere."""
    sd = np.where(rng.random(m) < 0.5, 0.01, 1.0)  # half the sets easy, half hard
    centre = rng.uniform(0, 2, m)
    pred = centre[:, None] + 0.5 * sd[:, None] * Z
    target = centre + sd * rng.standard_normal(m)
    return pred, target, sd


def _calibrated(pred, cal):
    return np.stack([apply_calibration(torch.from_numpy(p)[None], 1000, cal)[0].numpy() for p in pred])


def test_scaled_offsets_cover_easy_and_hard_sets_and_keep_the_easy_ones_narrow():
    rng = np.random.default_rng(0)
    pred, target, _ = _sets(rng, 4000)
    cal = fit_calibration(pred, target, np.full(len(target), 1000), LEVELS, EDGES)
    assert cal["scaled"] is True
    pred, target, sd = _sets(rng, 4000)
    q = _calibrated(pred, cal)
    for group in (sd < 0.1, sd > 0.1):
        assert 0.86 <= coverage(q[group], target[group], LEVELS, 0.05, 0.95) <= 0.94
    width = q[:, -1] - q[:, 0]
    assert width[sd < 0.1].mean() < 0.05
    assert width[sd > 0.1].mean() > 2.5


@pytest.mark.parametrize("scaled", [True, False])
def test_calibration_sets_the_intervals_and_leaves_the_point_estimate_alone(scaled):
    """Predictions biased low: the intervals move to cover the truth, the median does not move."""
    rng = np.random.default_rng(2)
    pred, target, _ = _sets(rng, 2000)
    pred = pred - 0.3
    cal = fit_calibration(pred, target, np.full(len(target), 1000), LEVELS, EDGES, scaled=scaled)
    assert cal["offsets"][0][LEVELS.index(0.5)] == 0.0
    q = _calibrated(pred, cal)
    np.testing.assert_allclose(q[:, 2], pred[:, 2])
    assert coverage(q, target, LEVELS, 0.05, 0.95) > coverage(pred, target, LEVELS, 0.05, 0.95) + 0.05


def test_widen_only_calibration_never_narrows_an_interval():
    """Predictions too wide below and too narrow above: the upper side widens, the lower stays."""
    rng = np.random.default_rng(3)
    pred, target, _ = _sets(rng, 2000)
    pred = pred - 0.3 * (pred - pred[:, 2:3])  # shrink both sides...
    pred[:, :2] -= 3.0  # ...then push the lower ones far down: free offsets would raise them
    free = fit_calibration(pred, target, np.full(len(target), 1000), LEVELS, EDGES)
    cal = fit_calibration(pred, target, np.full(len(target), 1000), LEVELS, EDGES, widen_only=True)
    assert free["offsets"][0][0] > 0 and cal["offsets"][0][0] == 0.0 and cal["widen_only"] is True
    assert free["offsets"][0][-1] > 0 and cal["offsets"][0][-1] == pytest.approx(free["offsets"][0][-1])
    q = _calibrated(pred, cal)
    assert np.all(q[:, 0] <= pred[:, 0] + 1e-12) and np.all(q[:, -1] >= pred[:, -1] - 1e-12)
    np.testing.assert_allclose(q[:, :2], pred[:, :2])


def test_calibration_by_dimension_widens_only_the_group_that_needs_it():
    """Low-dimensional sets already calibrated, high-dimensional ones too narrow: one offset per n
    bin widens both alike, and neither group covers 90% (the low one over-covers, the high one
    still misses); per dimension group, each covers 90% and the low group keeps its width."""
    rng = np.random.default_rng(4)

    def draw(m):
        dims = np.where(rng.random(m) < 0.5, 4, 40)
        centre, sd = rng.uniform(0, 2, m), np.full(m, 0.1)
        spread = np.where(dims < 11, 1.0, 0.4)  # the low group's quantiles are right, the high group's too narrow
        return centre[:, None] + (spread * sd)[:, None] * Z, centre + sd * rng.standard_normal(m), dims

    pred, target, dims = draw(6000)
    ns = np.full(len(target), 1000)
    pooled = fit_calibration(pred, target, ns, LEVELS, EDGES, widen_only=True)
    grouped = fit_calibration(pred, target, ns, LEVELS, EDGES, widen_only=True, dims=dims, dim_edges=DEFAULT_DIM_EDGES)
    assert grouped["dim_edges"] == DEFAULT_DIM_EDGES and np.shape(grouped["offsets"]) == (2, 1, 5)
    pred, target, dims = draw(6000)
    low, high = dims < 11, dims >= 11
    for cal, low_cover, high_cover in ((pooled, (0.95, 1.0), (0.0, 0.86)), (grouped, (0.86, 0.94), (0.86, 0.94))):
        q = np.stack([apply_calibration(torch.from_numpy(p)[None], 1000, cal, int(d))[0].numpy() for p, d in zip(pred, dims)])
        assert low_cover[0] <= coverage(q[low], target[low], LEVELS, 0.05, 0.95) <= low_cover[1]
        assert high_cover[0] <= coverage(q[high], target[high], LEVELS, 0.05, 0.95) <= high_cover[1]
    np.testing.assert_allclose(q[low], pred[low], atol=0.01)  # the grouped card leaves the calibrated group alone


def test_a_card_calibrated_by_dimension_needs_the_dimension():
    cal = {"edges": EDGES, "dim_edges": DEFAULT_DIM_EDGES, "levels": list(LEVELS), "scaled": True,
           "offsets": [[[0.0, 0.0, 0.0, 0.0, 0.0]], [[-0.5, 0.0, 0.0, 0.0, 0.5]]]}
    pred = torch.tensor([[0.0, 0.5, 1.0, 1.5, 2.0]])
    assert torch.equal(apply_calibration(pred, 100, cal, 2), pred)
    assert torch.allclose(apply_calibration(pred, 100, cal, 64), pred + torch.tensor([-1.0, 0.0, 0.0, 0.0, 1.0]))
    assert torch.allclose(apply_calibration(pred, 100, cal, 500), apply_calibration(pred, 100, cal, 64))  # outer groups open
    with pytest.raises(ValueError, match="dims = dx \\+ dy"):
        apply_calibration(pred, 100, cal)
    with pytest.raises(ValueError, match="needs `dims`"):
        fit_calibration(pred.numpy(), np.zeros(1), np.full(1, 100), LEVELS, EDGES, dim_edges=DEFAULT_DIM_EDGES)


def test_additive_offsets_widen_every_set_alike():
    rng = np.random.default_rng(1)
    pred, target, _ = _sets(rng, 4000)
    cal = fit_calibration(pred, target, np.full(len(target), 1000), LEVELS, EDGES, scaled=False)
    pred, _, sd = _sets(rng, 2000)
    q = _calibrated(pred, cal)
    assert (q[:, -1] - q[:, 0])[sd < 0.1].mean() > 0.5  # the easy sets pay for the hard ones (0.03 wide at most)


def test_cards_without_the_scaled_flag_hold_additive_offsets():
    cal = {"edges": EDGES, "offsets": [[-0.1, 0.0, 0.2, 0.0, 0.1]], "levels": list(LEVELS)}
    pred = torch.tensor([[0.0, 0.5, 1.0, 1.5, 2.0]])
    out = apply_calibration(pred, 100, cal)
    assert torch.allclose(out, pred + torch.tensor([-0.1, 0.0, 0.2, 0.0, 0.1]))
    scaled = apply_calibration(pred, 100, dict(cal, scaled=True))  # width 2: offsets doubled
    assert torch.allclose(scaled, pred + 2 * torch.tensor([-0.1, 0.0, 0.2, 0.0, 0.1]))


@pytest.mark.parametrize("scaled", [True, False])
def test_calibrated_quantiles_stay_ordered(scaled):
    cal = {"edges": EDGES, "offsets": [[0.5, -0.5, 0.3, -0.4, -0.6]], "levels": list(LEVELS), "scaled": scaled}
    out = apply_calibration(torch.tensor([[0.0, 0.1, 0.2, 0.3, 0.4]]), 100, cal)
    assert torch.all(out[:, 1:] >= out[:, :-1])


@pytest.mark.slow
def test_calibrate_checkpoint_keeps_offsets_only_where_they_help_and_records_why(tmp_path):
    """The script fits offsets per n bin on fresh sets, keeps a bin's offsets only if they bring
    its check coverage closer to 0.90, and writes the choice and both coverages into the card;
    the sets do not depend on how many processes draw them; the predictions it keeps refit the
    card later, and only for the weights that made them."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from mist.model import MISTNetwork, NetworkConfig
    from mist.release import load_release, save_release

    torch.manual_seed(0)
    net = MISTNetwork(NetworkConfig(hidden=8, sample_hidden=8, heads=2, blocks=1, sample_blocks=1, inducing_points=2))
    gen = {"families": ["gaussian_dense"], "transforms": [], "n": [16, 8192], "dx": [1, 2], "dy": [1, 2],
           "mi_prior": [{"weight": 1.0, "low": 0.0, "high": 2.0}]}
    ranges = {"n": [16, 8192], "dx": [1, 2], "dy": [1, 2], "mi": [0.0, 2.0], "max_mi_per_dim": 8.0}
    save_release(net, {"trained_ranges": ranges, "training": {"generator": gen}}, tmp_path / "m")
    script = Path(__file__).parents[1] / "scripts" / "calibrate_checkpoint.py"
    sets = str(tmp_path / "sets.npz")
    out = subprocess.run([sys.executable, str(script), str(tmp_path / "m"), "--sets-per-bin", "40", "--threads", "1",
                          "--widen-only", "--save-sets", sets], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    cal = load_release(tmp_path / "m")[1]["calibration"]
    # two processes draw the same sets (each bin's halves have their own seeds)
    parallel = subprocess.run([sys.executable, str(script), str(tmp_path / "m"), "--sets-per-bin", "40", "--threads", "2",
                               "--workers", "2", "--widen-only"], capture_output=True, text=True, check=False)
    assert parallel.returncode == 0, parallel.stderr
    assert load_release(tmp_path / "m")[1]["calibration"] == cal
    # the kept predictions refit the same calibration without drawing sets again, for these weights only
    again = subprocess.run([sys.executable, str(script), str(tmp_path / "m"), "--widen-only", "--from-sets", sets],
                           capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert load_release(tmp_path / "m")[1]["calibration"] == cal
    torch.manual_seed(1)
    other = MISTNetwork(NetworkConfig(hidden=8, sample_hidden=8, heads=2, blocks=1, sample_blocks=1, inducing_points=2))
    save_release(other, {"trained_ranges": ranges, "training": {"generator": gen}}, tmp_path / "o")
    refused = subprocess.run([sys.executable, str(script), str(tmp_path / "o"), "--from-sets", sets],
                             capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and "other weights" in refused.stderr
    # the last bin holds sets beyond the trained n: its offsets apply to every larger set
    assert cal["bins"] == ["16-63", "64-255", "256-1023", "1024-4095", "4096-8192", "8193-32768"]
    assert len(cal["kept"]) == len(cal["offsets"]) == 6
    assert cal["widen_only"] and all(r[0] <= 0 <= r[-1] for r in cal["offsets"])
    assert cal["generator"] == "the training generator, fresh seeds"
    check = cal["check"]
    for key, kept, row in zip(cal["bins"], cal["kept"], cal["offsets"]):
        gain = abs(check["before"][key]["cover90"] - 0.9) - abs(check["fitted"][key]["cover90"] - 0.9)
        assert kept == (gain > 0.01)
        if not kept:
            assert row == [0.0] * 5
        # what ships: the fitted offsets where kept, the network's own quantiles elsewhere
        assert check["after"][key]["cover90"] == pytest.approx(check["fitted" if kept else "before"][key]["cover90"])
    # per dimension group, with the small-n bins carrying the card's current offsets
    previous = load_release(tmp_path / "m")[1]["calibration"]["offsets"]
    grouped = subprocess.run([sys.executable, str(script), str(tmp_path / "m"), "--widen-only", "--from-sets", sets,
                              "--by-dims", "--keep-below", "256"], capture_output=True, text=True, check=False)
    assert grouped.returncode == 0, grouped.stderr
    by_dims = load_release(tmp_path / "m")[1]["calibration"]
    assert np.shape(by_dims["offsets"]) == (2, 6, 5) and len(by_dims["bins"]) == len(by_dims["kept"]) == 12
    assert by_dims["bins"][0] == "dims 2-10, n 16-63" and by_dims["bins"][-1] == "dims 11-64, n 8193-32768"
    assert by_dims["carried"] == ["dims 2-10, n 16-63", "dims 2-10, n 64-255", "dims 11-64, n 16-63", "dims 11-64, n 64-255"]
    for table in by_dims["offsets"]:
        assert table[:2] == previous[:2]
    assert set(by_dims["check"]["after"]) == set(by_dims["bins"])
    # another prior, other bins: the card names both
    (tmp_path / "broad.yaml").write_text(json.dumps(dict(gen, dx=[1, 3], dy=[1, 3])))
    other_prior = subprocess.run([sys.executable, str(script), str(tmp_path / "m"), "--sets-per-bin", "20", "--threads", "1",
                                  "--generator", str(tmp_path / "broad.yaml"), "--edges", "16", "64", "256"],
                                 capture_output=True, text=True, check=False)
    assert other_prior.returncode == 0, other_prior.stderr
    broad = load_release(tmp_path / "m")[1]["calibration"]
    assert broad["generator"].endswith("broad.yaml, fresh seeds") and broad["bins"] == ["16-63", "64-255"]
