"""The information plane of a network in training: I(X;T) and I(T;Y) per layer, epoch by epoch.

`InformationPlane` is a Lightning callback. On a fixed probe set (inputs X, class labels Y) it
reads the activations T of named layers through forward hooks at chosen epochs, computes
I(X;T) and I(T;Y), each with a 90% interval, logs them to the trainer's loggers, writes them as
CSV and JSON and draws the information plane (Tishby and Zaslavsky 2015; Shwartz-Ziv and Tishby
2017).

The convention (Goldfeld et al. 2019). A deterministic network makes T = f(X) a function of X,
so I(X;T) is infinite for continuous X: the raw quantity says nothing. As Goldfeld et al., X is
uniform over the n probe rows and T is replaced by T + Z, Z ~ N(0, noise_std^2 I) independent of
X. T + Z is then an equal-weight Gaussian mixture with centres f(x_i), and I(X; T+Z) =
h(T+Z) - h(Z) is computed by Monte Carlo over the full layer width (`mist.callbacks.mixture_mi`:
m noise draws per row, each draw's log density summed exactly over all n rows). Given the probe
and noise_std this number is exact up to Monte Carlo error, which its 90% interval states, and
0 <= I(X;T) <= log n (6.40 nats for 600 rows): log n when the noise hides no two rows' activations
from each other, 0 for a constant layer. The numbers depend on noise_std relative to the scale
of the activations (a ReLU layer whose activations grow reads more I(X;T) for that reason alone;
Saxe et al. 2018 discuss exactly this), so noise_std and log n are stated in every output.

I(T;Y) is estimated by mist's class-label path (`mist.estimate(t, labels, y_discrete=True)`) on
one draw of T + Z, fixed per layer across epochs; layers wider than `max_dims` are first reduced
to their leading principal components (a lower bound, by data processing), as the outputs list.

Changed from earlier versions, which estimated I(X; T+Z) with the mist network on PCA-reduced X
and T: that estimate (23-31 nats on 600 rows) exceeded log n and had no fixed meaning. Passing
`estimate_xt` is now an error; `max_dims` applies to I(T;Y) only, X is never reduced.

References:
    Tishby and Zaslavsky, "Deep learning and the information bottleneck principle", 2015.
    Shwartz-Ziv and Tishby, "Opening the black box of deep neural networks via information", 2017.
    Saxe et al., "On the information bottleneck theory of deep learning", ICLR 2018.
    Goldfeld et al., "Estimating information flow in deep neural networks", ICML 2019.
"""

from __future__ import annotations

import csv
import json
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning.pytorch import Callback

from mist.callbacks.mixture_mi import DRAWS, MixtureMI, mixture_mi
from mist.callbacks.plane_plot import draw_information_plane
from mist.numerics.linalg import pca_scores

__all__ = ["COLUMNS", "MIN_PROBE", "InformationPlane", "plot_information_plane"]

MIN_PROBE = 64  # fewest probe rows: below it a 32-dim side has under 2 rows per dimension
COLUMNS = (  # the CSV columns, one row per (epoch, layer); dims: the columns of T that I(T;Y) read
    "epoch", "step", "layer", "width", "dims", "i_xt", "i_xt_lower", "i_xt_upper",
    "i_ty", "i_ty_lower", "i_ty_upper", "units", "noise_std",
)

#: An estimator of I(T;Y): a list of (t, labels) sample pairs in, one result per pair out, each
#: with `mi`, `lower` and `upper` (an `EstimateResult` qualifies).
BatchEstimator = Callable[[list[tuple[np.ndarray, np.ndarray]]], Sequence[Any]]


def _default_ty(units: str, checkpoint: str | None, device: str) -> BatchEstimator:
    """I(T;Y) for class labels Y: mist's class-label path (`y_discrete=True`, no network)."""
    from mist.inference.estimator import estimate

    return lambda pairs: [
        estimate(t, y, units=units, y_discrete=True, checkpoint=checkpoint, device=device) for t, y in pairs
    ]


def _as_numpy(a, name: str) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    try:
        return np.asarray(a)
    except ValueError as err:
        raise ValueError(f"{name} could not be read as an array ({err})") from None


def _checked_epochs(epochs) -> tuple[int, ...] | None:
    if epochs is None:
        return None
    bad = ValueError(
        f"epochs must be a list of ints >= 0 (completed training epochs; 0 = before training), e.g. "
        f"range(0, 31, 5) or [0, 1, 2, 5, 10], got {epochs!r}"
    )
    if isinstance(epochs, (str, bytes)) or not isinstance(epochs, Iterable):
        raise bad
    out = list(epochs)
    if not out or any(isinstance(e, bool) or not isinstance(e, (int, np.integer)) or e < 0 for e in out):
        raise bad
    return tuple(sorted({int(e) for e in out}))


