"""Fit the one-pair rank-noise model (mist.stats.elliptical.RANK_NOISE, RANK_NOISE_T; their ratio
is the Student-t scatter's share of the core's simulated rank noise), and check the simulated
correction itself (--families).

    python scripts/fit_rank_noise.py                  # seconds on one core
    python scripts/fit_rank_noise.py --reps 200 --plot rank_noise.png
    python scripts/fit_rank_noise.py --student-t      # RANK_NOISE_T, about two minutes
    python scripts/fit_rank_noise.py --families       # the simulated correction on mixed pairs, minutes

Normal scores are functions of ranks, so the correlation they read near rho = 1 carries the
noise of neighbouring ranks swapping, and the Gaussian MI of a canonical pair reads low (about
-0.14 nats at 4 nats and n = 1,000). This draws bivariate Gaussian copulas over a grid of n and
MI, reads the normal-score correlation as the core does, fits the one constant k of the model in
`rank_noise_correction` by least squares on the mean bias per cell, and prints the bias per cell
before and after the correction (with k fitted and with the shipped RANK_NOISE).

--student-t fits RANK_NOISE_T instead, the constant for the Student-t scatter the core uses at a
finite nu: t copulas (nu 2, 4, 8) and Gaussian ones (near rho = 1 rank noise can make Gaussian
data choose a finite nu), every draw whose fit chose a finite nu, cells beyond what the rows
resolve (n exp(-MI) < T_RESOLVED_SPREAD) left out.

--families checks the correction the core's Gaussian branch uses, `simulated_rank_spread`, where
the one-pair model does not apply: data_gen's Gaussian families (dense: every coordinate mixes
every shared variate; sparse; low-rank) over dims, MI and n. It prints the mean error and its
spread per cell, and the mean absolute error overall, for the one-pair model (RANK_NOISE) and
for the core as it is (simulated rank noise), on the same draws.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from scipy.optimize import minimize_scalar

from mist.numerics.student_t import t_correction
from mist.numerics.linalg import canonical_correlations_of, correlation, nearest_correlation
from mist.stats.elliptical import (
    RANK_NOISE,
    RANK_NOISE_T,
    T_RESOLVED_SPREAD,
    eigen_floor,
    fit_elliptical,
    rank_noise_correction,
    wishart_bias,
)
from mist.stats.scores import normal_scores

N_GRID = (64, 256, 1000, 4000)
MI_GRID = (0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0)


def read_rho(rng: np.random.Generator, n: int, mi: float, reps: int) -> np.ndarray:
    """|normal-score correlation| of `reps` bivariate Gaussian samples of n rows at pair MI `mi`."""
    rho = np.sqrt(-np.expm1(-2.0 * mi))
    out = np.empty(reps)
    cap = np.sqrt(1.0 - eigen_floor(n))  # the core never reads beyond its eigenvalue floor
    for i in range(reps):
        x = rng.standard_normal(n)
        y = rho * x + np.sqrt(1.0 - rho**2) * rng.standard_normal(n)
        z = normal_scores(np.stack([x, y], axis=1))
        out[i] = min(abs(correlation(z)[0, 1]), cap)
    return out


def mean_bias(reads: dict, k: float) -> dict:
    """Mean corrected pair MI minus the truth, per (n, mi) cell."""
    return {(n, mi): float(np.mean(-np.log(rank_noise_correction(r, n, k))) - mi) for (n, mi), r in reads.items()}


T_N_GRID = (256, 1000, 4000)
T_MI_GRID = (1.0, 2.0, 3.0, 4.0, 5.0)
T_NU = (2.0, 4.0, 8.0, math.inf)


def t_fits(rng: np.random.Generator, reps: int) -> dict:
    """Per (nu, n, Gaussian-term MI) cell: (true MI, [(canonical rhos, t correction)] of the draws
    whose core chose a finite nu)."""
    cells = {}
    for nu in T_NU:
        for n in T_N_GRID:
            for mi in T_MI_GRID:
                if n * math.exp(-mi) < T_RESOLVED_SPREAD:
                    continue
                rho = math.sqrt(-math.expm1(-2.0 * mi))
                fits = []
                for _ in range(reps):
                    g = rng.standard_normal((n, 2))
                    g[:, 1] = rho * g[:, 0] + math.sqrt(1.0 - rho**2) * g[:, 1]
                    if math.isfinite(nu):
                        g = g * np.sqrt(nu / rng.chisquare(nu, n))[:, None]
                    fit = fit_elliptical(normal_scores(g), 1)
                    if math.isfinite(fit.nu):
                        fits.append((fit.rho, fit.correction))
                if fits:
                    cells[(nu, n, mi)] = (mi + (t_correction(nu, 1, 1) if math.isfinite(nu) else 0.0), fits)
    return cells


def t_bias(cells: dict, k: float) -> dict:
    """Mean core MI minus the truth per cell, the t scatter's pairs corrected with constant k."""
    out = {}
    for (nu, n, mi), (true, fits) in cells.items():
        reads = [float(-np.log(rank_noise_correction(rho, n, k, T_RESOLVED_SPREAD)).sum()) - wishart_bias(n - 1, 1, 1) + c
                 for rho, c in fits]
        out[(nu, n, mi)] = float(np.mean(reads)) - true
    return out


