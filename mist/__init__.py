"""mist: amortized mutual information estimation with a pretrained transformer.

The public names load on first use, so that `import mist.numerics` (what the meta-dataset
generator needs) does not load torch and the model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mist.version import __version__

# public name -> the module that defines it
_EXPORTS = {
    "estimate": "mist.inference",
    "MIEstimator": "mist.inference",
    "EstimateResult": "mist.result",
    "ConsistencyCheck": "mist.result",
    "MISTWarning": "mist.inference",
    "CheckpointError": "mist.card",
    "adapt": "mist.adaptation",
    "Adaptation": "mist.adaptation",
    "mi_matrix": "mist.matrix",
    "plot_mi_matrix": "mist.matrix",
    "MIMatrix": "mist.matrix",
    "Estimator": "mist.contract",
}

__all__ = [
    "estimate",
    "MIEstimator",
    "EstimateResult",
    "ConsistencyCheck",
    "MISTWarning",
    "CheckpointError",
    "adapt",
    "Adaptation",
    "mi_matrix",
    "plot_mi_matrix",
    "MIMatrix",
    "Estimator",
    "__version__",
]

if TYPE_CHECKING:
    from mist.adaptation import Adaptation, adapt
    from mist.contract import Estimator
    from mist.inference import MIEstimator, MISTWarning, estimate
    from mist.matrix import MIMatrix, mi_matrix, plot_mi_matrix
    from mist.card import CheckpointError
    from mist.result import ConsistencyCheck, EstimateResult


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mist' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
