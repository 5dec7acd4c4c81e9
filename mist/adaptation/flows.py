"""Normalizing flows fitted to one side's samples (X or Y): fit, apply, check, save and load.

A `FittedFlow` is a `normflows` flow with a standard normal base, fitted by maximum likelihood
to standardised samples, with early stopping on a held-out split. `to_data` maps base points
to the data space (the flow, then the inverse standardisation); `to_base` maps data back.
Both are checked against each other on the data after fitting (the round-trip error).

One coordinate needs no flow: every continuous invertible map of the real line is monotone,
and the estimator's copula step (ranks per column) is blind to monotone maps, so a 1-D flow
could not change what the estimator sees. A 1-D side gets the identity (standardisation only).

A flow is saved as `NAME.safetensors` (weights) beside `NAME.json` (architecture, options,
standardisation, fit record, sha256 of the weights); loading never unpickles.

References:
    Durkan, Bekasov, Murray & Papamakarios (2019), Neural Spline Flows, NeurIPS.
    Dinh, Sohl-Dickstein & Bengio (2017), Density estimation using Real NVP, ICLR.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mist.inputs import as_matrix
from mist.tensorfiles import read_pair, write_pair

__all__ = ["FlowOptions", "FittedFlow", "FlowError", "fit_flow", "load_flow", "load_flow_pair", "flow_pair",
           "min_samples", "data_sha256"]

FLOW_FORMAT = 1
KINDS = ("spline", "affine")


class FlowError(ValueError):
    """A flow cannot be fitted to these samples, does not invert, or a saved flow does not fit."""


def min_samples(dim: int) -> int:
    """The fewest samples `fit_flow` accepts for `dim` coordinates: max(100, 10 * dim).

    Below that a held-out split of 20% leaves too few points to tell fitting from overfitting.
    """
    return max(100, 10 * int(dim))


def data_sha256(a: np.ndarray) -> str:
    """sha256 of a float64 sample matrix (shape and values): identifies the data a flow was fitted to."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    h = hashlib.sha256(str(a.shape).encode())
    h.update(a.tobytes())
    return h.hexdigest()


@dataclasses.dataclass(frozen=True)
class FlowOptions:
    """How a flow is built and fitted.

    Arguments:
        kind: "affine" (RealNVP affine couplings with fixed random permutations) or "spline"
            (rational-quadratic spline couplings with learned LU-linear mixing; more flexible,
            about 8x slower to fit on CPU).
        layers: coupling layers.
        hidden: hidden units of each coupling's conditioner network.
        bins: spline bins per coordinate (spline only).
        tail_bound: the spline acts on [-tail_bound, tail_bound] of standardised units and is
            the identity outside (spline only).
        val_fraction: share of the samples held out for early stopping.
        batch_size: samples per optimiser step.
        lr: Adam learning rate.
        max_epochs: the most passes over the training split.
        patience: stop after this many epochs without a better held-out likelihood; the best
            weights are kept.
        seed: seeds the split, the initialisation and the mini-batch order.
        roundtrip_tol: largest accepted |to_base(to_data(z)) - z| and |to_data(to_base(x)) - x|
            on the data, in standardised units.
    """

    kind: str = "affine"
    layers: int = 6
    hidden: int = 64
    bins: int = 8
    tail_bound: float = 4.0
    val_fraction: float = 0.2
    batch_size: int = 256
    lr: float = 1e-3
    max_epochs: int = 300
    patience: int = 20
    seed: int = 0
    roundtrip_tol: float = 1e-3

    @classmethod
    def from_dict(cls, d: Any) -> FlowOptions:
        """Build from a mapping (unknown keys are an error); None gives the defaults."""
        d = dict(d or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"flow options: unknown key(s) {unknown}; valid keys are {sorted(known)}")
        out = cls(**d)
        out.validate()
        return out

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"flow option 'kind' must be one of {KINDS}, got {self.kind!r}")
        for key in ("layers", "hidden", "bins", "batch_size", "max_epochs", "patience"):
            if int(getattr(self, key)) < 1:
                raise ValueError(f"flow option {key!r} must be a positive integer, got {getattr(self, key)!r}")
        if not 0.05 <= self.val_fraction <= 0.5:
            raise ValueError(f"flow option 'val_fraction' must be in [0.05, 0.5], got {self.val_fraction}")
        if not (self.lr > 0 and self.tail_bound > 0 and self.roundtrip_tol > 0):
            raise ValueError("flow options 'lr', 'tail_bound' and 'roundtrip_tol' must be positive")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _build(dim: int, o: FlowOptions) -> torch.nn.Module:
    """The normflows model for `dim` coordinates (no layers when dim == 1), in float32."""
    import normflows as nf

    layers: list[torch.nn.Module] = []
    if dim >= 2:
        for i in range(o.layers):
            if o.kind == "spline":
                layers.append(nf.flows.CoupledRationalQuadraticSpline(
                    dim, 2, o.hidden, num_bins=o.bins, tail_bound=o.tail_bound, reverse_mask=bool(i % 2)))
                layers.append(nf.flows.LULinearPermute(dim))
            else:
                d1 = (dim + 1) // 2  # Split("channel") keeps the first ceil(d/2) coordinates fixed
                net = nf.nets.MLP([d1, o.hidden, o.hidden, 2 * (dim - d1)], init_zeros=True)
                layers.append(nf.flows.AffineCouplingBlock(net, scale=True, scale_map="exp"))
                layers.append(nf.flows.Permute(dim, mode="shuffle"))
    return nf.NormalizingFlow(nf.distributions.DiagGaussian(dim, trainable=False), layers).float()


