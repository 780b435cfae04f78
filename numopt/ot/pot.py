"""POT-shaped drop-ins: ``sinkhorn(a, b, M, reg)`` returns the plan, ``sinkhorn2`` the cost."""

from numopt.ot.sinkhorn_newton import sinkhorn_newton

__all__ = ["sinkhorn", "sinkhorn2"]


def sinkhorn(a, b, M, reg, numItermax=10000, stopThr=1e-8, verbose=False, warn=True, **options):
    """Entropic OT plan with POT's ``ot.sinkhorn`` signature, solved by :func:`sinkhorn_newton`.

    Parameters
    ----------
    a : array_like, shape (n,)
        Source weights.
    b : array_like, shape (m,)
        Target weights (same total mass).
    M : array_like, shape (n, m)
        Cost matrix.
    reg : float
        Entropic regularisation (POT's ``reg``), > 0.
    numItermax : int, default 10000
        Passed as ``maxiter``.
    stopThr : float, default 1e-8
        Passed as ``tol`` (L1 marginal error relative to the mass).
    verbose : bool, default False
        Print a final report.
    warn : bool, default True
        Warn when the solve does not converge.
    **options
        Options of :func:`sinkhorn_newton` (``backend``, ``sparsify``, ...).

    Returns
    -------
    ndarray, shape (n, m)
        The transport plan.

    See Also
    --------
    numopt.sinkhorn_newton : the solver, with the full result.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.ot import sinkhorn
    >>> M = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> P = sinkhorn([0.5, 0.5], [0.5, 0.5], M, 0.1)
    >>> bool(np.allclose(P.sum(axis=0), 0.5))
    True
    """
    return sinkhorn_newton(a, b, M, reg, tol=stopThr, maxiter=numItermax, verbose=int(verbose),
                           warn=warn, **options).plan


def sinkhorn2(a, b, M, reg, numItermax=10000, stopThr=1e-8, verbose=False, warn=True, **options):
    """Entropic OT transport cost ``<M, P>`` with POT's ``ot.sinkhorn2`` signature.

    As POT's ``sinkhorn2``, the value is the linear cost of the entropic plan (without the entropy
    term); :func:`sinkhorn_newton` also returns the entropic objective as ``fun``.

    Parameters
    ----------
    a, b, M, reg, numItermax, stopThr, verbose, warn, **options
        As in :func:`sinkhorn`.

    Returns
    -------
    float
        ``<M, P>``.

    See Also
    --------
    numopt.ot.sinkhorn : the plan.

    Examples
    --------
    >>> from numopt.ot import sinkhorn2
    >>> round(sinkhorn2([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]], 0.01), 6)
    0.0
    """
    return sinkhorn_newton(a, b, M, reg, tol=stopThr, maxiter=numItermax, verbose=int(verbose),
                           warn=warn, **options).cost
