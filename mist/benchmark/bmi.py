"""The BMI benchmark (Czyz et al., NeurIPS 2023, "Beyond normal"), an opt-in suite read from exported files.

BMI's 40 tasks (the paper's main table) are sampled by benchmark-mi, which needs jax; mist does not
depend on jax. So scripts/setup_bmi.sh makes a separate .venv-bmi, scripts/bmi_export.py (run in
it) writes the samples as one .npz per (task, n, seed) plus index.json, and this module only reads
them back (numpy, no jax, no bmi). The suite is opt-in: nothing else in mist needs these files.
"""

from __future__ import annotations

__all__ = ["BMICase", "load_bmi_cases", "export_command"]

import dataclasses
import json
import pathlib

import numpy as np

INDEX = "index.json"


def export_command(folder, n: list[int] | tuple[int, ...] = (1000, 5000),
                   seeds: list[int] | tuple[int, ...] = (0,)) -> str:
    """The shell command, run from the repository root, that writes the BMI files into `folder`."""
    return (f"bash scripts/setup_bmi.sh && .venv-bmi/bin/python scripts/bmi_export.py "
            f"--n {' '.join(map(str, n))} --seeds {' '.join(map(str, seeds))} --out {folder}")


@dataclasses.dataclass(frozen=True)
class BMICase:
    """One exported BMI dataset: a task sampled at n points with one seed.

    Attributes:
        task_id: BMI's task id, e.g. "multinormal-sparse-3-3-2-2.0"; task_name: its readable name.
        n: samples; seed: the seed of BMI's `task.sample(n, seed)`.
        dx, dy: dimensions of X and Y.
        mi_true: the task's exact mutual information (nats).
        path: the .npz file holding x and y.
        family: the paper's group of the task (one_dim, embeddings, multinormal, student, transformed).
    """

    task_id: str
    task_name: str
    n: int
    seed: int
    dx: int
    dy: int
    mi_true: float
    path: pathlib.Path
    family: str = ""

    @property
    def case_id(self) -> str:
        """'bmi/<task_id>/n<n>/s<seed>', unique among the cases of a folder."""
        return f"bmi/{self.task_id}/n{self.n}/s{self.seed}"

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """The samples: x (n, dx) and y (n, dy), float64.

        Raises:
            ValueError: the file's arrays do not have the shapes the index gives.
        """
        with np.load(self.path) as z:
            x, y = np.asarray(z["x"], dtype=np.float64), np.asarray(z["y"], dtype=np.float64)
        if x.shape != (self.n, self.dx) or y.shape != (self.n, self.dy):
            raise ValueError(f"{self.path}: x {x.shape}, y {y.shape}; the index says "
                             f"({self.n}, {self.dx}) and ({self.n}, {self.dy})")
        return x, y


def _as_set(values: int | list[int] | tuple[int, ...] | None) -> set[int] | None:
    if values is None:
        return None
    return {int(values)} if isinstance(values, (int, np.integer)) else {int(v) for v in values}


def load_bmi_cases(folder, n: int | list[int] | tuple[int, ...] | None = None,
                   seeds: int | list[int] | tuple[int, ...] | None = None) -> list[BMICase]:
    """The BMI cases exported into `folder`, in BMI's task order, then n, then seed.

    Only index.json is read here; each case's samples are read by `BMICase.load`.

    Args:
        folder: the folder `scripts/bmi_export.py --out` wrote (holds index.json and the .npz files).
        n: keep only these sample sizes (an int or several); None keeps all.
        seeds: keep only these seeds (an int or several); None keeps all.

    Returns:
        The cases, each with its exact MI in nats.

    Raises:
        FileNotFoundError: no index in `folder`, a file it lists is missing, or a requested n or
            seed was not exported; the message gives the command that exports them.
    """
    folder = pathlib.Path(folder)
    index = folder / INDEX
    ns, ss = _as_set(n), _as_set(seeds)

    def hint(all_n, all_seeds) -> str:
        return f"export them with:\n  {export_command(folder, sorted(ns or all_n), sorted(ss or all_seeds))}"

    if not index.is_file():
        raise FileNotFoundError(f"no BMI benchmark files in {folder} ({INDEX} missing): the BMI suite is opt-in and "
                                f"runs in its own environment (jax); {hint([1000, 5000], [0])}")
    entries = json.loads(index.read_text(encoding="utf-8"))["files"]
    have_n, have_seeds = {e["n"] for e in entries}, {e["seed"] for e in entries}
    missing = [f"n={v}" for v in sorted(ns or ()) if v not in have_n]
    missing += [f"seed={v}" for v in sorted(ss or ()) if v not in have_seeds]
    if missing:
        raise FileNotFoundError(f"no BMI files for {', '.join(missing)} in {folder}; {hint(have_n, have_seeds)}")
    cases = [BMICase(str(e["task_id"]), str(e["task_name"]), int(e["n"]), int(e["seed"]), int(e["dx"]), int(e["dy"]),
                     float(e["mi_true"]), folder / e["file"], str(e.get("family", "")))
             for e in entries if (ns is None or e["n"] in ns) and (ss is None or e["seed"] in ss)]
    absent = [c.path.name for c in cases if not c.path.is_file()]
    if absent:
        raise FileNotFoundError(f"{len(absent)} files listed in {index} are missing (e.g. {absent[0]}); "
                                f"{hint(have_n, have_seeds)}")
    return cases
