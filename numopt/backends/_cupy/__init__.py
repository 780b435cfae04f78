"""CuPy kernels, imported only when the CuPy backend is used.

The OT kernels are the namespace-generic references run on CuPy arrays: each is a handful of
element-wise operations, reductions, matrix-vector products and ``bincount`` scatters, which CuPy
already runs as device kernels. ``sinkhorn_sweeps`` reads one scalar back per sweep (its stopping
test); the solver's ``check_every`` batches bound how often that happens.
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
