"""MISTModule: the pinball loss, validation metrics and optimiser around MISTNetwork."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F

from mist.model import MISTNetwork, NetworkConfig, pinball_loss
from mist.model.network import core_scale
from mist.model.quantile_head import gate_target

__all__ = ["MISTModule", "warm_start"]


def warm_start(net: MISTNetwork, path: str) -> list[str]:
    """Copy weights from a release or Lightning checkpoint into `net` (see MISTModule.init_from).

    Returns:
        The names of `net`'s tensors that kept their fresh initialisation.

    Raises:
        ValueError: a tensor exists in both with shapes that cannot be reconciled.
    """
    if str(path).endswith(".ckpt"):
        state = torch.load(path, map_location="cpu", weights_only=False)["state_dict"]
        state = {k.removeprefix("net."): v for k, v in state.items() if k.startswith("net.")}
    else:
        from mist.release import load_release

        state = load_release(path)[0].state_dict()
    own = net.state_dict()
    fresh = []
    for name, t in own.items():
        old = state.get(name)
        if old is None:
            fresh.append(name)
        elif old.shape == t.shape:
            t.copy_(old)
        elif old.ndim == 2 and t.ndim == 2 and old.shape[0] == t.shape[0] and old.shape[1] < t.shape[1]:
            t.zero_()
            t[:, : old.shape[1]] = old  # new input features start with zero weight
        else:
            raise ValueError(f"init_from {path}: {name} has shape {tuple(old.shape)} there, {tuple(t.shape)} here")
    return fresh


class MISTModule(L.LightningModule):
    """Arguments:
        network: NetworkConfig fields.
        lr: peak AdamW learning rate.
        weight_decay: AdamW weight decay.
        warmup_steps: linear warm-up steps.
        max_steps: length of the cosine decay (the trainer's max_steps).
        min_lr_ratio: final learning rate as a fraction of lr.
        compile: wrap the network in torch.compile (GPUs).
        val_names: names of the validation sets, in data-loader order (for metric names).
        init_from: start from these weights: a release checkpoint (NAME, NAME.json or
            NAME.safetensors) or a Lightning .ckpt. Tensors of the same shape are copied; an input
            layer that gained feature columns keeps the old columns and zeros for the new ones,
            so the warm-started network computes what the old one did. Ignored on resume.
        gate_weight: weight of the gate's cross-entropy (gated networks): the gate learns to
            close where the core is right.
        gate_target: what the gate is taught: "error" (open where the core misses the label by
            more than 2 standard errors + gate_tolerance, `mist.model.quantile_head.gate_target`)
            or "generator" (open unless the generator drew the set with an elliptical copula,
            `data_gen.elliptical_copula`). The core is consistent on elliptical copulas but not
            exact: at small n or high MI it still misses them (on the default prior its MAE
            there is 0.92 nats, an ungated network's 0.71), so "generator" closes the gate on
            sets the network improves.
        gate_tolerance: with gate_target "error", the error in log(1 + nats) beyond 2 standard
            errors that counts as wrong (0.05: a 5% miss at high MI, 0.05 nats at low MI).
        pinball_weight: weight of the pinball loss (0, with train_only=["head.gate"], fits the
            gate to its target alone).
        train_only: names (prefixes of `net`'s parameter names, e.g. ["head.gate"]) of the only
            parameters to train; the rest stay frozen. None trains everything.
    """

    def __init__(
        self,
        network: Mapping[str, Any],
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        warmup_steps: int = 200,
        max_steps: int = 10_000,
        min_lr_ratio: float = 0.05,
        compile: bool = False,
        val_names: tuple[str, ...] = ("val",),
        init_from: str | None = None,
        gate_weight: float = 0.1,
        gate_target: str = "error",
        gate_tolerance: float = 0.01,
        pinball_weight: float = 1.0,
        train_only: Sequence[str] | None = None,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.net = MISTNetwork(NetworkConfig(**dict(network)))
        if init_from:
            warm_start(self.net, init_from)
        if gate_target not in ("error", "generator"):
            raise ValueError(f"model.gate_target must be 'error' or 'generator', got {gate_target!r}")
        if train_only:
            names = [n for n, _ in self.net.named_parameters()]
            unknown = [p for p in train_only if not any(n.startswith(p) for n in names)]
            if unknown:
                raise ValueError(f"model.train_only: no parameters named {unknown}; the network has {_prefixes(names)}")
            for n, p in self.net.named_parameters():
                p.requires_grad_(any(n.startswith(t) for t in train_only))
        self.levels = self.net.cfg.quantiles
        self._forward = torch.compile(self.net, dynamic=True) if compile else self.net

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Quantiles of log(1 + MI), shape (B, K)."""
        return self._forward(batch["x"], batch["y"], batch["features"], batch["base"], batch.get("x_mask"), batch.get("y_mask"))

    def _gate_labels(self, batch: Mapping[str, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        """1 where the gate should open, 0 where it should close (see `gate_target`)."""
        if self.hparams.gate_target == "generator":
            if "elliptical" not in batch:
                raise ValueError("model.gate_target=generator needs batches that name each set's family and "
                                 "transform (generated or shard batches); use model.gate_target=error otherwise")
            return 1.0 - batch["elliptical"].float()
        base = batch["base"].float()
        scale = core_scale(batch["features"].float(), base)
        return gate_target(torch.log1p(base.clamp_min(0.0)), scale, target, self.hparams.gate_tolerance)

    def _losses(
        self, batch: Mapping[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """(quantiles, pinball loss, gate cross-entropy or None, gate logits or None)."""
        q, logit = self._forward(
            batch["x"], batch["y"], batch["features"], batch["base"], batch.get("x_mask"), batch.get("y_mask"), return_gate=True
        )
        q = q.float()
        target = torch.log1p(batch["mi"].float())
        pinball = pinball_loss(q, target, self.levels)
        if logit is None:
            return q, pinball, None, None
        return q, pinball, F.binary_cross_entropy_with_logits(logit.float(), self._gate_labels(batch, target)), logit

    def training_step(self, batch: Mapping[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        _, pinball, gate, _ = self._losses(batch)
        loss = self.hparams.pinball_weight * pinball
        if gate is not None:
            loss = loss + self.hparams.gate_weight * gate
        b = batch["x"].shape[0]
        self.log("train/loss", pinball, prog_bar=True, batch_size=b)
        if gate is not None:
            self.log("train/gate_bce", gate, batch_size=b)
        self.log("train/n", float(batch["x"].shape[1]), batch_size=b)
        return loss

    def validation_step(self, batch: Mapping[str, torch.Tensor], batch_idx: int, dataloader_idx: int = 0) -> None:
        names = self.hparams.val_names
        name = names[dataloader_idx] if dataloader_idx < len(names) else f"val{dataloader_idx}"
        q, pinball, gate, logit = self._losses(batch)
        mi = batch["mi"]
        nats = torch.expm1(q.clamp_min(0.0))
        med = nats[:, self.levels.index(0.5)]
        b = mi.shape[0]
        metrics = {
            "loss": pinball,
            "gate_bce": gate,
            "mae": (med - mi).abs().mean(),
            "core_mae": (batch["base"].float() - mi).abs().mean(),  # the classical core alone
            "width90": _width(nats, self.levels, 0.05, 0.95),
            "cover90": _covers(nats, mi, self.levels, 0.05, 0.95),
            "cover50": _covers(nats, mi, self.levels, 0.25, 0.75),
        }
        weights = {k: b for k in metrics}
        if logit is not None and "elliptical" in batch:  # how far the gate opens on each kind of set
            g, ell = torch.sigmoid(logit.float()), batch["elliptical"].float()
            for key, w in (("gate_elliptical", ell), ("gate_other", 1.0 - ell)):
                # logged on every rank and batch, weighted by its share (DDP syncs every metric)
                metrics[key] = (g * w).sum() / w.sum().clamp_min(1.0)
                weights[key] = int(w.sum().item())
        for k, v in metrics.items():
            if v is not None:
                self.log(f"{name}/{k}", v, batch_size=weights[k], add_dataloader_idx=False, sync_dist=True, prog_bar=k == "mae")

    def configure_optimizers(self):
        hp = self.hparams
        decay, rest = [], []  # weight decay on matrices, not on biases, norms, inducing points or seeds
        for n, p in self.net.named_parameters():
            if not p.requires_grad:
                continue
            (decay if p.ndim >= 2 and "inducing" not in n and "seed" not in n else rest).append(p)
        opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": hp.weight_decay}, {"params": rest, "weight_decay": 0.0}], lr=hp.lr
        )

        def schedule(step: int) -> float:
            if step < hp.warmup_steps:
                return (step + 1) / hp.warmup_steps
            progress = min(1.0, (step - hp.warmup_steps) / max(1, hp.max_steps - hp.warmup_steps))
            return hp.min_lr_ratio + (1 - hp.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def _prefixes(names: Sequence[str]) -> list[str]:
    """The distinct two-part prefixes of parameter names (for error messages)."""
    return sorted({".".join(n.split(".")[:2]) for n in names})


def _covers(nats: torch.Tensor, mi: torch.Tensor, levels, lo: float, hi: float) -> torch.Tensor | None:
    if lo not in levels or hi not in levels:
        return None
    inside = (nats[:, levels.index(lo)] <= mi) & (mi <= nats[:, levels.index(hi)])
    return inside.float().mean()


def _width(nats: torch.Tensor, levels, lo: float, hi: float) -> torch.Tensor | None:
    if lo not in levels or hi not in levels:
        return None
    return (nats[:, levels.index(hi)] - nats[:, levels.index(lo)]).mean()
