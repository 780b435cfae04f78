"""Reference kernels in plain array code.

They are written against the namespace of their inputs (NumPy or CuPy), so they are the oracle that
the numba and CuPy kernels are tested against, and the CuPy backend reuses them where a hand-written
kernel does not pay.
"""

from numopt.backends._numpy.logistic import (
    csr_block_gram,
    csr_weighted_diag,
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
                                       plan_with_marginals,
                                       scaled_marginals,
                                       schur_matvec,
                                       sinkhorn_sweeps,
                                       sparsify_histograms,
                                       sparsify_select,
)
from numopt.backends._numpy.sketch import block_steps, gaussian_steps, kaczmarz_steps

__all__ = ["absorb_kernel", "logsumexp_cols", "logsumexp_rows", "plan_cost", "plan_with_marginals",
           "scaled_marginals", "schur_matvec", "sinkhorn_sweeps", "sparsify_histograms",
           "sparsify_select",
           "kaczmarz_steps", "gaussian_steps", "block_steps",
           "logistic_fgw", "csr_weighted_gram", "csr_weighted_hessp", "csr_weighted_diag",
           "softmax_fgp", "csr_block_gram"]
