"""Worked example of `mist.callbacks.InformationPlane`: an MLP on scikit-learn's digits, tanh vs ReLU.

    python scripts/information_plane.py                 # both activations, a few minutes on 2 CPU cores
    python scripts/information_plane.py --epochs 20 --activations tanh --wandb   # also log to W&B

Data: the 1797 8x8 digit images bundled with scikit-learn (no download), pixels scaled to [0, 1].
A fixed random 600 rows are the probe set (held out from training); the rest train the network.

Network: 64 -> 64 -> 32 -> 16 -> 10, the same initial weights for both activations (seed 0),
Adam, cross-entropy. The callback records the three hidden layers (after the activation) and the
output logits, before training and after the epochs in `--record`, and writes for each activation
`information_plane_{act}.png`, `.csv` and `.json` to `--out` (default `scripts/output/`).

The convention (Goldfeld et al. 2019; see the docstring of `mist.callbacks.information_plane`):
X is uniform over the probe rows and T is the activations plus Gaussian noise of standard
deviation `--noise` (0.1); without noise I(X;T) of a deterministic network is infinite. I(X;T)
is then the MI of a Gaussian mixture over the probe rows, computed by Monte Carlo over every unit,
exact up to Monte Carlo error and at most log(probe rows) (6.40 nats for 600). I(T;Y) is mist's
class-label estimate on one noisy draw; the 64-wide first hidden layer is reduced to its first 32
principal components for it (a lower bound). The numbers depend on the noise scale relative to
the activations: tanh units live in [-1, 1], ReLU units are unbounded.

Loggers: a CSV logger under `--logs` (runs/information_plane/, git-ignored) by default; `--wandb`
adds a W&B logger, which honours WANDB_MODE (offline, disabled). Needs scikit-learn and matplotlib (`pip install ".[dev]"`).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
RECORD = (0, 1, 2, 3, 5, 8, 12, 18, 25, 35, 45, 60)  # completed epochs to record after (0 = untrained)


def digits(probe: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_probe, y_probe): pixels scaled to [0, 1] (float32), integer labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x, y = (data.data / 16.0).astype(np.float32), data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    test, train = order[:probe], order[probe:]
    return x[train], y[train], x[test], y[test]


def make_model(activation: str, lr: float, seed: int):
    """A LightningModule MLP with modules `hidden1`, `hidden2`, `hidden3` (linear + activation) and `output`."""
    import lightning.pytorch as pl

    act = {"tanh": nn.Tanh, "relu": nn.ReLU}[activation]

    class MLP(pl.LightningModule):
        def __init__(self):
            super().__init__()
            torch.manual_seed(seed)  # the same initial weights for every activation
            self.hidden1 = nn.Sequential(nn.Linear(64, 64), act())
            self.hidden2 = nn.Sequential(nn.Linear(64, 32), act())
            self.hidden3 = nn.Sequential(nn.Linear(32, 16), act())
            self.output = nn.Linear(16, 10)

        def forward(self, x):
            return self.output(self.hidden3(self.hidden2(self.hidden1(x))))

        def training_step(self, batch, _):
            x, y = batch
            loss = nn.functional.cross_entropy(self(x), y)
            self.log("train_loss", loss, on_step=False, on_epoch=True)
            return loss

        def validation_step(self, batch, _):
            x, y = batch
            self.log("probe_acc", (self(x).argmax(1) == y).float().mean(), on_epoch=True)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=lr)

    return MLP()


def run(activation: str, args, estimate_ty=None) -> dict:
    """Train one network with the callback; returns the paths written and the final probe accuracy."""
    import lightning.pytorch as pl
    from lightning.pytorch.loggers import CSVLogger, WandbLogger
    from torch.utils.data import DataLoader, TensorDataset

    from mist.callbacks import InformationPlane

    pl.seed_everything(args.seed, verbose=False)
    xt, yt, xp, yp = digits(args.probe, args.seed)
    model = make_model(activation, args.lr, args.seed)
    record = [e for e in args.record if e <= args.epochs]
    callback = InformationPlane(
        xp, yp, ["hidden1", "hidden2", "hidden3", "output"], epochs=record, noise_std=args.noise,
        dirpath=args.out, filename=f"information_plane_{activation}", seed=args.seed,
        title=f"Information plane: MLP 64-64-32-16-10, {activation}, digits",
        estimate_ty=estimate_ty,
    )
    loggers = [CSVLogger(args.logs, name=activation)]
    if args.wandb:
        loggers.append(WandbLogger(project="mist-information-plane", name=activation, save_dir=str(args.logs)))
    trainer = pl.Trainer(
        max_epochs=args.epochs, accelerator="cpu", devices=1, logger=loggers, callbacks=[callback],
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        log_every_n_steps=10, num_sanity_val_steps=0,
    )
    train = DataLoader(TensorDataset(torch.from_numpy(xt), torch.from_numpy(yt)), batch_size=args.batch, shuffle=True)
    probe = DataLoader(TensorDataset(torch.from_numpy(xp), torch.from_numpy(yp)), batch_size=len(yp))
    trainer.fit(model, train, probe)
    accuracy = float(trainer.callback_metrics.get("probe_acc", float("nan")))
    return {"paths": callback.paths, "accuracy": accuracy, "records": callback.records}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--activations", nargs="+", default=["tanh", "relu"], choices=["tanh", "relu"])
    p.add_argument("--epochs", type=int, default=60, help="training epochs (default 60)")
    p.add_argument("--record", type=int, nargs="+", default=list(RECORD), help="completed epochs to record after")
    p.add_argument("--noise", type=float, default=0.1, help="std of the noise added to T (default 0.1)")
    p.add_argument("--probe", type=int, default=600, help="held-out probe rows (default 600)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=ROOT / "scripts" / "output",
                   help="folder for the PNG, CSV and JSON (default scripts/output/)")
    p.add_argument("--logs", type=Path, default=ROOT / "runs" / "information_plane", help="logger folder")
    p.add_argument("--wandb", action="store_true", help="also log to Weights & Biases (honours WANDB_MODE)")
    args = p.parse_args(argv)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    for activation in args.activations:
        start = time.perf_counter()
        out = run(activation, args)
        last = {r["layer"]: r for r in out["records"] if r["epoch"] == out["records"][-1]["epoch"]}
        print(f"{activation}: probe accuracy {out['accuracy']:.3f}, {time.perf_counter() - start:.0f} s; "
              f"wrote {out['paths']['png']}; I(X;T) <= log {args.probe} = {np.log(args.probe):.2f} nats")
        for layer, r in last.items():
            print(f"  {layer:8s} I(X;T) {r['i_xt']:6.2f} [{r['i_xt_lower']:.2f}, {r['i_xt_upper']:.2f}]   "
                  f"I(T;Y) {r['i_ty']:5.2f} [{r['i_ty_lower']:.2f}, {r['i_ty_upper']:.2f}] {r['units']}")


if __name__ == "__main__":
    main()
