"""Write the bundled example `mist/examples/gaussian.csv` and its README (deterministic).

    python scripts/make_example.py            # rewrite mist/examples/
    python scripts/make_example.py --out DIR  # write elsewhere (the tests compare the two)

X = (u1, u2, u3) A and Y = (v1, v2) B, with (u_i, v_i) standard bivariate normal pairs of
correlation rho_i, u3 independent, and A, B fixed random invertible matrices: the MI is that
of the canonical pairs, -1/2 sum_i log(1 - rho_i^2) nats, whatever A and B are.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from mist.examples import GAUSSIAN, GAUSSIAN_N, GAUSSIAN_RHO, GAUSSIAN_SEED

OUT = Path(__file__).resolve().parents[1] / "mist" / "examples"


def gaussian_sample() -> tuple[np.ndarray, np.ndarray]:
    """(x (n, 3), y (n, 2)) of the Gaussian example."""
    rng = np.random.default_rng(GAUSSIAN_SEED)
    rho = np.array(GAUSSIAN_RHO)
    u = rng.standard_normal((GAUSSIAN_N, 3))
    v = rho * u[:, :2] + np.sqrt(1 - rho**2) * rng.standard_normal((GAUSSIAN_N, 2))
    a = rng.standard_normal((3, 3)) + 2 * np.eye(3)  # invertible (checked below)
    b = rng.standard_normal((2, 2)) + 2 * np.eye(2)
    assert min(abs(np.linalg.det(a)), abs(np.linalg.det(b))) > 0.1
    return u @ a, v @ b


def write(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    x, y = gaussian_sample()
    table = np.hstack([x, y])
    path = out / GAUSSIAN.file
    with open(path, "w", newline="\n") as f:
        f.write(",".join(["x1", "x2", "x3", "y1", "y2"]) + "\n")
        for row in table:
            f.write(",".join(f"{v:.6g}" for v in row) + "\n")
    mi = GAUSSIAN.mi_nats
    (out / "README.md").write_text(
        f"""# Example data

`{GAUSSIAN.file}`: {GAUSSIAN.description}. Columns `x1,x2,x3` are X and `y1,y2` are Y.

X = (u1, u2, u3) A and Y = (v1, v2) B, where (u1, v1) and (u2, v2) are standard bivariate
normal pairs with correlations {GAUSSIAN_RHO[0]} and {GAUSSIAN_RHO[1]}, u3 is independent noise,
and A (3 x 3) and B (2 x 2) are fixed random invertible matrices, which leave MI unchanged. The
exact mutual information of the distribution is

    I(X;Y) = -1/2 [log(1 - {GAUSSIAN_RHO[0]}^2) + log(1 - {GAUSSIAN_RHO[1]}^2)] = {mi:.4f} nats = {mi / math.log(2):.4f} bits.

A sample of {GAUSSIAN_N} rows estimates it up to sampling error (a few hundredths of a nat).

    mist estimate --example
    mist estimate {GAUSSIAN.file} --x x1,x2,x3 --y y1,y2

Made by `python scripts/make_example.py` (seed {GAUSSIAN_SEED}); values rounded to 6 significant digits.
"""
    )
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=OUT, help="destination folder (default: mist/examples)")
    path = write(p.parse_args().out)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} kB), exact MI {GAUSSIAN.mi_nats:.4f} nats")


if __name__ == "__main__":
    main()
