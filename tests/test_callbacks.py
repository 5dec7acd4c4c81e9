"""mist.callbacks.InformationPlane: the information plane of a network in training, as a Lightning callback.

A tiny MLP trains for two short epochs on CPU with a CSV logger in tmp_path. Most tests inject a
cheap I(T;Y) estimator (which also records what it was given) so that they test the callback; one
runs the default class-label path. I(X;T), X uniform over the probe rows (Goldfeld et al. 2019),
is checked against the binary-input Gaussian channel by quadrature and at its limits, 0 and log n.
"""

import csv
import itertools
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

pl = pytest.importorskip("lightning.pytorch")
pytest.importorskip("matplotlib")

from mist.callbacks import InformationPlane, plot_information_plane  # noqa: E402 - after the importorskips
from mist.callbacks.information_plane import COLUMNS, MIN_PROBE  # noqa: E402 - after the importorskips
from mist.callbacks.mixture_mi import mixture_mi  # noqa: E402 - after the importorskips

LAYERS = ["net.1", "net.3"]  # the two activations: widths 8 and 3


class TinyMLP(pl.LightningModule):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3), nn.Tanh())

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, _):
        x, y = batch
        return nn.functional.cross_entropy(self(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def probe(n=MIN_PROBE, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    return x, (torch.arange(n) % classes).numpy()


class Recorder:
    """An I(T;Y) batch estimator returning fixed numbers and remembering the pairs it was given."""

    def __init__(self, value):
        self.value, self.calls = value, []

    def __call__(self, pairs):
        self.calls.append([(np.asarray(a), np.asarray(b)) for a, b in pairs])
        return [SimpleNamespace(mi=self.value, lower=self.value - 0.5, upper=self.value + 0.5, warnings=[]) for _ in pairs]


def fit(callback, tmp_path, epochs=2):
    x, y = probe(seed=1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, torch.as_tensor(y)), batch_size=16)
    trainer = pl.Trainer(
        max_epochs=epochs, limit_train_batches=2, accelerator="cpu", devices=1, callbacks=[callback],
        logger=pl.loggers.CSVLogger(tmp_path / "logs", name="tiny"), enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path, log_every_n_steps=1,
    )
    model = TinyMLP()
    trainer.fit(model, loader)
    return trainer, model


def plane(tmp_path, **kwargs):
    x, y = probe()
    kwargs.setdefault("estimate_ty", Recorder(0.5))
    return InformationPlane(x, y, LAYERS, dirpath=tmp_path / "plane", **kwargs)


def within_bounds(r, n=MIN_PROBE):
    return 0.0 <= r["i_xt_lower"] <= r["i_xt"] <= r["i_xt_upper"] <= np.log(n)


def test_writes_csv_json_and_png_with_every_layer_at_every_epoch(tmp_path):
    cb = plane(tmp_path)
    fit(cb, tmp_path)
    paths = cb.paths
    with open(paths["csv"]) as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == COLUMNS
    assert [(int(r["epoch"]), r["layer"]) for r in rows] == [(e, s) for e in (0, 1, 2) for s in LAYERS]
    assert all(within_bounds({k: float(r[k]) for k in ("i_xt", "i_xt_lower", "i_xt_upper")}) for r in rows)
    assert {float(r["i_ty_upper"]) for r in rows} == {1.0}
    payload = json.loads(paths["json"].read_text())
    assert payload["records"] == cb.records and len(cb.records) == 6
    c = payload["convention"]
    assert c["noise_std"] == 0.1 and c["n_probe"] == MIN_PROBE and c["bound"] == pytest.approx(np.log(MIN_PROBE))
    assert "uniform over the 64 probe rows" in c["i_xt"] and "Goldfeld" in c["i_xt"] and "Monte Carlo" in c["interval"]
    assert "log 64 = 4.16 nats" in cb.caption() and "0.1^2" in cb.caption()
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_i_xt_is_the_mixture_mi_of_the_clean_activations_and_i_ty_reads_noisy_ones(tmp_path):
    ty = Recorder(0.5)
    cb = plane(tmp_path, estimate_ty=ty, epochs=[0, 2])
    _, model = fit(cb, tmp_path)
    assert len(ty.calls) == 2  # epochs 0 and 2, each one call for both layers
    (t1, labels1), (t2, _) = ty.calls[-1]
    x, labels = probe()
    assert t1.shape == (MIN_PROBE, 8) and t2.shape == (MIN_PROBE, 3)
    clean = model.net[:2](x).detach().double().numpy()
    noise = t1 - clean
    assert 0.07 < noise.std() < 0.13  # I(T;Y) reads T + N(0, 0.1^2)
    assert labels1.tolist() == labels.tolist()
    last = [r for r in cb.records if r["epoch"] == 2]
    for i, (name, r) in enumerate(zip(LAYERS, last)):
        exact = mixture_mi(cb.activations(model)[name], 0.1, seed=[0, i, 1])  # X uniform over the probe rows, full width
        assert (r["i_xt"], r["i_xt_lower"], r["i_xt_upper"]) == (exact.mi, exact.lower, exact.upper)
    assert not model.net[1]._forward_hooks and model.training  # hooks removed, train mode restored


def test_the_same_noise_every_epoch(tmp_path):
    cb = plane(tmp_path, epochs=[0, 1])
    model = TinyMLP()
    cb.setup(SimpleNamespace(log_dir=str(tmp_path), default_root_dir=str(tmp_path)), model, "fit")
    first, second = cb._noisy("net.1", np.zeros((MIN_PROBE, 8))), cb._noisy("net.1", np.zeros((MIN_PROBE, 8)))
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first[:, :3], cb._noisy("net.3", np.zeros((MIN_PROBE, 3))))
    t = np.random.default_rng(0).normal(size=(MIN_PROBE, 8))
    assert cb.i_xt("net.1", t) == cb.i_xt("net.1", t)  # seeded: the same Monte Carlo draws every epoch


def test_max_dims_reduces_t_for_i_ty_only_and_says_so(tmp_path):
    ty = Recorder(0.5)
    cb = plane(tmp_path, estimate_ty=ty, max_dims=3, epochs=[1])
    _, model = fit(cb, tmp_path, epochs=1)
    (t1, _), (t2, _) = ty.calls[0]
    assert t1.shape == (MIN_PROBE, 3) and t2.shape == (MIN_PROBE, 3)
    assert [(r["width"], r["dims"]) for r in cb.records] == [(8, 3), (3, 3)]
    assert cb.records[0]["i_xt"] == mixture_mi(cb.activations(model)["net.1"], 0.1, seed=[0, 0, 1]).mi  # all 8 units
    assert "lower bound" in cb.caption() and "net.1 8->3" in cb.caption()


def test_metrics_reach_the_trainers_loggers(tmp_path):
    cb = plane(tmp_path)
    _trainer, _ = fit(cb, tmp_path)
    with open(tmp_path / "logs" / "tiny" / "version_0" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    for layer in LAYERS:
        for key in ("i_xt", "i_xt_lower", "i_xt_upper", "i_ty", "i_ty_lower", "i_ty_upper"):
            assert f"infoplane/{layer}/{key}" in rows[0]
    logged = [float(r["infoplane/net.3/i_ty"]) for r in rows if r.get("infoplane/net.3/i_ty")]
    assert logged == [0.5, 0.5, 0.5]
    assert sorted(float(r["infoplane/epoch"]) for r in rows if r.get("infoplane/epoch")) == [0.0, 1.0, 2.0]


def test_default_output_folder_is_under_the_log_dir(tmp_path):
    x, y = probe()
    x = x.double().numpy()  # a float64 numpy probe runs in the model's dtype
    cb = InformationPlane(x, y, LAYERS, estimate_ty=Recorder(0.1), epochs=[0])
    _trainer, _ = fit(cb, tmp_path, epochs=1)
    assert cb.paths["csv"].parent == tmp_path / "logs" / "tiny" / "version_0" / "information_plane"
    assert cb.paths["csv"].is_file()


def test_the_plot_can_be_redrawn_from_the_json(tmp_path):
    cb = plane(tmp_path, units="bits")
    fit(cb, tmp_path, epochs=1)
    out = tmp_path / "again.png"
    plot_information_plane(cb.paths["json"], out)
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert cb.convention["units"] == "bits" and cb.bound == pytest.approx(6.0)  # log2 64
    assert cb.label_entropy == pytest.approx(np.log(3) / np.log(2), abs=0.01)
    assert all(within_bounds({k: r[k] * np.log(2) for k in ("i_xt", "i_xt_lower", "i_xt_upper")}) for r in cb.records)


def test_a_layer_that_does_not_exist_lists_the_valid_names(tmp_path):
    cb = plane(tmp_path)
    cb.layers = ["net.9"]
    with pytest.raises(ValueError, match=r"layer 'net.9' does not exist in TinyMLP; valid names: net, net.0, net.1, net.2, net.3"):
        fit(cb, tmp_path)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"x": torch.randn(MIN_PROBE - 1, 4), "labels": np.arange(MIN_PROBE - 1) % 2},
         f"probe set has {MIN_PROBE - 1} rows; InformationPlane needs at least {MIN_PROBE}"),
        ({"labels": np.zeros(MIN_PROBE, dtype=int)}, "labels have a single class"),
        ({"labels": np.arange(MIN_PROBE + 1) % 2}, "labels must have shape"),
        ({"epochs": [0, 1.5]}, "epochs must be a list of ints >= 0"),
        ({"epochs": ["3"]}, "epochs must be a list of ints >= 0"),
        ({"epochs": 5}, "epochs must be a list of ints >= 0"),
        ({"epochs": [-1]}, "epochs must be a list of ints >= 0"),
        ({"epochs": [True]}, "epochs must be a list of ints >= 0"),
        ({"layers": "net.1"}, "layers must be a non-empty list"),
        ({"noise_std": 0.0}, "noise_std must be a number > 0"),
        ({"max_dims": 0}, "max_dims must be an int >= 1"),
        ({"mc_draws": 1}, "mc_draws must be an int >= 2"),
        ({"units": "hartleys"}, "units must be"),
        ({"estimate_xt": Recorder(1.0)}, "estimate_xt is no longer supported: .* remove the argument"),
    ],
)
def test_bad_arguments_raise_one_clear_error(change, match):
    x, y = probe()
    kwargs = {"x": x, "labels": y, "layers": LAYERS, "estimate_ty": Recorder(0.1)} | change
    with pytest.raises(ValueError, match=match):
        InformationPlane(**kwargs)


