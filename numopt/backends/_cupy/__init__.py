"""CuPy kernels, imported only when the CuPy backend is used.

The OT kernels are the namespace-generic references run on CuPy arrays: each is a handful of
element-wise operations, reductions, matrix-vector products and ``bincount`` scatters, which CuPy
already runs as device kernels. ``sinkhorn_sweeps`` reads one scalar back per sweep (its stopping
test); the solver's ``check_every`` batches bound how often that happens.
"""

from numopt.backends._numpy import *  # noqa: F403 (the namespace-generic references)
from numopt.backends._protocol import KERNEL_NAMES

__all__ = list(KERNEL_NAMES)