class FittedFlow:
    """A flow fitted to one side's samples: base (standard normal) <-> data space.

    Build it with `fit_flow` or `load_flow`.

    Attributes:
        dim: number of coordinates.
        options: the FlowOptions it was built and fitted with.
        mean, std: per-column standardisation, shape (dim,), float64.
        record: the fit's record (samples, epochs, held-out NLL, round-trip error, data sha256,
            seconds), JSON-serialisable.
    """

    def __init__(self, dim: int, options: FlowOptions, mean: np.ndarray, std: np.ndarray,
                 model: torch.nn.Module, record: dict[str, Any]):
        self.dim, self.options = int(dim), options
        self.mean, self.std = np.asarray(mean, np.float64), np.asarray(std, np.float64)
        self.model = model.eval()
        self.record = record

    def __repr__(self) -> str:
        nll = self.record.get("val_nll")
        return f"FittedFlow(dim={self.dim}, kind={self.options.kind!r}, layers={self.options.layers}, val_nll={nll})"

    # ------------------------------------------------------------------ maps
    def _map(self, a, inverse: bool):
        is_torch = isinstance(a, torch.Tensor)
        t = a if is_torch else torch.from_numpy(np.ascontiguousarray(a))
        if t.ndim != 2 or t.shape[1] != self.dim:
            raise FlowError(f"this flow maps {self.dim} coordinates; got an array of shape {tuple(t.shape)}")
        dtype = t.dtype
        mean = torch.as_tensor(self.mean, dtype=torch.float64)
        std = torch.as_tensor(self.std, dtype=torch.float64)
        with torch.no_grad():
            if inverse:
                z = ((t.double() - mean) / std).float()
                if len(self.model.flows):
                    z = self.model.inverse(z)
                out = z.double()
            else:
                z = t.float()
                if len(self.model.flows):
                    z = self.model(z)
                out = z.double() * std + mean
        out = out.to(dtype)
        return out if is_torch else out.numpy()

    def to_data(self, z):
        """Base points to the data space.

        Arguments:
            z: shape (m, dim), numpy array or torch tensor (standard normal base coordinates).

        Returns:
            Shape (m, dim), the same type and dtype as z, in the data's own units.
        """
        return self._map(z, inverse=False)

    def to_base(self, x):
        """Data points to the base space (the inverse of `to_data`); shapes (m, dim) -> (m, dim)."""
        return self._map(x, inverse=True)

    def roundtrip_error(self, x) -> float:
        """max(|to_base(to_data(z)) - z|, |to_data(to_base(x)) - x| / std) over the rows of x,
        with z = to_base(x): standardised units (float32 arithmetic)."""
        x = np.asarray(x, dtype=np.float64)
        z = self.to_base(x)
        back = self.to_data(z)
        again = self.to_base(back)
        err_x = np.max(np.abs(back - x) / self.std) if len(x) else 0.0
        err_z = np.max(np.abs(again - z)) if len(x) else 0.0
        return float(max(err_x, err_z))

    def nll(self, x) -> float:
        """Mean negative log-likelihood of rows of x (m, dim) under the flow, in nats per sample,
        in the data's own units (the standardisation's log-Jacobian included)."""
        s = torch.from_numpy(((np.asarray(x, np.float64) - self.mean) / self.std).astype(np.float32))
        with torch.no_grad():
            lp = self.model.log_prob(s)
        return float(-lp.double().mean()) + float(np.log(self.std).sum())

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> tuple[Path, Path]:
        """Write PATH.safetensors and PATH.json; returns both paths."""
        meta = {
            "format": "mist-flow",
            "format_version": FLOW_FORMAT,
            "dim": self.dim,
            "options": self.options.to_dict(),
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "record": self.record,
        }
        return write_pair(path, self.model.state_dict(), meta, {"format": "mist-flow"})


