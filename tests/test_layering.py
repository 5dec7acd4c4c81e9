"""How the package's layers may depend on each other, checked in fresh interpreters.

- `mist.numerics` (closed forms shared by the estimator and the generator) and `data_gen` load
  neither torch nor the model: generating a meta-dataset needs neither.
- The estimator's classical core (`mist.stats`) does not import the training-data generator.
- `import mist` is cheap; its public names load on first use and are the ones `__all__` lists.
"""

import subprocess
import sys

import pytest

import mist


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("statement", ["import data_gen", "import mist.numerics", "import mist"])
def test_the_generator_and_the_numerics_load_without_torch(statement):
    assert "torch" not in _loaded_after(statement)


def test_the_classical_core_does_not_import_the_generator():
    assert "data_gen" not in _loaded_after("import mist.stats, mist.stats.conditional")


def test_the_public_names_are_the_listed_ones_and_all_resolve():
    assert set(mist.__all__) == set(mist._EXPORTS) | {"__version__"}
    for name in mist.__all__:
        assert getattr(mist, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        mist.nonsense  # noqa: B018
