"""The estimator network: preprocessing, 2D attention blocks and the quantile head."""

from mist.model.network import MISTNetwork, NetworkConfig
from mist.model.preprocessing import CanonicalSample, canonicalize
from mist.model.quantile_head import QuantileHead, gate_target, pinball_loss

__all__ = ["MISTNetwork", "NetworkConfig", "CanonicalSample", "canonicalize", "QuantileHead", "gate_target", "pinball_loss"]
