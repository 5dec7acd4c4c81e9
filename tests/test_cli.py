"""`mist estimate` and `mist info` end to end on a tiny release; file formats; errors; the bundled example."""

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from mist.cli import build_parser, main
from mist.examples import GAUSSIAN
from mist.inference import estimator as estimator_mod
from mist.model import MISTNetwork, NetworkConfig
from mist.release import save_release

ROOT = Path(__file__).resolve().parents[1]
RANGES = {"n": [16, 4096], "dx": [1, 4], "dy": [1, 4], "mi": [0.0, 10.0], "max_mi_per_dim": 8.0}
KEYS = {"mi", "lower", "upper", "quantiles", "units", "n", "dx", "dy", "warnings"}


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    torch.manual_seed(0)
    net = MISTNetwork(NetworkConfig(hidden=16, sample_hidden=16, heads=2, blocks=1, sample_blocks=1))
    path = tmp_path_factory.mktemp("release") / "tiny"
    save_release(net, {"trained_ranges": RANGES}, path)
    return str(path)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Columns a, b (X) and c (Y), 300 rows, with x and y correlated; and the same data in every format."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 2))
    y = 0.7 * x[:, :1] + 0.5 * rng.standard_normal((300, 1))
    d = tmp_path_factory.mktemp("data")
    table = np.hstack([x, y])
    np.savetxt(d / "t.csv", table, delimiter=",", header="a,b,c", comments="")
    np.savetxt(d / "t.tsv", table, delimiter="\t", header="a\tb\tc", comments="")
    np.savetxt(d / "t.txt", table)  # no header, whitespace
    np.savetxt(d / "semi.data", table, delimiter=";", header="a;b;c", comments="")
    np.save(d / "t.npy", table)
    np.save(d / "x.npy", x)
    np.save(d / "y.npy", y[:, 0])
    np.savez(d / "t.npz", x=x, y=y, both=table)
    with h5py.File(d / "t.h5", "w") as f:
        f["group/x"] = x
        f["group/y"] = y
    return d


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


# --- estimate ---------------------------------------------------------------------------------------


def test_csv_human_summary(capsys, data, ckpt):
    code, out, err = run(capsys, "estimate", data / "t.csv", "--x", "a,b", "--y", "c", "--checkpoint", ckpt)
    assert code == 0 and err == ""
    assert "X = a, b; Y = c" in out and "I(X;Y) =" in out and "90% interval" in out and "n = 300, dx = 2, dy = 1" in out


def test_csv_json_has_the_keys_and_selections_agree(capsys, data, ckpt):
    by_name = run_json(capsys, "estimate", data / "t.csv", "--x", "a,b", "--y", "c", "--checkpoint", ckpt)
    assert KEYS <= set(by_name) and by_name["units"] == "nats" and (by_name["n"], by_name["dx"], by_name["dy"]) == (300, 2, 1)
    assert by_name["warnings"] == [] and by_name["x"] == ["a", "b"] and by_name["y"] == ["c"]
    assert set(by_name["quantiles"]) == {"0.05", "0.25", "0.5", "0.75", "0.95"}
    for xs, ys in [("0:2", "2"), ("0,1", "-1"), (":2", "2:"), ("a,1", "c")]:
        other = run_json(capsys, "estimate", data / "t.csv", "--x", xs, "--y", ys, "--checkpoint", ckpt)
        assert other["mi"] == by_name["mi"], (xs, ys)


@pytest.mark.parametrize(
    "argv",
    [
        ["t.tsv", "--x", "a,b", "--y", "c"],
        ["t.txt", "--x", "0:2", "--y", "2"],
        ["semi.data", "--format", "csv", "--delimiter", ";", "--x", "a,b", "--y", "c"],
        ["t.npy", "--x", "0:2", "--y", "2"],
        ["t.npz", "--x", "x", "--y", "y"],
        ["t.npz", "--x", "both[0:2]", "--y", "both[2]"],
        ["t.h5", "--x", "/group/x", "--y", "/group/y"],
    ],
    ids=["tsv", "txt", "delimiter", "npy-table", "npz", "npz-columns", "hdf5"],
)
def test_every_format_reads_the_same_data(capsys, data, ckpt, argv):
    ref = run_json(capsys, "estimate", data / "t.csv", "--x", "a,b", "--y", "c", "--checkpoint", ckpt)
    got = run_json(capsys, "estimate", data / argv[0], *argv[1:], "--checkpoint", ckpt)
    assert got["mi"] == pytest.approx(ref["mi"], rel=1e-6) and (got["n"], got["dx"], got["dy"]) == (300, 2, 1)


