"""The benchmark suite on its tiny configuration: it runs end to end and writes well-formed outputs.

Never a timing test: times and memory are only checked to be numbers where they should be.
"""

import csv
import importlib.util
import json
import math
import pathlib

import pytest

from mist.benchmark import BenchmarkConfig, build_cases, load_config
from mist.benchmark.report import PLOTS
from mist.benchmark.records import row_fields
from mist.model import MISTNetwork, NetworkConfig
from mist.release import save_release

ROOT = pathlib.Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _script():
    spec = importlib.util.spec_from_file_location("benchmark_script", ROOT / "scripts" / "benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny, untrained release checkpoint: the suite's mechanics, not the model's accuracy."""
    path = tmp_path_factory.mktemp("ckpt") / "tiny"
    net = MISTNetwork(NetworkConfig(hidden=16, sample_hidden=16, heads=2, blocks=1, sample_blocks=1))
    training = {"generator": {"families": {"gaussian_dense": 1.0, "student_t": 1.0}, "transforms": {"linear": 1.0}}}
    save_release(net, {"trained_ranges": {"n": [16, 4096], "dx": [1, 20], "dy": [1, 20], "mi": [0, 40]},
                       "training": training}, path)
    return path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, checkpoint):
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("bench") / "tiny"
    status = _script().main(["--config", "tiny", "--out", str(out), "--checkpoint", str(checkpoint), "--no-progress"])
    assert status == 0
    return out, load_config("tiny")


def test_tiny_run_writes_every_output(tiny_run):
    out, _ = tiny_run
    for name in ("estimates.csv", "estimates.json", "estimates.jsonl", "metrics.csv", "coverage.csv", "summary.md",
                 "meta.json", "config.yaml", *PLOTS):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name


