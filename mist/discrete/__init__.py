"""I(T;Y) for a continuous T and categorical labels Y (`mist.estimate(t, labels, y_discrete=True)`)."""

from mist.discrete.estimate import estimate_discrete, estimate_labels
from mist.discrete.labels import MAX_CLASSES, Labels, as_labels

__all__ = ["MAX_CLASSES", "Labels", "as_labels", "estimate_discrete", "estimate_labels"]
