"""CuPy kernels, imported only when the CuPy backend is used.

The dense OT passes are the namespace-generic references run on CuPy arrays: each is a handful of
fused element-wise operations and reductions, which CuPy already runs as device kernels.
"""

from numopt.backends._numpy.ot import (absorb_kernel, logsumexp_cols,
                                      logsumexp_rows, plan_cost, plan_with_marginals,
                                      scaled_marginals, schur_matvec, sinkhorn_sweeps, sparsify_histograms,
                                      sparsify_select)

__all__ = ["absorb_kernel", "logsumexp_cols", "logsumexp_rows", "plan_cost", "plan_with_marginals", "scaled_marginals", "schur_matvec", "sinkhorn_sweeps", "sparsify_histograms", "sparsify_select"]
