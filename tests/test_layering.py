"""How the package's layers may depend on each other, checked in fresh interpreters.

- `mist.numerics` (closed forms shared by the estimator and the generator) and `data_gen` load
  neither torch nor the model: generating a meta-dataset needs neither.
- The estimator's classical core (`mist.stats`) imports neither the training-data generator nor
  the baselines.
- `mist.contract` (the estimator protocol, cases and rows) imports nothing from the package.
- `import mist` is cheap; its public names load on first use and are the ones `__all__` lists.
- No two subpackages of `mist` import each other, at module level or inside functions.
"""

import ast
import collections
import pathlib
import subprocess
import sys

import pytest

import mist

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("statement", ["import data_gen", "import mist.numerics", "import mist"])
def test_the_generator_and_the_numerics_load_without_torch(statement):
    assert "torch" not in _loaded_after(statement)


def test_the_contract_imports_nothing_from_the_package():
    tree = ast.parse((ROOT / "mist" / "contract.py").read_text())
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m.split(".")[0] in ("mist", "data_gen")]
    assert "torch" not in _loaded_after("import mist.contract")


def test_the_classical_core_imports_neither_the_generator_nor_the_baselines():
    code = ("import sys, mist.stats, mist.stats.conditional, mist.stats.residuals; "
            "print(' '.join(m for m in sys.modules if m.startswith(('data_gen', 'mist.baselines'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []


def test_the_public_names_are_the_listed_ones_and_all_resolve():
    assert set(mist.__all__) == set(mist._EXPORTS) | {"__version__"}
    for name in mist.__all__:
        assert getattr(mist, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        mist.nonsense  # noqa: B018


def _subpackage_imports() -> dict[str, set[str]]:
    """{subpackage (or module) of mist: the other ones it imports anywhere in its code}."""
    edges = collections.defaultdict(set)
    for path in (ROOT / "mist").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if len(parts) < 3 and parts[-1] == "__init__":
            continue  # the package root re-exports; it is not a layer
        here = parts[1]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                target = name.split(".")
                if target[0] == "mist" and len(target) > 1 and target[1] != here:
                    edges[here].add(target[1])
    return edges


def test_no_two_subpackages_import_each_other():
    edges = _subpackage_imports()
    both = sorted((a, b) for a in edges for b in edges[a] if a < b and a in edges.get(b, ()))
    assert not both, f"import cycles between subpackages: {both}"
