"""numba kernels (``@njit(cache=True, nogil=True)``), imported only on first kernel use.

Every kernel has the signature of its reference in ``numopt.backends._numpy`` and is tested
against it. Inputs are C-contiguous float64 or float32 arrays, so each compiles once per dtype.
"""

from numopt.backends._numba.ot import (
                                       absorb_kernel,
                                       logsumexp_cols,
                                       logsumexp_rows,
                                       plan_cost,
                                       plan_with_marginals,
                                       scaled_marginals,
                                       schur_matvec,
                                       sinkhorn_sweeps,
                                       sparsify_histograms,
                                       sparsify_select,
)
from numopt.backends._numba.sketch import block_steps, gaussian_steps, kaczmarz_steps

__all__ = ["absorb_kernel", "logsumexp_cols", "logsumexp_rows", "plan_cost", "plan_with_marginals",
           "scaled_marginals", "schur_matvec", "sinkhorn_sweeps", "sparsify_histograms",
           "sparsify_select",
           "kaczmarz_steps", "gaussian_steps", "block_steps"]
