"""Estimating MI with a release checkpoint: the estimator, its result, trained ranges and the consistency check."""

from mist.inference.estimator import MIEstimator, MISTWarning, default_checkpoint, estimate
from mist.result import ConsistencyCheck, EstimateResult, SubsetEstimate

__all__ = ["MIEstimator", "MISTWarning", "EstimateResult", "ConsistencyCheck", "SubsetEstimate", "estimate", "default_checkpoint"]
