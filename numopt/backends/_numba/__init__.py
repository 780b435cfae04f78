"""numba kernels (``@njit(cache=True, nogil=True)``), imported only on first kernel use.

Every kernel has the signature of its reference in ``numopt.backends._numpy`` and is tested
against it. Inputs are C-contiguous float64 or float32 arrays, so each compiles once per dtype.
"""

from numopt.backends._numba.ot import logsumexp_cols, logsumexp_rows, plan_with_marginals
from numopt.backends._numba.sketch import block_steps, gaussian_steps, kaczmarz_steps

__all__ = ["logsumexp_rows", "logsumexp_cols", "plan_with_marginals",
           "kaczmarz_steps", "gaussian_steps", "block_steps"]
