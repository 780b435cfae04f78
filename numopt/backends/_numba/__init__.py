"""numba kernels (``@njit(cache=True, nogil=True)``), imported only on first kernel use.

The table implements :class:`numopt.backends._protocol.Kernels`; every kernel has the signature of
its reference in ``numopt.backends._numpy`` and is tested against it. Inputs are C-contiguous
float64 or float32 arrays, so each compiles once per dtype. The sketch kernels are plain-Python
dispatchers over compiled dense and CSR loops (``numopt.backends._numba.sketch``).
"""

from numopt.backends._numba.logistic import (
    csr_block_gram,
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
    scaled_marginals,
    schur_matvec,
    sinkhorn_sweeps,
    sparsify_histograms,
    sparsify_select,
)
from numopt.backends._numba.sketch import (
    block_steps,
    gaussian_steps,
    kaczmarz_steps,
    range_kaczmarz_steps,
)

# Two matrix-matrix products per sweep: the reference's BLAS-3 calls are what a compiled loop
# would call, so the table reuses it.
from numopt.backends._numpy.ot import sinkhorn_sweeps_batch
from numopt.backends._protocol import KERNEL_NAMES

__all__ = list(KERNEL_NAMES)
