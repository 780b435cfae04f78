"""The one ``njit`` configuration of numopt's kernels, and what happens when numba cannot cache.

numba caches a compiled kernel in the first usable place among ``NUMBA_CACHE_DIR``, the
``__pycache__`` folder beside the source and the user cache folder (``XDG_CACHE_HOME``); when none
can be written, ``njit(cache=True)`` raises "cannot cache function" at import. numopt then
compiles its kernels without caching (once per process) and says so in one warning.
"""

from numba import njit

from numopt._core.warnings import NumoptWarning, emit

__all__ = ["CACHE", "kernel"]


def _can_cache():
    """Whether numba finds a writable cache place for a function of this folder."""

    def probe():
        return 0

    try:
        njit(cache=True)(probe)
    except RuntimeError as exc:
        if "cannot cache" not in str(exc):
            raise
        return False
    return True


CACHE = _can_cache()
if not CACHE:
    emit("numba found no writable cache folder (NUMBA_CACHE_DIR, the package's __pycache__ "
         "folders and the user cache folder all failed), so numopt compiles its kernels without "
         "caching, in every process. Set NUMBA_CACHE_DIR to a writable folder to cache them, or "
         "NUMOPT_BACKEND=numpy to run the NumPy kernels, which need no compiling.", NumoptWarning)


def kernel(**options):
    """``numba.njit`` with numopt's settings, plus ``options`` (e.g. ``fastmath=True``).

    ``cache`` follows :data:`CACHE`; ``nogil`` lets threads share a kernel; ``error_model="numpy"``
    makes a division by zero give inf or NaN, as in the NumPy reference kernels, instead of
    numba's Python-model ``ZeroDivisionError``.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.backends._numba.ot import sinkhorn_sweeps  # compiled by kernel()
    >>> alpha, beta = np.ones(2), np.ones(2)
    >>> K = np.array([[1.0, 0.0], [0.0, 0.0]])  # a vanished row sum: inf, not an exception
    >>> errors, done = sinkhorn_sweeps(K, np.full(2, 0.5), np.full(2, 0.5), alpha, beta, 5, 0.0,
    ...                                30.0)
    >>> done, bool(np.isinf(alpha[1]))
    (1, True)
    """
    return njit(cache=CACHE, nogil=True, error_model="numpy", **options)
