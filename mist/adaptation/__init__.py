"""Modality adaptation: flows fitted to a user's X and Y carry exact-MI synthetic sets into their space."""

from mist.adaptation.api import Adaptation, adapt
from mist.adaptation.checks import AdaptationError
from mist.adaptation.flows import FittedFlow, FlowError, FlowOptions, fit_flow, load_flow

__all__ = ["adapt", "Adaptation", "AdaptationError", "fit_flow", "load_flow", "FittedFlow", "FlowOptions", "FlowError"]
