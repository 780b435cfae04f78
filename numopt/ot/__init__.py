"""Entropic optimal transport: Sinkhorn-Newton-Sparse and POT-shaped wrappers.

:func:`sinkhorn_newton` returns a full :class:`~numopt.OptimizeResult`; :func:`sinkhorn` and
:func:`sinkhorn2` have POT's signatures (``ot.sinkhorn``, ``ot.sinkhorn2``) without ``log`` and
return the plan and the transport cost, so that a POT user switches with one import.
"""

from numopt.ot.pot import sinkhorn, sinkhorn2
from numopt.ot.sinkhorn_newton import sinkhorn_newton

__all__ = ["sinkhorn_newton", "sinkhorn", "sinkhorn2"]
