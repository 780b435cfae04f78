"""Exact augmented Lagrangian with randomized iterative sketching (``method="exact-alm"``).

Reference: I. Hong, S. Na, M. W. Mahoney, M. Kolar, "Constrained Optimization via Exact Augmented
Lagrangian and Randomized Iterative Sketching", ICML 2023 (arXiv:2305.18379). Written from the
method's mathematics (see ``doc/solvers/exact_alm.rst``), with the library fixes listed in Notes.
"""

import numpy as np

from numopt._core.iteration import Column, IterationMonitor
from numopt._core.result import Status
from numopt._core.validation import check_array, check_choice, check_int, check_scalar
from numopt._core.warnings import warn_unknown_options
from numopt.constrained._functions import SOLVER, EqualityProblem, check_x0
from numopt.constrained.sketching import (
    SKETCH_SOLVERS,
    KKTSketcher,
    direct_solve,
    range_space_solve,
)

__all__ = ["_minimize_exact_alm"]

_COLUMNS = [Column("fun", "{:>12.5e}", 12), Column("kkt_residual", "{:>12.3e}", 12),
            Column("constr_violation", "{:>16.3e}", 16), Column("alpha", "{:>9.2e}", 9),
            Column("eta1", "{:>9.2e}", 9), Column("eta2", "{:>9.2e}", 9),
            Column("n_sketch", "{:>10.0f}", 10)]


def _frobenius(matrix):
    if hasattr(matrix, "tocsr"):
        return float(np.sqrt((matrix.data ** 2).sum()))
    return float(np.linalg.norm(matrix))


def _smallest_eigenvalue_gram(G):
    """``lambda_min(G G^T)``: dense eigvalsh for m <= 2000, else sparse shift-invert Lanczos."""
    m = G.shape[0]
    if m <= 2000:
        dense = G.toarray() if hasattr(G, "toarray") else G
        return max(float(np.linalg.eigvalsh(dense @ dense.T)[0]), 0.0)
    from scipy.sparse.linalg import eigsh

    gram = (G @ G.T).tocsc() if hasattr(G, "tocsr") else G @ G.T
    try:
        return max(float(eigsh(gram, k=1, sigma=0, which="LM", return_eigenvectors=False)[0]), 0.0)
    except (RuntimeError, ValueError):  # exactly singular Gram matrix: shift-invert fails
        return 0.0


def _reduced_hessian_min(W, G):
    """``lambda_min(Z^T W Z)`` with ``Z`` an orthonormal basis of ``null(G)`` (full QR of G^T)."""
    dense_G = G.toarray() if hasattr(G, "toarray") else G
    dense_W = W.toarray() if hasattr(W, "toarray") else W
    m, n = dense_G.shape
    Q = np.linalg.qr(dense_G.T, mode="complete")[0]
    Z = Q[:, m:]
    return float(np.linalg.eigvalsh(Z.T @ dense_W @ Z)[0])


def _kkt_matrix(B, G, regularization):
    """``[[B, G^T], [G, -rho I]]``, dense or CSR (CSR when B or G is sparse)."""
    m = G.shape[0]
    if hasattr(B, "tocsr") or hasattr(G, "tocsr"):
        import scipy.sparse as sp

        lower = -regularization * sp.identity(m, format="csr") if regularization else None
        return sp.bmat([[sp.csr_matrix(B), sp.csr_matrix(G).T], [sp.csr_matrix(G), lower]],
                       format="csr")
    return np.block([[B, G.T], [G, -regularization * np.eye(m)]])


def _shift(W, t):
    if t == 0.0:
        return W
    if hasattr(W, "tocsr"):
        import scipy.sparse as sp

        return (W + t * sp.identity(W.shape[0], format="csr")).tocsr()
    return W + t * np.eye(W.shape[0])