def test_default_i_ty_uses_the_class_label_path(monkeypatch):
    from mist.inference import estimator

    x, y = probe()
    seen = []

    def with_labels(t, labels, *, units="nats", check=False, device="auto", checkpoint=None, y_discrete=False):
        seen.append((y_discrete, units))
        return SimpleNamespace(mi=1.0, lower=0.5, upper=1.5, warnings=[])

    monkeypatch.setattr(estimator, "estimate", with_labels)
    cb = InformationPlane(x, y, LAYERS, units="bits")
    cb.estimate_ty([(np.zeros((MIN_PROBE, 2)), y)] * 2)
    assert seen == [(True, "bits")] * 2


def test_the_shipped_checkpoint_for_both_quantities(tmp_path):
    cb = plane(tmp_path, estimate_ty=None, epochs=[1])
    fit(cb, tmp_path, epochs=1)
    for r in cb.records:
        assert within_bounds(r)
        assert r["i_ty_lower"] <= r["i_ty"] <= r["i_ty_upper"]
        assert r["i_ty"] <= np.log(3) + 0.5  # at most H(Y) = log 3 nats, up to estimation error
    # a tanh layer of 8 units with noise 0.1 tells most of the 64 probe rows apart
    assert cb.records[0]["i_xt"] > 0.5 * np.log(MIN_PROBE)


