"""Active-set SQP on an exact augmented Lagrangian: ``exact-alm`` with bounds and inequalities.

Reference: S. Na, M. Anitescu, M. Kolar, "Inequality constrained stochastic nonlinear
optimization via active-set sequential quadratic programming", Mathematical Programming 2023
(arXiv:2109.11502), deterministic case. Written from the mathematics below.

Problem ``min f(x) s.t. c(x) = 0, h(x) <= 0`` with multipliers ``lambda`` and ``mu``,
``L = f + lambda^T c + mu^T h``. With ``w = max(h, -epsilon mu)`` (row by row) the merit is

``Phi(x, lambda, mu) = f + lambda^T c + eta1/2 ||c||^2 + mu^T w + ||w||^2 / (2 epsilon)
+ eta2/2 ||grad_x L||^2``,

continuously differentiable, and every KKT point is a stationary point of it. Its active set
``A = {i : h_i >= -epsilon mu_i}`` is the Newton step's working set: the step solves

``[[B, G^T, H_A^T], [G, 0, 0], [H_A, 0, 0]] (dx, dlambda, dmu_A) = -(grad_x L - H_I^T mu_I, c,
h_A)``, ``dmu_I = -mu_I``

(``I`` the rows outside ``A``), by sketch-and-project or a direct factorisation. When the step is
not a descent direction of ``Phi`` the penalties move (``eta1 *= nu^2``, ``eta2 /= nu``,
``epsilon /= nu^2``; ``A`` is identified again) and the system is solved again.
"""

from dataclasses import dataclass, field, replace

import numpy as np

from numopt._core.iteration import Column, IterationMonitor
from numopt._core.result import Status
from numopt._core.validation import check_scalar
from numopt.constrained._functions import minimal_shift
from numopt.constrained._inequality import SOLVER, InequalityProblem
from numopt.constrained.sketching import KKTSketcher, SolveCounts, direct_solve

__all__ = ["minimize_inequality"]

_COLUMNS = [Column("fun", "{:>12.5e}", 12), Column("kkt_residual", "{:>12.3e}", 12),
            Column("constr_violation", "{:>16.3e}", 16), Column("alpha", "{:>9.2e}", 9),
            Column("eta1", "{:>9.2e}", 9), Column("epsilon", "{:>9.2e}", 9),
            Column("n_active", "{:>8.0f}", 8)]

_LIMIT = 1e8  # the penalties stop moving at eta1 = 1e8 (eta2, epsilon = 1e-8)
_PASSES = 10  # primal-dual active-set passes per step
_STALL = 5  # steps in a row that lower the merit by no more than its rounding: stalled
_ROUNDING = 16 * np.finfo(float).eps  # relative merit change lost in rounding


@dataclass(frozen=True)
class _Penalties:
    """``eta1`` (on ``||c||^2``), ``eta2`` (on ``||grad_x L||^2``), ``epsilon`` (inequalities)."""

    eta1: float
    eta2: float
    epsilon: float

    def grow(self, nu):
        return _Penalties(self.eta1 * nu ** 2, self.eta2 / nu, self.epsilon / nu ** 2)

    @property
    def exhausted(self):
        return self.eta1 > _LIMIT or self.epsilon < 1.0 / _LIMIT


class _Point:
    """One primal-dual point ``(x, lambda, mu)`` with everything first order evaluated."""

    def __init__(self, problem, x, lam, mu):
        self.x, self.lam, self.mu = x, lam, mu
        self.ev = ev = problem.evaluate(x)
        self.finite = ev.finite()
        self.grad_lagrangian = ev.g + ev.G.T @ lam + ev.H.T @ mu
        self.violation = float(max(np.max(np.abs(ev.c), initial=0.0),
                                   np.max(ev.h, initial=0.0)))
        positive = np.maximum(ev.h, 0.0)
        # gradient norm of ||c||^2 / 2 + ||max(h, 0)||^2 / 2: zero at a least-violation point
        self.violation_slope = float(np.linalg.norm(ev.G.T @ ev.c + ev.H.T @ positive))
        complementarity = np.minimum(-ev.h, mu)
        self.kkt = float(np.sqrt(self.grad_lagrangian @ self.grad_lagrangian + ev.c @ ev.c
                                 + complementarity @ complementarity))

    def active(self, penalties):
        return self.ev.h >= -penalties.epsilon * self.mu

    def merit(self, p):
        ev, w = self.ev, np.maximum(self.ev.h, -p.epsilon * self.mu)
        return (ev.f + self.lam @ ev.c + 0.5 * p.eta1 * (ev.c @ ev.c) + self.mu @ w
                + 0.5 / p.epsilon * (w @ w)
                + 0.5 * p.eta2 * (self.grad_lagrangian @ self.grad_lagrangian))

    def merit_gradient(self, W, p):
        """``(grad_x, grad_lambda, grad_mu)`` of ``Phi`` with ``W`` the Lagrangian's Hessian."""
        ev, active = self.ev, self.active(p)
        w = np.where(active, ev.h, -p.epsilon * self.mu)
        inner = np.where(active, self.mu + ev.h / p.epsilon, 0.0)
        grad_x = (ev.g + ev.G.T @ (self.lam + p.eta1 * ev.c) + ev.H.T @ inner
                  + p.eta2 * (W @ self.grad_lagrangian))
        return np.concatenate([grad_x, ev.c + p.eta2 * (ev.G @ self.grad_lagrangian),
                               w + p.eta2 * (ev.H @ self.grad_lagrangian)])

    def moved(self, problem, z, alpha):
        n, m = self.x.size, self.lam.size
        return _Point(problem, self.x + alpha * z[:n], self.lam + alpha * z[n:n + m],
                      self.mu + alpha * z[n + m:])