class _Point:
    """Everything evaluated at one primal-dual point ``(x, lambda)``."""

    def __init__(self, problem, x, multipliers):
        self.x, self.multipliers = x, multipliers
        self.f = problem.objective(x)
        self.g = problem.gradient(x)
        self.c = problem.constraint_values(x)
        self.G = problem.jacobian(x)
        if multipliers is None:
            self.multipliers = multipliers = np.zeros(self.c.size)
        self.finite = problem.finite(self.f, self.g, self.c, self.G)
        self.grad_lagrangian = self.g + np.asarray(self.G.T @ multipliers).ravel()
        self.kkt = float(np.sqrt(self.grad_lagrangian @ self.grad_lagrangian + self.c @ self.c))

    def merit(self, eta1, eta2):
        """``L_eta(x, lambda) = f + lambda^T c + eta1/2 ||c||^2 + eta2/2 ||grad_x L||^2``."""
        return (self.f + self.multipliers @ self.c + 0.5 * eta1 * (self.c @ self.c)
                + 0.5 * eta2 * (self.grad_lagrangian @ self.grad_lagrangian))

    def merit_gradient(self, W, eta1, eta2):
        """Exact gradient of the merit, with the exact Hessian of the Lagrangian ``W``.

        ``grad_x = grad_x L + eta1 G^T c + eta2 W grad_x L``, ``grad_lambda = c + eta2 G grad_x L``.
        """
        grad_x = (self.grad_lagrangian + eta1 * np.asarray(self.G.T @ self.c).ravel()
                  + eta2 * np.asarray(W @ self.grad_lagrangian).ravel())
        grad_lambda = self.c + eta2 * np.asarray(self.G @ self.grad_lagrangian).ravel()
        return np.concatenate([grad_x, grad_lambda])