def load_flow(path: str | Path) -> FittedFlow:
    """Load a flow written by `FittedFlow.save`, verifying the weights' sha256.

    Arguments:
        path: `dir/NAME` or either of its files.

    Raises:
        FlowError: a file is missing or corrupt, or the weights do not fit the architecture.
    """
    def check(meta, where):
        if not isinstance(meta, dict) or meta.get("format") != "mist-flow" or meta.get("format_version") != FLOW_FORMAT:
            raise FlowError(f"{where} is not a mist flow of format version {FLOW_FORMAT}")
        return meta

    tensors, meta, _, weights, card = read_pair(path, error=FlowError, what="flow", check=check,
                                                missing="fit the flow first (mist.adapt or mist-finetune)",
                                                mismatch="the file is corrupt: refit the flow")
    options = FlowOptions.from_dict(meta["options"])
    model = _build(int(meta["dim"]), options)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as e:
        raise FlowError(f"{weights} does not fit the flow described in {card.name}: {e}") from e
    return FittedFlow(int(meta["dim"]), options, np.array(meta["mean"]), np.array(meta["std"]), model, meta["record"])


def load_flow_pair(folder: str | Path) -> tuple[FittedFlow, FittedFlow]:
    """The X and Y flows saved in a folder as `x.*` and `y.*` (see `FittedFlow.save`)."""
    folder = Path(folder)
    return load_flow(folder / "x"), load_flow(folder / "y")


def flow_pair(folder: str | Path, x=None, y=None, options: FlowOptions | dict | None = None, *, refit: bool = False,
              progress: bool = False) -> tuple[FittedFlow, FittedFlow]:
    """The X and Y flows of a folder: reused when saved there, else fitted to x and y and saved.

    A saved flow is reused only for the data it was fitted to (same shape and values, checked
    by sha256) and the same options, so running an adaptation again resumes or repeats it
    without refitting; anything else is an error that says what to do.

    Arguments:
        folder: where the flows live as `x.*` and `y.*`.
        x, y: samples of X (n_x, dx) and of Y (n_y, dy), unpaired (n_x may differ from n_y);
            None to use the saved flow without checking its data.
        options: FlowOptions (or a dict of its fields) for both sides.
        refit: fit again even when a saved flow exists (it is overwritten).
        progress: progress bars while fitting.

    Returns:
        (X flow, Y flow).

    Raises:
        FlowError: no saved flow and no data; saved flow for other data, dims or options; and
            whatever `fit_flow` raises.
    """
    o = options if isinstance(options, FlowOptions) else FlowOptions.from_dict(options)
    folder = Path(folder)
    out = []
    for name, data in (("x", x), ("y", y)):
        stem = folder / name
        if stem.with_suffix(".json").is_file() and not refit:
            flow = load_flow(stem)
            if data is not None:
                m, _ = as_matrix(data, name)
                if m.shape[1] != flow.dim:
                    raise FlowError(
                        f"{name} has {m.shape[1]} coordinate(s) but the flow saved in {stem}.json maps {flow.dim}: "
                        "use another flows folder for this data, or refit (refit=True, flows.refit=true)"
                    )
                if data_sha256(m) != flow.record.get("data_sha256"):
                    raise FlowError(
                        f"the flow saved in {stem}.json was fitted to other samples of {name}; use another flows "
                        "folder for this data, or refit (refit=True, flows.refit=true)"
                    )
            if flow.options != o:
                raise FlowError(
                    f"the flow saved in {stem}.json was fitted with other options ({flow.options.to_dict()}); "
                    "pass the same options, use another flows folder, or refit (refit=True, flows.refit=true)"
                )
        elif data is None:
            raise FlowError(f"no flow saved in {folder} for {name} ({stem}.json) and no samples of {name} to fit one")
        else:
            flow = fit_flow(data, o, name=name, progress=progress)
            flow.save(stem)
        out.append(flow)
    return out[0], out[1]