def test_csv_has_one_row_per_case_and_estimator(tiny_run):
    out, cfg = tiny_run
    with open(out / "estimates.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == row_fields(cfg.levels)
        rows = list(reader)
    cases, _ = build_cases(cfg)
    names = [e.name for e in cfg.estimators]
    assert len(rows) == len(cases) * len(names)
    assert {(r["case_id"], r["estimator"]) for r in rows} == {(c.case_id, n) for c in cases for n in names}
    for r in rows:
        assert r["status"] in ("ok", "skipped"), (r["estimator"], r["note"])
        if r["status"] == "ok":
            estimate, true_mi = float(r["estimate"]), float(r["true_mi"])
            assert math.isfinite(estimate) and true_mi >= 0
            assert float(r["error"]) == pytest.approx(estimate - true_mi)
            assert float(r["seconds"]) >= 0 and float(r["peak_mb"]) >= 0
        else:
            assert r["estimate"] == "" and r["note"]
    mist_rows = [r for r in rows if r["estimator"] == "mist"]
    assert all(r["status"] == "ok" and r["interval"] == "quantiles" for r in mist_rows)
    for r in mist_rows:  # quantiles of every level, ascending
        qs = [float(r[f"q{q:g}"]) for q in cfg.levels]
        assert qs == sorted(qs)
    # the neural baselines are skipped by rule above n = 100, with the reason recorded
    skipped = [r for r in rows if r["status"] == "skipped"]
    assert skipped and all(int(r["n"]) > 100 and "n > 100" in r["note"] for r in skipped)


def test_json_matches_csv(tiny_run):
    out, cfg = tiny_run
    data = json.loads((out / "estimates.json").read_text())
    assert data["columns"] == row_fields(cfg.levels) and data["levels"] == list(cfg.levels)
    with open(out / "estimates.csv", newline="") as f:
        assert len(data["rows"]) == sum(1 for _ in csv.DictReader(f))
    assert "scripts/benchmark.py --config tiny" in data["command"]


def test_metrics_and_coverage_are_well_formed(tiny_run):
    out, cfg = tiny_run
    with open(out / "metrics.csv", newline="") as f:
        metrics = list(csv.DictReader(f))
    assert {m["grouping"] for m in metrics} >= {"all", "n", "dims", "mi_target", "heldout", "suite", "family", "common"}
    assert {m["estimator"] for m in metrics if m["grouping"] == "all"} == {e.name for e in cfg.estimators}
    for m in metrics:
        mae, bias, rmse = float(m["mae"]), float(m["bias"]), float(m["rmse"])
        assert 0 <= mae <= rmse + 1e-12 and abs(bias) <= mae + 1e-12 and int(m["count"]) > 0
    with open(out / "coverage.csv", newline="") as f:
        coverage = list(csv.DictReader(f))
    assert coverage
    for c in coverage:
        assert 0.0 <= float(c["empirical"]) <= 1.0 and 0.0 < float(c["nominal"]) < 1.0
    by_estimator = {c["estimator"] for c in coverage}
    assert {"mist", "gaussian_copula", "ksg"} <= by_estimator  # mist's head, and the configured bootstraps
    assert "gaussian" not in by_estimator  # no interval configured for it in tiny
    central = {float(c["nominal"]) for c in coverage if c["kind"] == "central"}
    assert central == {0.5, 0.9}
    assert {c["grouping"] for c in coverage} == {"all", "heldout", "suite", "n", "mi_target"}  # where intervals miss


def test_summary_states_command_skips_and_plots(tiny_run):
    out, cfg = tiny_run
    text = (out / "summary.md").read_text()
    assert "python scripts/benchmark.py --config tiny" in text
    assert "## Overall" in text and "## Calibration" in text and "## Time and memory" in text
    for e in cfg.estimators:
        assert f"| {e.name} |" in text
    assert "`infonce` skipped 12 cases: n > 100" in text
    # what the checkpoint's card says it trained on, against each suite
    assert "`mist` vs suite `heldout`: held out; unseen families ['gamma_exponential']" in text
    for name in PLOTS:
        assert f"]({name})" in text


def test_plots_are_valid_pngs(tiny_run):
    import matplotlib.image

    out, _ = tiny_run
    for name in PLOTS:
        data = (out / name).read_bytes()
        assert data[:8] == PNG_SIGNATURE, name
        image = matplotlib.image.imread(out / name)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def test_refuses_to_clobber_and_rewrites_the_report(tiny_run, checkpoint):
    out, _ = tiny_run
    script = _script()
    assert script.main(["--config", "tiny", "--out", str(out), "--checkpoint", str(checkpoint), "--no-progress"]) == 3
    before = (out / "estimates.csv").read_text()
    assert script.main(["--report-only", "--out", str(out), "--no-plots"]) == 0
    assert (out / "estimates.csv").read_text() == before


def test_resume_runs_only_the_missing_cases(tmp_path, checkpoint):
    script = _script()
    argv = ["--config", "tiny", "--out", str(tmp_path), "--checkpoint", str(checkpoint), "--no-progress", "--no-plots",
            "--estimators", "gaussian", "mist", "grid.n=[100]", "grid.mi=[0,1]"]
    assert script.main(argv) == 0
    lines = (tmp_path / "estimates.jsonl").read_text().splitlines()
    assert (tmp_path / "summary.md").is_file()
    assert len(lines) == 2 * 2 * 2 * 2  # 2 suites x 2 dims x 2 MI x 2 estimators
    # simulate a stop: the last case's rows lost, the one before cut mid-line
    (tmp_path / "estimates.jsonl").write_text("\n".join(lines[:-3]) + "\n" + lines[-3][:20])
    assert script.main(argv + ["--resume"]) == 0
    again = (tmp_path / "estimates.jsonl").read_text().splitlines()
    assert len(again) == len(lines)
    key = lambda rows: sorted((r["case_id"], r["estimator"], r["estimate"]) for r in map(json.loads, rows))  # noqa: E731
    assert key(again) == key(lines)  # deterministic: the rerun cases give the same estimates
    # a different config does not resume into the same folder
    assert script.main(argv[:-1] + ["grid.mi=[0,2]", "--resume"]) == 2


def test_cases_are_deterministic_and_independent_of_the_grid():
    cfg = load_config("tiny")
    a, _ = build_cases(cfg)
    b, _ = build_cases(BenchmarkConfig.from_dict({**cfg.to_dict(), "grid": {**cfg.to_dict()["grid"], "n": [300]}}))
    seeds = {c.case_id: c.seed for c in a}
    assert b and all(seeds[c.case_id] == c.seed for c in b)
    assert len(set(seeds.values())) == len(seeds)


def test_shipped_configs_load_and_plan():
    for name in ("tiny", "quick", "full"):
        cfg = load_config(name)
        cases, dropped = build_cases(cfg)
        assert cases
        assert BenchmarkConfig.from_dict(cfg.to_dict()) == cfg  # config.yaml reruns the same run
    quick, _ = build_cases(load_config("quick"))
    assert {c.n for c in quick} >= {100, 1000, 20000} and any(c.dx != c.dy for c in quick)
    assert {c.heldout for c in quick} == {True, False}


@pytest.mark.parametrize("override, message", [
    ("grid.n=[5]", "grid.n"),
    ("estimators.ksg.skip=[{n_abov: 3}]", "unknown key"),
    ("estimators.foo.kind=bar", "unknown estimator"),
    ("memory=lots", "memory"),
    ("levels=[0.5,1.5]", "levels"),
])
def test_bad_config_is_named(override, message):
    with pytest.raises(ValueError, match=message):
        load_config("tiny", [override])


def test_help_documents_modes_and_keys(capsys):
    with pytest.raises(SystemExit):
        _script().parse_args(["--help"])
    text = capsys.readouterr().out
    for word in ("tiny", "quick", "full", "--plan", "--resume", "--subsample", "--checkpoint", "skip rule",
                 "bootstrap", "summary.md", "KEY=VALUE"):
        assert word in text


def test_a_checkpoint_that_does_not_load_stops_the_run_before_any_work(tmp_path, capsys):
    status = _script().main(["--config", "tiny", "--out", str(tmp_path / "out"), "--checkpoint",
                             str(tmp_path / "missing"), "--no-progress"])
    assert status == 4
    assert "missing" in capsys.readouterr().err
    assert not (tmp_path / "out" / "estimates.jsonl").exists()


def test_generator_configs_with_a_defaults_list_are_composed():
    from mist.benchmark.cases import load_generator

    users, default = load_generator("users"), load_generator("default")
    assert users["families"] == default["families"] and users["transforms"] == default["transforms"]
    assert users["n"] == [1000, 8192] and users["dim_prior"] == "uniform"


def test_mixture_generators_naming_others_by_group_path_load_as_training_composes_them():
    """train_users names its components as /generator@mixture...: they resolve from the config
    root (calibrate_checkpoint.py --generator train_users failed on this), and a mixture loads as
    a mixture."""
    from data_gen import MixtureSampler, make_sampler
    from mist.benchmark.cases import load_generator

    cfg = load_generator("train_users")
    assert set(cfg["mixture"]) == {"elliptical", "broad", "users_elliptical", "users_broad", "users_elliptical_wide"}
    assert cfg["mixture"]["users_elliptical_wide"]["generator"]["dx"] == [16, 32]
    assert isinstance(make_sampler(cfg), MixtureSampler)


def test_the_users_elliptical_generator_draws_only_elliptical_copulas():
    import numpy as np

    from data_gen import DatasetSampler, elliptical_copula
    from mist.benchmark.cases import load_generator

    sampler = DatasetSampler(load_generator("users_elliptical"))
    rng = np.random.default_rng(0)
    draws = [sampler.sample(rng, n=50) for _ in range(40)]  # n fixed small: the draw is what is tested
    assert all(elliptical_copula(s.family, s.transform) for s in draws)
    assert all(s.mi <= 3.0 for s in draws)


def test_the_users_spiral_generator_swirls_every_side_that_can_be():
    import numpy as np

    from data_gen import DatasetSampler
    from mist.benchmark.cases import load_generator

    sampler = DatasetSampler(load_generator("users_spiral"))
    rng = np.random.default_rng(0)
    draws = [sampler.sample(rng, n=50, dx=3, dy=3) for _ in range(40)]  # spirals need 2 dims or more
    assert np.mean([("spiral" in s.transform) or ("swirl" in s.transform) for s in draws]) > 0.8
    assert all(s.mi <= 3.0 for s in draws)


def test_select_release_scores_every_candidate_on_the_same_sets(tmp_path, checkpoint):
    import subprocess
    import sys

    gens = [tmp_path / "small.yaml", tmp_path / "wide.yaml"]
    gens[0].write_text("defaults:\n  - default\n  - _self_\nn: [40, 60]\ndx: [1, 2]\ndy: [1, 2]\n")
    gens[1].write_text("defaults:\n  - default\n  - _self_\nn: [40, 60]\ndx: [3, 4]\ndy: [3, 4]\n")
    (tmp_path / "default.yaml").write_text((ROOT / "configs" / "generator" / "default.yaml").read_text())
    out = tmp_path / "selection.json"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "select_release.py"), str(checkpoint), str(checkpoint),
                           "--generator", *map(str, gens), "--sets", "8", "--threads", "1", "--out", str(out)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [r["generator"] for r in rows] == [str(gens[0])] * 2 + [str(gens[1])] * 2 and rows[0]["sets"] == 8
    assert rows[0] == {**rows[1]} and rows[2] == {**rows[3]}  # one release twice: the same sets, the same scores
    assert rows[0]["pinball"] != rows[2]["pinball"]  # a table per generator, each on its own sets
    assert 0.0 <= rows[0]["cover90"] <= 1.0 and rows[0]["pinball"] > 0 and done.stdout.count("| pinball |") == 2