@dataclass
class _Run:
    """The problem, the options (those of ``exact_alm``), the backend and the current state."""

    problem: InequalityProblem
    options: object
    chosen: object
    rng: np.random.Generator
    monitor: IterationMonitor
    point: _Point
    penalties: _Penalties
    counts: SolveCounts = field(default_factory=SolveCounts)
    alpha: float = np.nan
    nit: int = 0
    idle: int = 0  # steps in a row whose merit decrease was within rounding


def minimize_inequality(problem_args, options, penalties, *, epsilon, seed, backend, callback,
                        verbose, check_every, warn):
    """Solve a problem with bounds or inequalities; the ``exact-alm`` entry dispatches here.

    Parameters
    ----------
    problem_args : tuple
        ``(fun, jac, hess, hessp, args, bounds, constraints, x0)`` of
        :class:`~numopt.constrained._inequality.InequalityProblem`.
    options : object
        The checked options of ``exact-alm`` (``maxiter``, ``inner_solver``, ``budget``,
        ``block_size``, ``early_switch``, ``beta``, ``nu``, ``xi_b``, ``reduced_hessian_tol``,
        ``rho0``, ``alpha_min``, ``tol``, ``time_limit``).
    penalties : object
        Its initial ``eta1`` and ``eta2``.
    epsilon, seed, backend, callback, verbose, check_every, warn :
        As documented in ``_minimize_exact_alm``.

    Returns
    -------
    OptimizeResult

    Examples
    --------
    >>> import numpy as np
    >>> from numopt import minimize
    >>> res = minimize(lambda x: (x[0] - 2) ** 2 + (x[1] - 2) ** 2, [0.0, 0.0],
    ...                jac=lambda x: 2 * (x - 2), method="exact-alm", bounds=[(0, 1), (0, 3)])
    >>> np.round(res.x, 6), np.round(res.bound_multipliers, 6)
    (array([1., 2.]), array([2., 0.]))
    """
    from numopt.backends import get_backend

    epsilon = check_scalar(epsilon, "epsilon", SOLVER, low=0)
    problem = InequalityProblem(*problem_args)
    x = problem_args[-1]
    chosen = get_backend(backend, x)
    m_eq, m_in = problem.sizes
    if options.inner_solver == "auto":
        # The active-set KKT matrix is dense: a row or block sketch forms K K (2 N^3 flops, more
        # than the LU's N^3 / 3), so on the CPU it cannot pay (measured: "block" is 1.1-17x
        # slower than "direct" on the inequality logistic problems, benchmarks/RESULTS.md).
        options = replace(options, inner_solver="block" if chosen.on_device else "direct",
                          auto=True)
    elif options.inner_solver == "range-kaczmarz":
        # the range-space sketch needs a sparse positive diagonal B; as on the equality path,
        # iterations without one (every active-set system here) are solved directly
        options = replace(options, inner_solver="direct")
    point = _Point(problem, x, np.zeros(m_eq), np.zeros(m_in))
    run = _Run(problem, options, chosen, np.random.default_rng(seed),
               IterationMonitor(SOLVER, _COLUMNS, callback=callback, verbose=verbose,
                                check_every=check_every), point,
               _Penalties(max(penalties.eta1, 1e-8), max(penalties.eta2, 1e-8), epsilon))
    status, message = _iterate(run)
    if status in (Status.MAXITER, Status.STALLED, Status.LINALG) and \
            run.point.violation > options.tol:
        status, message = _least_violation(run, status, message)
    return _finish(run, status, message, warn)


