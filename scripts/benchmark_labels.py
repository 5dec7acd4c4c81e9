"""Benchmark I(T;Y) estimators for class labels on exact-MI class-conditional families.

Compares, on the same sets: mist's label estimator (`mist.discrete`), the Ross (2014) mixed
kNN estimator on the whole vector T (standardised columns, max-norm, k = 3), and scikit-learn's
`mutual_info_classif` summed over the columns of T (the per-column Ross estimator; wrong for
vectors, a common shortcut). Truth: `data_gen.labels`, by Monte Carlo over the exact posterior
(its standard error is reported). Cases: d in {1, 2, 4, 8, 16, 32}, K in {2, 3, 5, 10, 20, 50}
(with n >= 10 K), n in {300, 1000, 5000}.

    python scripts/benchmark_labels.py                      # held-out families, writes the table
    python scripts/benchmark_labels.py --calibrate          # fit the interval offsets (Gaussian families)
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from data_gen.labels import HELD_OUT, random_instance
from mist.discrete.estimate import OFFSETS, combine, label_components, prepare
from mist.discrete.knn import mixed_ksg
from mist.discrete.labels import as_labels

NS = (300, 1000, 5000)
DIMS = (1, 2, 4, 8, 16, 32)
CLASSES = (2, 3, 5, 10, 20, 50)
CALIBRATION = ("gaussian", "gaussian_qda")


def cases(families, per_family: int, seed: int, mc: int):
    """Yield (family, instance, mi, mi_se) for `per_family` random instances of each family."""
    rng = np.random.default_rng(seed)
    for i in range(per_family * len(families)):
        fam = families[i % len(families)]
        d, k = int(rng.choice(DIMS)), int(rng.choice(CLASSES))
        inst = random_instance(rng, fam, d, k)
        mi, se = inst.mutual_information(mc=mc, seed=int(rng.integers(2**31)))
        yield fam, inst, mi, se


def sklearn_sum(t: np.ndarray, y: np.ndarray) -> float:
    from sklearn.feature_selection import mutual_info_classif

    return float(mutual_info_classif(t, y, discrete_features=False, n_neighbors=3, random_state=0).sum())


def ross_vector(t: np.ndarray, y: np.ndarray) -> float:
    z = (t - t.mean(axis=0)) / np.where(t.std(axis=0) > 0, t.std(axis=0), 1.0)
    return mixed_ksg(z, y, k=3, p=np.inf)


def run(families, per_family: int, seed: int, mc: int, offsets=None) -> list[dict]:
    rows = []
    for fam, inst, mi, mi_se in cases(families, per_family, seed, mc):
        rng = np.random.default_rng(seed + 1 + len(rows))
        for n in NS:
            if n < 10 * inst.k:
                continue
            t, y = inst.sample(n, rng)
            if np.bincount(y, minlength=inst.k).min() < 2:
                continue
            lab = as_labels(y)
            t0 = time.perf_counter()
            z, _ = prepare(t, lab.codes)
            parts = label_components(z, lab.codes)
            out = combine(parts, lab.counts, offsets)
            sec = time.perf_counter() - t0
            row = {"family": fam, "n": n, "d": inst.d, "k": inst.k, "mi": mi, "mi_se": mi_se, "mist": out["mi"],
                   "lower": out["quantiles"][0.05], "upper": out["quantiles"][0.95], "scale": out["scale"],
                   "method": out["method"], "seconds": sec}
            if offsets is None or offsets is OFFSETS:
                row["ross"] = ross_vector(t, lab.codes)
                row["sklearn_sum"] = sklearn_sum(t, lab.codes)
            rows.append(row)
            print(f"{len(rows)} {fam} n={n} d={inst.d} K={inst.k} truth {mi:.3f} mist {row['mist']:.3f} ({sec:.1f} s)", flush=True)
    return rows


def calibrate(rows: list[dict]) -> dict[float, float]:
    """Quantiles of (truth - estimate) / scale at the interval levels."""
    r = np.array([(row["mi"] - row["mist"]) / max(row["scale"], 1e-9) for row in rows])
    return {lvl: round(float(np.quantile(r, lvl)), 3) for lvl in OFFSETS}


def _line(name: str, rows: list[dict], key: str) -> str:
    err = np.array([r[key] - r["mi"] for r in rows])
    cov = wid = ""
    if key == "mist":
        inside = np.array([r["lower"] <= r["mi"] <= r["upper"] for r in rows])
        cov = f"{inside.mean():.2f}"
        wid = f"{np.median([r['upper'] - r['lower'] for r in rows]):.3f}"
    return f"| {name} | {len(rows)} | {np.abs(err).mean():.3f} | {err.mean():+.3f} | {cov or '-'} | {wid or '-'} |"


def table(rows: list[dict]) -> str:
    lines = ["| n | estimator | sets | MAE (nats) | bias | 90% coverage | median width |", "|---|---|---:|---:|---:|---:|---:|"]
    names = {"mist": "mist (labels)", "ross": "Ross kNN on vector T", "sklearn_sum": "sklearn mutual_info_classif, summed"}
    for n in (*NS, "all"):
        sub = [r for r in rows if n == "all" or r["n"] == n]
        for key, name in names.items():
            lines.append(f"| {n} " + _line(name, sub, key))
    fams = sorted({r["family"] for r in rows})
    lines += ["", "| family | sets | mist MAE | Ross MAE | sklearn-sum MAE | mist coverage |", "|---|---:|---:|---:|---:|---:|"]
    for f in fams:
        sub = [r for r in rows if r["family"] == f]
        mae = {k: np.mean([abs(r[k] - r["mi"]) for r in sub]) for k in names}
        cov = np.mean([r["lower"] <= r["mi"] <= r["upper"] for r in sub])
        lines.append(f"| {f} | {len(sub)} | {mae['mist']:.3f} | {mae['ross']:.3f} | {mae['sklearn_sum']:.3f} | {cov:.2f} |")
    se = np.array([r["mi_se"] for r in rows])
    sec = np.array([r["seconds"] for r in rows])
    chosen = {m: sum(r["method"] == m for r in rows) for m in ("lda", "qda", "knn")}
    lines += ["", (f"Truth: Monte Carlo standard error mean {se.mean():.4f}, max {se.max():.4f} nats. "
                   f"mist seconds per set: median {np.median(sec):.2f}, max {sec.max():.2f}. Chosen component: {chosen}.")]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calibrate", action="store_true", help="fit the interval offsets on the Gaussian families")
    ap.add_argument("--per-family", type=int, default=14, help="random instances per family")
    ap.add_argument("--seed", type=int, default=2026, help="seed of the instances (calibration uses seed + 1)")
    ap.add_argument("--mc", type=int, default=20_000, help="Monte Carlo draws for each truth")
    ap.add_argument("--out", default="outputs/benchmark_labels.md", help="where to write the markdown table")
    args = ap.parse_args()
    if args.calibrate:
        rows = run(CALIBRATION, args.per_family, args.seed + 1, args.mc, offsets={0.05: 0.0, 0.25: 0.0, 0.75: 0.0, 0.95: 0.0})
        print(f"{len(rows)} sets; OFFSETS = {calibrate(rows)}")
        for n in NS:
            print(n, calibrate([r for r in rows if r["n"] == n]))
        return
    rows = run(HELD_OUT, args.per_family, args.seed, args.mc)
    text = (f"# Class labels: I(T;Y) on held-out families ({', '.join(HELD_OUT)})\n\n"
            f"`python scripts/benchmark_labels.py --per-family {args.per_family} --seed {args.seed} --mc {args.mc}`\n\n"
            + table(rows) + "\n")
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(f"written to {args.out}; {math.fsum(r['seconds'] for r in rows):.0f} s in mist")


if __name__ == "__main__":
    main()
