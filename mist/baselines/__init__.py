"""Classical and neural mutual information estimators (in nats) for comparison with mist."""

from .bootstrap import BootstrapResult, bootstrap_interval
from .elliptical import EllipticalCopula
from .gaussian import Gaussian, canonical_correlations
from .ksg import KSG, ksg
from .neural import MINE, NWJ, InfoNCE
from .registry import ESTIMATORS, Estimator, make_estimator

__all__ = [
    "ESTIMATORS", "Estimator", "make_estimator", "KSG", "ksg", "Gaussian", "canonical_correlations",
    "EllipticalCopula", "InfoNCE", "NWJ", "MINE", "BootstrapResult", "bootstrap_interval",
]