def test_npy_pair(capsys, data, ckpt):
    got = run_json(capsys, "estimate", "--x", data / "x.npy", "--y", data / "y.npy", "--checkpoint", ckpt)
    ref = run_json(capsys, "estimate", data / "t.npz", "--x", "x", "--y", "y", "--checkpoint", ckpt)
    assert got["mi"] == ref["mi"] and got["x"] == ["x.npy[0]", "x.npy[1]"]


def test_bits_and_check(capsys, data, ckpt):
    nats = run_json(capsys, "estimate", data / "t.npz", "--x", "x", "--y", "y", "--checkpoint", ckpt)
    bits = run_json(capsys, "estimate", data / "t.npz", "--x", "x", "--y", "y", "--checkpoint", ckpt, "--units", "bits", "--check")
    assert bits["units"] == "bits" and bits["mi"] == pytest.approx(nats["mi"] / math.log(2))
    assert bits["consistency"]["consistent"] is True and len(bits["consistency"]["quarters"]) == 4
    code, out, _ = run(capsys, "estimate", data / "t.npz", "--x", "x", "--y", "y", "--checkpoint", ckpt, "--check")
    assert "consistency check: consistent" in out


def test_warnings_are_printed_not_raised(capsys, data, ckpt, tmp_path):
    rounded = np.round(np.loadtxt(data / "t.csv", delimiter=",", skiprows=1))
    np.savetxt(tmp_path / "r.csv", rounded, delimiter=",")
    code, out, err = run(capsys, "estimate", tmp_path / "r.csv", "--x", "0", "--y", "2", "--checkpoint", ckpt)
    assert code == 0 and "warnings:" in out and "MISTWarning" not in err
    assert "x takes 8 and y 6 distinct values: estimated from their 8 x 6 table" in out  # rounded: a discrete pair


def test_example(capsys, ckpt):
    code, out, err = run(capsys, "estimate", "--example", "--checkpoint", ckpt)
    assert code == 0 and "gaussian.csv" in out and f"exact MI of this example: {GAUSSIAN.mi_nats:.4g} nats" in out
    d = run_json(capsys, "estimate", "--example", "--checkpoint", ckpt, "--units", "bits")
    assert d["example"]["true_mi"] == pytest.approx(GAUSSIAN.mi_nats / math.log(2)) and (d["n"], d["dx"], d["dy"]) == (2000, 3, 2)


def test_info(capsys, ckpt):
    code, out, _ = run(capsys, "info", "--checkpoint", ckpt)
    assert code == 0 and "trained ranges: n 16 to 4096" in out and "calibration: none recorded" in out and "mist version: 0.1.0" in out
    card = run_json(capsys, "info", "--checkpoint", ckpt)
    assert card["trained_ranges"]["n"] == [16, 4096] and "weights_sha256" in card


def test_console_script_from_outside_the_repository(ckpt, tmp_path):
    script = Path(sys.executable).parent / "mist"
    assert script.exists(), "the `mist` console script is not installed (pip install -e .)"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(
        [str(script), "estimate", "--example", "--json", "--checkpoint", ckpt], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert KEYS <= set(result) and result["n"] == 2000


# --- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["nowhere.csv", "--x", "a", "--y", "b"], "nowhere.csv does not exist"),
        (["t.csv", "--x", "a,zz", "--y", "c"], "no column named 'zz'"),
        (["t.csv", "--x", "a,b", "--y", "b"], "selected for both --x and --y"),
        (["t.csv", "--x", "7", "--y", "c"], "column index 7 is out of range"),
        (["t.csv", "--x", "a"], "say which columns are X and Y"),
        (["t.txt", "--x", "a", "--y", "0"], "select them by index"),
        (["t.npz", "--x", "nope", "--y", "y"], "has no array 'nope' (arrays: x, y, both)"),
        (["t.h5", "--x", "/group", "--y", "/group/y"], "is a group, not a dataset (datasets: /group/x, /group/y)"),
        (["t.xyz", "--x", "a", "--y", "b"], "cannot tell the format"),
        (["t.csv", "--x", "a", "--y", "c", "--delimiter", "ab"], "--delimiter must be one character"),
        (["t.csv", "--x", "a", "--y", "c", "--device", "banana"], "not a device"),
        (["t.csv", "--x", "a", "--y", "c", "--checkpoint", "missing/ckpt"], "does not exist"),
    ],
)
def test_errors_are_one_line_with_status_1(capsys, data, ckpt, argv, fragment):
    if argv[0] == "t.xyz":
        (data / "t.xyz").write_text("1,2\n")
    args = [data / argv[0] if not argv[0].startswith("nowhere") else argv[0], *argv[1:]]
    if "--checkpoint" not in argv:
        args += ["--checkpoint", ckpt]
    code, out, err = run(capsys, "estimate", *args)
    assert code == 1 and out == ""
    assert err.startswith("mist estimate: error: ") and err.count("\n") == 1 and fragment in err, err


