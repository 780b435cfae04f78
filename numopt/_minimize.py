"""``numopt.minimize``: SciPy's ``minimize`` with numopt's methods added."""

from numopt._core.registry import REGISTRY, minimize_methods

__all__ = ["minimize"]


def minimize(fun, x0, args=(), method=None, jac=None, hess=None, hessp=None, bounds=None,
             constraints=(), tol=None, callback=None, options=None):
    """Minimize a scalar function: :func:`scipy.optimize.minimize` plus numopt's methods.

    The signature, the meaning of every argument and the result are SciPy's. ``method`` may be a
    numopt method (listed by ``numopt.show_options("minimize")``):

    - ``"gn-newton"``: gradient-normalized regularized Newton (exact or approximate Hessians);
    - ``"exact-alm"``: exact augmented Lagrangian with randomized iterative sketching, for
      equality-constrained problems.

    Any other ``method`` (or None) is passed to :func:`scipy.optimize.minimize` unchanged, so
    ``numopt.minimize`` is a drop-in superset of SciPy's.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float``.
    x0 : array_like, shape (n,)
        Initial guess.
    args : tuple, optional
        Extra arguments passed to ``fun``, ``jac``, ``hess`` and ``hessp``.
    method : str, optional
        Solver name (case-insensitive).
    jac, hess, hessp : callable, optional
        Gradient, Hessian and Hessian-vector product as in SciPy (numopt methods also accept
        some strings for ``hess``; see :func:`show_options`).
    bounds : sequence or `scipy.optimize.Bounds`, optional
        Bounds (SciPy methods only; numopt methods say if they cannot handle them).
    constraints : dict, `scipy.optimize.NonlinearConstraint` or sequence of them, optional
        Constraints in SciPy's types.
    tol : float, optional
        Tolerance for termination (mapped to each method's own tolerance).
    callback : callable, optional
        ``callback(intermediate_result)`` or legacy ``callback(xk)``; raising ``StopIteration``
        stops the run (numopt methods return status 99).
    options : dict, optional
        Method options (``maxiter``, ``gtol``, ``disp`` ...); unknown ones warn with
        ``OptimizeWarning``.

    Returns
    -------
    OptimizeResult
        SciPy's result for SciPy methods; :class:`numopt.OptimizeResult` (a subclass) for numopt's.

    See Also
    --------
    scipy.optimize.minimize : The SciPy function this extends.
    numopt.show_options : Options of every method.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt import minimize
    >>> from scipy.optimize import rosen, rosen_der
    >>> res = minimize(rosen, np.zeros(3), jac=rosen_der, method="BFGS")
    >>> bool(res.success), np.allclose(res.x, 1.0, atol=1e-4)
    (True, True)
    """
    if isinstance(method, str) and method.lower() in minimize_methods():
        solve = REGISTRY[method.lower()].load()
        return solve(fun, x0, args=args, jac=jac, hess=hess, hessp=hessp, bounds=bounds,
                     constraints=constraints, tol=tol, callback=callback, **dict(options or {}))
    from scipy.optimize import minimize as scipy_minimize

    return scipy_minimize(fun, x0, args=args, method=method, jac=jac, hess=hess, hessp=hessp,
                          bounds=bounds, constraints=constraints, tol=tol, callback=callback,
                          options=options)
