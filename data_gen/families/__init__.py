"""Distribution families with exact MI; importing this registers them all."""

from data_gen.families import (  # noqa: F401
    clusters, contaminated, gamma_exponential, gaussian, manifold, periodic, shells, sign_mixture, student_t, uniform_noise,
)
from data_gen.families.base import Family, Joint

__all__ = ["Family", "Joint"]