def test_bad_data_errors(capsys, ckpt, tmp_path):
    (tmp_path / "text.csv").write_text("a,b\n" + "".join(f"{i},{'x' if i == 5 else i * 2}\n" for i in range(30)))
    code, _, err = run(capsys, "estimate", tmp_path / "text.csv", "--x", "a", "--y", "b", "--checkpoint", ckpt)
    assert code == 1 and "column 'b'" in err and "non-numeric" in err and "line 7" in err
    (tmp_path / "nan.csv").write_text("a,b\n" + "".join(f"{i},{'' if i in (3, 4) else i * 2}\n" for i in range(30)))
    code, _, err = run(capsys, "estimate", tmp_path / "nan.csv", "--x", "a", "--y", "b", "--checkpoint", ckpt)
    assert code == 1 and "column 'b'" in err and "missing value on line 5 and 1 more line" in err
    (tmp_path / "inf.csv").write_text("a,b\n" + "".join(f"{i},{'inf' if i == 6 else i * 2}\n" for i in range(30)))
    code, _, err = run(capsys, "estimate", tmp_path / "inf.csv", "--x", "a", "--y", "b", "--checkpoint", ckpt)
    assert code == 1 and "infinite value on line 8" in err  # the file's line, as every other error of a text file
    (tmp_path / "short.csv").write_text("a,b\n" + "".join(f"{i},{i}\n" for i in range(5)))
    code, _, err = run(capsys, "estimate", tmp_path / "short.csv", "--x", "a", "--y", "b", "--checkpoint", ckpt)
    assert code == 1 and "mist needs at least 10" in err
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3\n")
    code, _, err = run(capsys, "estimate", tmp_path / "ragged.csv", "--x", "a", "--y", "b", "--checkpoint", ckpt)
    assert code == 1 and "line 3" in err and "has 1 fields, expected 2" in err


@pytest.mark.parametrize("name, content, argv, fragment", [
    ("binary.csv", bytes([0x61, 0x2C, 0x62, 0x0A, 0xC2, 0xFF, 0x00, 0x0A]) * 20, ["--x", "0", "--y", "1"],
     "binary.csv is not a UTF-8 text table (byte 0xc2"),
    ("semicolons.csv", b"a;b;c\n1;2;3\n4;5;6\n", ["--x", "a", "--y", "b"], "pass --delimiter ';'"),
    ("twice.csv", b"a,a,b\n1,2,3\n", ["--x", "a", "--y", "b"], "column name 'a' appears 2 times"),
])
def test_file_mistakes_name_the_file_and_the_fix(capsys, ckpt, tmp_path, name, content, argv, fragment):
    (tmp_path / name).write_bytes(content)
    code, _, err = run(capsys, "estimate", tmp_path / name, *argv, "--checkpoint", ckpt)
    assert code == 1 and fragment in err and err.count("\n") == 1, err


def test_a_closed_pipe_is_not_an_error(data, ckpt):
    cmd = [sys.executable, "-m", "mist.cli", "estimate", str(data / "t.csv"), "--x", "a,b", "--y", "c", "--json",
           "--checkpoint", ckpt]
    producer = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    producer.stdout.close()  # the reader (say `head`) is gone before anything is written
    assert producer.wait(timeout=120) == 0
    assert b"Broken pipe" not in producer.stderr.read()


