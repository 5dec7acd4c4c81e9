"""Lightning callbacks that measure mutual information during training (needs `lightning`)."""

from mist.callbacks.information_plane import InformationPlane, plot_information_plane

__all__ = ["InformationPlane", "plot_information_plane"]
