"""The built wheel carries everything a user needs: run from outside the repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # each builds or installs the wheel


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> tuple[Path, str]:
    """The wheel built from the checkout, and everything the build printed."""
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    (path,) = out.glob("*.whl")
    return path, done.stdout + done.stderr


@pytest.fixture(scope="module")
def wheel(build) -> Path:
    return build[0]


@pytest.fixture(scope="module")
def site(wheel, tmp_path_factory) -> Path:
    """The wheel installed (without dependencies) into a folder of its own, outside the repository."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    return target


def _run_installed(site: Path, code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True)


def test_the_build_warns_about_no_package_data(build):
    assert "would be ignored" not in build[1] and "Package would be" not in build[1]


def test_wheel_contains_configs_checkpoint_and_example(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in [
        "mist/configs/train.yaml",
        "mist/configs/generate.yaml",
        "mist/configs/generator/default.yaml",
        "mist/configs/model/small.yaml",
        "mist/configs/benchmark/quick.yaml",
        "mist/configs/experiment/structures_cpu.yaml",
        "mist/checkpoints/mist-default.safetensors",
        "mist/checkpoints/mist-default.json",
        "mist/examples/gaussian.csv",
        "data_gen/__init__.py",
    ]:
        assert required in names, f"{required} is missing from the wheel"


def test_installed_wheel_estimates_from_outside_the_repository(site, tmp_path):
    code = (
        f"import json, mist, mist.cli; assert mist.__file__.startswith({str(site)!r}), mist.__file__; "
        "mist.cli.main(['estimate', '--example', '--json'])"
    )
    out = _run_installed(site, code, tmp_path)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["n"] == 2000 and result["lower"] <= result["mi"] <= result["upper"]


@pytest.mark.parametrize("workflow", ["benchmark", "calibrate"])
def test_installed_wheel_runs_the_workflow_subcommands(site, tmp_path, workflow):
    out = _run_installed(site, f"import sys, mist.cli; sys.exit(mist.cli.main([{workflow!r}, '--help']))", tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"usage: mist {workflow}" in out.stdout
