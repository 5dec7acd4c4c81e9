"""Does a side that is a smooth function of a few latent dimensions ever read far too high silently?

Runs the shipped (or given) release on the manifold kind of the held-out structures suite
(`mist.benchmark.structures`: 1-4-dim latents in 16-256 columns through two-layer ReLU maps,
n = 1,000 and 5,000) and lists every case read more than --margin nats above the truth, with
whether the manifold warning came with it. Exit status 1 if any came without.

    python scripts/check_manifold_warnings.py
"""

from __future__ import annotations

import argparse
import warnings


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="release checkpoint (default: the shipped one)")
    p.add_argument("--margin", type=float, default=1.0, help="nats above the truth that must not pass silently")
    args = p.parse_args(argv)
    import mist
    from mist.benchmark.structures import structure_cases

    warnings.simplefilter("ignore", mist.MISTWarning)
    est = mist.MIEstimator.from_pretrained(args.checkpoint)
    over = silent = 0
    cases = structure_cases(kinds=["manifold"])
    for c in cases:
        x, y = c.load()
        r = est.estimate(x, y)
        if r.mi > c.mi + args.margin:
            over += 1
            warned = any("latent dimensions" in w for w in r.warnings)
            silent += not warned
            print(f"{c.case_id:28s} truth {c.mi:.2f}  read {r.mi:.2f}  {'warned' if warned else 'NO WARNING'}")
    print(f"{len(cases)} cases, {over} read more than {args.margin:g} nats above the truth, {silent} of them without the warning")
    return 1 if silent else 0


if __name__ == "__main__":
    raise SystemExit(main())