# ------------------------------------------------------------------ I(X; T+Z) under Goldfeld et al.'s convention
class Layer(nn.Module):
    """A fixed map of the probe rows, so that the test decides what the layer outputs."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class Fixed(pl.LightningModule):
    def __init__(self, fn):
        super().__init__()
        self.layer = Layer(fn)
        self.anchor = nn.Linear(1, 1)  # a parameter, so the module has a dtype and device

    def forward(self, x):
        return self.layer(x)


def record_once(tmp_path, fn, noise_std, **kwargs):
    """One record of the layer `fn` on the 64-row probe: the row, and its Monte Carlo standard error."""
    x, y = probe()
    cb = InformationPlane(x, y, ["layer"], noise_std=noise_std, dirpath=tmp_path, estimate_ty=Recorder(0.1), **kwargs)
    trainer = SimpleNamespace(is_global_zero=True, global_step=0, loggers=[])
    (row,) = cb.record(trainer, Fixed(fn), 0)
    return row, (row["i_xt_upper"] - row["i_xt_lower"]) / (2 * 1.6448536269514722)


def binary_channel_mi(a, s):
    """I(B; aB' + Z) for B' = +-1 equally likely, Z ~ N(0, s^2): h(output) by quadrature, less h(Z)."""
    from scipy.integrate import quad

    def density(v):
        return 0.5 * (np.exp(-((v - a) ** 2) / (2 * s * s)) + np.exp(-((v + a) ** 2) / (2 * s * s))) / np.sqrt(2 * np.pi * s * s)

    h, err = quad(lambda v: -density(v) * np.log(density(v)), -a - 14 * s, a + 14 * s, limit=200)
    assert err < 1e-8
    return h - 0.5 * np.log(2 * np.pi * np.e * s * s)


def quad_log1p(a, s):
    """E log(1 + exp(-2a(a + Z)/s^2)), Z ~ N(0, s^2), by quadrature."""
    from scipy.integrate import quad

    def f(z):
        return np.logaddexp(0.0, -2 * a * (a + z) / s**2) * np.exp(-z * z / (2 * s * s)) / np.sqrt(2 * np.pi * s * s)

    return quad(f, -14 * s, 14 * s, limit=200)[0]


def test_a_layer_with_two_values_reads_the_binary_input_gaussian_channel(tmp_path):
    # 32 rows map to +a and 32 to -a: I(X; T+Z) = I(sign; T+Z), the binary-input Gaussian channel
    a, s = 0.1, 0.1
    x, _ = probe()
    top = torch.zeros(MIN_PROBE, dtype=torch.bool)
    top[x[:, 0].argsort()[32:]] = True
    row, se = record_once(tmp_path, lambda v: torch.where(top[:, None], a, -a).to(v.dtype), s, mc_draws=256)
    exact = binary_channel_mi(a, s)
    assert 0.2 < exact < 0.5 and se < 0.01  # an intermediate value, and a test that can tell
    assert row["width"] == 1 and abs(row["i_xt"] - exact) < 4 * se  # within 4 Monte Carlo standard errors
    closed = np.log(2) - quad_log1p(a, s)  # the same number, in the channel's own formula
    assert closed == pytest.approx(exact, abs=1e-8)


def test_a_constant_layer_gives_zero_and_separated_rows_give_log_n(tmp_path):
    row, se = record_once(tmp_path, lambda v: torch.full((v.shape[0], 5), 3.0, dtype=v.dtype), 0.1)
    assert row["i_xt"] == pytest.approx(0.0, abs=1e-12) and se < 1e-12
    row, se = record_once(tmp_path, lambda v: torch.arange(v.shape[0], dtype=v.dtype)[:, None], 1e-3)  # 1000 s apart
    assert row["i_xt"] == pytest.approx(np.log(MIN_PROBE), abs=1e-9) and row["i_xt_upper"] <= np.log(MIN_PROBE)


def test_never_above_log_n_and_falls_as_the_noise_grows():
    t = np.tanh(np.random.default_rng(1).normal(size=(MIN_PROBE, 6)))
    results = [mixture_mi(t, s, seed=k) for k, s in enumerate((1e-4, 1e-3, 0.03, 0.1, 0.3, 1.0, 3.0))]
    for r in results:
        assert 0.0 <= r.lower <= r.mi <= r.upper <= r.bound == pytest.approx(np.log(MIN_PROBE))
    assert results[0].mi == pytest.approx(np.log(MIN_PROBE), abs=1e-6)
    for less, more in itertools.pairwise(results[3:]):  # data processing: more noise, less information
        assert more.mi < less.mi - 4 * (less.se + more.se)
    assert mixture_mi(t, 0.3, units="bits").mi == pytest.approx(mixture_mi(t, 0.3).mi / np.log(2))


def test_blocks_do_not_change_the_result(monkeypatch):
    from mist.callbacks import mixture_mi as module

    t = np.random.default_rng(2).normal(size=(MIN_PROBE, 4))
    whole = mixture_mi(t, 0.5, seed=3)
    monkeypatch.setattr(module, "BLOCK_ENTRIES", 100)  # 6 centres a block
    assert mixture_mi(t, 0.5, seed=3).mi == pytest.approx(whole.mi, abs=1e-12)