def _iterate(run):
    """The loop: record, test the stopping rules, take one step; ``(status, message)``."""
    options = run.options
    if not run.point.finite:
        return Status.NONFINITE, "fun, jac, constraints or their Jacobian are not finite at x0."
    while True:
        point = run.point
        stop = run.monitor.due(run.nit) and run.monitor.record(
            run.nit, x=point.x, fun=point.ev.f, kkt_residual=point.kkt,
            constr_violation=point.violation, alpha=run.alpha, eta1=run.penalties.eta1,
            epsilon=run.penalties.epsilon, n_active=int(point.active(run.penalties).sum()))
        if point.kkt <= options.tol:
            return Status.CONVERGED, None
        if stop:
            return Status.CALLBACK, None
        if run.nit >= options.maxiter:
            return Status.MAXITER, None
        if options.time_limit is not None and run.monitor.elapsed() > options.time_limit:
            return Status.TIME_LIMIT, None
        if run.penalties.exhausted and point.violation > options.tol and \
                point.violation_slope <= options.tol * max(1.0, point.violation):
            # penalties at their limits at a stationary point of the violation: infeasible
            return Status.STALLED, "The penalties reached their limits at a violated point."
        status, message = _step(run)
        if status is not None:
            return status, message
        if run.idle >= _STALL:
            return Status.STALLED, (f"The merit function stopped decreasing ({_STALL} steps "
                                    f"in a row within its rounding error) at KKT residual "
                                    f"{run.point.kkt:.3e}.")


def _step(run):
    """Direction (with the penalty loop), Armijo search on ``Phi``, the move.

    A sketched direction whose line search fails is replaced by the direct one (once).
    """
    problem, point, options = run.problem, run.point, run.options
    W = problem.lagrangian_hessian(point.x, problem.row_weights(point.lam, point.mu))
    if not np.isfinite(W).all():
        return Status.NONFINITE, "The Hessian of the Lagrangian is not finite."
    for direct in ((True,) if options.inner_solver == "direct" else (False, True)):
        z, slope, penalties = _direction(run, W, direct)
        if z is None:
            return Status.LINALG, ("The active-set KKT matrix stayed singular after dual "
                                   "regularisation.")
        trial, alpha, decrease = _line_search(run, z, slope, penalties)
        if trial is not None:
            run.point, run.alpha, run.penalties = trial, alpha, penalties
            run.nit += 1
            run.idle = run.idle + 1 if decrease <= _ROUNDING else 0
            return None, None
    return Status.STALLED, (f"The line search on the merit function failed (alpha < "
                            f"{options.alpha_min:g}) at KKT residual {point.kkt:.3e}.")


def _line_search(run, z, slope, penalties):
    """Armijo backtracking on ``Phi`` from ``alpha = 1``.

    Returns ``(trial point, alpha, relative decrease of Phi)``, the point None on failure.
    """
    point, options = run.point, run.options
    current = point.merit(penalties)
    alpha = 1.0
    while alpha >= options.alpha_min:
        trial = point.moved(run.problem, z, alpha)
        if trial.finite:
            value = trial.merit(penalties)
            if np.isfinite(value) and value <= current + options.beta * alpha * slope:
                return trial, alpha, (current - value) / max(abs(current), 1.0)
        alpha *= 0.5
    return None, alpha, 0.0


def _direction(run, W, direct):
    """The Newton step on the active set, made a descent direction of ``Phi`` by the penalties.

    Returns ``(z, slope, penalties)``; ``z`` is None when the KKT matrix is singular. A sketched
    step that fails the descent test is replaced by the direct one before any penalty moves
    (the test may fail through the inexactness alone). When the penalties reach their limits
    without descent, ``-grad Phi`` is used (a safeguard).
    """
    point, nu = run.point, run.options.nu
    penalties, cache = run.penalties, {}
    while True:
        active = point.active(penalties)
        key = active.tobytes()
        if key not in cache:
            cache[key] = _newton_step(run, W, active, penalties.epsilon, direct)
        candidates = cache[key]
        if candidates is None:
            return None, 0.0, penalties
        gradient = point.merit_gradient(W, penalties)
        z, norm_b = candidates[0]
        slope = float(gradient @ z)
        if slope <= -0.5 * penalties.eta2 * norm_b ** 2:
            return z, slope, penalties
        if not direct:
            direct, cache = True, {}
            continue
        if penalties.exhausted:
            for z, _ in candidates:
                if float(gradient @ z) < 0:
                    return z, float(gradient @ z), penalties
            return -gradient, -float(gradient @ gradient), penalties
        penalties = penalties.grow(nu)


