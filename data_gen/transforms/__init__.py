"""Invertible transforms of X or Y (MI unchanged); importing this registers them all.

The flow transform imports torch and normflows only when one is drawn.
"""

from data_gen.transforms import flow, linear, warps  # noqa: F401
from data_gen.transforms.base import Bijection, Chain, Transform

__all__ = ["Bijection", "Chain", "Transform"]