def _entropy(labels: np.ndarray) -> float:
    _, counts = np.unique(labels, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


class InformationPlane(Callback):
    """Records the information plane, I(X;T) against I(T;Y), of named layers during training.

    At the end of each chosen epoch (and before training, epoch 0) the probe inputs go through
    the model in eval mode without gradients; forward hooks read each layer's output T
    (flattened to shape (n, width)). Then, for each layer, under the convention of the module
    docstring (X uniform over the n probe rows, Z ~ N(0, noise_std^2 I)):
    - I(X; T+Z), the MI of the Gaussian mixture with centres T, by Monte Carlo over the full
      width (`mixture_mi`, `mc_draws` draws per row, seeded, the same draws every epoch), with
      the 90% interval of its Monte Carlo error; between 0 and log n;
    - I(T+Z; Y) by `estimate_ty`, Y the class labels, on one draw of Z fixed per layer, T + Z
      reduced to at most `max_dims` principal components, with the estimator's 90% interval.
    On rank zero only, every record is
    - logged to every logger of the trainer (W&B, CSV, TensorBoard...) as
      `{prefix}/{layer}/i_xt`, `.../i_xt_lower`, `.../i_xt_upper`, `.../i_ty`, ... at the
      trainer's global step;
    - appended to `{dirpath}/{filename}.csv` (columns `COLUMNS`) and `.json` (the rows, the
      convention and the estimator's warnings);
    and at the end of fitting the plane is drawn to `{dirpath}/{filename}.png`.

    Arguments:
        x: probe inputs, any shape (n, ...) the model takes (numpy array or torch tensor).
        labels: class labels of the probe, shape (n,): ints or strings, at least 2 classes.
        layers: names of modules as `pl_module.named_modules()` lists them (e.g. "net.1").
        epochs: completed training epochs to record after (0 = before training); None: every
            epoch and 0.
        noise_std: the standard deviation of the Gaussian noise added to T, in the units of the
            activations (0.1 by default; > 0).
        max_dims: for I(T;Y), layers wider than this are reduced by PCA on the probe set (a lower
            bound); I(X;T) always reads the full width.
        mc_draws: noise draws per probe row for the Monte Carlo of I(X;T) (>= 2); the cost is
            proportional, the standard error falls as 1/sqrt(mc_draws).
        seed: seeds the noise.
        dirpath: where the CSV, JSON and PNG go; by default `trainer.log_dir` (or the trainer's
            `default_root_dir`) / "information_plane".
        filename: the stem of the three files.
        units: "nats" or "bits".
        estimate_ty: a callable for I(T;Y) (see `BatchEstimator`), in `units`; by default mist's
            class-label path `mist.estimate(t, labels, y_discrete=True)`.
        estimate_xt: no longer supported (I(X;T) is computed, not estimated); must be None.
        checkpoint, device: passed to `mist.estimate` by the default I(T;Y) (whose class-label
            path loads no network).
        forward: how to run the model on a batch of probe inputs, `forward(pl_module, x)`;
            by default `pl_module(x)`.
        batch_size: probe rows per forward pass.
        log_prefix: the prefix of the logged metric names.
        title: the plot's title; by default "Information plane".

    Raises:
        ValueError: at construction for a probe of fewer than `MIN_PROBE` rows, labels of the
            wrong length or with one class, epochs that are not ints >= 0, a bad noise_std,
            max_dims or mc_draws, or an `estimate_xt`; when fitting starts for a layer name
            that the model does not have (the message lists the names).

    Example:
        >>> cb = InformationPlane(x_probe, y_probe, layers=["net.1", "net.3"], epochs=range(0, 21, 2))  # doctest: +SKIP
        >>> lightning.pytorch.Trainer(max_epochs=20, callbacks=[cb]).fit(model, loader)  # doctest: +SKIP
        >>> cb.records[-1]["i_xt"], cb.paths["png"]                                      # doctest: +SKIP
    """

    def __init__(
        self,
        x,
        labels,
        layers: Sequence[str],
        *,
        epochs: Iterable[int] | None = None,
        noise_std: float = 0.1,
        max_dims: int = 32,
        mc_draws: int = DRAWS,
        seed: int = 0,
        dirpath: str | Path | None = None,
        filename: str = "information_plane",
        units: str = "nats",
        estimate_xt: None = None,
        estimate_ty: BatchEstimator | None = None,
        checkpoint: str | Path | None = None,
        device: str = "auto",
        forward: Callable[[Any, torch.Tensor], torch.Tensor] | None = None,
        batch_size: int = 1024,
        log_prefix: str = "infoplane",
        title: str | None = None,
    ):
        super().__init__()
        if estimate_xt is not None:
            raise ValueError(
                "estimate_xt is no longer supported: I(X;T) is computed from the probe's Gaussian mixture "
                "(X uniform over the probe rows, Goldfeld et al. 2019); remove the argument"
            )
        x = x if isinstance(x, torch.Tensor) else torch.as_tensor(_as_numpy(x, "x"))
        labels = _as_numpy(labels, "labels")
        if x.ndim == 0 or x.shape[0] < MIN_PROBE:
            raise ValueError(f"the probe set has {0 if x.ndim == 0 else x.shape[0]} rows; InformationPlane needs at least {MIN_PROBE}")
        if labels.ndim != 1 or labels.shape[0] != x.shape[0]:
            raise ValueError(f"labels must have shape ({x.shape[0]},), one class per probe row, got shape {labels.shape}")
        classes = np.unique(labels)
        if len(classes) < 2:
            raise ValueError(f"labels have a single class ({classes[0]!r}); I(T;Y) needs at least 2 classes in the probe set")
        if isinstance(layers, str) or not layers or not all(isinstance(s, str) for s in layers):
            raise ValueError(f"layers must be a non-empty list of module names (str), got {layers!r}")
        if not (isinstance(noise_std, (int, float)) and math.isfinite(noise_std) and noise_std > 0):
            raise ValueError(f"noise_std must be a number > 0 (the convention that makes I(X;T) finite), got {noise_std!r}")
        if isinstance(max_dims, bool) or not isinstance(max_dims, int) or max_dims < 1:
            raise ValueError(f"max_dims must be an int >= 1, got {max_dims!r}")
        if isinstance(mc_draws, bool) or not isinstance(mc_draws, int) or mc_draws < 2:
            raise ValueError(f"mc_draws must be an int >= 2 (the Monte Carlo error needs two draws per row), got {mc_draws!r}")
        if units not in ("nats", "bits"):
            raise ValueError(f"units must be 'nats' or 'bits', got {units!r}")
        self.x = x
        self.labels = labels
        self.layers = list(dict.fromkeys(layers))
        self.epochs = _checked_epochs(epochs)
        self.noise_std = float(noise_std)
        self.max_dims = max_dims
        self.mc_draws = mc_draws
        self.seed = int(seed)
        self.dirpath = None if dirpath is None else Path(dirpath)
        self.filename = filename
        self.units = units
        self.estimate_ty = estimate_ty or _default_ty(units, None if checkpoint is None else str(checkpoint), device)
        self.forward = forward or (lambda module, batch: module(batch))
        self.batch_size = int(batch_size)
        self.log_prefix = log_prefix
        self.title = title or "Information plane"
        self.scale = math.log(2.0) if units == "bits" else 1.0
        self.bound = math.log(x.shape[0]) / self.scale  # the largest I(X;T): log n
        self.label_entropy = _entropy(labels) / self.scale
        self._noise: dict[str, np.ndarray] = {}
        self.records: list[dict[str, Any]] = []
        self.warnings: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ Lightning hooks
    def setup(self, trainer, pl_module, stage: str) -> None:
        names = [name for name, _ in pl_module.named_modules() if name]
        missing = [s for s in self.layers if s not in names]
        if missing:
            shown = ", ".join(names[:40]) + (f", ... ({len(names)} in all)" if len(names) > 40 else "")
            raise ValueError(
                f"layer {missing[0]!r} does not exist in {type(pl_module).__name__}; valid names: {shown}"
            )
        if self.dirpath is None:
            root = trainer.log_dir or trainer.default_root_dir
            self.dirpath = Path(root) / "information_plane"

    def on_fit_start(self, trainer, pl_module) -> None:
        if self._due(0) and not any(r["epoch"] == 0 for r in self.records):
            self.record(trainer, pl_module, 0)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        epoch = trainer.current_epoch + 1
        if self._due(epoch):
            self.record(trainer, pl_module, epoch)

    def on_fit_end(self, trainer, pl_module) -> None:
        if trainer.is_global_zero and self.records:
            self.plot()

    def state_dict(self) -> dict[str, Any]:
        return {"records": self.records, "warnings": self.warnings}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.records = list(state_dict.get("records", []))
        self.warnings = list(state_dict.get("warnings", []))

    # ------------------------------------------------------------------ the work
    def _due(self, epoch: int) -> bool:
        return self.epochs is None or epoch in self.epochs

    @property
    def paths(self) -> dict[str, Path]:
        """The CSV, JSON and PNG this callback writes (known once fitting has started)."""
        if self.dirpath is None:
            raise RuntimeError("the output folder is known once fitting starts; pass dirpath= to fix it earlier")
        return {ext: self.dirpath / f"{self.filename}.{ext}" for ext in ("csv", "json", "png")}

    @torch.no_grad()
    def activations(self, pl_module) -> dict[str, np.ndarray]:
        """Each layer's output on the probe set, float64, shape (n, width), in eval mode."""
        modules = dict(pl_module.named_modules())
        chunks: dict[str, list[torch.Tensor]] = {name: [] for name in self.layers}

        def hook(name):
            def read(_module, _inputs, output):
                if isinstance(output, (tuple, list)):
                    output = next((o for o in output if isinstance(o, torch.Tensor)), None)
                if not isinstance(output, torch.Tensor):
                    raise ValueError(  # noqa: TRY004 (bad input is a ValueError throughout mist)
                        f"layer {name!r} returns {type(output).__name__}, not a tensor; pick a module whose output is a tensor"
                    )
                chunks[name].append(output.detach().reshape(output.shape[0], -1).double().cpu())
            return read

        handles = [modules[name].register_forward_hook(hook(name)) for name in self.layers]
        was_training = pl_module.training
        pl_module.eval()
        try:
            dtype = pl_module.dtype if self.x.is_floating_point() else self.x.dtype  # float64 numpy in, the model's dtype
            for start in range(0, self.x.shape[0], self.batch_size):
                self.forward(pl_module, self.x[start : start + self.batch_size].to(pl_module.device, dtype))
        finally:
            for h in handles:
                h.remove()
            pl_module.train(was_training)
        return {name: torch.cat(parts).numpy() for name, parts in chunks.items()}

    def _noisy(self, name: str, t: np.ndarray) -> np.ndarray:
        """T + Z with Z ~ N(0, noise_std^2 I), the same Z at every epoch for this layer."""
        if name not in self._noise or self._noise[name].shape != t.shape:
            rng = np.random.default_rng([self.seed, self.layers.index(name)])
            self._noise[name] = rng.normal(scale=self.noise_std, size=t.shape)
        return t + self._noise[name]

    def i_xt(self, name: str, t: np.ndarray) -> MixtureMI:
        """I(X; T+Z) of one layer's activations t (n, width): the `MixtureMI`, the same draws every epoch."""
        return mixture_mi(t, self.noise_std, draws=self.mc_draws, seed=[self.seed, self.layers.index(name), 1], units=self.units)

    def record(self, trainer, pl_module, epoch: int) -> list[dict[str, Any]]:
        """Compute, log and save one point per layer for this epoch; returns the new rows."""
        if not trainer.is_global_zero:
            return []
        acts = self.activations(pl_module)
        xt = [self.i_xt(name, acts[name]) for name in self.layers]
        reduced = {name: pca_scores(self._noisy(name, t), self.max_dims) for name, t in acts.items()}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ty = list(self.estimate_ty([(reduced[name], self.labels) for name in self.layers]))
        if len(ty) != len(self.layers):
            raise ValueError(f"estimate_ty returned {len(ty)} results for {len(self.layers)} layers; it must return one per pair")
        rows = []
        for name, a, b in zip(self.layers, xt, ty):
            rows.append({
                "epoch": epoch, "step": int(trainer.global_step), "layer": name, "width": int(acts[name].shape[1]),
                "dims": int(reduced[name].shape[1]), "i_xt": a.mi, "i_xt_lower": a.lower,
                "i_xt_upper": a.upper, "i_ty": float(b.mi), "i_ty_lower": float(b.lower),
                "i_ty_upper": float(b.upper), "units": self.units, "noise_std": self.noise_std,
            })
            for message in getattr(b, "warnings", None) or []:
                self.warnings.append({"epoch": epoch, "layer": name, "quantity": "I(T;Y)", "message": message})
        for w in caught:
            if w.category.__name__ != "MISTWarning":  # the estimator's own messages are in the rows' results
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        self.records.extend(rows)
        self._log(trainer, rows)
        self._save()
        return rows

    def _log(self, trainer, rows: list[dict[str, Any]]) -> None:
        metrics: dict[str, float] = {f"{self.log_prefix}/epoch": float(rows[0]["epoch"])}
        for r in rows:
            for key in ("i_xt", "i_xt_lower", "i_xt_upper", "i_ty", "i_ty_lower", "i_ty_upper"):
                metrics[f"{self.log_prefix}/{r['layer']}/{key}"] = r[key]
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=trainer.global_step)

    @property
    def convention(self) -> dict[str, Any]:
        """How the numbers were made, as written to the JSON and the plot's caption."""
        n = int(self.x.shape[0])
        return {
            "i_xt": f"I(X; T+Z) with X uniform over the {n} probe rows, T = the layer's activations (a function of X) "
                    "and Z ~ N(0, noise_std^2 I) (Goldfeld et al. 2019): T+Z is an equal-weight Gaussian mixture "
                    "centred on the rows' activations, and I(X; T+Z) = h(T+Z) - h(Z) is computed by Monte Carlo "
                    f"over the full layer width ({self.mc_draws} noise draws per row, each draw's log density summed "
                    f"exactly over all {n} rows); between 0 and log n",
            "i_ty": "I(T+Z; Y), Y the class labels, by mist's class-label path on one draw of Z fixed per layer",
            "noise_std": self.noise_std,
            "n_probe": n,
            "bound": self.bound,
            "bound_text": f"log {n} = {self.bound:.2f} {self.units}, the largest I(X;T) can be",
            "mc_draws": self.mc_draws,
            "max_dims": self.max_dims,
            "reduction": f"I(T;Y) only: layers wider than {self.max_dims} dims reduced to their first {self.max_dims} "
                         "principal components on the probe set, a lower bound (data processing); I(X;T) reads every unit",
            "classes": len(np.unique(self.labels)),
            "label_entropy": self.label_entropy,
            "interval": "90%. I(X;T): the Monte Carlo mean +- 1.645 standard errors, clipped to [0, log n]; given the "
                        "probe and noise_std the quantity is exact up to that Monte Carlo error. I(T;Y): the "
                        "estimator's 0.05 and 0.95 quantiles",
            "units": self.units,
        }

    def caption(self) -> str:
        """The plot's caption: the convention, the bound and any reduction."""
        return _caption(self.convention, self.records)

    def _save(self) -> None:
        paths = self.paths
        paths["csv"].parent.mkdir(parents=True, exist_ok=True)
        with open(paths["csv"], "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(self.records)
        payload = {"convention": self.convention, "records": self.records, "warnings": self.warnings}
        paths["json"].write_text(json.dumps(payload, indent=1))

    def plot(self, path: str | Path | None = None):
        """Draw the information plane of the records so far to `path` (default: the PNG in `paths`)."""
        return draw_information_plane(
            self.records, self.paths["png"] if path is None else path, title=self.title, caption=self.caption(),
            label_entropy=self.label_entropy, units=self.units, xt_bound=self.bound,
        )


def _caption(c: dict[str, Any], records: Sequence[dict[str, Any]]) -> str:
    """The caption for a stored convention (older JSONs, without a bound, get the caption they had)."""
    n, units = c["n_probe"], c.get("units", "nats")
    if "bound" not in c:
        return (f"mist estimates on {n} probe rows, 90% interval bars. T = activations + N(0, {c['noise_std']:g}^2) "
                f"noise (noisy-network convention).\n{c['reduction']}.")
    wide = sorted({f"{r['layer']} {r['width']}->{r['dims']}" for r in records if r["width"] > r["dims"]})
    reduction = f"PCA for I(T;Y) (a lower bound): {', '.join(wide)}" if wide else "no PCA"
    return (
        f"I(X;T): X uniform over the {n} probe rows, T + N(0, {c['noise_std']:g}^2 I) (Goldfeld et al. 2019), computed "
        f"exactly up to Monte Carlo error ({c['mc_draws']} draws a row, full width; bars: 90% Monte Carlo error); "
        f"at most log {n} = {c['bound']:.2f} {units} (dotted).\n"
        f"I(T;Y): mist's class-label path on one draw of T + Z, 90% interval bars; {reduction}."
    )


def plot_information_plane(json_path: str | Path, png_path: str | Path, *, title: str = "Information plane"):
    """Redraw the plane from the JSON an `InformationPlane` wrote (its caption from the stored convention)."""
    payload = json.loads(Path(json_path).read_text())
    c = payload["convention"]
    return draw_information_plane(payload["records"], png_path, title=title, caption=_caption(c, payload["records"]),
                                  label_entropy=c.get("label_entropy"), units=c.get("units", "nats"),
                                  xt_bound=c.get("bound"))