def test_select_release_scores_the_average_and_the_last_step_of_a_run(tmp_path):
    import subprocess
    import sys

    from hydra import compose, initialize_config_module

    from mist.training.train import train

    with initialize_config_module(config_module="mist.configs", version_base="1.3"):
        cfg = compose(config_name="train", overrides=["experiment=smoke", f"run_dir={tmp_path}", "export=false",
                                                      "callbacks.ema.decay=0.5"])
    ckpt = train(cfg)["ckpt_path"]
    gen = tmp_path / "small.yaml"
    gen.write_text("defaults:\n  - default\n  - _self_\nn: [40, 60]\ndx: [1, 2]\ndy: [1, 2]\n")
    (tmp_path / "default.yaml").write_text((ROOT / "configs" / "generator" / "default.yaml").read_text())
    out = tmp_path / "selection.json"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "select_release.py"), ckpt, "--last-step",
                           "--generator", str(gen), "--sets", "6", "--threads", "1", "--out", str(out)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    rows = {r["candidate"]: r for r in json.loads(out.read_text())["rows"]}
    assert set(rows) == {ckpt, f"{ckpt} (last step)"}
    assert rows[ckpt]["pinball"] != rows[f"{ckpt} (last step)"]["pinball"]  # two sets of weights, two scores


