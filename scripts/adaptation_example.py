"""Worked example of modality adaptation on scikit-learn's bundled handwritten digits (no download).

    python scripts/adaptation_example.py --quick         # a few minutes on 2 CPU cores
    python scripts/adaptation_example.py                 # the full run (about 15 minutes)

Data: the 1797 8x8 digit images. X is the top half of each image (rows 0-3, 32 pixels), Y the
bottom half (rows 4-7), each reduced by PCA to `--dims` components (fitted on all rows; PCA is
a fixed linear map, so it is part of defining the modality, not of the test). The rows are split
at random into halves A and B.

What runs:
1. `mist.adapt` on half A: flows fitted to A's X and A's Y, the base checkpoint fine-tuned on
   synthetic exact-MI sets pushed through them, an adapted release exported.
2. Flows fitted independently to half B (the same modality through maps the fine-tuning never saw).
3. Held-out test sets with exact MI, from seeds never used in fine-tuning, at several n:
   "pushed A" (through the adaptation's own flows), "pushed B" (through B's flows) and "plain"
   (the synthetic sets at the same dims, not pushed: what adaptation may cost elsewhere).
4. Base and adapted checkpoints scored on all of them (median vs exact MI, 90% coverage, each
   with its card's calibration); a table is printed and a PNG plot and JSON written to --out.
5. For information, the digits' own I(top half; bottom half) by base, adapted, KSG and the
   Gaussian copula (no ground truth there).

Needs scikit-learn (for the digits and PCA) and matplotlib (the plot).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch


def digits_halves(dims: int) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y): PCA components of the top and bottom halves of the digit images, (1797, dims) each."""
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    images = load_digits().images.astype(np.float64)  # (1797, 8, 8), values 0..16
    top, bottom = images[:, :4].reshape(len(images), -1), images[:, 4:].reshape(len(images), -1)
    x = PCA(dims, random_state=0).fit_transform(top)
    y = PCA(dims, random_state=0).fit_transform(bottom)
    return x, y


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="base release (default: the shipped checkpoint)")
    p.add_argument("--out", default="runs/adaptation_example", help="folder for the run, the plot and the JSON")
    p.add_argument("--quick", action="store_true", help="fewer steps and test sets (a few minutes on CPU)")
    p.add_argument("--dims", type=int, default=4, help="PCA components per half (dx = dy)")
    p.add_argument("--steps", type=int, default=None, help="fine-tuning steps (default 600, quick 120)")
    p.add_argument("--sets", type=int, default=None, help="test sets per n and kind (default 48, quick 16)")
    p.add_argument("--n", type=int, nargs="+", default=None, help="test sample sizes (default 32 128 512 2048)")
    p.add_argument("--threads", type=int, default=2, help="torch threads")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)

    import mist
    from mist.adaptation import adapt, fit_flow
    from mist.adaptation.evaluate import predict, score
    from mist.adaptation.flows import FlowOptions
    from mist.adaptation.push import pushed_sets
    from mist.baselines import Gaussian, ksg
    from mist.release import load_release
    from data_gen import make_sampler

    steps = a.steps or (120 if a.quick else 600)
    per_n = a.sets or (16 if a.quick else 48)
    ns = a.n or ([32, 512] if a.quick else [32, 128, 512, 2048])
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    x, y = digits_halves(a.dims)
    half = np.random.default_rng(a.seed).permutation(len(x))
    ia, ib = half[: len(x) // 2], half[len(x) // 2 :]
    flow_opts = {"max_epochs": 150 if a.quick else 300}

    t0 = time.perf_counter()
    adapted = adapt(x[ia], y[ia], checkpoint=a.checkpoint, run_dir=out / "run", steps=steps, seed=a.seed,
                    flows=flow_opts, progress=True)
    t_adapt = time.perf_counter() - t0
    print(adapted)
    base_net, base_card = load_release(adapted.card["adaptation"]["base_checkpoint"]["path"])
    net, card = load_release(adapted.checkpoint)
    options = FlowOptions.from_dict({**adapted.x_flow.options.to_dict(), "seed": a.seed + 1})
    fxb, fyb = fit_flow(x[ib], options, name="x (half B)"), fit_flow(y[ib], options, name="y (half B)")

    generator = card.training["generator"]
    lo, hi = card.ranges().n
    ns = sorted({min(max(n, lo), hi) for n in ns})
    sampler = make_sampler(generator)  # the base prior may be a mixture of generators

    def plain(n, seed):
        rng = np.random.default_rng(seed)
        return [sampler.sample(rng, n=n, dx=a.dims, dy=a.dims) for _ in range(per_n)]

    kinds = {
        "pushed A": lambda n, seed: pushed_sets(generator, adapted.x_flow, adapted.y_flow, n, per_n, seed),
        "pushed B": lambda n, seed: pushed_sets(generator, fxb, fyb, n, per_n, seed),
        "plain": plain,
    }
    levels = list(card.levels)
    results: dict = {}
    for k, (kind, make) in enumerate(kinds.items()):
        sets = [s for n in ns for s in make(n, (77_000, a.seed, k, n))]  # seeds the fine-tuning never used
        results[kind] = {
            "base": score(predict(base_net, sets), sets, levels, base_card.calibration),
            "adapted": score(predict(net, sets), sets, levels, card.calibration),
        }

    print(f"\nadaptation: {t_adapt / 60:.1f} min ({steps} steps); flows fitted to half A ({len(ia)} rows), "
          f"test sets: {per_n} per n and kind, fresh seeds; MAE = mean |median - exact MI| in nats")
    print("MAE log1p = mean |log(1 + median) - log(1 + MI)|; cov90 = share of exact MI inside the 90% interval")
    header = (f"{'test sets':<10} {'n':>5} | {'base MAE':>8} {'adapted':>8} | {'base MAE log1p':>14} {'adapted':>8} | "
              f"{'base cov90':>10} {'adapted':>8}")
    print(header + "\n" + "-" * len(header))

    def row(kind, n, b, ad):
        print(f"{kind:<10} {n:>5} | {b['mae']:>8.3f} {ad['mae']:>8.3f} | {b['mae_log1p']:>14.3f} {ad['mae_log1p']:>8.3f} | "
              f"{b['cover90']:>10.2f} {ad['cover90']:>8.2f}")

    for kind, r in results.items():
        for n in ns:
            row(kind, n, r["base"]["by_n"][n], r["adapted"]["by_n"][n])
        row(kind, "all", r["base"], r["adapted"])

    # the digits themselves: no ground truth, for information
    real = {}
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            real["base"] = mist.MIEstimator(base_net, base_card, device="cpu").estimate(x[ib], y[ib]).mi
            real["adapted"] = mist.MIEstimator(net, card, device="cpu").estimate(x[ib], y[ib]).mi
    real["ksg"] = ksg(x[ib], y[ib])
    real["gaussian_copula"] = Gaussian(copula=True).estimate(x[ib], y[ib])
    print("\ndigits half B, I(top; bottom) in nats (no ground truth): "
          + ", ".join(f"{k} {v:.3f}" for k, v in real.items()))

    summary = {
        "command": "python scripts/adaptation_example.py" + (" --quick" if a.quick else ""),
        "dims": a.dims, "steps": steps, "sets_per_n": per_n, "n": ns, "minutes_adapt": round(t_adapt / 60, 2),
        "flows": {"A": {"x": adapted.x_flow.record, "y": adapted.y_flow.record}, "B": {"x": fxb.record, "y": fyb.record}},
        "results": results, "digits_mi": real, "checkpoint": str(adapted.checkpoint),
    }
    (out / "adaptation_example.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    try:
        plot(results, ns, out / "adaptation_example.png")
        print(f"wrote {out / 'adaptation_example.png'} and {out / 'adaptation_example.json'}")
    except ImportError:
        print(f"wrote {out / 'adaptation_example.json'} (install matplotlib for the plot)")


def plot(results: dict, ns: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = (("mae", "MAE vs exact MI (nats)"), ("mae_log1p", "MAE of log(1 + MI)"))
    fig, axes = plt.subplots(len(metrics), len(results), figsize=(4.2 * len(results), 6.4), sharey="row", squeeze=False)
    for j, (kind, r) in enumerate(results.items()):
        for i, (key, label) in enumerate(metrics):
            ax = axes[i, j]
            for who, style in (("base", "o--"), ("adapted", "s-")):
                ax.plot(ns, [r[who]["by_n"][n][key] for n in ns], style, label=who)
            ax.set_xscale("log")
            ax.set_xticks(ns, [str(n) for n in ns])
            ax.minorticks_off()
            ax.grid(alpha=0.3)
            if i == 0:
                ax.set_title(f"test sets: {kind}")
            if i == len(metrics) - 1:
                ax.set_xlabel("n (samples per set)")
            if j == 0:
                ax.set_ylabel(label)
    axes[0, 0].legend()
    fig.suptitle("digits (top half vs bottom half): base vs adapted checkpoint")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
