"""The network's invariances, shapes and quantile contract, on a randomly initialised model.

The network reads what `mist.stats` makes of a sample (copula scores, features, the core), so
the invariances are checked end to end: raw samples in, quantiles out.
"""

import math

import numpy as np
import pytest
import torch

from mist.model import MISTNetwork, NetworkConfig, QuantileHead, gate_target, pinball_loss
from mist.stats import NUM_FEATURES, stack_summaries, summarize

ATOL = 1e-4


@pytest.fixture(scope="module")
def net() -> MISTNetwork:
    torch.manual_seed(0)
    model = MISTNetwork(NetworkConfig(hidden=16, sample_hidden=32, heads=4, blocks=2, sample_blocks=1, inducing_points=8))
    # The head starts at zero ("no correction"); give it weights so every path is exercised.
    torch.nn.init.normal_(model.head.proj.weight, std=0.5)
    return model.eval()


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 200, 4, generator=g)
    y = torch.tanh(x[..., :3]) + 0.5 * torch.randn(3, 200, 3, generator=g) + x[..., 3:] ** 2
    return x, y


def _inputs(net, x, y) -> dict[str, torch.Tensor]:
    x, y = x.double().numpy(), y.double().numpy()
    summaries = [summarize(a, b) for a, b in zip(x, y)]
    arrays = stack_summaries(summaries, [x.shape[-1]] * len(x), net.cfg.attention_rows)
    return {k: torch.from_numpy(v) for k, v in arrays.items()}


def _out(net, x, y):
    t = _inputs(net, x, y)
    with torch.no_grad():
        return net(t["x"], t["y"], t["features"], t["base"], t["x_mask"], t["y_mask"])


def test_config_feature_count_matches_the_statistics():
    assert NetworkConfig().num_features == NUM_FEATURES


def test_a_network_trained_on_fewer_features_reads_the_first_ones(data):
    """Features are only ever appended, so releases trained before keep their inputs."""
    torch.manual_seed(0)
    old = MISTNetwork(NetworkConfig(hidden=8, sample_hidden=16, heads=2, blocks=1, num_features=24)).eval()
    t = _inputs(old, *data)
    assert t["features"].shape[1] == NUM_FEATURES > 24
    with torch.no_grad():
        full = old(t["x"], t["y"], t["features"], t["base"])
        assert torch.equal(full, old(t["x"], t["y"], t["features"][:, :24], t["base"]))
        with pytest.raises(ValueError, match="reads 24 features per set, got 20"):
            old(t["x"], t["y"], t["features"][:, :20], t["base"])


def test_output_is_ascending_quantiles_per_dataset(net, data):
    q = _out(net, *data)
    assert q.shape == (3, 5)
    assert torch.all(q[:, 1:] >= q[:, :-1])


def test_invariant_to_sample_order(net, data):
    x, y = data
    perm = torch.randperm(x.shape[1], generator=torch.Generator().manual_seed(2))
    assert torch.allclose(_out(net, x, y), _out(net, x[:, perm], y[:, perm]), atol=ATOL)


@pytest.mark.parametrize("side", ["x", "y"])
def test_invariant_to_coordinate_order(net, data, side):
    x, y = data
    if side == "x":
        x2, y2 = x[..., [2, 0, 3, 1]], y
    else:
        x2, y2 = x, y[..., [2, 0, 1]]
    assert torch.allclose(_out(net, x, y), _out(net, x2, y2), atol=ATOL)


def test_symmetric_in_x_and_y(net, data):
    x, y = data
    assert torch.allclose(_out(net, x, y), _out(net, y, x), atol=ATOL)


@pytest.mark.parametrize(
    "warp",
    [torch.exp, lambda c: c**3 + c, lambda c: -c, lambda c: -torch.sinh(2 * c) + 7.0, lambda c: 1e6 * c],
    ids=["exp", "cubic", "negate", "decreasing-sinh", "rescale"],
)
@pytest.mark.parametrize("column", [("x", 1), ("y", 0)])
def test_invariant_to_strictly_monotone_map_of_one_column(net, data, warp, column):
    x, y = data
    side, j = column
    x2, y2 = x.clone(), y.clone()
    target = x2 if side == "x" else y2
    target[..., j] = warp(target[..., j].double()).float()
    assert torch.allclose(_out(net, x, y), _out(net, x2, y2), atol=ATOL)


def test_padded_coordinates_are_ignored(net, data):
    t = _inputs(net, *data)
    xp = torch.cat([t["x"], torch.randn(3, 200, 2)], dim=-1)
    yp = torch.cat([t["y"], torch.randn(3, 200, 1)], dim=-1)
    x_mask = torch.tensor([[True] * 4 + [False] * 2] * 3)
    y_mask = torch.tensor([[True] * 3 + [False]] * 3)
    with torch.no_grad():
        plain = net(t["x"], t["y"], t["features"], t["base"])
        padded = net(xp, yp, t["features"], t["base"], x_mask, y_mask)
    assert torch.allclose(plain, padded, atol=ATOL)


def test_attention_reads_a_bounded_subset_of_rows():
    torch.manual_seed(0)
    model = MISTNetwork(NetworkConfig(hidden=8, sample_hidden=8, heads=2, blocks=1, attention_rows=64)).eval()
    t = _inputs(model, torch.randn(2, 500, 2), torch.randn(2, 500, 3))
    assert t["x"].shape == (2, 64, 2) and t["y"].shape == (2, 64, 3)


