"""Reading the exported BMI benchmark (mist.benchmark.bmi) from fake files: no jax, no .venv-bmi needed."""

import ast
import json
import pathlib

import numpy as np
import pytest

from mist.benchmark.bmi import BMICase, export_command, load_bmi_cases

ROOT = pathlib.Path(__file__).resolve().parents[1]
TASKS = [("1v1-normal-0.75", "Bivariate normal 1 × 1", "one_dim", 1, 1, 0.4133),
         ("multinormal-sparse-3-3-2-2.0", "Multinormal 3 × 3 (2-pair)", "multinormal", 3, 3, 1.0217)]


def _export(folder: pathlib.Path, ns=(100, 200), seeds=(0, 1)) -> pathlib.Path:
    """Files in the layout of scripts/bmi_export.py: one .npz per (task, n, seed) and index.json."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for task_id, name, family, dx, dy, mi in TASKS:
        for n in ns:
            for seed in seeds:
                rng = np.random.default_rng([n, seed, dx])
                file = f"{task_id}__n{n}__s{seed}.npz"
                np.savez(folder / file, x=rng.normal(size=(n, dx)), y=rng.normal(size=(n, dy)), mi_true=mi,
                         task_id=task_id, task_name=name, family=family, n=n, seed=seed, task_params="{}")
                files.append({"file": file, "task_id": task_id, "task_name": name, "family": family, "n": n,
                              "seed": seed, "dx": dx, "dy": dy, "mi_true": mi})
    (folder / "index.json").write_text(json.dumps({"mi_unit": "nats", "files": files}), encoding="utf-8")
    return folder


def test_loads_every_case_in_index_order(tmp_path):
    cases = load_bmi_cases(_export(tmp_path / "bmi"))
    assert len(cases) == 2 * 2 * 2
    expected = [("1v1-normal-0.75", n, s) for n in (100, 200) for s in (0, 1)]
    assert [(c.task_id, c.n, c.seed) for c in cases[:4]] == expected
    case = cases[-1]
    assert case == BMICase("multinormal-sparse-3-3-2-2.0", "Multinormal 3 × 3 (2-pair)", 200, 1, 3, 3, 1.0217,
                           tmp_path / "bmi" / "multinormal-sparse-3-3-2-2.0__n200__s1.npz", "multinormal")
    assert case.case_id == "bmi/multinormal-sparse-3-3-2-2.0/n200/s1"
    with pytest.raises(AttributeError):
        case.n = 5  # frozen
    x, y = case.load()
    assert x.shape == (200, 3) and y.shape == (200, 3) and x.dtype == y.dtype == np.float64
    np.testing.assert_array_equal(x, np.load(case.path)["x"])


def test_filters_by_n_and_seed(tmp_path):
    folder = _export(tmp_path / "bmi")
    assert {(c.n, c.seed) for c in load_bmi_cases(folder, n=100)} == {(100, 0), (100, 1)}
    assert {(c.n, c.seed) for c in load_bmi_cases(folder, seeds=1)} == {(100, 1), (200, 1)}
    both = load_bmi_cases(folder, n=[200], seeds=(0,))
    assert [(c.task_id, c.n, c.seed) for c in both] == [(t[0], 200, 0) for t in TASKS]
    assert len(load_bmi_cases(folder, n=(100, 200), seeds=[0, 1])) == 8


def test_missing_folder_names_the_export_command(tmp_path):
    for folder in (tmp_path / "nowhere", tmp_path):  # no folder; a folder without index.json
        with pytest.raises(FileNotFoundError) as err:
            load_bmi_cases(folder)
        msg = str(err.value)
        assert "index.json" in msg and str(folder) in msg
        assert "bash scripts/setup_bmi.sh && .venv-bmi/bin/python scripts/bmi_export.py" in msg


def test_unexported_n_or_seed_is_an_error_with_the_command(tmp_path):
    folder = _export(tmp_path / "bmi")
    with pytest.raises(FileNotFoundError, match=r"(?s)n=5000.*--n 100 5000 --seeds 0 1"):
        load_bmi_cases(folder, n=[100, 5000])
    with pytest.raises(FileNotFoundError, match=r"seed=7"):
        load_bmi_cases(folder, seeds=7)


def test_file_missing_from_index_is_an_error(tmp_path):
    folder = _export(tmp_path / "bmi")
    (folder / "1v1-normal-0.75__n100__s1.npz").unlink()
    with pytest.raises(FileNotFoundError, match="1v1-normal-0.75__n100__s1.npz"):
        load_bmi_cases(folder)
    assert len(load_bmi_cases(folder, n=200)) == 4  # the other n is complete


def test_load_checks_shapes_against_the_index(tmp_path):
    case = load_bmi_cases(_export(tmp_path / "bmi"), n=100)[0]
    with pytest.raises(ValueError, match="the index says"):
        BMICase(case.task_id, case.task_name, case.n, case.seed, 2, case.dy, case.mi_true, case.path).load()


def test_export_command():
    assert export_command(".cache/bmi", [1000], [0, 1]) == (
        "bash scripts/setup_bmi.sh && .venv-bmi/bin/python scripts/bmi_export.py --n 1000 --seeds 0 1 --out .cache/bmi")


def test_module_needs_neither_jax_nor_bmi():
    """mist must not depend on jax: the reader imports only numpy and the standard library."""
    tree = ast.parse((ROOT / "mist" / "benchmark" / "bmi.py").read_text(encoding="utf-8"))
    imported = {a.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "dataclasses", "json", "pathlib", "numpy"}


@pytest.mark.skipif(not (ROOT / ".cache" / "bmi" / "index.json").is_file(), reason="BMI not exported (opt-in)")
def test_real_export_has_the_40_tasks():
    """Only where scripts/bmi_export.py has run: the paper's 40 tasks, exact MI within BMI's range."""
    cases = load_bmi_cases(ROOT / ".cache" / "bmi")
    first_n = cases[0].n
    tasks = {c.task_id: c for c in cases if c.n == first_n and c.seed == cases[0].seed}
    assert len(tasks) == 40
    assert all(0.1 < c.mi_true < 2 for c in tasks.values())
    x, y = tasks["multinormal-dense-50-50-0.5"].load()
    assert x.shape == (first_n, 50) and y.shape == (first_n, 50) and np.isfinite(x).all()


def test_the_benchmark_runs_the_chosen_seeds_of_each_task(tmp_path):
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parents[1]
    folder = _export(tmp_path / "bmi", ns=(100,), seeds=(0, 1, 2))
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, str(root / "scripts" / "benchmark.py"), "--suite", "bmi", "--bmi-dir",
                           str(folder), "--n", "100", "--bmi-seeds", "0", "2", "--estimators", "core",
                           "--out", str(out), "--no-progress"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    cases = (out / "rows.csv").read_text().splitlines()[1:]
    assert len(cases) == 2 * len(TASKS) and {c.split(",")[0].rsplit("/", 1)[1] for c in cases} == {"s0", "s2"}


def test_the_release_suite_runs_every_suite_on_one_checkpoint_and_writes_the_goals(tmp_path):
    """--suite release: BMI (mist and the core), the warped Gaussians (mist and the copula) and
    the grid (mist and the copula) into their folders, and goals.md with every goal met or not."""
    import subprocess
    import sys

    from mist.model import MISTNetwork, NetworkConfig
    from mist.release import save_release

    root = pathlib.Path(__file__).resolve().parents[1]
    folder = _export(tmp_path / "bmi", ns=(100,), seeds=(0,))
    net = MISTNetwork(NetworkConfig(hidden=8, sample_hidden=8, heads=2, blocks=1, sample_blocks=1, inducing_points=2))
    save_release(net, {"trained_ranges": {"n": [16, 4096], "dx": [1, 20], "dy": [1, 20], "mi": [0, 40]}}, tmp_path / "tiny")
    out = tmp_path / "release"
    done = subprocess.run([sys.executable, str(root / "scripts" / "benchmark.py"), "--suite", "release", "--bmi-dir",
                           str(folder), "--n", "100", "--bmi-seeds", "0", "--config", "tiny", "--checkpoint",
                           str(tmp_path / "tiny"), "--out", str(out), "--no-progress", "--no-plots"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    bmi = (out / "bmi" / "rows.csv").read_text().splitlines()
    assert len(bmi) == 1 + 2 * len(TASKS) and {line.split(",")[6] for line in bmi[1:]} == {"mist", "core"}
    gauss = (out / "gaussian" / "rows.csv").read_text().splitlines()
    assert {line.split(",")[6] for line in gauss[1:]} == {"mist", "gaussian_copula"}
    assert "gaussian_copula" in (out / "grid" / "estimates.csv").read_text()
    goals = (out / "goals.md").read_text()
    # n = 100 only: the BMI goals at n = 5,000 are reported as not met, never skipped
    assert "| bmi | n = 5000 | no mist rows | - | **no** |" in goals
    assert goals.count("| gaussian |") == 5 and "| grid | MAE held out" in goals and "goals met" in goals
