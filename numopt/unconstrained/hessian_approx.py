"""Hessian sources for gradient-normalized Newton: exact, product-only and approximate Hessians.

A *Hessian source* turns the current point ``x`` into something :func:`make_model` can solve
``(H + lam B) s = g`` with: a dense array, a SciPy sparse matrix, a
:class:`scipy.sparse.linalg.LinearOperator` (optionally a :class:`HessianOperator` carrying its
diagonal for preconditioning) or a :class:`RankOne` term.

Where the approximations come from (Semenov, Jaggi, Doikov, arXiv:2506.13710, section on
approximate Hessians):

``"fisher"``
    Empirical Fisher ``sum_i grad f_i grad f_i^T`` for finite sums (logistic / softmax regression)
    or the rank-one Fisher term ``((p - 2) / ||u||^p) grad f grad f^T`` of ``(1/p)||u(x)||^p``,
    solved by Sherman-Morrison. Needs ``problem.hess_fisher(x)``.
``"gauss-newton"``
    ``||u||^{p-2} J^T J + (p - 2)||u||^{p-4} (J^T u)(J^T u)^T`` for ``(1/p)||u(x)||^p`` (drops
    ``sum_i u_i nabla^2 u_i``), or the weighted Gauss-Newton ``(1/mu) A^T diag(pi) A`` of LogSumExp.
    Needs ``problem.hess_gauss_newton(x)``.
``"subsampled"``
    The exact Hessian of the loss over a random fraction of the data rows (plus the regulariser).
    Needs ``problem.hess_subsampled(x, fraction, rng)``.
``"lazy"``
    The exact Hessian ``problem.hess(x)``, factorised once and reused for several iterations.

The named approximations are looked up on the problem object that owns ``fun`` (``fun`` is a
bound method such as ``problem.fun``); :mod:`numopt.problems` objects provide them.
"""

import numpy as np
from scipy.optimize import HessianUpdateStrategy
from scipy.optimize._numdiff import approx_derivative
from scipy.sparse.linalg import LinearOperator

from numopt._core.validation import all_finite, array_namespace, check_function_output

__all__ = ["RankOne", "HessianOperator", "HessianSource", "resolve_hessian", "make_model",
           "APPROXIMATIONS", "FD_METHODS"]

#: SciPy's finite-difference schemes, accepted for ``jac`` and ``hess``.
FD_METHODS = ("2-point", "3-point", "cs")

#: Named approximations and the problem method each one needs.
APPROXIMATIONS = {
    "exact": "hess",
    "lazy": "hess",
    "fisher": "hess_fisher",
    "gauss-newton": "hess_gauss_newton",
    "subsampled": "hess_subsampled",
}


class RankOne:
    """The rank-one matrix ``coef * vector vector^T`` (``coef >= 0``), kept unformed.

    Parameters
    ----------
    coef : float
        Non-negative scale.
    vector : array, shape (d,)

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.unconstrained.hessian_approx import RankOne
    >>> H = RankOne(2.0, np.array([1.0, 1.0]))
    >>> H @ np.array([1.0, 0.0])
    array([2., 2.])
    """

    def __init__(self, coef, vector):
        self.coef = float(coef)
        self.vector = vector
        self.shape = (vector.shape[0], vector.shape[0])

    def __matmul__(self, v):
        return self.coef * float(self.vector @ v) * self.vector

    def toarray(self):
        """The dense ``(d, d)`` matrix."""
        return self.coef * self.vector[:, None] * self.vector[None, :]


class HessianOperator(LinearOperator):
    """A symmetric ``LinearOperator`` ``v -> H v`` that may also know ``diag(H)``.

    The diagonal, when given, is used as a Jacobi preconditioner by the CG inner solve.

    Parameters
    ----------
    matvec : callable
        ``v -> H v`` for ``v`` of shape (d,); kept as the attribute ``product``.
    d : int
        Dimension.
    diagonal : array, shape (d,), optional
        ``diag(H)``.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.unconstrained.hessian_approx import HessianOperator
    >>> op = HessianOperator(lambda v: 2.0 * v, 3, diagonal=np.full(3, 2.0))
    >>> op @ np.ones(3)
    array([2., 2., 2.])
    """

    def __init__(self, matvec, d, diagonal=None):
        super().__init__(dtype=np.float64, shape=(d, d))
        self.product = matvec  # the solvers call it directly, without LinearOperator's checks
        self.diagonal = diagonal

    def _matvec(self, v):
        return self.product(np.ravel(v))

    def _rmatvec(self, v):
        return self.product(np.ravel(v))