def _newton_step(run, W, active, epsilon, direct):
    """Candidate steps ``[(z, ||b||), ...]``, ``z = (dx, dlambda, dmu)``, or None if singular.

    The working set is refined by primal-dual active-set passes on the linearised problem
    (``h + H dx >= -epsilon (mu + dmu)``), at most ``_PASSES`` of them: the step then solves the
    quadratic subproblem of SQP when they settle, instead of meeting the inequalities that the
    first step crosses one line search at a time. The step of the unrefined working set (the
    method's own step) is the second candidate, for when the refined one is not a descent
    direction of the merit even with the penalties at their limits.
    """
    point = run.point
    first = None
    for _ in range(_PASSES):
        z, norm_b = _working_set_step(run, W, active, direct)
        if z is None:
            return None
        first = first or (z, norm_b)
        n, m = point.x.size, point.lam.size
        refined = (point.ev.h + point.ev.H @ z[:n]) >= -epsilon * (point.mu + z[n + m:])
        if np.array_equal(refined, active):
            break
        active = refined
    return [(z, norm_b), first] if first[0] is not z else [first]


def _working_set_step(run, W, active, direct):
    """The Newton-KKT step with the rows ``active`` as equalities and ``mu = 0`` on the rest."""
    point, options = run.point, run.options
    ev, n, m = point.ev, point.x.size, point.lam.size
    J = np.vstack([ev.G, ev.H[active]])
    inactive_mu = np.where(active, 0.0, point.mu)
    b = -np.concatenate([point.grad_lagrangian - ev.H.T @ inactive_mu, ev.c, ev.h[active]])
    shift = _curvature_shift(W, J, options, point.kkt)
    y = _solve(run, W + shift * np.eye(n), J, b, direct)
    if y is None:
        return None, 0.0
    dmu = -point.mu.copy()
    dmu[active] = y[n + m:]
    return np.concatenate([y[:n + m], dmu]), float(np.linalg.norm(b))


def _curvature_shift(W, J, options, kkt):
    """``tau`` with ``Z^T (W + tau I) Z >= max(tol, min(xi_b, kkt))`` on the null space ``Z`` of
    ``J``, ``tol = reduced_hessian_tol``; 0 if that reduced Hessian is positive definite.

    A positive definite ``W`` (a Cholesky factorisation exists) needs no check; otherwise ``Z``
    comes from a complete QR of ``J^T`` (rank by the diagonal of ``R``). The floor vanishes with
    the KKT residual, a Levenberg-Marquardt shift: with a fixed ``xi_b`` the step along a direction
    of slightly negative or zero curvature is ``|g| / xi_b``, so near a flat saddle the iterates
    crawl (HS57: 500 steps at KKT residual 2.6e-6 with f 8 % above the optimum; HS25, which
    starts on a plateau with gradient 2e-8, did not move in 354 steps), and a split-variable
    objective (semidefinite) loses the fast local convergence.
    """
    n = W.shape[0]
    try:
        np.linalg.cholesky(W)
        return 0.0
    except np.linalg.LinAlgError:
        pass
    if J.shape[0]:
        Q, R = np.linalg.qr(J.T, mode="complete")
        diagonal = np.abs(np.diag(R))
        rank = int(np.sum(diagonal > 1e-10 * max(1.0, diagonal.max(initial=0.0))))
        Z = Q[:, rank:]
    else:
        Z = np.eye(n)
    if Z.shape[1] == 0:
        return 0.0
    smallest = float(np.linalg.eigvalsh(Z.T @ W @ Z)[0])
    if smallest >= options.reduced_hessian_tol:
        return 0.0
    return minimal_shift(smallest, kkt, options)


