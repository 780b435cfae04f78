"""CuPy kernels, imported only when the CuPy backend is used.

The dense OT passes are the namespace-generic references run on CuPy arrays: each is a handful of
fused element-wise operations and reductions, which CuPy already runs as device kernels.
"""

from numopt.backends._numpy.ot import logsumexp_cols, logsumexp_rows, plan_with_marginals
from numopt.backends._numpy.sketch import block_steps, gaussian_steps, kaczmarz_steps

__all__ = ["logsumexp_rows", "logsumexp_cols", "plan_with_marginals",
           "kaczmarz_steps", "gaussian_steps", "block_steps"]
