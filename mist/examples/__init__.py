"""Bundled example data with known mutual information (`mist estimate --example`, README quickstart).

The files are written by `scripts/make_example.py` from the parameters here; a test regenerates
them and checks that they match.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

__all__ = ["Example", "EXAMPLES", "GAUSSIAN"]


@dataclass(frozen=True)
class Example:
    """A bundled dataset.

    Attributes:
        name: short name.
        file: the file inside `mist/examples`.
        x, y: the column selections of X and Y (as `mist estimate --x --y` takes them).
        mi_nats: the exact mutual information of the distribution the rows were drawn from, nats.
        description: one line.
    """

    name: str
    file: str
    x: str
    y: str
    mi_nats: float
    description: str

    @property
    def path(self) -> Path:
        return Path(str(files("mist.examples"))) / self.file


# Canonical correlations of (X, Y): X = (u1, u2, u3) A, Y = (v1, v2) B with corr(u_i, v_i) = rho_i,
# u3 independent of everything and A, B invertible, so I(X;Y) = -1/2 sum_i log(1 - rho_i^2).
GAUSSIAN_RHO = (0.9, 0.6)
GAUSSIAN_N = 2000
GAUSSIAN_SEED = 20240601
GAUSSIAN = Example(
    name="gaussian",
    file="gaussian.csv",
    x="x1,x2,x3",
    y="y1,y2",
    mi_nats=-0.5 * sum(math.log1p(-r * r) for r in GAUSSIAN_RHO),
    description=f"{GAUSSIAN_N} samples of jointly Gaussian X (3 dims) and Y (2 dims), canonical correlations {GAUSSIAN_RHO}",
)
EXAMPLES = {GAUSSIAN.name: GAUSSIAN}
