"""Name -> family / transform registries. Configs refer to entries by these names.

Families register with `@register_family` and transforms with `@register_transform`; importing
`data_gen` imports every built-in one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from data_gen.families.base import Family
    from data_gen.transforms.base import Transform

__all__ = ["FAMILIES", "TRANSFORMS", "register_family", "register_transform"]

FAMILIES: dict[str, Family] = {}
TRANSFORMS: dict[str, Transform] = {}


def register_family(cls):
    """Class decorator: register one instance of a `Family` subclass under `cls.name`."""
    if cls.name in FAMILIES:
        raise ValueError(f"family {cls.name!r} is already registered")
    FAMILIES[cls.name] = cls()
    return cls


def register_transform(cls):
    """Class decorator: register one instance of a `Transform` subclass under `cls.name`."""
    if cls.name in TRANSFORMS:
        raise ValueError(f"transform {cls.name!r} is already registered")
    TRANSFORMS[cls.name] = cls()
    return cls
