"""Reference kernels in plain array code.

They are written against the namespace of their inputs (NumPy or CuPy), so they are the oracle that
the numba and CuPy kernels are tested against, and the CuPy backend reuses them where a hand-written
kernel does not pay.
"""

from numopt.backends._numpy.ot import logsumexp_cols, logsumexp_rows, plan_with_marginals
from numopt.backends._numpy.sketch import block_steps, gaussian_steps, kaczmarz_steps

__all__ = ["logsumexp_rows", "logsumexp_cols", "plan_with_marginals",
           "kaczmarz_steps", "gaussian_steps", "block_steps"]
