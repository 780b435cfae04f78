"""Reference kernels in plain array code.

They are written against the namespace of their inputs (NumPy or CuPy), so they are the oracle that
the numba and CuPy kernels are tested against, and the CuPy backend reuses them where a hand-written
kernel does not pay. The table implements :class:`numopt.backends._protocol.Kernels`.
"""

from numopt.backends._numpy.logistic import (
    csr_block_gram,
    csr_weighted_gram,
    csr_weighted_hessp,
    logistic_fgw,
    softmax_fgp,
)
from numopt.backends._numpy.ot import (
    absorb_kernel,
    logsumexp_cols,
    logsumexp_rows,
    plan_cost,
    scaled_marginals,
    schur_matvec,
    sinkhorn_sweeps,
    sinkhorn_sweeps_batch,
    sparsify_histograms,
    sparsify_select,
)
from numopt.backends._numpy.sketch import (
    block_steps,
    gaussian_steps,
    kaczmarz_steps,
    range_kaczmarz_steps,
)
from numopt.backends._protocol import KERNEL_NAMES

__all__ = list(KERNEL_NAMES)
