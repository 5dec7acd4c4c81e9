"""Measure the nearest-neighbour fallback for curved low-dimensional sides (`mist.inference.trust`).

Draws sets of the training kinds of the manifold family (tanh, Fourier and quadratic maps;
never the held-out two-layer ReLU maps of the benchmark), runs the manifold check on their copula
scores, and prints, among the sets where it falls back, the errors in log(1 + nats) of the KSG
read, of the core and of their midpoint, overall and by joint intrinsic dimension: the fallback is
KSG alone up to `KSG_ONLY_DIM` (its error's quantiles are `KSG_ERROR`) and the midpoint above
(`MIDPOINT_ERROR`); the share of sets flagged says how often the check fires. Also prints how often it fires on elliptical
families, where it must not.

    python scripts/fit_manifold_fallback.py --sets 120
"""

from __future__ import annotations

import argparse
import math

import numpy as np


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sets", type=int, default=120, help="sets per group")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    from data_gen import DatasetSampler
    from mist.inference.trust import manifold_check
    from mist.stats import summarize

    groups = {
        "manifold (training maps)": {"families": ["manifold"], "transforms": {"warp_asinh": 1, "linear": 1}, "max_chain": 1,
                                     "dx": [4, 32], "dy": [4, 32], "n": [500, 8192], "dim_prior": "uniform",
                                     "mi_prior": [{"weight": 1, "low": 0.1, "high": 4.0}]},
        "manifold, one latent dim a side": {"families": ["manifold"], "transforms": {"warp_asinh": 1, "linear": 1},
                                            "max_chain": 1, "dx": [4, 32], "dy": [4, 32], "n": [500, 8192],
                                            "dim_prior": "uniform", "mi_prior": [{"weight": 1, "low": 0.1, "high": 4.0}],
                                            "family_options": {"manifold": {"latent_dims": [1, 1]}}},
        "elliptical": {"families": ["gaussian_dense", "gaussian_sparse", "gaussian_lowrank", "student_t"],
                       "transforms": {"warp_asinh": 1, "linear": 1}, "max_chain": 1, "dx": [3, 32], "dy": [3, 32],
                       "n": [100, 8192], "mi_prior": [{"weight": 1, "low": 0.0, "high": 10.0}]},
    }
    rng = np.random.default_rng(args.seed)
    for name, cfg in groups.items():
        sampler = DatasetSampler(cfg)
        errors, core_errors, dims, fired = [], [], [], 0
        count = args.sets // 2 if name == "elliptical" else args.sets  # half: enough to see that it never fires
        for _ in range(count):
            s = sampler.sample(rng)
            summary = summarize(s.x, s.y)
            check = manifold_check(summary.scores, s.dx, summary.core_mi, summary.core_mi)
            if check.fallback:
                fired += 1
                errors.append(math.log1p(check.knn) - math.log1p(s.mi))
                core_errors.append(math.log1p(summary.core_mi) - math.log1p(s.mi))
                dims.append(check.dims["X"][0] + check.dims["Y"][0])
        print(f"{name}: the fallback fired on {fired} of {count} sets")
        if errors:
            e, c = np.array(errors), np.array(core_errors)
            q = np.quantile(e, [0.05, 0.25, 0.5, 0.75, 0.95])
            print(f"  KSG error in log(1 + nats): mean {e.mean():+.3f}, sd {e.std():.3f}, quantiles "
                  + " ".join(f"{v:+.3f}" for v in q))
            print(f"  the core's error there: mean {c.mean():+.3f}, mean abs {np.abs(c).mean():.3f} against KSG's {np.abs(e).mean():.3f}")
            d = np.array(dims)
            for lo, hi in ((0, 3), (3, 4), (4, 5), (5, 6.01)):
                at = (d > lo) & (d <= hi)
                if at.any():
                    print(f"  joint intrinsic dimension in ({lo}, {hi:g}], {at.sum()} sets: KSG error mean {e[at].mean():+.3f} "
                          f"(quantiles " + " ".join(f"{v:+.3f}" for v in np.quantile(e[at], [0.05, 0.25, 0.5, 0.75, 0.95]))
                          + f"), core {c[at].mean():+.3f}, midpoint mean abs {np.abs(0.5 * (e[at] + c[at])).mean():.3f} "
                          f"against KSG's {np.abs(e[at]).mean():.3f}")
            mid = 0.5 * (e + c)
            print(f"  their midpoint in log(1 + nats): mean {mid.mean():+.3f}, mean abs {np.abs(mid).mean():.3f}, quantiles "
                  + " ".join(f"{v:+.3f}" for v in np.quantile(mid, [0.05, 0.25, 0.5, 0.75, 0.95])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