def _minimize_exact_alm(fun, x0, args=(), jac=None, hess=None, hessp=None, bounds=None,
                        constraints=(), tol=None, callback=None, *, maxiter=500,
                        inner_solver="block", accuracy="paper", max_sketch_iter=100_000,
                        on_budget="direct", early_switch=True, superlinear=False, block_size=8,
                        eta1=1.0, eta2=0.1,
                        delta=0.1, delta_min=1e-6, beta=0.1, penalty_factor=1.5, xi_b=0.1,
                        reduced_hessian_tol=1e-6, hessian_check="auto", dual_regularization=1e-8,
                        alpha_min=1e-12, multipliers0=None, seed=None, time_limit=None,
                        backend="auto", disp=False, verbose=0, check_every=1, warn=True,
                        **unknown_options):
    """Minimize ``f(x)`` subject to ``c(x) = 0`` by the exact augmented Lagrangian method.

    Each iteration solves the Newton-KKT system of the Lagrangian inexactly by randomized
    sketching, to an accuracy adapted so that the direction is a descent direction of the exact
    augmented Lagrangian merit function, and takes an Armijo step on that merit.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float``.
    x0 : array_like, shape (n,)
        Starting point.
    args : tuple
        Extra arguments of ``fun``, ``jac``, ``hess`` and ``hessp``.
    jac : callable or True
        Gradient ``jac(x, *args) -> (n,)``; ``True`` if ``fun`` returns ``(f, grad)``. Required.
    hess : callable, optional
        ``hess(x, *args)`` returning an ndarray, a sparse matrix or a ``LinearOperator``.
    hessp : callable, optional
        ``hessp(x, p, *args)``, used when ``hess`` is absent. Without either, the Hessian is
        approximated by forward differences of ``jac`` (n extra gradients per iteration).
    bounds : None
        Bounds are not supported (a ``ValueError`` says so).
    constraints : NonlinearConstraint, LinearConstraint, dict or list of them
        Equality constraints only (``lb == ub``, or ``{"type": "eq", "fun": c, "jac": J}``).
        ``jac`` is required; a missing constraint ``hess(x, v)`` is replaced by forward
        differences of ``J(x)^T v``. Jacobians may be dense, sparse or ``LinearOperator``.
    tol : float, optional
        Tolerance on the KKT residual ``||(grad f + G^T lambda, c)||_2`` (default ``1e-6``).
    callback : callable, optional
        ``callback(intermediate_result)`` (keys ``x``, ``nit``, ``fun``, ``kkt_residual``, ...)
        or legacy ``callback(xk)``; ``StopIteration`` stops with status 99.

    Options
    -------
    maxiter : int
        Maximum number of Newton (outer) iterations. Default 500.
    inner_solver : {"kaczmarz", "gaussian", "block", "direct"}
        Solver of the Newton-KKT system: randomized Kaczmarz (uniform rows), Gaussian vector
        sketch, row-block sketch (``block_size`` rows) or a direct factorisation. Default
        ``"block"`` (the fastest sketch family in the benchmarks; ``"direct"`` is the reference).
    accuracy : {"paper", "relative"}
        Inner stopping test. ``"paper"``: ``psi ||K||_F ||r|| <= theta delta ||b||`` with the
        paper's constant ``psi`` (guaranteed descent, often very strict); ``"relative"``:
        ``||r|| <= theta delta ||b||`` where ``delta`` shrinks only when the descent test fails
        (no ``psi ||K||_F`` factor and no ``delta_trial`` cap).
    max_sketch_iter : int
        Budget of sketch steps per Newton iteration, shared by the re-solves after penalty
        increases (for ``"block"``, ``max_sketch_iter // block_size`` block steps, i.e. the same
        number of rows). Default 100000.
    on_budget : {"direct", "stop"}
        What to do when the budget runs out before the accuracy test holds: finish this
        iteration with the direct solve (default), or stop with status 3 (``INNER_BUDGET``).
    early_switch : bool
        End a sketch solve before its budget is spent when its observed linear rate shows the
        accuracy target is out of reach within the budget (then ``on_budget`` applies at once).
        Default True.
    superlinear : bool
        Sharpen the accuracy test as the run converges: ``theta_k = min(theta_{k-1},
        kkt_k / kkt_0)`` instead of ``theta = 1`` (the paper's superlinear variant).
    block_size : int
        Rows per sketch for ``inner_solver="block"``. Default 8.
    eta1, eta2 : float
        Initial penalties on ``||c||^2`` and ``||grad_x L||^2`` in the merit.
    delta : float
        Initial accuracy parameter (shrinks with the penalties). Default 0.1.
    delta_min : float
        Floor of ``delta``. Default 1e-6.
    beta : float
        Armijo constant in (0, 1/2). Default 0.1.
    penalty_factor : float
        ``nu > 1``: a failed descent test sets ``eta1 *= nu^2``, ``eta2 /= nu``,
        ``delta /= nu^4``. Default 1.5.
    xi_b : float
        Curvature added (plus ``||W||_F``) when the reduced Hessian is not positive definite.
    reduced_hessian_tol : float
        Positive-definiteness threshold of the reduced Hessian ``Z^T W Z``. Default 1e-6.
    hessian_check : {"auto", "reduced", "curvature", "none"}
        How non-convexity is detected: the reduced Hessian by a full QR of ``G^T`` (O(n^3)),
        the curvature ``dx^T W dx`` along the computed step, or not at all. ``"auto"`` uses
        ``"reduced"`` for n <= 1000, else ``"curvature"``.
    dual_regularization : float
        ``rho`` of the regularised KKT matrix ``[[B, G^T], [G, -rho I]]`` used when the direct
        solve finds ``K`` singular (rank-deficient Jacobian); multiplied by 100 on each retry
        (at most 4). Default 1e-8.
    alpha_min : float
        Smallest Armijo step before the line search is declared failed. Default 1e-12.
    multipliers0 : array_like, shape (m,), optional
        Initial multipliers (default zeros).
    seed : int or numpy.random.Generator, optional
        Randomness of the sketches.
    time_limit : float, optional
        Wall-clock limit in seconds (status 4 when reached).
    backend : {"auto", "numpy", "numba", "cupy"}
        Where the sketch loops run (``"cupy"``: dense KKT matrices on the GPU).
    disp : bool
        Same as ``verbose=1``.
    verbose : int
        0 silent, 1 final report, 2 a table row per iteration.
    check_every : int
        Record history and call ``callback`` every this many iterations.
    warn : bool
        Emit a ``ConvergenceWarning`` when the run does not converge. Default True.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``v`` (list of multipliers, one array per constraint, as trust-constr),
        ``lagrangian_grad``, ``constr_violation`` (max ``|c_i|``), ``kkt_residual``, ``nit``,
        ``nfev``, ``njev``, ``nhev``, ``constr_nfev``, ``constr_njev``, ``constr_nhev``,
        ``n_sketch`` (total sketch steps), ``n_direct`` (direct solves, including fallbacks),
        ``penalties`` (final ``eta1``, ``eta2``, ``delta``), ``success``, ``status``,
        ``message``, ``backend``, ``time``, ``history``.

    Raises
    ------
    ValueError
        Bounds, inequality constraints, no constraint, missing ``jac``, NaN/inf or mis-shaped
        ``x0``/``multipliers0``, bad options, or user functions returning wrong shapes.
    TypeError
        A constraint that is not a SciPy constraint or has a non-callable ``fun`` or ``jac``
        (the same errors as :func:`numopt.bilevel_minimize` for the same constraint).

    Notes
    -----
    Merit (exact augmented Lagrangian), with ``L = f + lambda^T c`` and ``G = c'(x)``:

    ``L_eta(x, lambda) = L + eta1/2 ||c||^2 + eta2/2 ||grad_x L||^2``.

    Newton-KKT system ``[[B, G^T], [G, 0]] (dx, dlambda) = -(grad_x L, c)`` with ``B`` the
    Hessian of the Lagrangian, shifted by ``xi_b + ||W||_F`` when the reduced Hessian is not
    positive definite. Inner accuracy ``psi ||K||_F ||r|| <= theta delta ||b||`` with
    ``psi = 20 max(||B||_F^2, 1) / (min(xi_G, 1) min(xi_b, 1))``, ``xi_G = lambda_min(G G^T)``,
    ``delta <- max(min(delta, (1/2 - beta) eta2 / ((1 + eta1 + eta2) Y^2 psi^2)), delta_min)``,
    ``Y = max(||G||_F, ||W||_F, 1)``. If ``grad L_eta^T z > -(eta2/2) ||b||^2`` the penalties
    grow (``eta1 *= nu^2``, ``eta2 /= nu``, until ``eta1 > 1e8`` or ``eta2 < 1e-8``) and the
    sketch continues from the current ``z``. Armijo: ``L_eta(p + alpha z) <= L_eta(p) + beta alpha
    grad L_eta^T z``, halving ``alpha`` from 1.

    Library fixes over the official code: the merit gradient uses the exact Hessian of the
    Lagrangian (not of ``f``); the sketch residual starts from ``-b``; the sketch budget is per
    Newton iteration and its exhaustion switches to the direct solve (never a repeated capped
    solve); the line search has a lower bound on ``alpha`` and treats a NaN merit as a failed trial;
    a rank-deficient Jacobian is handled by dual regularisation instead of aborting.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import NonlinearConstraint
    >>> from numopt import minimize
    >>> circle = NonlinearConstraint(lambda x: x @ x, 1.0, 1.0, jac=lambda x: 2 * x[None, :],
    ...                              hess=lambda x, v: 2 * v[0] * np.eye(2))
    >>> res = minimize(lambda x: x[0] + x[1], [1.0, 0.5], jac=lambda x: np.ones(2),
    ...                hess=lambda x: np.zeros((2, 2)), constraints=circle,
    ...                method="exact-alm", options={"seed": 0})
    >>> bool(res.success), np.round(res.x, 6), np.round(res.v[0], 6)
    (True, array([-0.707107, -0.707107]), array([0.707107]))
    """
    from numopt.backends import get_backend

    warn_unknown_options(SOLVER, unknown_options)
    maxiter = check_int(maxiter, "maxiter", SOLVER, low=0)
    inner_solver = check_choice(inner_solver, "inner_solver", SOLVER, SKETCH_SOLVERS)
    accuracy = check_choice(accuracy, "accuracy", SOLVER, ("paper", "relative"))
    max_sketch_iter = check_int(max_sketch_iter, "max_sketch_iter", SOLVER, low=1)
    on_budget = check_choice(on_budget, "on_budget", SOLVER, ("direct", "stop"))
    hessian_check = check_choice(hessian_check, "hessian_check", SOLVER,
                                 ("auto", "reduced", "curvature", "none"))
    block_size = check_int(block_size, "block_size", SOLVER, low=1)
    eta1 = check_scalar(eta1, "eta1", SOLVER, low=0)
    eta2 = check_scalar(eta2, "eta2", SOLVER, low=0)
    delta = check_scalar(delta, "delta", SOLVER, low=0)
    delta_min = check_scalar(delta_min, "delta_min", SOLVER, low=0)
    beta = check_scalar(beta, "beta", SOLVER, low=0, high=0.5, high_inclusive=False)
    nu = check_scalar(penalty_factor, "penalty_factor", SOLVER, low=1)
    xi_b = check_scalar(xi_b, "xi_b", SOLVER, low=0)
    reduced_hessian_tol = check_scalar(reduced_hessian_tol, "reduced_hessian_tol", SOLVER,
                                       low=0, low_inclusive=True)
    dual_regularization = check_scalar(dual_regularization, "dual_regularization", SOLVER, low=0)
    alpha_min = check_scalar(alpha_min, "alpha_min", SOLVER, low=0, high=1)
    tol = 1e-6 if tol is None else check_scalar(tol, "tol", SOLVER, low=0)
    if time_limit is not None:
        time_limit = check_scalar(time_limit, "time_limit", SOLVER, low=0)
    superlinear, early_switch = bool(superlinear), bool(early_switch)
    verbose = max(check_int(verbose, "verbose", SOLVER, low=0), int(bool(disp)))
    if bounds is not None:
        raise ValueError(f"{SOLVER} supports only equality constraints; got `bounds`. Reformulate "
                         f"bounds with slack variables or use method='trust-constr'.")
    x = check_x0(x0)
    n = x.size
    problem = EqualityProblem(fun, jac, hess, hessp, args, constraints, n)
    chosen = get_backend(backend, x0)
    rng = np.random.default_rng(seed)
    monitor = IterationMonitor(SOLVER, _COLUMNS, callback=callback, verbose=verbose,
                               check_every=check_every)
    if hessian_check == "auto":
        hessian_check = "reduced" if n <= 1000 else "curvature"

    point = _Point(problem, x, None)
    m = point.c.size
    if multipliers0 is not None:
        point = _rebind(point, check_array(multipliers0, "multipliers0", shape=(m,),
                                           dtype=np.float64))
    state = {"n_sketch": 0, "n_direct": 0, "n_fallback": 0}
    status, message = None, None
    theta = 1.0
    kkt0 = max(point.kkt, np.finfo(float).tiny)
    alpha = np.nan
    nit = 0
    if not point.finite:
        status = Status.NONFINITE
        message = "fun, jac, constraints or their Jacobian are not finite at x0."
    while status is None:
        stop = monitor.due(nit) and monitor.record(
            nit, x=point.x, fun=point.f, kkt_residual=point.kkt,
            constr_violation=float(np.max(np.abs(point.c))), alpha=alpha, eta1=eta1, eta2=eta2,
            n_sketch=state["n_sketch"])
        if point.kkt <= tol:
            status = Status.CONVERGED
            break
        if stop:
            status = Status.CALLBACK
            break
        if nit >= maxiter:
            status = Status.MAXITER
            break
        if time_limit is not None and monitor.elapsed() > time_limit:
            status = Status.TIME_LIMIT
            break
        W = problem.lagrangian_hessian(point.x, point.multipliers)
        if not problem.finite(W):
            status, message = Status.NONFINITE, "The Hessian of the Lagrangian is not finite."
            break
        if superlinear:
            theta = min(theta, point.kkt / kkt0)
        # A block step projects onto block_size rows at once: the budget counts rows, so that
        # every sketch family gets the same amount of work before the direct fallback.
        budget = max(1, max_sketch_iter // block_size) if inner_solver == "block" \
            else max_sketch_iter
        settings = dict(inner_solver=inner_solver, accuracy=accuracy, budget=budget,
                        on_budget=on_budget, theta=theta, beta=beta, nu=nu, xi_b=xi_b,
                        delta_min=delta_min, rho0=dual_regularization, block_size=block_size,
                        early_switch=early_switch)
        shift = 0.0
        if hessian_check == "reduced" and m < n and \
                _reduced_hessian_min(W, point.G) < reduced_hessian_tol:
            shift = xi_b + _frobenius(W)
        outcome = _direction(point, W, shift, eta1, eta2, delta, settings, chosen, rng, state)
        if outcome.status is None and hessian_check == "curvature" and shift == 0.0 and m < n:
            step_x = outcome.z[:n]
            curvature = float(step_x @ np.asarray(W @ step_x).ravel())
            if curvature < reduced_hessian_tol * float(step_x @ step_x):
                shift = xi_b + _frobenius(W)
                outcome = _direction(point, W, shift, outcome.eta1, outcome.eta2, outcome.delta,
                                     settings, chosen, rng, state)
        if outcome.status is not None:
            status, message = outcome.status, outcome.message
            break
        eta1, eta2, delta = outcome.eta1, outcome.eta2, outcome.delta
        trial, alpha = _line_search(problem, point, W, outcome.z, eta1, eta2, beta, alpha_min)
        if trial is None and not outcome.direct:
            # The sketched direction did not give a merit decrease: one exact re-solve, no more.
            settings["inner_solver"] = "direct"
            outcome = _direction(point, W, shift, eta1, eta2, delta, settings, chosen, rng, state)
            if outcome.status is None:
                eta1, eta2, delta = outcome.eta1, outcome.eta2, outcome.delta
                trial, alpha = _line_search(problem, point, W, outcome.z, eta1, eta2, beta,
                                            alpha_min)
        if trial is None:
            status = Status.STALLED
            message = (f"The line search on the merit function failed (alpha < {alpha_min:g}) at "
                       f"KKT residual {point.kkt:.3e}.")
            break
        point = trial
        nit += 1

    hints = {Status.MAXITER: f"increase maxiter (now {maxiter})",
             Status.INNER_BUDGET: f"increase max_sketch_iter (now {max_sketch_iter}) or set "
                                  f"on_budget='direct'",
             Status.STALLED: f"loosen tol (now {tol:g}) or try inner_solver='direct'",
             Status.TIME_LIMIT: f"increase time_limit (now {time_limit})",
             None: "check the problem's functions near res.x"}
    return monitor.finish(
        status, backend=chosen.name, hints=hints, warn=warn, message=message, x=point.x,
        fun=point.f, v=problem.split_multipliers(point.multipliers),
        lagrangian_grad=point.grad_lagrangian,
        constr_violation=float(np.max(np.abs(point.c))) if point.c.size else 0.0,
        kkt_residual=point.kkt, nit=nit, nfev=problem.nfev, njev=problem.njev, nhev=problem.nhev,
        constr_nfev=[problem.constr_nfev] * len(problem.sizes),
        constr_njev=[problem.constr_njev] * len(problem.sizes),
        constr_nhev=[problem.constr_nhev] * len(problem.sizes), n_sketch=state["n_sketch"],
        n_direct=state["n_direct"], n_fallback=state["n_fallback"],
        penalties={"eta1": eta1, "eta2": eta2, "delta": delta})


def _rebind(point, multipliers):
    """The same primal evaluation with other multipliers (no new function calls)."""
    point.multipliers = multipliers
    point.grad_lagrangian = point.g + np.asarray(point.G.T @ multipliers).ravel()
    point.kkt = float(np.sqrt(point.grad_lagrangian @ point.grad_lagrangian
                              + point.c @ point.c))
    return point


class _Outcome:
    def __init__(self, z=None, eta1=None, eta2=None, delta=None, direct=False, status=None,
                 message=None):
        self.z, self.eta1, self.eta2, self.delta = z, eta1, eta2, delta
        self.direct, self.status, self.message = direct, status, message


def _positive_diagonal(B):
    """The diagonal of a sparse diagonal ``B`` with positive entries, else None."""
    if not hasattr(B, "tocsr"):
        return None
    coo = B.tocoo()
    diagonal = B.diagonal()
    if np.any(coo.row != coo.col) and np.any(coo.data[coo.row != coo.col] != 0):
        return None
    return diagonal if np.all(diagonal > 0) else None


def _regularised_direct(B, G, b, settings, chosen, state):
    """Direct solve of the KKT system; on a singular K, add ``-rho I`` (rho x100, 4 tries).

    A sparse positive diagonal ``B`` (PDE-constrained control, least-squares-like objectives)
    is solved in range space (Schur complement ``G B^-1 G^T``, far less fill); any other ``B``
    by a factorisation of the whole KKT matrix.
    """
    regularization = 0.0
    # the range-space solve works on SciPy sparse matrices, which live on the host only
    diagonal = None if chosen.on_device else _positive_diagonal(B)
    scale = max(1.0, _frobenius(B), _frobenius(G))
    for attempt in range(5):
        try:
            state["n_direct"] += 1
            if diagonal is not None:
                return range_space_solve(diagonal, G, b, regularization)
            return _solve_on(chosen, _kkt_matrix(B, G, regularization), b)
        except np.linalg.LinAlgError:
            regularization = settings["rho0"] * scale * 100.0 ** attempt
    return None


def _solve_on(chosen, K, b):
    """Direct solve on the backend's device (dense K only on a GPU)."""
    if chosen.on_device:
        return chosen.to_numpy(direct_solve(chosen.device_matrix(K), chosen.asarray(b), chosen.xp))
    return direct_solve(K, b)


def _direction(point, W, shift, eta1, eta2, delta, settings, chosen, rng, state):
    """Newton-KKT direction meeting the adaptive accuracy and descent tests (spec steps 4-7).

    The penalty loop is bounded: it ends once the descent test holds or ``eta1 > 1e8`` or
    ``eta2 < 1e-8`` (at most ~46 rounds with nu = 1.5). The sketch budget is shared by all
    rounds; when it runs out the round is finished by the direct solve (``on_budget="direct"``)
    and no further sketching happens in this iteration.
    """
    B = _shift(W, shift)
    G = point.G
    b = -np.concatenate([point.grad_lagrangian, point.c])
    norm_b = float(np.linalg.norm(b))
    use_direct = settings["inner_solver"] == "direct"
    K = z = sketcher = None
    if not use_direct:
        K = _kkt_matrix(B, G, 0.0)
        xi_G = max(_smallest_eigenvalue_gram(G), settings["rho0"])
        norm_B, norm_K = _frobenius(B), _frobenius(K)
        psi = 20.0 * max(norm_B ** 2, 1.0) / (min(xi_G, 1.0) * min(settings["xi_b"], 1.0))
        upsilon = max(_frobenius(G), _frobenius(W), 1.0)
        scale = psi * norm_K if settings["accuracy"] == "paper" else 1.0
        K_dev = chosen.device_matrix(K)
        sketcher = KKTSketcher(K_dev, settings["inner_solver"], chosen, rng,
                               settings["block_size"], give_up_early=settings["early_switch"])
        b_dev = chosen.asarray(b)
        z_dev = chosen.xp.zeros_like(b_dev)
        used = 0

    def delta_trial(e1, e2):
        if settings["accuracy"] == "relative":
            # The practical test drops the worst-case constants everywhere: delta then shrinks
            # only when the descent test fails (delta / nu^4 below).
            return np.inf
        return (0.5 - settings["beta"]) * e2 / ((1.0 + e1 + e2) * upsilon ** 2 * psi ** 2)

    if not use_direct:
        delta = max(min(delta, delta_trial(eta1, eta2)), settings["delta_min"])
    while True:
        if use_direct and z is None:
            z = _regularised_direct(B, G, b, settings, chosen, state)
            if z is None:
                return _Outcome(status=Status.LINALG, message=(
                    "The KKT matrix stayed singular after dual regularisation; the Jacobian of "
                    "the constraints is rank-deficient and the constraints look inconsistent."))
        elif not use_direct:
            target = settings["theta"] * delta * norm_b / scale
            z_dev, residual, steps = sketcher.solve(b_dev, z_dev, target,
                                                    settings["budget"] - used)
            used += steps
            state["n_sketch"] += steps
            z = chosen.to_numpy(z_dev)
            if not residual <= target:
                if settings["on_budget"] == "stop":
                    return _Outcome(status=Status.INNER_BUDGET, message=(
                        f"The sketch solver used its budget of {settings['budget']} steps "
                        f"without meeting the accuracy test (residual {residual:.2e} > target "
                        f"{target:.2e})."))
                state["n_fallback"] += 1
                use_direct, z = True, None
                continue
        descent = float(point.merit_gradient(W, eta1, eta2) @ z)
        if eta1 > 1e8 or eta2 < 1e-8 or descent <= -0.5 * eta2 * norm_b ** 2:
            return _Outcome(z, eta1, eta2, delta, direct=use_direct)
        eta1 *= settings["nu"] ** 2
        eta2 /= settings["nu"]
        if not use_direct:
            delta = max(min(delta / settings["nu"] ** 4, delta_trial(eta1, eta2)),
                        settings["delta_min"])


def _line_search(problem, point, W, z, eta1, eta2, beta, alpha_min):
    """Armijo backtracking on the merit; returns ``(trial point, alpha)`` or ``(None, alpha)``.

    A trial with a non-finite merit counts as a failed trial (the step is halved), so a user
    function that overflows away from the iterate does not end the run.
    """
    n = point.x.size
    slope = float(point.merit_gradient(W, eta1, eta2) @ z)
    current = point.merit(eta1, eta2)
    alpha = 1.0
    while alpha >= alpha_min:
        trial = _Point(problem, point.x + alpha * z[:n], point.multipliers + alpha * z[n:])
        if trial.finite:
            value = trial.merit(eta1, eta2)
            if np.isfinite(value) and value <= current + beta * alpha * slope:
                return trial, alpha
        alpha *= 0.5
    return None, alpha