class HessianSource:
    """Callable ``(x, g) -> H`` with a name and an evaluation counter.

    The evaluation receives a copy of ``x`` (a user function may modify its argument).

    Parameters
    ----------
    evaluate : callable
        ``x -> H`` (any form :func:`make_model` accepts), or ``(x, g) -> H`` when
        ``uses_gradient``.
    name : str
        What it is (``"hess"``, ``"hessp"``, ``"fisher"``...), used in messages.
    reuse : int
        How many iterations one evaluation may serve (``1``: fresh each iteration).
    uses_gradient : bool
        ``evaluate`` takes the gradient at ``x`` too (finite differences of the gradient).
    counted : bool
        Whether a call is a Hessian evaluation (``nhev``); finite differences and quasi-Newton
        matrices are not (as in SciPy), their gradient evaluations are counted in ``njev``.
    update : callable, optional
        ``update(delta_x, delta_grad)`` called after each accepted step (quasi-Newton).

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.unconstrained.hessian_approx import HessianSource
    >>> source = HessianSource(lambda x: np.diag(x), "hess")
    >>> source(np.array([1.0, 2.0]), None), source.evaluations
    (array([[1., 0.],
           [0., 2.]]), 1)
    """

    def __init__(self, evaluate, name, reuse=1, *, uses_gradient=False, counted=True,
                 update=None):
        self._evaluate, self.name, self.reuse = evaluate, name, reuse
        self._uses_gradient, self._counted, self._update = uses_gradient, counted, update
        self.evaluations = 0

    def __call__(self, x, g):
        self.evaluations += self._counted
        if self._uses_gradient:
            return self._evaluate(x.copy(), g)
        return self._evaluate(x.copy())

    def accepted(self, delta_x, delta_grad):
        """Tell the source that the solver moved by ``delta_x`` (gradient by ``delta_grad``)."""
        if self._update is not None:
            self._update(delta_x, delta_grad)


def _problem_of(fun, kind):
    """The problem object owning ``fun`` and its method for approximation ``kind``."""
    method_name = APPROXIMATIONS[kind]
    problem = getattr(fun, "__self__", None)
    method = getattr(problem, method_name, None)
    if problem is None or not callable(method):
        owner = type(problem).__name__ if problem is not None else "a plain function"
        raise TypeError(f"hess={kind!r} needs the problem structure: pass `fun` as a bound method "
                        f"of a problem object with a `{method_name}(x)` method (the objects of "
                        f"numopt.problems have it); `fun` belongs to {owner}. Otherwise pass "
                        f"hess=callable returning your approximation.")
    return method


def resolve_hessian(hess, hessp, fun, args, d, *, lazy_reuse, subsample, rng, gradient=None):
    """Build the :class:`HessianSource` described by the ``hess`` / ``hessp`` arguments.

    Parameters
    ----------
    hess : callable, str, HessianUpdateStrategy or None
        ``hess(x, *args)`` returning a dense/sparse matrix, a ``LinearOperator`` or a
        :class:`RankOne`; the name of an approximation (keys of :data:`APPROXIMATIONS`); a
        finite-difference scheme of :data:`FD_METHODS` (the dense Hessian from differences of
        ``gradient``, SciPy's default step); or a
        :class:`scipy.optimize.HessianUpdateStrategy` (``BFGS()``, ``SR1()``), initialised here
        and updated with ``(x_{k+1} - x_k, g_{k+1} - g_k)`` after every accepted step, whose
        dense matrix is the Hessian of every iteration.
    hessp : callable or None
        ``hessp(x, v, *args) -> H v``; used when ``hess`` is None.
    fun : callable
        The objective (its owner provides named approximations).
    args : tuple
        Extra arguments of the user functions.
    d : int
        Dimension.
    lazy_reuse : int
        Iterations one Hessian serves under ``hess="lazy"``.
    subsample : float
        Fraction of rows under ``hess="subsampled"``.
    rng : numpy.random.Generator
        Random rows for ``"subsampled"``.
    gradient : callable, optional
        ``x -> g(x)`` (counted by the caller); needed by the finite-difference schemes.

    Returns
    -------
    HessianSource

    Raises
    ------
    TypeError
        Neither ``hess`` nor ``hessp`` given, or a named approximation the problem lacks.
    ValueError
        Unknown approximation name.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.problems import rosenbrock_residuals
    >>> from numopt.unconstrained.hessian_approx import resolve_hessian
    >>> problem = rosenbrock_residuals(p=2)
    >>> source = resolve_hessian("gauss-newton", None, problem.fun, (), 2, lazy_reuse=1,
    ...                          subsample=0.1, rng=np.random.default_rng(0))
    >>> source(np.ones(2), None).shape, source.evaluations
    ((2, 2), 1)
    """
    if isinstance(hess, HessianUpdateStrategy):
        hess.initialize(d, "hess")
        return HessianSource(lambda x: hess.get_matrix(), type(hess).__name__, counted=False,
                             update=hess.update)
    if isinstance(hess, str) and hess in FD_METHODS:
        def differences(x, g):
            return approx_derivative(gradient, x, method=hess, f0=g)

        return HessianSource(differences, hess, uses_gradient=True, counted=False)
    if isinstance(hess, str):
        if hess not in APPROXIMATIONS:
            names = ", ".join(map(repr, APPROXIMATIONS))
            raise ValueError(f"The 'hess' parameter of gn-newton must be a callable, a "
                             f"HessianUpdateStrategy or one of {names}, "
                             f"{', '.join(map(repr, FD_METHODS))}. Got {hess!r} instead.")
        method = _problem_of(fun, hess)
        if hess == "subsampled":
            return HessianSource(lambda x: method(x, subsample, rng), hess)
        return HessianSource(method, hess, reuse=lazy_reuse if hess == "lazy" else 1)
    if hess is not None:
        if not callable(hess):
            raise TypeError(f"The 'hess' parameter of gn-newton must be a callable, a "
                            f"scipy.optimize.HessianUpdateStrategy (BFGS(), SR1()), one of "
                            f"{', '.join(map(repr, (*APPROXIMATIONS, *FD_METHODS)))} or None. "
                            f"Got {type(hess).__name__} instead.")
        return HessianSource(lambda x: hess(x, *args), "hess")
    if hessp is not None:
        if not callable(hessp):
            raise TypeError(f"The 'hessp' parameter of gn-newton must be callable or None. Got "
                            f"{type(hessp).__name__} instead.")

        def operator(x):
            def product(v):
                return check_function_output(hessp(x.copy(), v, *args), "hessp", (d,),
                                             array_namespace(x))
            return HessianOperator(product, d)

        return HessianSource(operator, "hessp")
    raise TypeError("gn-newton needs second-order information: pass hess (a callable or an "
                    "approximation name such as 'fisher') or hessp.")