def fit_student_t(rng: np.random.Generator, reps: int) -> None:
    cells = t_fits(rng, reps)
    fit = minimize_scalar(lambda k: sum(v * v for v in t_bias(cells, k).values()), bounds=(0.0, 3.0), method="bounded")
    tables = {"uncorrected": t_bias(cells, 0.0), f"k = {fit.x:.3f} (fitted)": t_bias(cells, fit.x),
              f"k = {RANK_NOISE_T} (shipped)": t_bias(cells, RANK_NOISE_T)}
    print("mean bias of the core on draws that chose a finite nu, nats (nu, n, Gaussian-term MI)")
    print(" " * 24 + " ".join(f"{name[:18]:>18}" for name in tables))
    for key in sorted(cells, key=lambda c: (-1 if math.isinf(c[0]) else c[0], c[1], c[2])):
        print(f"  {key!s:<22}" + " ".join(f"{t[key]:+18.3f}" for t in tables.values()))
    for name, t in tables.items():
        print(f"{name}: mean {np.mean(list(t.values())):+.3f}, largest |bias| {max(abs(v) for v in t.values()):.3f}")


FAMILY_CELLS = ((1, 1, 4.0), (2, 2, 3.0), (2, 2, 6.0), (3, 3, 1.0), (3, 3, 6.0), (5, 5, 6.0), (3, 12, 6.0),
                (10, 10, 1.0), (10, 10, 6.0))  # (dx, dy, MI in nats)
FAMILY_N = (300, 1000, 5000, 20000)


def check_families(rng: np.random.Generator, reps: int) -> None:
    from data_gen.families.gaussian import (
        GaussianDense,
        GaussianLowRank,
        GaussianSparse,
    )

    print("core MI minus the truth, nats: mean (sd) over draws; one-pair model | simulated rank noise")
    for family in (GaussianDense(), GaussianSparse(), GaussianLowRank()):
        errors = {"one-pair": [], "simulated": []}
        for dx, dy, mi in FAMILY_CELLS:
            for n in FAMILY_N:
                one, sim = [], []
                for _ in range(reps):
                    joint = family.draw(rng, dx, dy, mi, 5.0, dict(family.defaults))
                    x, y = joint.sample(rng, n)
                    z = normal_scores(np.hstack([x, y]))
                    r = nearest_correlation(correlation(z), eigen_floor(n))
                    rho = canonical_correlations_of(r, dx)
                    one.append(float(-np.log(rank_noise_correction(rho, n)).sum()) - wishart_bias(n - 1, dx, dy) - joint.mi)
                    sim.append(fit_elliptical(z, dx).mi - joint.mi)
                errors["one-pair"].append(np.mean(np.abs(one)))
                errors["simulated"].append(np.mean(np.abs(sim)))
                print(f"  {family.name:<16} {dx:>2} + {dy:<2} {mi:3.0f} nats  n = {n:>5}  "
                      f"{np.mean(one):+6.3f} ({np.std(one):.3f}) | {np.mean(sim):+6.3f} ({np.std(sim):.3f})", flush=True)
        print(f"{family.name}: mean absolute error, one-pair {np.mean(errors['one-pair']):.3f}, "
              f"simulated {np.mean(errors['simulated']):.3f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=60, help="samples per (n, MI) cell")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", help="also write the bias per cell, before and after, to this PNG")
    p.add_argument("--student-t", action="store_true", help="fit RANK_NOISE_T, the Student-t scatter's constant")
    p.add_argument("--families", action="store_true",
                   help="check the simulated rank-noise correction on data_gen's Gaussian families")
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    if a.families:
        check_families(rng, max(1, a.reps // 15))
        return
    if a.student_t:
        fit_student_t(rng, max(1, a.reps // 6))
        return
    reads = {(n, mi): read_rho(rng, n, mi, a.reps) for n in N_GRID for mi in MI_GRID}
    fit = minimize_scalar(lambda k: sum(v * v for v in mean_bias(reads, k).values()), bounds=(0.0, 5.0), method="bounded")
    tables = {"uncorrected": mean_bias(reads, 0.0), f"k = {fit.x:.3f} (fitted)": mean_bias(reads, fit.x),
              f"k = {RANK_NOISE} (shipped)": mean_bias(reads, RANK_NOISE)}
    print("mean bias of the pair MI, nats; columns: true MI " + " ".join(f"{mi:>6}" for mi in MI_GRID))
    for name, bias in tables.items():
        print(name)
        for n in N_GRID:
            print(f"  n = {n:>5}  " + " ".join(f"{bias[(n, mi)]:+6.3f}" for mi in MI_GRID))
    if a.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, len(tables), figsize=(4 * len(tables), 3.5), sharey=True)
        for ax, (name, bias) in zip(axes, tables.items()):
            for n in N_GRID:
                ax.plot(MI_GRID, [bias[(n, mi)] for mi in MI_GRID], marker="o", label=f"n = {n}")
            ax.axhline(0.0, color="k", lw=0.5)
            ax.set(title=name, xlabel="true pair MI (nats)")
        axes[0].set_ylabel("mean bias (nats)")
        axes[0].legend()
        fig.tight_layout()
        fig.savefig(a.plot, dpi=120)
        print(f"wrote {a.plot}")


if __name__ == "__main__":
    main()
