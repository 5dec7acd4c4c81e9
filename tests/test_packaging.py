"""The wheel must carry every package, the configs and the shipped checkpoint."""

import pathlib
import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _declared_packages() -> set[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(pyproject["tool"]["setuptools"]["packages"])


def test_every_package_in_the_tree_is_declared():
    found = set()
    for top in ("mist", "data_gen"):
        for init in (ROOT / top).rglob("__init__.py"):
            found.add(".".join(init.parent.relative_to(ROOT).parts))
    missing = found - _declared_packages()
    assert not missing, f"add these to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_configs_and_checkpoints_ship_as_subpackages():
    declared = _declared_packages()
    assert {"mist.configs", "mist.checkpoints"} <= declared
    assert (ROOT / "configs" / "__init__.py").exists()
    assert (ROOT / "checkpoints" / "__init__.py").exists()


def test_every_config_group_is_declared_so_that_its_yaml_ships():
    groups = {
        ".".join(("mist", "configs", *d.relative_to(ROOT / "configs").parts))
        for d in (ROOT / "configs").rglob("*")
        if d.is_dir() and any(d.glob("*.yaml"))
    }
    missing = groups - _declared_packages()
    assert not missing, f"add these to [tool.setuptools] packages and package-data in pyproject.toml: {sorted(missing)}"
