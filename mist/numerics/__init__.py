"""Closed forms and matrix numerics shared by the estimator and the meta-dataset generator.

Nothing here imports torch or the rest of the package, so `data_gen` can use it without
loading the model.
"""

from mist.numerics.student_t import t_correction

__all__ = ["t_correction"]
