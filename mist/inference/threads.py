"""BLAS threads for the classical statistics."""

from __future__ import annotations

from contextlib import AbstractContextManager

from threadpoolctl import ThreadpoolController

__all__ = ["one_blas_thread"]

_CONTROLLER: ThreadpoolController | None = None


def one_blas_thread() -> AbstractContextManager:
    """A context with numpy's and scipy's BLAS on one thread; torch keeps its own threads.

    The statistics (`mist.stats.summarize`, run by `mist.inference.forward.predict_log1p`) make
    many small matrix products (n x d, d <= 64), where BLAS threads cost more in synchronisation
    than they gain: on 2 cores a whole estimate at n = 10^4 (5 + 5 dims) takes 112 ms with two
    BLAS threads and 63 ms with one (`scripts/bench_model.py`). Everything else, such as the PCA
    of wide inputs, keeps every thread; the previous limits are restored on exit.
    """
    global _CONTROLLER
    if _CONTROLLER is None:  # finding the loaded libraries costs 0.25 ms: once per process
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")
