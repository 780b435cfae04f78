"""Exact augmented Lagrangian with randomized iterative sketching (``method="exact-alm"``).

Reference: I. Hong, S. Na, M. W. Mahoney, M. Kolar, "Constrained Optimization via Exact Augmented
Lagrangian and Randomized Iterative Sketching", ICML 2023 (arXiv:2305.18379). Written from the
method's mathematics (see ``doc/solvers/exact_alm.rst``), with the library fixes listed in Notes.
"""

from dataclasses import dataclass, field, replace

import numpy as np

from numopt._core.iteration import Column, IterationMonitor
from numopt._core.result import Status
from numopt._core.validation import check_array, check_choice, check_int, check_scalar
from numopt._core.warnings import warn_unknown_options
from numopt.constrained._functions import SOLVER, EqualityProblem, check_x0, minimal_shift
from numopt.constrained._inequality import has_inequalities
from numopt.constrained.active_set import minimize_inequality
from numopt.constrained.sketching import (
    SKETCH_SOLVERS,
    KKTSketcher,
    RangeSpaceSketcher,
    SolveCounts,
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
        """Exact gradient of the merit, with the exact Hessian of the Lagrangian ``W`` or its
        product ``W grad_x L`` (a vector of shape (n,)).

        ``grad_x = grad_x L + eta1 G^T c + eta2 W grad_x L``, ``grad_lambda = c + eta2 G grad_x L``.
        """
        product = W if np.ndim(W) == 1 else np.asarray(W @ self.grad_lagrangian).ravel()
        grad_x = (self.grad_lagrangian + eta1 * np.asarray(self.G.T @ self.c).ravel()
                  + eta2 * product)
        grad_lambda = self.c + eta2 * np.asarray(self.G @ self.grad_lagrangian).ravel()
        return np.concatenate([grad_x, grad_lambda])


def _minimize_exact_alm(fun, x0, args=(), jac=None, hess=None, hessp=None, bounds=None,
                        constraints=(), tol=None, callback=None, *, maxiter=500,
                        inner_solver="auto", accuracy="auto", max_sketch_iter=100_000,
                        on_budget="direct", early_switch=True, superlinear=False, block_size=8,
                        eta1=1.0, eta2=0.1,
                        delta=0.1, delta_min=1e-6, beta=0.1, penalty_factor=1.5, xi_b=0.1,
                        reduced_hessian_tol=1e-6, hessian_check="auto", hessian_shift="minimal",
                        multiplier_reset=0.1, penalty_decrease=True,
                        dual_regularization=1e-8,
                        alpha_min=1e-12, epsilon=0.1, multipliers0=None, seed=None,
                        time_limit=None,
                        backend="auto", disp=False, verbose=0, check_every=1, warn=True,
                        **unknown_options):
    """Minimize ``f(x)`` subject to constraints by the exact augmented Lagrangian method.

    Each iteration solves the Newton-KKT system of the Lagrangian inexactly by randomized
    sketching, to an accuracy adapted so that the direction is a descent direction of the exact
    augmented Lagrangian merit function, and takes an Armijo step on that merit. With bounds or
    inequality constraints each step is an active-set SQP step on the exact augmented Lagrangian
    of the inequality-constrained problem (Na, Anitescu and Kolar, Math. Program. 2023), solved
    by the same inner solvers (``numopt.constrained.active_set.minimize_inequality``).

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
    hess : callable, {"2-point", "3-point", "cs"} or HessianUpdateStrategy, optional
        ``hess(x, *args)`` returning an ndarray, a sparse matrix or a ``LinearOperator``; a
        finite-difference scheme of ``jac`` (SciPy's ``approx_derivative``); or a
        :class:`scipy.optimize.HessianUpdateStrategy` (``BFGS()``, ``SR1()``) updated after
        every accepted step (with bounds or inequalities: forward differences of ``jac``
        instead). Any other value raises (``TypeError``/``ValueError`` naming it).
    hessp : callable, optional
        ``hessp(x, p, *args)``, used when ``hess`` is absent. Without either, the Hessian is
        approximated by forward differences of ``jac`` (n extra gradients per iteration).
    bounds : scipy.optimize.Bounds or sequence of (min, max) pairs, optional
        Bounds on ``x`` (None or +-inf for no bound).
    constraints : NonlinearConstraint, LinearConstraint, dict or list of them
        Equalities (``lb == ub``, ``{"type": "eq", ...}``) and inequalities (``lb < ub``, one-
        or two-sided, ``{"type": "ineq", ...}`` meaning ``fun(x) >= 0``), as SciPy defines them.
        As trust-constr takes them: a ``NonlinearConstraint``'s ``jac`` is a callable or
        ``"2-point"``/``"3-point"``/``"cs"`` (its default ``"2-point"`` included); its ``hess``
        is a callable ``hess(x, v)``, a finite-difference scheme of ``J(x)^T v`` (not with a
        differenced ``jac``), a ``BFGS()``/``SR1()`` instance (its default; with bounds or
        inequalities forward differences of ``J(x)^T v`` instead), or None (forward differences
        of ``J(x)^T v``). A dict needs a callable ``jac``. Jacobians may be dense, sparse or
        ``LinearOperator``.
    tol : float, optional
        Tolerance on the KKT residual ``||(grad f + G^T lambda, c)||_2`` (default ``1e-6``).
    callback : callable, optional
        ``callback(intermediate_result)`` (keys ``x``, ``nit``, ``fun``, ``kkt_residual``, ...)
        or legacy ``callback(xk)``; ``StopIteration`` stops with status 99.

    Options
    -------
    maxiter : int
        Maximum number of Newton (outer) iterations. Default 500.
    inner_solver : {"auto", "kaczmarz", "gaussian", "block", "range-kaczmarz", "direct"}
        Solver of the Newton-KKT system: randomized Kaczmarz (uniform rows), Gaussian vector
        sketch, row-block sketch (``block_size`` rows), Kaczmarz on the constraint rows in the
        ``B``-norm (``"range-kaczmarz"``: randomized coordinate descent on ``G B^-1 G^T``, for a
        sparse positive diagonal ``B``; other iterations are solved directly) or a direct
        factorisation. Default ``"auto"``: ``"range-kaczmarz"`` when ``G`` is sparse, ``W`` a
        positive diagonal and the estimated cost of factorising ``G W^-1 G^T`` exceeds that of
        ``AUTO_FLOP_RATIO * AUTO_SKETCH_PASSES`` sketch passes; ``"block"`` for dense systems on a
        GPU backend; ``"direct"`` otherwise, and ``"direct"`` for the rest of the run from the
        first sketch solve that misses its target (see Notes). With bounds or inequalities (a
        dense active-set system): ``"direct"``, ``"block"`` on a GPU backend.
    accuracy : {"auto", "paper", "relative"}
        Inner stopping test. ``"paper"``: ``psi ||K||_F ||r|| <= theta delta ||b||`` with the
        paper's constant ``psi`` (guaranteed descent, often very strict); ``"relative"``:
        ``||r|| <= theta delta ||b||`` where ``delta`` shrinks only when the descent test fails
        (no ``psi ||K||_F`` factor and no ``delta_trial`` cap). Default ``"auto"``:
        ``"relative"`` with ``inner_solver="auto"``, ``"paper"`` with an explicit sketch.
    max_sketch_iter : int
        Budget of sketch steps per Newton iteration, shared by the re-solves after penalty
        increases (for ``"block"``, ``max_sketch_iter // block_size`` block steps, i.e. the same
        number of rows). Default 100000. When ``"auto"`` picks ``"range-kaczmarz"`` the budget
        is instead the break-even number of steps (the estimated factorisation cost over the
        cost of one step).
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
    penalty_decrease : bool
        Start each iteration from the penalties relaxed by one factor (``eta1 / nu^2``,
        ``eta2 nu``, not past their initial values); the descent test raises them again where
        needed. Default True (False: the paper's penalties, which only grow).
    xi_b : float
        Least curvature of the shifted reduced Hessian far from a solution (see
        ``hessian_shift``; with ``"paper"``, added to ``||W||_F``). Default 0.1.
    reduced_hessian_tol : float
        Positive-definiteness threshold of the reduced Hessian ``Z^T W Z``. Default 1e-6.
    hessian_check : {"auto", "reduced", "curvature", "none"}
        How non-convexity is detected: the reduced Hessian by a full QR of ``G^T`` (O(n^3)),
        the curvature ``dx^T W dx`` along the computed step, or not at all. ``"auto"`` uses
        ``"reduced"`` for n <= 1000, else ``"curvature"``.
    hessian_shift : {"minimal", "paper"}
        The shift ``t`` of ``B = W + t I`` when non-convexity is detected. ``"minimal"``
        (default): ``t = max(reduced_hessian_tol, min(xi_b, r)) - min(lambda_min(Z^T W Z), 0)``
        with ``r`` the KKT residual (with ``hessian_check="curvature"``, the Rayleigh quotient
        of the step stands in for ``lambda_min``), the least shift meeting the paper's
        assumption ``Z^T B Z >= xi_b I`` while ``r >= xi_b``, with a floor that vanishes with
        ``r``; ``"paper"``: ``t = xi_b + ||W||_F`` (the official code's bound, which shortens the
        steps; see Notes).
    multiplier_reset : float
        Safeguard of the multipliers: at every new point (``x0`` included) they are replaced by
        the least-squares multipliers when these cut the KKT residual below this fraction of it
        (dense Jacobians with ``n m <= 1e6``). ``0`` disables it. Default 0.1.
    dual_regularization : float
        ``rho`` of the regularised KKT matrix ``[[B, G^T], [G, -rho I]]`` used when the direct
        solve finds ``K`` singular (rank-deficient Jacobian); multiplied by 100 on each retry
        (at most 4). Default 1e-8.
    alpha_min : float
        Smallest Armijo step before the line search is declared failed. Default 1e-12.
    epsilon : float
        Initial inequality parameter of the merit (with bounds or inequalities only): a row
        ``h_i(x) <= 0`` is in the active set when ``h_i >= -epsilon mu_i``; it shrinks with the
        other penalties when a step is not a descent direction. Default 0.1.
    multipliers0 : array_like, shape (m,), or list of arrays, optional
        Initial multipliers (default zeros); a list with one array per constraint, such as
        ``res.v`` of this method or of trust-constr, is stacked. Equality-only problems.
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
        and trust-constr's ``grad`` (gradient of ``f``), ``jac`` (list of constraint Jacobians),
        ``constr`` (list of constraint values ``fun(x)``), ``optimality`` (max
        ``|grad f + J^T v|``), ``constr_violation`` (max ``|c_i - lb_i|``); also
        ``lagrangian_grad``, ``kkt_residual``, ``nit``,
        ``nfev``, ``njev``, ``nhev``, ``constr_nfev``, ``constr_njev``, ``constr_nhev``,
        ``n_sketch`` (total sketch steps), ``n_direct`` (direct solves, including fallbacks),
        ``penalties`` (final ``eta1``, ``eta2``, ``delta``), ``success``, ``status``,
        ``message``, ``backend``, ``time``, ``history``. With bounds or inequalities: ``v``
        follows trust-constr's sign convention ``grad f + sum_i J_i^T v_i + z = 0`` (``v >= 0``
        where a row is at its upper side, ``v <= 0`` at its lower side, so ``v <= 0`` for an
        active ``"ineq"`` dict, 0 strictly inside), ``bound_multipliers`` is ``z`` (shape (n,),
        when ``bounds`` is given), ``constr_violation`` is the largest violation of any
        equality, inequality or bound, ``kkt_residual`` includes the complementarity residual
        ``min(-h, mu)``, ``penalties`` has ``epsilon`` instead of ``delta``; an infeasible
        problem ends with status -3 at a point of least (squared) violation.

    Raises
    ------
    ValueError
        Malformed bounds, no constraint, missing ``jac``, NaN/inf or mis-shaped
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

    Globalisation beyond the paper's test set, each change measured on problems of the frozen
    S2MPJ equality set (``benchmarks/exact_alm_equality_set.txt``; iterations with
    ``maxiter=300``, the change switched off alone; full tables in ``benchmarks/RESULTS.md``):

    - ``hessian_shift="minimal"``: the official shift ``xi_b + ||W||_F`` makes ``B`` so stiff
      that the steps freeze (ORTHREGB 64 iterations -> 5, EIGENBCO not converged in 300 -> 23,
      BT8 not converged in 300 -> 11). When the line search fails with the smaller shift, the
      iteration is redone with the official one. The floor of the shifted reduced Hessian is
      ``min(xi_b, r)`` (at least ``reduced_hessian_tol``), not ``xi_b``: with the fixed floor a
      reduced Hessian that is singular at the solution made the KKT residual fall like ``1/k``
      (LUKVLE13 529 iterations, 50 s, against trust-constr's 36 iterations; 24 iterations with
      the vanishing floor; EIGENBCO 23 -> 18; CYCLOOCF 45), and on the active-set path HS57 and
      HS25 reached their published optima only with it.
    - ``multiplier_reset``: a rank-deficient Jacobian at the start (HS61: ``x0 = 0``) or near the
      solution (BT8) lets the dual step throw the multipliers off; BT8 does not converge in 300
      iterations without the reset (KKT 1e-2, ``eta1`` at its 1e8 cap), 11 with it.
    - ``penalty_decrease``: penalties that only grow stay where one bad early iteration put them
      (HS61: ``eta1 = 8.5e4`` after the first iteration, 66 iterations and the 30 s limit without
      the decrease, 19 with it; the sphere with a constraint ``hess=SR1()`` ends in a failed line
      search at ``eta1 = 1.3e8`` without it, converges with it). It costs BYRDSPHR 64 iterations
      instead of 32; relaxing only after full steps (``alpha >= 1/2``) kept BYRDSPHR at 32 but
      brought HS61 back to 79 and the SR1 case back to failure, so it was not kept.
    - With a quasi-Newton Hessian (``BFGS()``/``SR1()``) the merit gradient's term
      ``W grad_x L`` is a forward difference of ``grad_x L`` (one more gradient and Jacobian per
      iteration): with the quasi-Newton ``W`` the gradient is not the merit's and the line search
      fails.
    - No Maratos remedy (second-order correction): on the measured failures the iterations are
      lost far from the solution (tiny steps through near rank-deficient Jacobians, BYRDSPHR),
      not to rejected full steps near it.

    ``inner_solver="auto"``. A sketch of the whole KKT matrix converges at a rate set by
    ``K^2`` (its condition number squared; ``K`` is indefinite) and, as a row or block sketch,
    forms ``K K`` (2 N^3 flops on a dense ``K``, more than an LU): on the CPU it never beat the
    direct solve beyond noise on the measured sets (``"block"`` 0.94x ``"direct"`` on the
    paper's CUTEst set, n <= 100; slower on the frozen S2MPJ set, the constrained logistic
    regressions, Poisson control and dense random problems up to ``n + m = 2200``). The
    range-space sketch needs only ``O(nnz(G_i))`` per step and converges
    at the rate of ``G B^-1 G^T``; it pays when that matrix is well conditioned and its
    factorisation fills in. The rule estimates the factorisation by the cube of a separator
    width ``w`` of the graph of ``G G^T`` (the bandwidth in the given order, else the widest
    level of a breadth-first search), ``w^3 / 3`` flops, and a sketch by
    ``AUTO_FLOP_RATIO = 10`` (measured flop-rate ratio) times ``AUTO_SKETCH_PASSES = 100`` passes
    of ``4 nnz(G)`` flops; it sketches when the first is larger, with the break-even step count as
    the budget, so a sketch that converges slowly ends in the direct solve (the early switch
    extrapolates its observed rate) at about twice the direct cost at worst. Measured
    (``SparseRecovery``, ``m = n/2``, 8 non-zeros per row, single-threaded, one process,
    interleaved): ``n = 2000``: auto 0.12-0.17 s, direct 0.83-1.04 s; ``n = 4000``: 0.29 s
    against 4.7 s; ``n = 10000``: 0.53 s against 56.6 s (the LU of ``G W^-1 G^T`` fills in to
    1.6e7 entries at ``m = 5000``), the same 4-5 Newton iterations, solutions within 3e-10.
    On the Poisson grids ``w = 2N`` and the rule keeps the range-space direct solve (the
    sketch would not converge: ``G G^T`` has condition number ~``N^4``); on dense Jacobians (the
    frozen S2MPJ set) it keeps ``"direct"``.

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
    warn_unknown_options(SOLVER, unknown_options)
    options, penalties = _check_options(
        maxiter=maxiter, inner_solver=inner_solver, accuracy=accuracy,
        max_sketch_iter=max_sketch_iter, on_budget=on_budget, hessian_check=hessian_check,
        hessian_shift=hessian_shift, multiplier_reset=multiplier_reset,
        penalty_decrease=penalty_decrease,
        block_size=block_size, eta1=eta1, eta2=eta2, delta=delta, delta_min=delta_min, beta=beta,
        penalty_factor=penalty_factor, xi_b=xi_b, reduced_hessian_tol=reduced_hessian_tol,
        dual_regularization=dual_regularization, alpha_min=alpha_min, tol=tol,
        time_limit=time_limit, superlinear=superlinear, early_switch=early_switch)
    verbose = max(check_int(verbose, "verbose", SOLVER, low=0), int(bool(disp)))
    x = check_x0(x0)
    if bounds is not None or has_inequalities(constraints, x.size):
        if multipliers0 is not None:
            raise ValueError(f"`multipliers0` of {SOLVER} applies to equality-only problems; got "
                             f"it with bounds or inequality constraints.")
        return minimize_inequality((fun, jac, hess, hessp, args, bounds, constraints, x),
                                   options, penalties, epsilon=epsilon, seed=seed,
                                   backend=backend, callback=callback, verbose=verbose,
                                   check_every=check_every, warn=warn)
    run = _set_up(EqualityProblem(fun, jac, hess, hessp, args, constraints, x.size), x, options,
                  penalties, multipliers0, seed, backend,
                  IterationMonitor(SOLVER, _COLUMNS, callback=callback, verbose=verbose,
                                   check_every=check_every))
    status, message = _iterate(run)
    return _finish(run, status, message, warn)


@dataclass(frozen=True)
class _Options:
    """The checked options of one run (``rho0`` is ``dual_regularization``, ``nu`` is
    ``penalty_factor``)."""

    maxiter: int
    inner_solver: str
    accuracy: str
    max_sketch_iter: int
    on_budget: str
    hessian_check: str
    hessian_shift: str
    multiplier_reset: float
    penalty_decrease: bool
    block_size: int
    delta_min: float
    beta: float
    nu: float
    xi_b: float
    reduced_hessian_tol: float
    rho0: float
    alpha_min: float
    tol: float
    time_limit: float | None
    superlinear: bool
    early_switch: bool
    auto: bool = False  # inner_solver was "auto": a sketch fallback switches to "direct" for good

    @property
    def budget(self):
        """Sketch steps allowed per Newton iteration.

        A block step projects onto ``block_size`` rows at once: the budget counts rows, so that
        every sketch family gets the same amount of work before the direct fallback.
        """
        if self.inner_solver == "block":
            return max(1, self.max_sketch_iter // self.block_size)
        return self.max_sketch_iter


@dataclass(frozen=True)
class _Penalties:
    """The merit's penalties ``eta1``, ``eta2`` and the inner accuracy parameter ``delta``."""

    eta1: float
    eta2: float
    delta: float


@dataclass
class _Run:
    """What one run works with (problem, backend, randomness, monitor) and its current state."""

    problem: EqualityProblem
    options: _Options
    chosen: object
    rng: np.random.Generator
    monitor: IterationMonitor
    point: _Point
    penalties: _Penalties
    penalties0: _Penalties  # the initial ones: the floor of eta1 and cap of eta2 when relaxing
    counts: SolveCounts = field(default_factory=SolveCounts)
    theta: float = 1.0
    kkt0: float = 1.0
    alpha: float = np.nan
    nit: int = 0
    w_grad: np.ndarray | None = None  # W grad_x L at the current point (the merit gradient)


def _check_options(*, maxiter, inner_solver, accuracy, max_sketch_iter, on_budget, hessian_check,
                   hessian_shift, multiplier_reset, penalty_decrease, block_size, eta1, eta2,
                   delta, delta_min, beta, penalty_factor, xi_b, reduced_hessian_tol,
                   dual_regularization, alpha_min, tol, time_limit, superlinear, early_switch):
    """Validation: the options as an :class:`_Options` and the initial :class:`_Penalties`."""
    maxiter = check_int(maxiter, "maxiter", SOLVER, low=0)
    inner_solver = check_choice(inner_solver, "inner_solver", SOLVER,
                                ("auto", *SKETCH_SOLVERS, "range-kaczmarz"))
    accuracy = check_choice(accuracy, "accuracy", SOLVER, ("auto", "paper", "relative"))
    if accuracy == "auto":
        # the paper's test asks for residuals below round-off on large systems (psi ||K||_F grows
        # with the size), so the sketches that "auto" picks there are held to the relative one
        accuracy = "relative" if inner_solver == "auto" else "paper"
    max_sketch_iter = check_int(max_sketch_iter, "max_sketch_iter", SOLVER, low=1)
    on_budget = check_choice(on_budget, "on_budget", SOLVER, ("direct", "stop"))
    hessian_check = check_choice(hessian_check, "hessian_check", SOLVER,
                                 ("auto", "reduced", "curvature", "none"))
    hessian_shift = check_choice(hessian_shift, "hessian_shift", SOLVER, ("minimal", "paper"))
    multiplier_reset = check_scalar(multiplier_reset, "multiplier_reset", SOLVER, low=0,
                                    low_inclusive=True, high=1)
    block_size = check_int(block_size, "block_size", SOLVER, low=1)
    penalties = _Penalties(check_scalar(eta1, "eta1", SOLVER, low=0),
                           check_scalar(eta2, "eta2", SOLVER, low=0),
                           check_scalar(delta, "delta", SOLVER, low=0))
    delta_min = check_scalar(delta_min, "delta_min", SOLVER, low=0)
    beta = check_scalar(beta, "beta", SOLVER, low=0, high=0.5, high_inclusive=False)
    nu = check_scalar(penalty_factor, "penalty_factor", SOLVER, low=1)
    xi_b = check_scalar(xi_b, "xi_b", SOLVER, low=0)
    reduced_hessian_tol = check_scalar(reduced_hessian_tol, "reduced_hessian_tol", SOLVER,
                                       low=0, low_inclusive=True)
    rho0 = check_scalar(dual_regularization, "dual_regularization", SOLVER, low=0)
    alpha_min = check_scalar(alpha_min, "alpha_min", SOLVER, low=0, high=1)
    tol = 1e-6 if tol is None else check_scalar(tol, "tol", SOLVER, low=0)
    if time_limit is not None:
        time_limit = check_scalar(time_limit, "time_limit", SOLVER, low=0)
    options = _Options(maxiter, inner_solver, accuracy, max_sketch_iter, on_budget,
                       hessian_check, hessian_shift, multiplier_reset, bool(penalty_decrease),
                       block_size, delta_min, beta, nu, xi_b, reduced_hessian_tol,
                       rho0, alpha_min, tol, time_limit, bool(superlinear), bool(early_switch),
                       auto=inner_solver == "auto")
    return options, penalties


def _set_up(problem, x, options, penalties, multipliers0, seed, backend, monitor):
    """Set-up: backend, randomness, the first point (with ``multipliers0``) and the run state."""
    from numopt.backends import get_backend

    chosen = get_backend(backend, x)
    rng = np.random.default_rng(seed)
    n = x.size
    if options.hessian_check == "auto":
        options = replace(options, hessian_check="reduced" if n <= 1000 else "curvature")
    point = _Point(problem, x, None)
    if multipliers0 is not None:
        if isinstance(multipliers0, (list, tuple)) and any(np.ndim(item) for item in multipliers0):
            # trust-constr's ``res.v``: one array per constraint, stacked here
            multipliers0 = np.concatenate([np.ravel(item) for item in multipliers0])
        point = _rebind(point, check_array(multipliers0, "multipliers0", shape=(point.c.size,),
                                           dtype=np.float64))
    point = _safeguard_multipliers(point, options)
    return _Run(problem, options, chosen, rng, monitor, point, penalties, penalties,
                kkt0=max(point.kkt, np.finfo(float).tiny))


def _iterate(run):
    """The loop: record, test the stopping rules, take one Newton step; ``(status, message)``."""
    options = run.options
    if not run.point.finite:
        return Status.NONFINITE, "fun, jac, constraints or their Jacobian are not finite at x0."
    while True:
        point = run.point
        stop = run.monitor.due(run.nit) and run.monitor.record(
            run.nit, x=point.x, fun=point.f, kkt_residual=point.kkt,
            constr_violation=float(np.max(np.abs(point.c))), alpha=run.alpha,
            eta1=run.penalties.eta1, eta2=run.penalties.eta2, n_sketch=run.counts.n_sketch)
        if point.kkt <= options.tol:
            return Status.CONVERGED, None
        if stop:
            return Status.CALLBACK, None
        if run.nit >= options.maxiter:
            return Status.MAXITER, None
        if options.time_limit is not None and run.monitor.elapsed() > options.time_limit:
            return Status.TIME_LIMIT, None
        status, message = _newton_step(run)
        if status is not None:
            return status, message


#: Nominal passes over the constraint rows of a range-space sketch solve (measured: 6-12 passes
#: to a relative residual 1e-1, 30-340 to 1e-6 on the sparse random class of the Notes).
AUTO_SKETCH_PASSES = 100
#: Flops of a sparse factorisation per second over those of a sketch pass (measured 7-24 on the
#: 2-core machine: supernodal dense kernels against one random-access sweep over the rows).
AUTO_FLOP_RATIO = 10


def _auto_inner_solver(G, W, on_device):
    """``inner_solver="auto"``: ``(solver, sketch budget or None)`` from the Jacobian and ``W``.

    - A dense KKT matrix: ``"direct"`` on the CPU (a row or block sketch forms ``K K``, 2 N^3
      flops, more than the LU's N^3/3, so it cannot pay), ``"block"`` on a GPU backend.
    - A sparse ``G`` with a positive diagonal ``W`` (the range-space form): ``"range-kaczmarz"``
      when the estimated factorisation cost ``w^3 / 3`` (``w`` from :func:`_separator_width`)
      exceeds :data:`AUTO_FLOP_RATIO` x :data:`AUTO_SKETCH_PASSES` sketch passes of ``4 nnz(G)``
      flops each; its budget per Newton iteration is the break-even number of steps (sketching
      beyond it would cost more than the factorisation). Else ``"direct"``.
    - Any other sparse or operator system: ``"direct"``.

    The run switches to ``"direct"`` for good at the first sketch solve that misses its target
    (its observed linear rate cannot reach it within the budget, or the budget is spent).
    """
    if not hasattr(G, "tocsr"):
        return ("block" if on_device else "direct"), None
    if on_device or _positive_diagonal(W) is None:
        return "direct", None
    m = G.shape[0]
    pass_flops = 4.0 * max(G.nnz, 1)
    enough = AUTO_FLOP_RATIO * AUTO_SKETCH_PASSES * pass_flops
    if m ** 3 / 3.0 <= enough:  # even a dense factorisation of G G^T is cheaper
        return "direct", None
    factorisation_flops = _separator_width(G, (3.0 * enough) ** (1.0 / 3.0)) ** 3 / 3.0
    if factorisation_flops <= enough:
        return "direct", None
    return "range-kaczmarz", int(factorisation_flops / (AUTO_FLOP_RATIO * pass_flops) * m)


def _separator_width(G, enough):
    """An estimate of the smallest balanced separator of the graph of ``G G^T`` (the matrix the
    range-space solve factorises), whose cube governs the cost of a nested-dissection
    factorisation (Lipton, Rose & Tarjan 1979): ``2 N`` on an N x N grid, a fixed fraction of
    the rows on an expander-like random pattern.

    The bandwidth of ``G G^T`` in the given order bounds it (a window of that many consecutive
    rows separates); only when that bound exceeds ``enough`` is the widest level of a
    breadth-first search from row 0 (each level separates) computed, O(nnz) either way.
    """
    import scipy.sparse as sp
    from scipy.sparse.csgraph import shortest_path

    columns = G.tocsc()  # column j lists the rows that share x_j
    used = np.flatnonzero(np.diff(columns.indptr))
    starts = columns.indptr[used]
    spans = np.maximum.reduceat(columns.indices, starts) - np.minimum.reduceat(columns.indices,
                                                                               starts)
    width = float(spans.max()) + 1.0 if spans.size else 1.0
    if width <= enough:
        return width
    pattern = sp.csc_matrix((np.ones(columns.nnz), columns.indices, columns.indptr),
                            shape=G.shape)
    levels = shortest_path(sp.csr_matrix(pattern @ pattern.T), unweighted=True, indices=0)
    levels = levels[np.isfinite(levels)].astype(int)
    return min(width, float(np.bincount(levels).max()))


def _hessian_shift(run, W):
    """The shift of ``W`` when the reduced Hessian is not positive definite, else 0."""
    point, options = run.point, run.options
    m, n = point.c.size, point.x.size
    if options.hessian_check == "reduced" and m < n:
        smallest = _reduced_hessian_min(W, point.G)
        if smallest < options.reduced_hessian_tol:
            return _shift_size(options, W, smallest, point.kkt)
    return 0.0


def _shift_size(options, W, smallest, kkt):
    """``"paper"``: ``xi_b + ||W||_F``; ``"minimal"``: the least shift that makes the reduced
    Hessian of ``B`` at least ``max(reduced_hessian_tol, min(xi_b, kkt))`` when ``smallest`` is
    ``lambda_min(Z^T W Z)`` (``minimal_shift``)."""
    if options.hessian_shift == "paper":
        return options.xi_b + _frobenius(W)
    return minimal_shift(smallest, kkt, options)


def _newton_step(run):
    """One iteration: direction (with the curvature test), line search, one direct re-solve."""
    problem, point, options = run.problem, run.point, run.options
    W = problem.lagrangian_hessian(point.x, point.multipliers)
    if not problem.finite(W):
        return Status.NONFINITE, "The Hessian of the Lagrangian is not finite."
    if options.superlinear:
        run.theta = min(run.theta, point.kkt / run.kkt0)
    run.w_grad = _hessian_gradient_product(problem, point, W)
    if options.inner_solver == "auto":
        solver, budget = _auto_inner_solver(point.G, W, run.chosen.on_device)
        run.options = options = replace(options, inner_solver=solver,
                                        max_sketch_iter=budget or options.max_sketch_iter)
    if options.penalty_decrease:
        run.penalties = _relax_penalties(run.penalties, options, run.penalties0)
    shift = _hessian_shift(run, W)
    outcome = _direction(run, W, shift, run.penalties, options.inner_solver)
    n = point.x.size
    if outcome.status is None and options.hessian_check == "curvature" and shift == 0.0 and \
            point.c.size < n:
        step_x = outcome.z[:n]
        curvature = float(step_x @ np.asarray(W @ step_x).ravel()) / float(step_x @ step_x)
        if curvature < options.reduced_hessian_tol:
            shift = _shift_size(options, W, curvature, point.kkt)
            outcome = _direction(run, W, shift, outcome.penalties, options.inner_solver)
    if outcome.status is not None:
        return outcome.status, outcome.message
    run.penalties = outcome.penalties
    trial, run.alpha = _line_search(run, W, outcome.z)
    if trial is None and not outcome.direct:
        # The sketched direction did not give a merit decrease: one exact re-solve, no more.
        trial = _retry(run, W, shift)
    strong = options.xi_b + _frobenius(W)
    if trial is None and options.hessian_shift == "minimal" and shift < strong:
        # No decrease with the minimal shift (a quasi-Newton or differenced W makes the merit
        # gradient inexact): the paper's shift, whose shorter step the merit accepts.
        trial = _retry(run, W, strong)
    if trial is None:
        return Status.STALLED, (f"The line search on the merit function failed (alpha < "
                                f"{options.alpha_min:g}) at KKT residual {point.kkt:.3e}.")
    problem.accepted(point, trial)
    run.point = _safeguard_multipliers(trial, options)
    run.nit += 1
    return None, None


def _hessian_gradient_product(problem, point, W):
    """``W grad_x L``, the second-order term of the merit gradient.

    With a quasi-Newton ``W`` (a HessianUpdateStrategy) the product would make the merit
    gradient inexact and the line search fail (measured on the sphere test problem with a
    constraint ``hess=SR1()``): there it is a forward difference of ``grad_x L`` along itself
    (one more gradient and Jacobian), exact to O(sqrt(eps)).
    """
    direction = point.grad_lagrangian
    size = float(np.linalg.norm(direction))
    if not problem.quasi_newton or size == 0.0:
        return np.asarray(W @ direction).ravel()
    step = np.sqrt(np.finfo(float).eps) * max(1.0, float(np.linalg.norm(point.x))) / size
    shifted = point.x + step * direction
    moved = problem.gradient(shifted) + np.asarray(
        problem.jacobian(shifted).T @ point.multipliers).ravel()
    return (moved - direction) / step


def _retry(run, W, shift):
    """A direct re-solve with ``shift`` and its line search: the trial point or None."""
    outcome = _direction(run, W, shift, run.penalties, "direct")
    if outcome.status is not None:
        return None
    run.penalties = outcome.penalties
    trial, run.alpha = _line_search(run, W, outcome.z)
    return trial


def _finish(run, status, message, warn):
    """Epilogue: the result (multipliers per constraint, counters, final penalties)."""
    options, problem, point, counts = run.options, run.problem, run.point, run.counts
    hints = {Status.MAXITER: f"increase maxiter (now {options.maxiter})",
             Status.INNER_BUDGET: f"increase max_sketch_iter (now {options.max_sketch_iter}) or "
                                  f"set on_budget='direct'",
             Status.STALLED: f"loosen tol (now {options.tol:g}) or try inner_solver='direct'",
             Status.TIME_LIMIT: f"increase time_limit (now {options.time_limit})",
             None: "check the problem's functions near res.x"}
    blocks = len(problem.sizes)
    rows = np.cumsum([0, *problem.sizes])
    return run.monitor.finish(
        status, backend=run.chosen.name, hints=hints, warn=warn, message=message, x=point.x,
        fun=point.f, v=problem.split_multipliers(point.multipliers), grad=point.g,
        jac=[point.G[rows[i]:rows[i + 1]] for i in range(blocks)],
        constr=[point.c[rows[i]:rows[i + 1]] + item.target
                for i, item in enumerate(problem.constraints)],
        optimality=float(np.max(np.abs(point.grad_lagrangian))),
        lagrangian_grad=point.grad_lagrangian,
        constr_violation=float(np.max(np.abs(point.c))) if point.c.size else 0.0,
        kkt_residual=point.kkt, nit=run.nit, nfev=problem.nfev, njev=problem.njev,
        nhev=problem.nhev, constr_nfev=[problem.constr_nfev] * blocks,
        constr_njev=[problem.constr_njev] * blocks, constr_nhev=[problem.constr_nhev] * blocks,
        n_sketch=counts.n_sketch, n_direct=counts.n_direct, n_fallback=counts.n_fallback,
        penalties={"eta1": run.penalties.eta1, "eta2": run.penalties.eta2,
                   "delta": run.penalties.delta})


def _safeguard_multipliers(point, options):
    """Reset the multipliers to the least-squares ones ``argmin ||g + G^T lambda||`` when those
    cut the KKT residual by more than ``multiplier_reset`` (a factor < 1; 0 disables the reset).

    A rank-deficient or badly conditioned Jacobian lets the Newton dual step throw the
    multipliers far off (HS61 starts where ``G`` has rank 1; BT8's multipliers grew to 1e15), and
    the merit then forces tiny steps; the least-squares multipliers are the best ones for this
    ``x``. Near a solution the Newton multipliers are already close to them and nothing changes.
    Dense Jacobians with ``n m <= 1e6`` only (an O(n m^2) solve; larger ones are left alone).
    """
    G = point.G
    if not options.multiplier_reset or hasattr(G, "tocsr") or G.size > 1_000_000 or \
            not point.finite:
        return point
    estimate = np.linalg.lstsq(G.T, -point.g, rcond=None)[0]
    residual = point.g + G.T @ estimate
    if np.sqrt(residual @ residual + point.c @ point.c) < options.multiplier_reset * point.kkt:
        return _rebind(point, estimate)
    return point


def _rebind(point, multipliers):
    """The same primal evaluation with other multipliers (no new function calls)."""
    point.multipliers = multipliers
    point.grad_lagrangian = point.g + np.asarray(point.G.T @ multipliers).ravel()
    point.kkt = float(np.sqrt(point.grad_lagrangian @ point.grad_lagrangian
                              + point.c @ point.c))
    return point


@dataclass(frozen=True)
class _Outcome:
    """A direction ``z = (dx, dlambda)`` with the penalties it was accepted under, or a status."""

    z: np.ndarray | None = None
    penalties: _Penalties | None = None
    direct: bool = False
    status: Status | None = None
    message: str | None = None


def _positive_diagonal(B):
    """The diagonal of a sparse diagonal ``B`` with positive entries, else None."""
    if not hasattr(B, "tocsr"):
        return None
    coo = B.tocoo()
    diagonal = B.diagonal()
    if np.any(coo.row != coo.col) and np.any(coo.data[coo.row != coo.col] != 0):
        return None
    return diagonal if np.all(diagonal > 0) else None


def _regularised_direct(B, G, b, rho0, chosen, counts):
    """Direct solve of the KKT system; on a singular K, add ``+rho I`` to the primal and ``-rho I``
    to the dual block (rho x100, 4 tries).

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
            counts.n_direct += 1
            if diagonal is not None:
                return range_space_solve(diagonal, G, b, regularization)
            # the primal block gets +rho I too: with B singular as well (a feasibility problem
            # at lambda = 0 has W = 0; CLUSTER) the dual term alone leaves K singular
            return _solve_on(chosen, _kkt_matrix(_shift(B, regularization), G, regularization),
                             b)
        except np.linalg.LinAlgError:
            regularization = rho0 * scale * 100.0 ** attempt
    return None


def _solve_on(chosen, K, b):
    """Direct solve on the backend's device (dense K only on a GPU)."""
    if chosen.on_device:
        return chosen.to_numpy(direct_solve(chosen.device_matrix(K), chosen.asarray(b), chosen.xp))
    return direct_solve(K, b)


@dataclass(frozen=True)
class _Accuracy:
    """The inner accuracy test of a sketched solve: constants fixed for one Newton iteration."""

    accuracy: str
    beta: float
    psi: float = 1.0
    upsilon: float = 1.0
    scale: float = 1.0

    def delta_trial(self, penalties):
        """The cap on ``delta`` that guarantees descent for these penalties."""
        if self.accuracy == "relative":
            # The practical test drops the worst-case constants everywhere: delta then shrinks
            # only when the descent test fails (delta / nu^4 below).
            return np.inf
        return ((0.5 - self.beta) * penalties.eta2
                / ((1.0 + penalties.eta1 + penalties.eta2) * self.upsilon ** 2 * self.psi ** 2))


def _accuracy(options, B, W, G):
    """The accuracy test's constants; the paper's ``psi``, ``Upsilon`` and ``||K||_F`` (an
    eigenvalue of ``G G^T``) only for ``accuracy="paper"``."""
    if options.accuracy == "relative":
        return _Accuracy("relative", options.beta)
    xi_G = max(_smallest_eigenvalue_gram(G), options.rho0)
    norm_B, norm_G = _frobenius(B), _frobenius(G)
    psi = 20.0 * max(norm_B ** 2, 1.0) / (min(xi_G, 1.0) * min(options.xi_b, 1.0))
    upsilon = max(norm_G, _frobenius(W), 1.0)
    norm_K = np.sqrt(norm_B ** 2 + 2.0 * norm_G ** 2)
    return _Accuracy("paper", options.beta, psi, upsilon, psi * norm_K)


@dataclass
class _SketchSolve:
    """A sketched solve of ``K z = b`` continued across penalty rounds on one step budget."""

    sketcher: KKTSketcher
    accuracy: _Accuracy
    b: object  # on the backend's device
    z: object
    used: int = 0

    @classmethod
    def start(cls, run, B, W, b):
        """The accuracy constants and a sketcher of ``K = [[B, G^T], [G, 0]]`` (for
        ``"range-kaczmarz"``, of its range-space form; ``B`` is then a positive diagonal)."""
        options, chosen, G = run.options, run.chosen, run.point.G
        if options.inner_solver == "range-kaczmarz":
            sketcher = RangeSpaceSketcher(_positive_diagonal(B), G, chosen, run.rng,
                                          give_up_early=options.early_switch)
        else:
            sketcher = KKTSketcher(chosen.device_matrix(_kkt_matrix(B, G, 0.0)),
                                   options.inner_solver, chosen, run.rng, options.block_size,
                                   give_up_early=options.early_switch)
        b_dev = b if options.inner_solver == "range-kaczmarz" else chosen.asarray(b)
        return cls(sketcher, _accuracy(options, B, W, G), b_dev, chosen.xp.zeros_like(b_dev))

    def advance(self, run, target):
        """Sketch on from the current ``z`` towards ``target``: ``(z on the host, residual)``."""
        self.z, residual, steps = self.sketcher.solve(self.b, self.z, target,
                                                      run.options.budget - self.used)
        self.used += steps
        run.counts.n_sketch += steps
        return run.chosen.to_numpy(self.z), residual


def _direction(run, W, shift, penalties, inner_solver):
    """Newton-KKT direction meeting the adaptive accuracy and descent tests (the paper's steps 4-7).

    The penalty loop is bounded: it ends once the descent test holds or ``eta1 > 1e8`` or
    ``eta2 < 1e-8`` (at most ~46 rounds with nu = 1.5). The sketch budget is shared by all
    rounds; when it runs out the round is finished by the direct solve (``on_budget="direct"``)
    and no further sketching happens in this iteration.
    """
    options, point = run.options, run.point
    B = _shift(W, shift)
    b = -np.concatenate([point.grad_lagrangian, point.c])
    norm_b = float(np.linalg.norm(b))
    if inner_solver == "range-kaczmarz" and (run.chosen.on_device
                                             or _positive_diagonal(B) is None):
        # no range-space form of this system: solved directly (under "auto", from now on)
        run.counts.n_fallback += 1
        inner_solver = "direct"
        if options.auto:
            run.options = replace(options, inner_solver="direct")
    sketch = None if inner_solver == "direct" else _SketchSolve.start(run, B, W, b)
    if sketch is not None:
        penalties = replace(penalties, delta=max(
            min(penalties.delta, sketch.accuracy.delta_trial(penalties)), options.delta_min))
    z = None
    while True:
        if sketch is not None:
            target = run.theta * penalties.delta * norm_b / sketch.accuracy.scale
            z, residual = sketch.advance(run, target)
            if not residual <= target:
                if options.on_budget == "stop":
                    return _Outcome(status=Status.INNER_BUDGET, message=(
                        f"The sketch solver used its budget of {options.budget} steps without "
                        f"meeting the accuracy test (residual {residual:.2e} > target "
                        f"{target:.2e})."))
                run.counts.n_fallback += 1
                if options.auto:
                    # the observed sketch rate missed the target: direct solves from now on
                    run.options = replace(options, inner_solver="direct")
                sketch, z = None, None
                continue
        elif z is None:
            z = _regularised_direct(B, point.G, b, options.rho0, run.chosen, run.counts)
            if z is None:
                return _Outcome(status=Status.LINALG, message=(
                    "The KKT matrix stayed singular after dual regularisation; the Jacobian of "
                    "the constraints is rank-deficient and the constraints look inconsistent."))
        descent = float(point.merit_gradient(run.w_grad, penalties.eta1, penalties.eta2) @ z)
        if penalties.eta1 > 1e8 or penalties.eta2 < 1e-8 or \
                descent <= -0.5 * penalties.eta2 * norm_b ** 2:
            return _Outcome(z, penalties, direct=sketch is None)
        penalties = _raise_penalties(penalties, options, sketch)


def _relax_penalties(penalties, options, initial):
    """One step back towards the initial penalties: ``eta1 /= nu^2``, ``eta2 *= nu`` (never past
    ``initial``). The descent test of the new direction raises them again where that is unsafe,
    so they settle at the least level at which the direction is a descent direction."""
    return replace(penalties, eta1=max(penalties.eta1 / options.nu ** 2, initial.eta1),
                   eta2=min(penalties.eta2 * options.nu, initial.eta2))


def _raise_penalties(penalties, options, sketch):
    """After a failed descent test: ``eta1 *= nu^2``, ``eta2 /= nu`` and, while sketching,
    ``delta`` shrinks by ``nu^4`` (capped by the trial value of the new penalties)."""
    grown = replace(penalties, eta1=penalties.eta1 * options.nu ** 2,
                    eta2=penalties.eta2 / options.nu)
    if sketch is None:
        return grown
    return replace(grown, delta=max(min(penalties.delta / options.nu ** 4,
                                        sketch.accuracy.delta_trial(grown)), options.delta_min))


def _line_search(run, W, z):
    """Armijo backtracking on the merit; returns ``(trial point, alpha)`` or ``(None, alpha)``.

    A trial with a non-finite merit counts as a failed trial (the step is halved), so a user
    function that overflows away from the iterate does not end the run.
    """
    point, options = run.point, run.options
    eta1, eta2 = run.penalties.eta1, run.penalties.eta2
    n = point.x.size
    slope = float(point.merit_gradient(run.w_grad, eta1, eta2) @ z)
    current = point.merit(eta1, eta2)
    alpha = 1.0
    while alpha >= options.alpha_min:
        trial = _Point(run.problem, point.x + alpha * z[:n], point.multipliers + alpha * z[n:])
        if trial.finite:
            value = trial.merit(eta1, eta2)
            if np.isfinite(value) and value <= current + options.beta * alpha * slope:
                return trial, alpha
        alpha *= 0.5
    return None, alpha
