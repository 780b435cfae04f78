"""numba kernels (``@njit(cache=True, nogil=True)``), imported only on first kernel use.

Every kernel has the signature of its reference in ``numopt.backends._numpy`` and is tested
against it. Inputs are C-contiguous float64 or float32 arrays, so each compiles once per dtype.
"""

from numopt.backends._numba.logistic import (
    csr_block_gram,
    csr_weighted_diag,
    csr_weighted_gram,
    csr_weighted_hessp,
    logistic_fgw,
    softmax_fgp,
)
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

# The *_steps names are plain-Python dispatchers (dense or CSR) over the compiled kernels listed
# in __all__; the solver calls the dispatchers, the cache test checks the kernels.
from numopt.backends._numba.sketch import (
                                       block_csr,
                                       block_dense,
                                       gaussian_csr,
                                       gaussian_dense,
                                       kaczmarz_csr,
                                       kaczmarz_dense,
)
from numopt.backends._numba.sketch import block_steps as block_steps
from numopt.backends._numba.sketch import gaussian_steps as gaussian_steps
from numopt.backends._numba.sketch import kaczmarz_steps as kaczmarz_steps

__all__ = ["absorb_kernel", "logsumexp_cols", "logsumexp_rows", "plan_cost", "plan_with_marginals",
           "scaled_marginals", "schur_matvec", "sinkhorn_sweeps", "sparsify_histograms",
           "sparsify_select",
           "kaczmarz_dense", "kaczmarz_csr", "gaussian_dense", "gaussian_csr", "block_dense",
           "block_csr",
           "logistic_fgw", "csr_weighted_gram", "csr_weighted_hessp", "csr_weighted_diag",
           "softmax_fgp", "csr_block_gram"]