# ---------------------------------------------------------------------- fitting
def fit_flow(data, options: FlowOptions | dict | None = None, *, name: str = "x", progress: bool = False) -> FittedFlow:
    """Fit a flow to one side's samples by maximum likelihood, with early stopping.

    The rows are split at random into a training part and a held-out part (`val_fraction`);
    columns are standardised with the training part's mean and standard deviation; Adam
    minimises the training NLL; after each epoch the held-out NLL is measured and the best
    weights are kept; training stops after `patience` epochs without improvement. The fitted
    flow's round trip is then checked on all the samples.

    Arguments:
        data: samples, shape (n, dim) or (n,): numpy array, torch tensor, DataFrame or list.
        options: a FlowOptions or a dict of its fields; None for the defaults.
        name: "x" or "y", for messages.
        progress: show a progress bar (epochs, held-out NLL).

    Returns:
        The FittedFlow, in eval mode; `record` holds n_train, n_val, epochs, best_epoch,
        val_nll (nats per sample, data units), roundtrip_error, data_sha256 and seconds.

    Raises:
        ValueError: non-numeric data, NaN or infinite values (see `mist.inputs.as_matrix`).
        FlowError: fewer than `min_samples(dim)` rows, a constant column, a fit that diverged,
            or a round-trip error above `roundtrip_tol`.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> a = rng.normal(size=(400, 2)); a[:, 1] += a[:, 0] ** 2
        >>> flow = fit_flow(a, {"max_epochs": 5, "layers": 2, "hidden": 16})
        >>> flow.to_data(rng.normal(size=(3, 2))).shape
        (3, 2)
    """
    o = options if isinstance(options, FlowOptions) else FlowOptions.from_dict(options)
    o.validate()
    a, labels = as_matrix(data, name)
    n, dim = a.shape
    if n < min_samples(dim):
        raise FlowError(
            f"{name} has {n} samples; fitting a flow to {dim} coordinate(s) needs at least {min_samples(dim)} "
            f"(max(100, 10 * dim)), of which {o.val_fraction:.0%} are held out for early stopping: collect more "
            "samples of this side (pairing is not needed), or reduce its dimension"
        )
    start = time.perf_counter()
    rng = np.random.default_rng(o.seed)
    order = rng.permutation(n)
    n_val = max(int(round(o.val_fraction * n)), 20)
    val, train = a[order[:n_val]], a[order[n_val:]]
    mean, std = train.mean(axis=0), train.std(axis=0)
    if (std == 0).any():
        j = int(np.flatnonzero(std == 0)[0])
        raise FlowError(f"{labels[j]} is constant; a constant coordinate carries no information: drop it")
    ts = torch.from_numpy(((train - mean) / std).astype(np.float32))
    vs = torch.from_numpy(((val - mean) / std).astype(np.float32))
    with torch.random.fork_rng(devices=[]):  # the flow's own seed; the global torch stream stays untouched
        torch.manual_seed(o.seed)
        model = _build(dim, o)
        record = _train(model, ts, vs, o, name, progress) if dim >= 2 else {"epochs": 0, "best_epoch": 0}
    flow = FittedFlow(dim, o, mean, std, model.eval(), {})
    err = flow.roundtrip_error(a)
    if not (err <= o.roundtrip_tol):
        raise FlowError(
            f"the flow fitted to {name} does not invert on the data: round-trip error {err:.3g} (standardised "
            f"units) exceeds roundtrip_tol = {o.roundtrip_tol:g}; try kind='affine', fewer layers, or a larger tail_bound"
        )
    flow.record = {
        "n": int(n),
        "n_train": int(len(train)),
        "n_val": int(len(val)),
        **record,
        "val_nll": flow.nll(val),
        "train_nll": flow.nll(train),
        "gaussian_val_nll": _gaussian_nll(train, val),
        "roundtrip_error": err,
        "data_sha256": data_sha256(a),
        "seconds": round(time.perf_counter() - start, 2),
    }
    return flow