def _solve(run, B, J, b, direct):
    """``K y = b`` with ``K = [[B, J^T], [J, 0]]``: sketched, else direct (regularised)."""
    options, chosen, counts = run.options, run.chosen, run.counts
    K = np.block([[B, J.T], [J, np.zeros((J.shape[0], J.shape[0]))]])
    norm_b = float(np.linalg.norm(b))
    if not direct and norm_b > 0:
        # an inexact Newton step whose relative accuracy tightens with the KKT residual
        target = min(0.1, run.point.kkt) * norm_b
        sketcher = KKTSketcher(chosen.device_matrix(K), options.inner_solver, chosen, run.rng,
                               options.block_size, give_up_early=options.early_switch)
        b_dev = chosen.asarray(b)
        y, residual, steps = sketcher.solve(b_dev, chosen.xp.zeros_like(b_dev), target,
                                            options.budget)
        counts.n_sketch += steps
        if residual <= target:
            return chosen.to_numpy(y)
        counts.n_fallback += 1
        if options.auto:
            # the observed sketch rate missed the target: direct solves from now on
            run.options = replace(options, inner_solver="direct")
    counts.n_direct += 1
    try:
        return direct_solve(K, b)
    except np.linalg.LinAlgError:
        pass
    # A singular K. If the system is consistent (zero curvature where the gradient is zero too:
    # features that never occur, split variables), its least-norm solution is the step.
    # Otherwise the Levenberg-Marquardt shift min(xi_b, kkt) of B (the gradient has a part in
    # the null space of a semidefinite Hessian), and for more active rows than the Jacobian's
    # rank (a degenerate vertex) the least-squares step of least norm, which keeps the
    # multiplier step bounded where a dual regularisation -rho I would blow it up.
    solution = np.linalg.lstsq(K, b, rcond=1e-12)[0]
    if np.linalg.norm(K @ solution - b) <= 1e-8 * norm_b:
        return solution
    n = B.shape[0]
    K[:n, :n] += max(options.reduced_hessian_tol, min(options.xi_b, run.point.kkt)) * np.eye(n)
    try:
        return direct_solve(K, b)
    except np.linalg.LinAlgError:
        solution = np.linalg.lstsq(K, b, rcond=1e-12)[0]
    return solution if np.isfinite(solution).all() else None


def _least_violation(run, status, message):
    """After a failed run: the point of least ``||c||^2 + ||max(h, 0)||^2`` from the last one.

    If that point violates the constraints by more than ``tol`` the problem is reported
    infeasible (status -3) there; otherwise the original status stands.
    """
    from scipy.optimize import minimize as scipy_minimize

    problem, point = run.problem, run.point

    def violation(x):
        ev = problem.evaluate(x)
        positive = np.maximum(ev.h, 0.0)
        return (0.5 * (ev.c @ ev.c + positive @ positive),
                ev.G.T @ ev.c + ev.H.T @ positive)

    found = scipy_minimize(violation, point.x, jac=True, method="L-BFGS-B",
                           options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 1000})
    best = _Point(problem, found.x, point.lam, point.mu)
    if not best.finite or min(best.violation, point.violation) <= run.options.tol:
        return status, message
    if best.violation < point.violation:
        run.point = best
    return Status.INFEASIBLE, (f"The constraints look infeasible: the least violation found is "
                               f"{run.point.violation:.3e} (max |c_i| and max(h_i, 0)) at res.x.")


def _finish(run, status, message, warn):
    """Epilogue: multipliers per constraint and per bound, counters, final penalties."""
    options, problem, point, counts = run.options, run.problem, run.point, run.counts
    hints = {Status.MAXITER: f"increase maxiter (now {options.maxiter})",
             Status.STALLED: f"loosen tol (now {options.tol:g}) or try inner_solver='direct'",
             Status.TIME_LIMIT: f"increase time_limit (now {options.time_limit})",
             Status.INFEASIBLE: "check that the constraints and bounds can be met together",
             None: "check the problem's functions near res.x"}
    v, bound_multipliers = problem.split(problem.row_weights(point.lam, point.mu))
    blocks = len(v)
    extra = {} if bound_multipliers is None else {"bound_multipliers": bound_multipliers}
    return run.monitor.finish(
        status, backend=run.chosen.name, hints=hints, warn=warn, message=message, x=point.x,
        fun=point.ev.f, v=v, grad=point.ev.g, jac=problem.per_constraint(point.ev.J),
        constr=problem.per_constraint(point.ev.s),
        optimality=float(np.max(np.abs(point.grad_lagrangian), initial=0.0)),
        lagrangian_grad=point.grad_lagrangian,
        constr_violation=point.violation, kkt_residual=point.kkt, nit=run.nit,
        nfev=problem.nfev, njev=problem.njev, nhev=problem.nhev,
        constr_nfev=[problem.constr_nfev] * blocks, constr_njev=[problem.constr_njev] * blocks,
        constr_nhev=[problem.constr_nhev] * blocks, n_sketch=counts.n_sketch,
        n_direct=counts.n_direct, n_fallback=counts.n_fallback, **extra,
        penalties={"eta1": run.penalties.eta1, "eta2": run.penalties.eta2,
                   "epsilon": run.penalties.epsilon})
