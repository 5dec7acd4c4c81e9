"""Does a group of evidence features tell where the classical core misses? An offline ablation.

    python scripts/ablate_features.py                      # 1,200 sets where users measure
    python scripts/ablate_features.py --sets 600 --generators users --out ablation.json

The gate of the network must close where mist's elliptical core is right and open where it is
not, and it can only see what the features (and the attention) show. This script measures
what the features alone can tell, before any network is trained on them: it draws fresh sets
(half from each generator config, default `users` and `users_elliptical`: n 1,000-8,192, up to
3 nats, any dims), summarises each (`mist.stats.summarize`), and cross-validates a
gradient-boosted classifier (scikit-learn, 5 folds) of two targets:
- "core misses": |log(1 + core) - log(1 + MI)| > 2 se + 0.05 (the gate's training target,
  `mist.model.gate_target` at `refine_cpu`'s tolerance);
- "elliptical": the set's copula is elliptical (`data_gen.elliptical_copula`).
For each, it reports the AUC and accuracy with the first K features (K from `--prefixes`,
default 24: the features of the releases before the fitted-model check) and with all of them,
and the cost of a summary per set. A feature group earns its place when it raises these here
and then lowers the network's held-out error once trained (`scripts/select_release.py`).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
from rich.progress import track
from threadpoolctl import threadpool_limits

from data_gen import elliptical_copula, make_sampler
from mist.benchmark.cases import load_generator
from mist.stats import FEATURE_NAMES, summarize


def draw(generators: list[str], count: int, seed: int) -> tuple[dict[str, np.ndarray], float]:
    """Features and labels of `count` fresh sets, alternating between the generators, and the
    seconds one summary takes on average."""
    samplers = [make_sampler(load_generator(g)) for g in generators]
    rng = np.random.default_rng(seed)
    feats, misses, ellip, seconds = [], [], [], 0.0
    with threadpool_limits(1):  # as the estimator computes them
        for i in track(range(count), description="summarising sets", transient=True):
            s = samplers[i % len(samplers)].sample(rng)
            t0 = time.perf_counter()
            summary = summarize(s.x, s.y)
            seconds += time.perf_counter() - t0
            core, se = summary.core_mi, summary.fit.se / (1.0 + summary.core_mi)
            misses.append(abs(math.log1p(core) - math.log1p(s.mi)) > 2.0 * se + 0.05)
            ellip.append(elliptical_copula(s.family, s.transform))
            feats.append(summary.features)
    data = {"features": np.array(feats), "core misses": np.array(misses, int), "elliptical": np.array(ellip, int)}
    return data, seconds / max(1, count)


def cross_validated(features: np.ndarray, target: np.ndarray, seed: int) -> dict[str, float]:
    """AUC and accuracy of a gradient-boosted classifier, out of fold."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=seed)
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    p = cross_val_predict(model, features, target, cv=folds, method="predict_proba")[:, 1]
    return {"auc": float(roc_auc_score(target, p)), "accuracy": float(np.mean((p > 0.5) == target))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sets", type=int, default=1200, help="fresh sample sets")
    p.add_argument("--generators", nargs="+", default=["users", "users_elliptical"],
                   help="generator configs (names in configs/generator/ or YAML paths), drawn in turn")
    p.add_argument("--prefixes", type=int, nargs="+", default=[24],
                   help="also score the first K features only, for each K (the ablation)")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--out", help="also write the table as JSON here")
    a = p.parse_args()
    data, seconds = draw(a.generators, a.sets, a.seed)
    sizes = sorted({*(k for k in a.prefixes if 0 < k < len(FEATURE_NAMES)), len(FEATURE_NAMES)})
    rows = []
    for target in ("core misses", "elliptical"):
        y = data[target]
        for k in sizes:
            rows.append({"target": target, "features": k, "last": FEATURE_NAMES[k - 1],
                         **cross_validated(data["features"][:, :k], y, a.seed), "base_rate": float(y.mean())})
    print(f"{a.sets} sets from {', '.join(a.generators)} (seed {a.seed}); summary "
          f"{1000 * seconds:.0f} ms per set on one thread\n")
    print("| target | features | AUC | accuracy | base rate |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['target']} | first {r['features']} (to {r['last']}) | {r['auc']:.3f} | {r['accuracy']:.3f} | "
              f"{r['base_rate']:.2f} |")
    if a.out:
        Path(a.out).write_text(json.dumps({"sets": a.sets, "generators": a.generators, "seed": a.seed,
                                           "seconds_per_set": seconds, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
