"""Fit split-conformal quantile offsets for a release checkpoint and store them in its card.

    python scripts/calibrate_checkpoint.py checkpoints/mist-default --generator default --widen-only \
        --sets-per-bin 800 --workers 2

Draws a fresh calibration meta-set from the generator the checkpoint was trained on (new seeds,
so no set was seen in training; --generator names another, e.g. the broad prior `default`),
predicts quantiles, fits one offset per level and n bin (mist.calibration), and reports
coverage before and after on a second, independent half. The last bin holds sets beyond the
trained n (8,193-32,768 samples by default): its offsets apply to every larger set, where the
network's own quantiles extrapolate.

A bin keeps its offsets only where they bring the check half's 90% coverage materially closer
to 0.90 (by more than --min-gain); elsewhere the network's own quantiles stand (zero offsets).
Offsets fitted on a few hundred sets are noisy in the tails, and on a well-calibrated network
they widen intervals without improving coverage. The choice per bin is recorded in the card.
The weights are unchanged; both files are written again, so that they bind each other.

Each bin's fit and check halves are drawn from their own seeds, so --workers (processes drawing
and summarising the sets, most of the run's time) does not change them. Offsets fitted on 150
sets per bin are noisy (bootstrap p10-p90 of one bin's upper offset: 0.34-0.98 widths): use 400
or more.

--save-sets keeps the predictions (with a digest of the weights); --from-sets refits from them,
for the same weights, without drawing and summarising the sets again (most of the run's time).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing
import sys

import numpy as np
import torch
from rich.progress import track

from data_gen import make_sampler
from mist.benchmark.cases import load_generator
from mist.calibration import DEFAULT_EDGES, apply_calibration, coverage, fit_calibration
from mist.inference.forward import predict_log1p
from mist.release import load_release, release_paths, save_release

EDGES = [*DEFAULT_EDGES, 32769]  # the last bin: beyond the trained n (8,192)


def predict(net, sampler, rng, n_lo, n_hi, count, progress=True):
    sets = []
    for _ in track(range(count), description=f"n in [{n_lo}, {n_hi})", transient=True, disable=not progress):
        n = int(math.exp(rng.uniform(math.log(n_lo), math.log(n_hi))))
        sets.append(sampler.sample(rng, n=n))
    preds, _ = predict_log1p(net, [(s.x, s.y) for s in sets])
    return preds, np.array([math.log1p(s.mi) for s in sets]), np.array([s.n for s in sets])


def draw_part(job, net=None):
    """One bin's fit or check half, drawn from its own seed: the sets do not depend on how many
    workers draw them. job = (checkpoint, generator config, seed, n_lo, n_hi, count, threads,
    progress); a worker process loads the checkpoint, the main process passes its `net`."""
    checkpoint, generator, seed, n_lo, n_hi, count, threads, progress = job
    if net is None:
        torch.set_num_threads(threads)
        net, _ = load_release(checkpoint)
        net.eval()
    return predict(net, make_sampler(generator), np.random.default_rng(seed), n_lo, n_hi, count, progress)


def weights_digest(net) -> str:
    """sha256 of the network's parameters (the weights file's own hash changes with its card)."""
    h = hashlib.sha256()
    for name, t in sorted(net.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="release checkpoint path (NAME, NAME.json or NAME.safetensors)")
    p.add_argument("--sets-per-bin", type=int, default=300, help="calibration sets per n bin (half fit, half check)")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--generator", help="generator config to draw the sets from (name in configs/generator or a path); "
                   "default: the checkpoint's training generator")
    p.add_argument("--edges", type=int, nargs="+", default=EDGES,
                   help="n bin edges; the sets of the last bin are drawn below its upper edge, its offsets apply above it too")
    p.add_argument("--threads", type=int, default=2, help="torch threads in all")
    p.add_argument("--workers", type=int, default=1,
                   help="processes drawing and summarising the sets (the statistics run on one core each)")
    p.add_argument("--additive", action="store_true", help="additive offsets (default: in units of each predicted width)")
    p.add_argument("--widen-only", action="store_true",
                   help="offsets may widen the network's intervals, never narrow them (mist.calibration)")
    p.add_argument("--min-gain", type=float, default=0.01,
                   help="keep a bin's offsets only if they bring its check coverage this much closer to 0.90")
    p.add_argument("--save-sets", metavar="NPZ", help="also save the predictions and targets, to compare methods offline")
    p.add_argument("--from-sets", metavar="NPZ", help="refit from the predictions --save-sets kept for these weights")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    net, card = load_release(a.checkpoint)
    net.eval()
    levels = card["quantile_levels"]
    digest = weights_digest(net)
    if a.from_sets:
        saved = np.load(a.from_sets)
        if "weights" not in saved or str(saved["weights"]) != digest:
            sys.exit(f"{a.from_sets} holds predictions of other weights; calibrate without --from-sets")
        pf, tf, nf, pc, tc, nc = (saved[k] for k in ("pf", "tf", "nf", "pc", "tc", "nc"))
        edges = [int(e) for e in saved["edges"]] if "edges" in saved else DEFAULT_EDGES  # older files: those bins
        generator = str(saved["generator"]) if "generator" in saved else "the training generator"
    else:
        edges = a.edges
        generator = f"generator {a.generator}" if a.generator else "the training generator"
        config = load_generator(a.generator) if a.generator else card["training"]["generator"]
        threads = max(1, a.threads // max(1, a.workers))
        jobs = [(a.checkpoint, config, [a.seed, b, half], lo, hi, count, threads, a.workers <= 1)
                for b, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]))
                for half, count in ((0, a.sets_per_bin // 2), (1, a.sets_per_bin - a.sets_per_bin // 2))]
        if a.workers > 1:
            with multiprocessing.get_context("spawn").Pool(a.workers) as pool:
                parts = list(track(pool.imap(draw_part, jobs), total=len(jobs), description="calibration sets"))
        else:
            parts = [draw_part(job, net) for job in jobs]
        fit_parts, check_parts = parts[0::2], parts[1::2]
        pf, tf, nf = (np.concatenate(v) for v in zip(*fit_parts))
        pc, tc, nc = (np.concatenate(v) for v in zip(*check_parts))
    if a.save_sets:
        np.savez(a.save_sets, pf=pf, tf=tf, nf=nf, pc=pc, tc=tc, nc=nc, levels=levels, weights=digest,
                 edges=edges, generator=generator)
    calib = fit_calibration(pf, tf, nf, levels, edges, scaled=not a.additive, widen_only=a.widen_only)

    def report(pred, target, ns, cal):
        rows = {}
        for lo, hi in zip(edges[:-1], edges[1:]):
            sel = (ns >= lo) & (ns < hi)
            q = torch.stack([apply_calibration(torch.from_numpy(pred[i])[None], int(ns[i]), cal)[0] for i in np.flatnonzero(sel)])
            nats, mi = np.expm1(q.clamp_min(0).numpy()), np.expm1(target[sel])
            rows[f"{lo}-{hi - 1}"] = {
                "sets": int(sel.sum()),
                "cover90": coverage(nats, mi, levels, 0.05, 0.95),
                "cover50": coverage(nats, mi, levels, 0.25, 0.75),
                "mae_nats": float(np.mean(np.abs(nats[:, levels.index(0.5)] - mi))),
                "median_width90": float(np.median(nats[:, levels.index(0.95)] - nats[:, levels.index(0.05)])),
            }
        return rows

    before, after = report(pc, tc, nc, None), report(pc, tc, nc, calib)
    kept = []
    for b, key in enumerate(before):  # bins in edge order
        gain = abs(before[key]["cover90"] - 0.9) - abs(after[key]["cover90"] - 0.9)
        kept.append(bool(gain > a.min_gain))
        if not kept[-1]:
            calib["offsets"][b] = [0.0] * len(levels)
    calib["bins"], calib["kept"] = list(before), kept  # the card's JSON sorts keys: "bins" keeps the edge order
    calib["method"] += f"; a bin keeps its offsets only if they bring its check coverage > {a.min_gain} closer to 0.90"
    calib["check"] = {"before": before, "after": report(pc, tc, nc, calib), "fitted": after}
    calib["generator"] = f"{generator}, fresh seeds"
    card["calibration"] = calib
    weights, card_path = save_release(net, card, release_paths(a.checkpoint)[0].with_suffix(""))  # re-binds card and weights
    print(json.dumps(calib["check"], indent=2))
    print(f"calibration written to {card_path}")


if __name__ == "__main__":
    main()
