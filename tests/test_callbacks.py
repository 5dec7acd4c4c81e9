"""mist.callbacks.InformationPlane: the information plane of a network in training, as a Lightning callback.

A tiny MLP trains for two short epochs on CPU with a CSV logger in tmp_path. Most tests inject
cheap estimators (which also record what they were given) so that they test the callback; one
reads the shipped checkpoint.
"""

import csv
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

pl = pytest.importorskip("lightning.pytorch")
pytest.importorskip("matplotlib")

from mist.callbacks import InformationPlane, plot_information_plane
from mist.callbacks.information_plane import COLUMNS, MIN_PROBE

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
    """A batch estimator returning fixed numbers and remembering the pairs it was given."""

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
    kwargs.setdefault("estimate_xt", Recorder(2.0))
    kwargs.setdefault("estimate_ty", Recorder(0.5))
    return InformationPlane(x, y, LAYERS, dirpath=tmp_path / "plane", **kwargs)


def test_writes_csv_json_and_png_with_every_layer_at_every_epoch(tmp_path):
    cb = plane(tmp_path)
    fit(cb, tmp_path)
    paths = cb.paths
    with open(paths["csv"]) as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == COLUMNS
    assert [(int(r["epoch"]), r["layer"]) for r in rows] == [(e, s) for e in (0, 1, 2) for s in LAYERS]
    assert {float(r["i_xt"]) for r in rows} == {2.0} and {float(r["i_ty_upper"]) for r in rows} == {1.0}
    payload = json.loads(paths["json"].read_text())
    assert payload["records"] == cb.records and len(cb.records) == 6
    assert payload["convention"]["noise_std"] == 0.1 and "Saxe" in payload["convention"]["i_xt"]
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_each_record_estimates_every_layer_in_one_batch_on_noisy_activations(tmp_path):
    xt, ty = Recorder(2.0), Recorder(0.5)
    cb = plane(tmp_path, estimate_xt=xt, estimate_ty=ty, epochs=[0, 2])
    _, model = fit(cb, tmp_path)
    assert len(xt.calls) == len(ty.calls) == 2  # epochs 0 and 2, each one call for both layers
    (x1, t1), (_x2, t2) = xt.calls[-1]
    x, labels = probe()
    np.testing.assert_array_equal(x1, x.double().numpy())  # 4 dims: no reduction of X
    assert t1.shape == (MIN_PROBE, 8) and t2.shape == (MIN_PROBE, 3)
    clean = model.net[:2](x).detach().double().numpy()
    noise = t1 - clean
    assert 0.07 < noise.std() < 0.13  # the convention: T + N(0, 0.1^2)
    assert [b.tolist() for _, b in ty.calls[-1]] == [labels.tolist()] * 2
    np.testing.assert_array_equal(ty.calls[-1][0][0], t1)  # I(T;Y) reads the same noisy T
    assert not model.net[1]._forward_hooks and model.training  # hooks removed, train mode restored


def test_the_same_noise_every_epoch(tmp_path):
    xt = Recorder(2.0)
    cb = plane(tmp_path, estimate_xt=xt, epochs=[0, 1])
    model = TinyMLP()
    _x, _ = probe()
    cb.setup(SimpleNamespace(log_dir=str(tmp_path), default_root_dir=str(tmp_path)), model, "fit")
    first, second = cb._noisy("net.1", np.zeros((MIN_PROBE, 8))), cb._noisy("net.1", np.zeros((MIN_PROBE, 8)))
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first[:, :3], cb._noisy("net.3", np.zeros((MIN_PROBE, 3))))


def test_layers_wider_than_max_dims_are_reduced_by_pca_and_say_so(tmp_path):
    xt = Recorder(2.0)
    cb = plane(tmp_path, estimate_xt=xt, max_dims=3, epochs=[1])
    fit(cb, tmp_path, epochs=1)
    (x1, t1), (_, t2) = xt.calls[0]
    assert x1.shape == (MIN_PROBE, 3) and t1.shape == (MIN_PROBE, 3) and t2.shape == (MIN_PROBE, 3)
    assert [(r["width"], r["dims"]) for r in cb.records] == [(8, 3), (3, 3)]
    assert cb.x_dims == (4, 3)
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
    cb = InformationPlane(x, y, LAYERS, estimate_xt=Recorder(1.0), estimate_ty=Recorder(0.1), epochs=[0])
    _trainer, _ = fit(cb, tmp_path, epochs=1)
    assert cb.paths["csv"].parent == tmp_path / "logs" / "tiny" / "version_0" / "information_plane"
    assert cb.paths["csv"].is_file()


def test_the_plot_can_be_redrawn_from_the_json(tmp_path):
    cb = plane(tmp_path, units="bits")
    fit(cb, tmp_path, epochs=1)
    out = tmp_path / "again.png"
    plot_information_plane(cb.paths["json"], out)
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert cb.convention["units"] == "bits"
    assert cb.label_entropy == pytest.approx(np.log(3) / np.log(2), abs=0.01)


def test_a_layer_that_does_not_exist_lists_the_valid_names(tmp_path):
    cb = plane(tmp_path)
    cb.layers = ["net.9"]
    with pytest.raises(ValueError, match=r"layer 'net.9' does not exist in TinyMLP; valid names: net, net.0, net.1, net.2, net.3"):
        fit(cb, tmp_path)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"x": torch.randn(MIN_PROBE - 1, 4), "labels": np.arange(MIN_PROBE - 1) % 2}, f"probe set has {MIN_PROBE - 1} rows; InformationPlane needs at least {MIN_PROBE}"),
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
        ({"units": "hartleys"}, "units must be"),
    ],
)
def test_bad_arguments_raise_one_clear_error(change, match):
    x, y = probe()
    kwargs = {"x": x, "labels": y, "layers": LAYERS, "estimate_xt": Recorder(1.0), "estimate_ty": Recorder(0.1)} | change
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
    cb = InformationPlane(x, y, LAYERS, estimate_xt=Recorder(1.0), units="bits")
    cb.estimate_ty([(np.zeros((MIN_PROBE, 2)), y)] * 2)
    assert seen == [(True, "bits")] * 2


def test_the_shipped_checkpoint_estimates_i_xt_on_a_small_probe(tmp_path):
    cb = plane(tmp_path, estimate_xt=None, epochs=[0, 1])
    fit(cb, tmp_path, epochs=1)
    assert len(cb.records) == 4
    for r in cb.records:
        assert 0.0 <= r["i_xt_lower"] <= r["i_xt"] <= r["i_xt_upper"] and np.isfinite(r["i_xt_upper"])
    # a tanh layer of 8 units with noise 0.1 keeps most of what 4 inputs carry: well above zero
    assert min(r["i_xt"] for r in cb.records if r["layer"] == "net.1") > 1.0


def test_the_shipped_checkpoint_for_both_quantities(tmp_path):
    cb = plane(tmp_path, estimate_xt=None, estimate_ty=None, epochs=[1])
    fit(cb, tmp_path, epochs=1)
    for r in cb.records:
        assert r["i_ty_lower"] <= r["i_ty"] <= r["i_ty_upper"]
        assert r["i_ty"] <= np.log(3) + 0.5  # at most H(Y) = log 3 nats, up to estimation error