def _gaussian_nll(train: np.ndarray, val: np.ndarray) -> float:
    """Held-out NLL (nats per sample) of the Gaussian fitted to `train`: the baseline a flow should beat."""
    d = train.shape[1]
    cov = np.atleast_2d(np.cov(train, rowvar=False)) + 1e-9 * np.eye(d)
    diff = val - train.mean(axis=0)
    sign, logdet = np.linalg.slogdet(cov)
    maha = np.einsum("ij,ij->i", diff @ np.linalg.inv(cov), diff)
    return float(0.5 * (d * math.log(2 * math.pi) + logdet + maha.mean()))


def _train(model, ts: torch.Tensor, vs: torch.Tensor, o: FlowOptions, name: str, progress: bool) -> dict[str, Any]:
    """Adam on the training NLL with early stopping on the held-out NLL; restores the best weights."""
    opt = torch.optim.Adam(model.parameters(), lr=o.lr)
    gen = torch.Generator().manual_seed(o.seed)
    best, best_state, best_epoch, bad, epoch = math.inf, copy.deepcopy(model.state_dict()), 0, 0, 0

    def held_out() -> float:
        model.eval()
        with torch.no_grad():
            v = float(-model.log_prob(vs).mean())
        model.train()
        return v

    bar = _Bar(progress, f"flow for {name} ({ts.shape[1]} dims)", o.max_epochs)
    with bar:
        best = held_out()
        if not math.isfinite(best):
            best = math.inf
        model.train()
        for epoch in range(1, o.max_epochs + 1):
            perm = torch.randperm(len(ts), generator=gen)
            for i in range(0, len(ts), o.batch_size):
                loss = -model.log_prob(ts[perm[i : i + o.batch_size]]).mean()
                if not torch.isfinite(loss):
                    continue  # a bad batch: skip the step, the held-out check decides
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
                opt.step()
            v = held_out()
            if math.isfinite(v) and v < best - 1e-4:
                best, best_state, best_epoch, bad = v, copy.deepcopy(model.state_dict()), epoch, 0
            else:
                bad += 1
            bar.update(epoch, v, best)
            if bad >= o.patience:
                break
    if not math.isfinite(best):
        raise FlowError(f"fitting the flow to {name} diverged (no finite held-out likelihood); try a smaller lr")
    model.load_state_dict(best_state)
    model.eval()
    return {"epochs": epoch, "best_epoch": best_epoch, "stopped_early": bad >= o.patience}


class _Bar:
    """A rich progress bar over epochs (or nothing)."""

    def __init__(self, enabled: bool, label: str, total: int):
        self.enabled, self.label, self.total = enabled, label, total
        self._progress = None

    def __enter__(self):
        if self.enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[nll]}"),
                                      TimeElapsedColumn(), transient=False)
            self._progress.__enter__()
            self._task = self._progress.add_task(self.label, total=self.total, nll="")
        return self

    def update(self, epoch: int, val: float, best: float) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=epoch, nll=f"held-out NLL {val:.3f} (best {best:.3f})")

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.__exit__(*exc)
        return False