def test_parquet_without_pyarrow_says_how_to_get_it(capsys, tmp_path, ckpt, monkeypatch):
    (tmp_path / "t.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # importing it now fails
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    code, _, err = run(capsys, "estimate", tmp_path / "t.parquet", "--x", "a", "--y", "b", "--checkpoint", ckpt)
    assert code == 1 and "pip install pyarrow" in err


def test_parquet_with_pyarrow(capsys, data, ckpt, tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = np.loadtxt(data / "t.csv", delimiter=",", skiprows=1)
    pq.write_table(pa.table({"a": table[:, 0], "b": table[:, 1], "c": table[:, 2]}), tmp_path / "t.parquet")
    got = run_json(capsys, "estimate", tmp_path / "t.parquet", "--x", "a,b", "--y", "c", "--checkpoint", ckpt)
    ref = run_json(capsys, "estimate", data / "t.csv", "--x", "a,b", "--y", "c", "--checkpoint", ckpt)
    assert got["mi"] == ref["mi"]


def test_missing_default_checkpoint(capsys, data, tmp_path, monkeypatch):
    monkeypatch.setattr(estimator_mod, "default_checkpoint", lambda: tmp_path / "mist-default")
    code, _, err = run(capsys, "estimate", data / "t.csv", "--x", "a", "--y", "c")
    assert code == 1 and "the default checkpoint is missing" in err
    code, _, err = run(capsys, "info")
    assert code == 1 and "the default checkpoint is missing" in err


def test_malformed_command_line_exits_2(capsys):
    code, out, err = run(capsys, "estimate", "--units", "dits")
    assert code == 2 and "invalid choice" in err and err.count("\n") == 1
    code, _, err = run(capsys, "frobnicate")
    assert code == 2
    code, out, _ = run(capsys, "estimate", "--help")
    assert code == 0 and "--x COLS" in out


# --- the bundled example ----------------------------------------------------------------------------


def test_example_is_small_and_reproducible(tmp_path):
    assert GAUSSIAN.path.is_file() and GAUSSIAN.path.stat().st_size < 200_000
    assert GAUSSIAN.mi_nats == pytest.approx(-0.5 * (math.log(1 - 0.81) + math.log(1 - 0.36)))
    spec = importlib.util.spec_from_file_location("make_example", ROOT / "scripts" / "make_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.write(tmp_path)
    assert written.read_bytes() == GAUSSIAN.path.read_bytes()
    assert (tmp_path / "README.md").read_text() == (GAUSSIAN.path.parent / "README.md").read_text()
    x, y = module.gaussian_sample()  # the exact MI is that of the canonical correlations
    c = np.corrcoef(np.hstack([x, y]), rowvar=False)
    gaussian_mi = 0.5 * (np.linalg.slogdet(c[:3, :3])[1] + np.linalg.slogdet(c[3:, 3:])[1] - np.linalg.slogdet(c)[1])
    assert abs(gaussian_mi - GAUSSIAN.mi_nats) < 0.05


def test_info_lists_calibration_bins_in_n_order_and_says_which_kept_their_offsets(capsys):
    from mist.cli import _calibration_line

    report = {"16-63": {"cover90": 0.8}, "64-255": {"cover90": 0.9}}
    after = {"16-63": {"cover90": 0.9}, "64-255": {"cover90": 0.9}}
    cal = {"method": "m", "edges": [16, 64, 256], "bins": ["16-63", "64-255"], "kept": [True, False],
           "check": {"before": dict(sorted(report.items(), reverse=True)), "after": after}}
    line = _calibration_line(cal)
    assert line.endswith("16-63: 0.80 -> 0.90, 64-255: 0.90 -> 0.90 (offsets not kept)")
    del cal["bins"], cal["kept"]  # cards written before the keep rule: bins sorted by their lower edge
    assert _calibration_line(cal).endswith("16-63: 0.80 -> 0.90, 64-255: 0.90 -> 0.90")


def test_a_column_range_past_the_file_and_a_wrong_format_name_the_fix(tmp_path, capsys):
    from mist.cli import main

    table = tmp_path / "t.csv"
    np.savetxt(table, np.random.default_rng(0).normal(size=(30, 3)), delimiter=",", header="a,b,c", comments="")
    assert main(["estimate", str(table), "--x", "0:5", "--y", "2"]) != 0
    assert "reaches past" in capsys.readouterr().err
    assert main(["estimate", str(table), "--x", "0", "--y", "1", "--format", "npz"]) != 0
    err = capsys.readouterr().err
    assert "not an .npz archive" in err and "pickle" not in err


@pytest.mark.parametrize("workflow", ["benchmark", "calibrate"])
def test_the_workflows_are_subcommands_with_their_own_help(workflow, capsys):
    with pytest.raises(SystemExit) as stop:
        main([workflow, "--help"])
    assert stop.value.code == 0
    assert f"usage: mist {workflow}" in capsys.readouterr().out
    assert workflow in build_parser().format_help()
