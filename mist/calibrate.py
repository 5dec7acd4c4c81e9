"""`mist calibrate`: fit split-conformal quantile offsets for a release checkpoint and store them in its card.

    mist calibrate checkpoints/mist-default --generator default --widen-only --sets-per-bin 800 --workers 2

The offsets' mathematics is `mist.calibration`; this module is the workflow around it.

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

--by-dims fits the offsets per group of joint dimension dx + dy as well (mist.calibration's
DEFAULT_DIM_EDGES: at most 10, where the network sees KSG's evidence, and above); every
(group, n bin) cell is fitted, checked and kept on its own.

--keep-below N refits only the cells of n >= N: the n bins below N carry the offsets of the
card's current calibration (in every dimension group), so a refit of the large-n cells does not
disturb small-n offsets that already calibrate. Their check rows are measured on the fresh sets
like every other cell's.

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
from mist.calibration import (
    DEFAULT_DIM_EDGES,
    DEFAULT_EDGES,
    apply_calibration,
    cell_index,
    coverage,
    fit_calibration,
    group_labels,
    offset_tables,
)
from mist.inference.forward import predict_log1p
from mist.release import load_release, save_release
from mist.tensorfiles import pair_paths

EDGES = [*DEFAULT_EDGES, 32769]  # the last bin: beyond the trained n (8,192)


def predict(net, sampler, rng, n_lo, n_hi, count, progress=True):
    sets = []
    for _ in track(range(count), description=f"n in [{n_lo}, {n_hi})", transient=True, disable=not progress):
        n = int(math.exp(rng.uniform(math.log(n_lo), math.log(n_hi))))
        sets.append(sampler.sample(rng, n=n))
    preds, _ = predict_log1p(net, [(s.x, s.y) for s in sets])
    return (preds, np.array([math.log1p(s.mi) for s in sets]), np.array([s.n for s in sets]),
            np.array([s.x.shape[1] + s.y.shape[1] for s in sets]))


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


def carry_offsets(previous: dict | None, calib: dict, keep_below: int) -> list[int]:
    """Copy the previous calibration's offsets into `calib`'s n bins that end at or below
    `keep_below`, in every dimension group; returns those bins' indices. Exits when the previous
    card has no calibration, other n edges or other dimension groups."""
    if not previous:
        sys.exit("--keep-below carries the card's current offsets, but the card has no calibration")
    if [float(e) for e in previous["edges"]] != calib["edges"]:
        sys.exit(f"--keep-below needs the same n edges as the card's calibration ({previous['edges']})")
    if previous.get("dim_edges") and previous["dim_edges"] != calib.get("dim_edges"):
        sys.exit("--keep-below needs the same dimension groups as the card's calibration")
    edges, old = calib["edges"], offset_tables(previous)
    bins = [b for b in range(len(edges) - 1) if edges[b + 1] <= keep_below]
    for g, table in enumerate(offset_tables(calib)):
        source = old[g if previous.get("dim_edges") else 0]  # a card calibrated by n alone: its one table, for every group
        for b in bins:
            table[b] = [float(v) for v in source[b]]
    return bins


def main(argv: list[str] | None = None, prog: str = "mist calibrate") -> int:
    """Run the command line `argv` (default: sys.argv[1:]); returns the exit status."""
    p = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="release checkpoint path (NAME, NAME.json or NAME.safetensors)")
    p.add_argument("--sets-per-bin", type=int, default=300, help="calibration sets per n bin (half fit, half check)")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--generator", help="generator config to draw the sets from (name in configs/generator or a path); "
                   "default: the checkpoint's training generator")
    p.add_argument("--edges", type=int, nargs="+", default=EDGES,
                   help="n bin edges; the sets of the last bin are drawn below its upper edge, its offsets apply above it too")
    p.add_argument("--by-dims", action="store_true",
                   help=f"fit offsets per group of joint dimension dx + dy too (edges {DEFAULT_DIM_EDGES}; mist.calibration)")
    p.add_argument("--keep-below", type=int, metavar="N",
                   help="n bins below N carry the card's current offsets instead of new ones (same n edges needed)")
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
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    net, card = load_release(a.checkpoint)
    net.eval()
    levels = list(card.levels)
    digest = weights_digest(net)
    if a.from_sets:
        saved = np.load(a.from_sets)
        if "weights" not in saved or str(saved["weights"]) != digest:
            print(f"{prog}: error: {a.from_sets} holds predictions of other weights; calibrate without --from-sets",
                  file=sys.stderr)
            return 1
        pf, tf, nf, pc, tc, nc = (saved[k] for k in ("pf", "tf", "nf", "pc", "tc", "nc"))
        if a.by_dims and "df" not in saved:
            print(f"{prog}: error: {a.from_sets} predates --by-dims (it holds no dimensions); calibrate without --from-sets",
                  file=sys.stderr)
            return 1
        df, dc = (saved[k] if k in saved else np.zeros(len(v), int) for k, v in (("df", nf), ("dc", nc)))
        edges = [int(e) for e in saved["edges"]] if "edges" in saved else DEFAULT_EDGES  # older files: those bins
        generator = str(saved["generator"]) if "generator" in saved else "the training generator"
    else:
        edges = a.edges
        generator = f"generator {a.generator}" if a.generator else "the training generator"
        config = load_generator(a.generator) if a.generator else card.training["generator"]
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
        pf, tf, nf, df = (np.concatenate(v) for v in zip(*fit_parts))
        pc, tc, nc, dc = (np.concatenate(v) for v in zip(*check_parts))
    if a.save_sets:
        np.savez(a.save_sets, pf=pf, tf=tf, nf=nf, df=df, pc=pc, tc=tc, nc=nc, dc=dc, levels=levels, weights=digest,
                 edges=edges, generator=generator)
    dim_edges = DEFAULT_DIM_EDGES if a.by_dims else None
    calib = fit_calibration(pf, tf, nf, levels, edges, scaled=not a.additive, widen_only=a.widen_only,
                            dims=df, dim_edges=dim_edges)
    labels = group_labels(edges, dim_edges)

    def cell(n, d):
        """Index of the set's calibration cell in `labels` (groups outer, n bins inner)."""
        group, b = cell_index(calib, int(n), int(d))
        return group * (len(edges) - 1) + b

    def report(pred, target, ns, ds, cal):
        rows = {}
        cells = np.array([cell(n, d) for n, d in zip(ns, ds)])
        for c, label in enumerate(labels):
            sel = cells == c
            if not sel.any():
                rows[label] = {"sets": 0}
                continue
            q = torch.stack([apply_calibration(torch.from_numpy(pred[i])[None], int(ns[i]), cal, int(ds[i]))[0]
                             for i in np.flatnonzero(sel)])
            nats, mi = np.expm1(q.clamp_min(0).numpy()), np.expm1(target[sel])
            rows[label] = {
                "sets": int(sel.sum()),
                "cover90": coverage(nats, mi, levels, 0.05, 0.95),
                "cover50": coverage(nats, mi, levels, 0.25, 0.75),
                "mae_nats": float(np.mean(np.abs(nats[:, levels.index(0.5)] - mi))),
                "median_width90": float(np.median(nats[:, levels.index(0.95)] - nats[:, levels.index(0.05)])),
            }
        return rows

    before, after = report(pc, tc, nc, dc, None), report(pc, tc, nc, dc, calib)
    kept = []
    tables = offset_tables(calib)
    for c, key in enumerate(labels):  # cells in edge order, groups outer
        gain = abs(before[key].get("cover90", 0.9) - 0.9) - abs(after[key].get("cover90", 0.9) - 0.9)
        kept.append(bool(gain > a.min_gain))
        if not kept[-1]:
            tables[c // (len(edges) - 1)][c % (len(edges) - 1)] = [0.0] * len(levels)
    calib["bins"], calib["kept"] = labels, kept  # the card's JSON sorts keys: "bins" keeps the edge order
    calib["method"] += f"; a bin keeps its offsets only if they bring its check coverage > {a.min_gain} closer to 0.90"
    if a.keep_below is not None:
        carried = carry_offsets(card.calibration, calib, a.keep_below)
        calib["carried"] = [label for c, label in enumerate(labels) if c % (len(edges) - 1) in carried]
        kept[:] = [k or label in calib["carried"] for k, label in zip(kept, labels)]
        calib["method"] += f"; the n bins below {a.keep_below} carry the previous calibration's offsets"
    calib["check"] = {"before": before, "after": report(pc, tc, nc, dc, calib), "fitted": after}
    calib["generator"] = f"{generator}, fresh seeds"
    path = pair_paths(a.checkpoint)[0].with_suffix("")
    weights, card_path = save_release(net, {**card, "calibration": calib}, path)  # re-binds card and weights
    print(json.dumps(calib["check"], indent=2))
    print(f"calibration written to {card_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
