"""Name -> family / transform registries. Configs refer to entries by these names.

Families register with `@register_family` and transforms with `@register_transform`; importing
`data_gen` imports every built-in one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from data_gen.families.base import Family
    from data_gen.transforms.base import Transform

__all__ = ["FAMILIES", "TRANSFORMS", "register_family", "register_transform", "Configurable"]

FAMILIES: dict[str, Family] = {}
TRANSFORMS: dict[str, Transform] = {}


class Configurable:
    """A registry entry with named options: `defaults`, overridable from a config."""

    defaults: Mapping[str, Any] = {}

    def check_options(self, options: Mapping[str, Any], where: str) -> None:
        """Raise ValueError naming `where` for unknown or invalid options."""
        unknown = sorted(set(options) - set(self.defaults))
        if unknown:
            raise ValueError(f"generator config '{where}': unknown option(s) {unknown}; "
                             f"valid options are {sorted(self.defaults)}")

    def options(self, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
        return {**self.defaults, **(overrides or {})}


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
