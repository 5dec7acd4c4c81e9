"""mist: amortized mutual information estimation with a pretrained transformer."""

__version__ = "0.1.0"

from mist.inference import ConsistencyCheck, EstimateResult, MIEstimator, MISTWarning, estimate  # noqa: E402
from mist.release import CheckpointError  # noqa: E402
from mist.adaptation import Adaptation, adapt  # noqa: E402
from mist.matrix import MIMatrix, mi_matrix, plot_mi_matrix

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
    "__version__",
]
