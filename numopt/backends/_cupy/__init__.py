"""CuPy kernels, imported only when the CuPy backend is used.

The dense OT passes are the namespace-generic references run on CuPy arrays: each is a handful of
fused element-wise operations and reductions, which CuPy already runs as device kernels.
"""

from numopt.backends._numpy.logistic import (
    csr_block_gram,
    csr_weighted_diag,
    csr_weighted_gram,
    csr_weighted_hessp,
    logistic_fgw,
    softmax_fgp,
)
from numopt.backends._numpy.ot import logsumexp_cols, logsumexp_rows, plan_with_marginals

__all__ = ["logsumexp_rows", "logsumexp_cols", "plan_with_marginals",
           "logistic_fgw", "csr_weighted_gram", "csr_weighted_hessp", "csr_weighted_diag",
           "softmax_fgp", "csr_block_gram"]
