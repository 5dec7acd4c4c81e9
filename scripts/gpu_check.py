"""The GPU path, measured in one short run: CUDA inference against CPU, bf16 training steps,
torch.compile on and off, peak GPU memory, training throughput. Prints a Markdown table and
writes gpu_check.json (for the model card and README).

    python scripts/gpu_check.py                      # on a machine with a CUDA GPU (a few minutes)
    python scripts/gpu_check.py --device cpu --quick # the same code path on CPU (a smoke test)

Data are generated on all CPU cores beforehand, so the figures are of the GPU, not of the generator.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np


def _batches(count: int, batch_size: int, max_tokens: int, rows: int, seed: int) -> list:
    from hydra import compose, initialize_config_module

    from data_gen import make_sampler
    from mist.training.datasets import generate_batch

    with initialize_config_module(config_module="mist.configs", version_base="1.3"):
        cfg = compose(config_name="train", overrides=["experiment=default_cpu"])
    sampler = make_sampler(cfg.data.generator)
    rng = np.random.default_rng(seed)
    return [generate_batch(sampler, batch_size, rng, max_tokens, rows) for _ in range(count)]


def make_batches(count: int, batch_size: int, max_tokens: int, rows: int, workers: int) -> list:
    """Training batches generated in `workers` processes."""
    per = -(-count // workers)
    with ProcessPoolExecutor(workers) as pool:
        parts = pool.map(_batches, [per] * workers, [batch_size] * workers, [max_tokens] * workers, [rows] * workers,
                         range(workers))
    return [b for part in parts for b in part][:count]


def train_steps(batches, device, model: str, compile_: bool, precision: str) -> dict:
    """Optimiser steps over `batches`; loss of the first and last quarter, datasets/s after warm-up."""
    import torch

    from hydra import compose, initialize_config_module
    from mist.model import pinball_loss
    from mist.training.module import MISTModule

    with initialize_config_module(config_module="mist.configs", version_base="1.3"):
        cfg = compose(config_name=f"model/{model}")
    torch.manual_seed(0)
    module = MISTModule(network=dict(cfg.model.network), compile=compile_).to(device)
    opt = torch.optim.AdamW(module.parameters(), lr=3e-4)
    losses, times, sets = [], [], 0
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for i, b in enumerate(batches):
        b = {k: v.to(device, non_blocking=True) for k, v in b.items()}
        t = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            q = module(b)
        loss = pinball_loss(q.float(), torch.log1p(b["mi"]), module.levels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= len(batches) // 4:  # warm-up (and compilation) excluded
            times.append(time.perf_counter() - t)
            sets += b["x"].shape[0]
        losses.append(loss.item())
    k = max(1, len(losses) // 4)
    return {
        "model": model, "compile": compile_, "precision": precision, "steps": len(batches),
        "loss_first_quarter": float(np.mean(losses[:k])), "loss_last_quarter": float(np.mean(losses[-k:])),
        "datasets_per_s": sets / sum(times), "ms_per_step": 1e3 * float(np.median(times)),
        "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None,
    }


def inference_agreement(device) -> dict:
    """The shipped checkpoint's quantiles on `device` against CPU, on the same 40 sets."""

    from mist.inference.estimator import default_checkpoint
    from mist.inference.forward import predict_log1p
    from mist.release import load_release

    net, _ = load_release(default_checkpoint())
    rng = np.random.default_rng(0)
    sets = []
    for _ in range(40):
        n, dx, dy = int(rng.integers(50, 5000)), int(rng.integers(1, 10)), int(rng.integers(1, 10))
        x = rng.standard_normal((n, dx))
        sets.append((x, x[:, :1] * rng.uniform(0, 2) + rng.standard_normal((n, dy))))
    cpu, _ = predict_log1p(net.cpu(), sets)
    t = time.perf_counter()
    dev, _ = predict_log1p(net.to(device), sets, device=device)
    seconds = time.perf_counter() - t
    diff = np.abs(np.expm1(np.clip(dev, 0, None)) - np.expm1(np.clip(cpu, 0, None)))
    return {"max_abs_diff_nats": float(diff.max()), "sets": len(sets), "seconds_on_device": seconds}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda")
    p.add_argument("--quick", action="store_true", help="few steps, small model only (CPU smoke test)")
    p.add_argument("--out", default="gpu_check.json")
    a = p.parse_args()
    os.environ.setdefault("WANDB_MODE", "disabled")
    import torch

    device = torch.device(a.device)
    steps = 8 if a.quick else 150
    workers = max(1, min(16, os.cpu_count() or 1))
    t = time.perf_counter()
    small = make_batches(steps, 32, 131_072, 1024, workers)
    large = small if a.quick else make_batches(steps, 128, 2**22, 1024, workers)
    report = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "torch": torch.__version__, "data_seconds": time.perf_counter() - t,
              "inference": inference_agreement(device), "training": []}
    runs = [("small", False, "32"), ("small", False, "bf16")]
    if not a.quick:
        runs += [("large", False, "bf16"), ("large", True, "bf16")]
    for model, comp, prec in runs:
        report["training"].append(train_steps(large if model == "large" else small, device, model, comp, prec))
    with open(a.out, "w") as f:
        json.dump(report, f, indent=2)
    inf = report["inference"]
    print(f"device {report['device']}, torch {report['torch']}; inference on {inf['sets']} sets: max |device - cpu| = "
          f"{inf['max_abs_diff_nats']:.2e} nats")
    print("| model | compile | precision | steps | loss first -> last quarter | datasets/s | ms/step | peak GPU MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in report["training"]:
        peak = "-" if r["peak_gpu_mib"] is None else f"{r['peak_gpu_mib']:.0f}"
        print(f"| {r['model']} | {r['compile']} | {r['precision']} | {r['steps']} | {r['loss_first_quarter']:.3f} -> "
              f"{r['loss_last_quarter']:.3f} | {r['datasets_per_s']:.0f} | {r['ms_per_step']:.1f} | {peak} |")


if __name__ == "__main__":
    main()
