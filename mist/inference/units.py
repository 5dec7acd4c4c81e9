"""Units of a result: nats (natural log) or bits."""

import math

__all__ = ["UNITS"]

UNITS = {"nats": 1.0, "bits": math.log(2.0)}  # nats per unit
