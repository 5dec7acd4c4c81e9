"""Distribution families with exact MI; importing this registers them all."""

from data_gen.families import gamma_exponential, gaussian, student_t, uniform_noise  # noqa: F401
from data_gen.families.base import Family, Joint

__all__ = ["Family", "Joint"]
