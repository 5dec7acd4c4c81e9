"""Classical statistics of a sample set: copula scores, the elliptical-copula core, evidence."""

from mist.stats.batch import stack_summaries
from mist.stats.elliptical import EllipticalFit, fit_elliptical
from mist.stats.scores import subset_rows, normal_scores
from mist.stats.summary import FEATURE_NAMES, NUM_FEATURES, SetSummary, summarize, summarize_scores

__all__ = [
    "normal_scores", "subset_rows", "EllipticalFit", "fit_elliptical", "FEATURE_NAMES", "NUM_FEATURES", "SetSummary",
    "summarize", "summarize_scores", "stack_summaries",
]