def test_feature_ablation_scores_each_prefix_of_the_features(tmp_path):
    import subprocess
    import sys

    from mist.stats import NUM_FEATURES

    out = tmp_path / "ablation.json"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "ablate_features.py"), "--sets", "40",
                           "--prefixes", "24", "--out", str(out)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text())["rows"]
    assert {(r["target"], r["features"]) for r in rows} == {(t, k) for t in ("core misses", "elliptical")
                                                            for k in (24, NUM_FEATURES)}
    assert all(0.0 <= r["auc"] <= 1.0 and 0.0 <= r["accuracy"] <= 1.0 for r in rows)


# ---------------------------------------------------------------- suites beyond elliptical copulas
def test_structure_cases_cover_every_held_out_kind_and_reload_identically():
    from mist.benchmark.structures import STRUCTURE_KINDS, structure_cases

    cases = structure_cases(ns=(200,), per_kind=2, kinds=["clusters", "periodic", "manifold"])
    assert [c.family for c in cases] == ["clusters"] * 2 + ["periodic"] * 2 + ["manifold"] * 2
    for c in cases:
        x1, y1 = c.load()
        x2, y2 = c.load()
        assert x1.shape == (200, c.dx) and (x1 == x2).all() and (y1 == y2).all()
        lo, hi = STRUCTURE_KINDS[c.family][2]
        assert 0 < c.mi <= hi + 0.05
    assert {c.dx for c in cases if c.family == "manifold"} == {16, 64}  # the dims cycle over the kind's list
    assert len(structure_cases(per_kind=13, ns=(1000, 5000), kinds=None)) >= 150  # the done-when size


