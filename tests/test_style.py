"""The code passes the project's lint rules (`[tool.ruff]` in pyproject.toml): pyflakes, pycodestyle,
bugbear and pyupgrade. Run `ruff check --fix` to mend what it can."""

import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff") or str(pathlib.Path(sys.executable).with_name("ruff"))
    out = subprocess.run([ruff, "check", "mist", "data_gen", "scripts", "tests"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