def test_one_dimensional_and_unequal_dimensions_run(net):
    for dx, dy in [(1, 1), (1, 7), (9, 2)]:
        q = _out(net, torch.randn(2, 50, dx), torch.randn(2, 50, dy))
        assert q.shape == (2, 5) and torch.isfinite(q).all()


def test_untrained_model_returns_the_classical_core():
    """The zero-initialised head means 'no correction': the median is the core's MI."""
    torch.manual_seed(0)
    model = MISTNetwork(NetworkConfig(hidden=16, sample_hidden=16, heads=2, blocks=1)).eval()
    x = torch.randn(1, 4000, 1)
    y = x + torch.randn(1, 4000, 1)  # rho^2 = 1/2, I = 0.5 log 2
    t = _inputs(model, x, y)
    median = model.predict_nats(t["x"], t["y"], t["features"], t["base"])[0, 2].item()
    assert median == pytest.approx(float(t["base"][0]), rel=1e-5)
    assert median == pytest.approx(0.5 * np.log(2.0), abs=0.03)


def test_constant_column_gives_finite_output(net):
    x = torch.randn(1, 100, 2)
    x[..., 1] = 5.0
    assert torch.isfinite(_out(net, x, torch.randn(1, 100, 1))).all()


@pytest.mark.parametrize("gated", [False, True])
def test_quantile_head_never_crosses(gated):
    head = QuantileHead(8, (0.05, 0.25, 0.5, 0.75, 0.95), gated=gated)
    torch.nn.init.normal_(head.proj.weight, std=10.0)
    q, _ = head(torch.randn(64, 8), torch.zeros(64), torch.full((64,), 0.1))
    assert torch.all(q[:, 1:] >= q[:, :-1])


def test_closed_gate_returns_the_core_and_its_normal_interval():
    levels = (0.05, 0.25, 0.5, 0.75, 0.95)
    head = QuantileHead(8, levels, gated=True)
    torch.nn.init.normal_(head.proj.weight, std=10.0)
    torch.nn.init.constant_(head.gate.bias, -60.0)  # sigmoid = 0: the learned part is switched off
    base, scale = torch.tensor([0.3, 1.2]), torch.tensor([0.02, 0.1])
    q, logit = head(torch.randn(2, 8), base, scale)
    z = torch.tensor([-1.6449, -0.6745, 0.0, 0.6745, 1.6449])
    assert torch.allclose(q, base[:, None] + z * scale[:, None], atol=1e-4)
    assert torch.all(logit == -60.0)


def test_core_spread_starts_at_the_delta_method_and_widens_each_side_behind_a_closed_gate():
    levels = (0.05, 0.25, 0.5, 0.75, 0.95)
    plain = QuantileHead(8, levels, gated=True)
    spread = QuantileHead(8, levels, gated=True, core_spread=True)
    spread.load_state_dict(plain.state_dict(), strict=False)  # a warm start: the new factors stay fresh
    h, base, scale = torch.randn(3, 8), torch.rand(3), torch.full((3,), 0.1)
    assert torch.equal(spread(h, base, scale)[0], plain(h, base, scale)[0])
    torch.nn.init.constant_(spread.gate.bias, -60.0)  # gate shut: only the core's spread is left
    torch.nn.init.constant_(spread.core_spread.bias[1], math.log(3.0))  # the upper side three times wider
    q, _ = spread(h, base, scale)
    z = torch.tensor([-1.6449, -0.6745, 0.0, 3 * 0.6745, 3 * 1.6449])
    assert torch.allclose(q, base[:, None] + z * scale[:, None], atol=1e-4)
    with pytest.raises(ValueError, match="gated"):
        QuantileHead(8, levels, core_spread=True)


def test_open_gate_at_init_keeps_a_warm_started_output():
    """A gated head starts nearly open, so gating a trained network barely changes its answers."""
    plain = QuantileHead(8, (0.05, 0.5, 0.95))
    gated = QuantileHead(8, (0.05, 0.5, 0.95), gated=True)
    gated.proj.load_state_dict(plain.proj.state_dict())
    h, base = torch.randn(4, 8), torch.rand(4)
    q0, _ = plain(h, base)
    q1, _ = gated(h, base, torch.zeros(4))
    assert torch.allclose(q0, q1, atol=0.05)


def test_gate_target_marks_where_the_core_is_wrong():
    base = torch.tensor([1.0, 1.0, 1.0])
    scale = torch.tensor([0.05, 0.05, 0.5])
    target = torch.tensor([1.05, 1.5, 1.5])  # within 2 se; off by 10 se; within 2 (wide) se
    assert gate_target(base, scale, target).tolist() == [0.0, 1.0, 0.0]


@pytest.mark.parametrize("levels", [(0.1, 0.9), (0.5, 0.25), (0.0, 0.5, 1.0)])
def test_quantile_head_rejects_bad_levels(levels):
    with pytest.raises(ValueError, match="quantile levels"):
        QuantileHead(8, levels)


def test_pinball_loss_values():
    levels = (0.1, 0.5, 0.9)
    pred = torch.tensor([[0.0, 1.0, 2.0]])
    # target 1.5: errors (1.5, 0.5, -0.5) -> 0.1*1.5, 0.5*0.5, 0.1*0.5 -> mean 0.15
    assert pinball_loss(pred, torch.tensor([1.5]), levels).item() == pytest.approx(0.15)
    assert pinball_loss(torch.tensor([[1.5, 1.5, 1.5]]), torch.tensor([1.5]), levels).item() == 0.0
