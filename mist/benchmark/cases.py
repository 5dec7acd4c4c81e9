"""The test cases: every suite x n x (dx, dy) x target MI x seed, drawn from the generator with exact MI.

To hit a grid of true MI, each case restricts its suite's label prior to a narrow band around the
target (`Grid.band`); the label is still the exact MI of the distribution drawn, recorded as
`true_mi`, and errors are measured against it. A cell is dropped (and reported) when no family
of its suite can carry that much MI at those dimensions (`Family.max_mi`, 8 nats per coordinate
pair by default).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from functools import cache, partial
from typing import Any

from data_gen import FAMILIES, DatasetSampler, GeneratorConfig, SampleSet, make_sampler
from mist.benchmark.config import BenchmarkConfig, Suite, generator_path
from mist.contract import Case

__all__ = ["DroppedCell", "build_cases", "case_generator", "data_seed", "draw_grid_case", "load_generator", "suite_generator"]


@dataclasses.dataclass(frozen=True)
class DroppedCell:
    """A grid cell no family of the suite can reach: (suite, dx, dy, mi_target) and why."""

    suite: str
    dx: int
    dy: int
    mi_target: float
    reason: str


def data_seed(master: int, key: str) -> int:
    """A 63-bit seed from the master seed and a case key: stable across runs, machines and orders."""
    digest = hashlib.sha256(f"{master}|{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


@cache
def load_generator(generator: str) -> dict[str, Any]:
    """A generator config file as a plain dict; one with a Hydra defaults list is composed.
    A mixture (the key 'mixture', e.g. train_users) is checked by building its sampler."""
    from omegaconf import OmegaConf

    path = generator_path(generator)
    raw = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    if isinstance(raw, dict) and "defaults" in raw:
        from hydra import compose, initialize_config_dir

        # in a config tree: composed from its root, as training does, so that defaults naming
        # other generators by their group path (/generator@...) resolve
        in_tree = path.parent.name == "generator"
        root, name = (path.parent.parent, f"generator/{path.stem}") if in_tree else (path.parent, path.stem)
        with initialize_config_dir(config_dir=str(root.resolve()), version_base="1.3"):
            raw = OmegaConf.to_container(compose(config_name=name), resolve=True)
        if in_tree:
            raw = raw["generator"]
    if isinstance(raw, dict) and "mixture" in raw:
        make_sampler(raw)  # raises on a bad component
        return raw
    return GeneratorConfig.from_dict(raw).to_dict()


def suite_generator(suite: Suite) -> dict[str, Any]:
    """The suite's generator config as a plain dict, with its overrides applied (validated)."""
    cfg = {**load_generator(suite.generator), **dict(suite.overrides)}
    return GeneratorConfig.from_dict(cfg).to_dict()


def case_generator(base: dict[str, Any], n: int, dx: int, dy: int, low: float, high: float) -> dict[str, Any] | str:
    """The generator config of one case: fixed n and dims, the MI prior a single band [low, high].

    Families that cannot carry more than `low` nats at (dx, dy) are left out.

    Returns:
        The config dict, or a sentence saying why no family can draw this case.
    """
    per_dim = float(base["max_mi_per_dim"])
    families = {f: w for f, w in base["families"].items() if FAMILIES[f].max_mi(dx, dy, per_dim) > low}
    if not families:
        return (f"no family of the suite carries {low:g} nats or more at dx={dx}, dy={dy} "
                f"(max {max(FAMILIES[f].max_mi(dx, dy, per_dim) for f in base['families']):g} nats)")
    return {**base, "families": families, "n": n, "dx": dx, "dy": dy,
            "mi_prior": [{"weight": 1.0, "low": low, "high": high}]}


def build_cases(cfg: BenchmarkConfig) -> tuple[list[Case], list[DroppedCell]]:
    """Every case of the grid, in a fixed order (suite, n, dims, MI, seed), and the cells dropped.

    Returns:
        (cases, dropped cells). Only the definitions: no samples are drawn here.
    """
    cases, dropped = [], []
    for suite in cfg.suites:
        base = suite_generator(suite)
        for n, (dx, dy), m in itertools.product(cfg.grid.n, cfg.grid.dims, cfg.grid.mi):
            low, high = cfg.grid.band(m)
            gen = case_generator(base, n, dx, dy, low, high)
            if isinstance(gen, str):
                if n == cfg.grid.n[0]:
                    dropped.append(DroppedCell(suite.name, dx, dy, m, gen))
                continue
            for s in range(cfg.seeds):
                case_id = f"{suite.name}/n{n}/d{dx}x{dy}/mi{m:g}/s{s}"
                seed = data_seed(cfg.seed, case_id)
                cases.append(Case(case_id, "", n, dx, dy, None, partial(draw_grid_case, suite, n, dx, dy, low, high, seed),
                                  suite=suite.name, heldout=suite.heldout, seed=seed,
                                  meta={"mi_target": float(m), "mi_low": low, "mi_high": high, "seed_index": s}))
    return cases, dropped


def draw_grid_case(suite: Suite, n: int, dx: int, dy: int, low: float, high: float, seed: int) -> SampleSet:
    """The samples of one grid case: x (n, dx) float32, y (n, dy) float32, exact MI in nats (within
    [low, high]), family, transform; regenerated exactly from `seed`."""
    gen = case_generator(suite_generator(suite), n, dx, dy, low, high)
    if isinstance(gen, str):  # pragma: no cover - build_cases drops these
        raise ValueError(gen)
    return DatasetSampler(gen).sample_seeded(seed, n=n, dx=dx, dy=dy)
