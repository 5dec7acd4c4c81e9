"""Modality adaptation: flows fitted to a user's X and Y carry exact-MI synthetic sets into their space."""

from mist.adaptation.api import Adaptation, adapt
from mist.adaptation.finetune import AdaptationError, finetune
from mist.adaptation.flows import FittedFlow, FlowError, FlowOptions, fit_flow, load_flow

__all__ = ["adapt", "Adaptation", "finetune", "AdaptationError", "fit_flow", "load_flow", "FittedFlow", "FlowOptions",
           "FlowError"]