def make_model(H, d, metric, *, factorization, cg_forcing, cg_maxiter):
    """A solver of ``(H + lam B) s = g`` for the Hessian ``H`` returned by a source.

    Parameters
    ----------
    H : array, sparse matrix, LinearOperator or RankOne
        What the Hessian source returned.
    d : int
        Dimension.
    metric : Metric or "auto"
        ``"auto"``: ``B = |H|`` for a dense ``H`` (:class:`AbsoluteHessianModel`, which is its
        own metric), the identity for the other kinds.
    factorization : {"cholesky", "eigh"}
        For dense ``H``: a Cholesky factorisation per trial or one eigendecomposition.
    cg_forcing, cg_maxiter : float, int
        Krylov settings for operators (``cg_maxiter``: products per Hessian with the Lanczos
        model, per trial with CG).

    Returns
    -------
    model or None
        Object with ``solve(g, lam) -> step or None`` and the ``metric`` it solves with;
        None when ``H`` has non-finite entries (the solver stops with a negative status).

    Raises
    ------
    ValueError
        ``H`` of the wrong shape.
    TypeError
        ``H`` of an unsupported type.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.unconstrained._regularized_solve import Metric
    >>> from numopt.unconstrained.hessian_approx import make_model
    >>> model = make_model(np.diag([1.0, 3.0]), 2, Metric(), factorization="eigh",
    ...                    cg_forcing=0.5, cg_maxiter=10)
    >>> model.solve(np.array([2.0, 4.0]), 1.0)
    array([1., 1.])
    """
    from scipy import sparse

    from numopt.unconstrained import _regularized_solve as solvers

    adaptive = isinstance(metric, str)  # "auto"
    if adaptive:
        metric = solvers.Metric()
    shape = getattr(H, "shape", None)
    if shape != (d, d):
        raise ValueError(f"`hess` must return a ({d}, {d}) matrix or operator; got "
                         f"{'shape ' + str(shape) if shape is not None else type(H).__name__}.")
    if getattr(getattr(H, "dtype", None), "kind", "f") not in "biuf":  # keep imaginary parts
        raise TypeError(f"`hess` must return real numbers; got dtype {H.dtype}.")
    if isinstance(H, RankOne):
        return solvers.RankOneModel(H.coef, H.vector, metric)
    if isinstance(H, LinearOperator):
        diagonal = getattr(H, "diagonal", None)
        if diagonal is None and metric.identity:
            return solvers.LanczosModel(getattr(H, "product", H.matvec), metric,
                                        forcing=cg_forcing, maxiter=cg_maxiter)
        return solvers.CGModel(H.matvec, metric, diagonal=diagonal, forcing=cg_forcing,
                               maxiter=cg_maxiter)
    if sparse.issparse(H):
        if not all_finite(H.data):
            return None
        return solvers.SparseModel(H, metric)
    xp = array_namespace(H)
    try:
        H = xp.asarray(H, dtype=xp.float64)
    except (TypeError, ValueError):
        raise TypeError(f"`hess` must return an array, a sparse matrix, a LinearOperator or a "
                        f"RankOne; got {type(H).__name__}.") from None
    if not all_finite(H):
        return None
    # Symmetrise: rounding in a user's Hessian must not make eigh/Cholesky see an asymmetric matrix.
    H = 0.5 * (H + H.T)
    if adaptive:
        return solvers.AbsoluteHessianModel(H)
    if factorization == "eigh":
        return solvers.EigenModel(H, metric)
    return solvers.CholeskyModel(H, metric)