def test_small_n_suite_and_its_mse_by_range(tmp_path):
    from mist.contract import Row
    from mist.benchmark.structures import mse_by_range, small_n_cases

    cases = small_n_cases(ns=(10, 500), dims=(2,), seeds=1)
    assert {c.n for c in cases} == {10, 500} and {c.family for c in cases} == {"gaussian_dense", "gaussian_sparse", "student_t"}
    rows = [Row("a", "f", 10, 2, 2, 1.0, "core", 2.0, None, None, 0.0), Row("b", "f", 500, 2, 2, 1.0, "core", 1.5, None, None, 0.0)]
    mse = mse_by_range(rows, "core")
    assert mse[(10, 100)] == 1.0 and mse[(300, 500)] == 0.25 and math.isnan(mse[(100, 300)])


def test_the_structures_figures_count_manifold_reads_far_above_the_truth_without_a_warning():
    from mist.benchmark.command import structures_figures
    from mist.contract import Row

    def row(case, column, mi, warnings=()):
        return Row(case, "manifold", 1000, 16, 16, 0.5, column, mi, None, None, 0.1, warnings=warnings)

    rows = [row("warned", "mist", 3.0, ("a side is a curved manifold",)), row("silent", "mist", 2.0), row("close", "mist", 0.9),
            row("warned", "ksg", 0.6), row("silent", "ksg", 0.6), row("close", "ksg", 0.6)]
    text = structures_figures(rows, ["mist", "ksg"])
    assert "2 of 3 read more than 1 nat above the truth, 1 of them without a warning" in text
    assert "- silent: 2.00 for 0.50" in text and "- warned" not in text


def test_reuse_takes_other_columns_from_an_earlier_run_of_the_same_suite(tmp_path, checkpoint, capsys):
    script = _script()
    first, second = tmp_path / "first", tmp_path / "second"
    assert script.main(["--suite", "small_n", "--n", "10", "--estimators", "core", "--out", str(first), "--no-progress"]) == 0
    assert script.main(["--suite", "small_n", "--n", "10", "--estimators", "mist", "--checkpoint", str(checkpoint),
                        "--reuse", str(first), "--out", str(second), "--no-progress"]) == 0
    with open(second / "rows.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["column"] for r in rows} == {"mist", "core"}
    assert len([r for r in rows if r["column"] == "core"]) == len([r for r in rows if r["column"] == "mist"])
    assert "core MSE" in (second / "summary.md").read_text()
    # another suite's rows are refused
    assert script.main(["--suite", "small_n", "--n", "30", "--estimators", "mist", "--checkpoint", str(checkpoint),
                        "--reuse", str(first), "--out", str(tmp_path / "third"), "--no-progress"]) == 2
