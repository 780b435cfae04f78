"""Entropic optimal transport: Sinkhorn-Newton-Sparse and POT's drop-ins.

:func:`sinkhorn_newton` returns a full :class:`~numopt.OptimizeResult`; :func:`sinkhorn` and
:func:`sinkhorn2` follow POT's contract for ``ot.sinkhorn`` and ``ot.sinkhorn2`` (signature,
``log`` dictionaries, several targets, warnings), so that a POT user switches with one import.
:func:`pairwise_sinkhorn2` gives the matrix of losses between many histograms, in this process or
on a Dask cluster.
"""

from numopt.ot.batch import sinkhorn_newton_batch
from numopt.ot.pairwise import pairwise_sinkhorn2
from numopt.ot.pot import sinkhorn, sinkhorn2
from numopt.ot.sinkhorn_newton import sinkhorn_newton

__all__ = ["sinkhorn_newton", "sinkhorn_newton_batch", "sinkhorn", "sinkhorn2",
           "pairwise_sinkhorn2"]
