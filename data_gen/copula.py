"""Which sample sets have an elliptical copula: where the classical core is exactly right.

The core (`mist.stats`) estimates MI through an elliptical (Student-t, with the Gaussian as its
limit) copula. It is consistent when the joint of (X, Y) is elliptical up to strictly
increasing maps of single coordinates: an elliptical family, then block-wise linear maps (the
joint stays elliptical), then elementwise warps (the copula stays). Training teaches the gate
of the learned correction with this flag (`mist.model.quantile_head`).
"""

from __future__ import annotations

from data_gen.registry import FAMILIES, TRANSFORMS

__all__ = ["chain_keeps_copula", "elliptical_copula"]


def chain_keeps_copula(names: list[str]) -> bool:
    """Whether a chain of transforms (registry names, applied in order) keeps an elliptical
    copula: linear maps first, then elementwise warps; anything else breaks it."""
    warped = False
    for name in names:
        kind = TRANSFORMS[name].kind if name in TRANSFORMS else "other"
        if kind == "elementwise":
            warped = True
        elif kind != "linear" or warped:
            return False
    return True


def elliptical_copula(family: str, transform: str) -> bool:
    """Whether a sample set drawn from `family` through `transform` has an elliptical copula.

    Arguments:
        family: the family's registry name (`SampleSet.family`).
        transform: the chains as `SampleSet.transform` names them, e.g. "x:linear+warp_asinh;y:identity".

    Example:
        >>> elliptical_copula("gaussian_dense", "x:linear+warp_power;y:identity")
        True
        >>> elliptical_copula("gaussian_dense", "x:warp_power+linear;y:identity")
        False
    """
    f = FAMILIES.get(family)
    if f is None or not f.elliptical:
        return False
    for side in transform.split(";"):
        chain = side.split(":", 1)[-1]
        if chain != "identity" and not chain_keeps_copula(chain.split("+")):
            return False
    return True
