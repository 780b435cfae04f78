"""LV-HBA: single-loop, Hessian-free bilevel solver for lower levels with coupled constraints.

Yao, Yu, Zeng, Zhang, "Constrained Bi-Level Optimization: Proximal Lagrangian Value function
Approach and Hessian-free Algorithm", ICLR 2024 (arXiv 2401.16164), written from the paper;
equation numbers below are the paper's.
"""

from dataclasses import dataclass, field, fields, replace

import numpy as np

from numopt._core.iteration import Column, IterationMonitor
from numopt._core.result import Status
from numopt._core.validation import (
    all_finite,
    check_array,
    check_callable,
    check_choice,
    check_int,
    check_scalar,
)
from numopt._core.warnings import warn_unknown_options
from numopt.backends import get_backend
from numopt.bilevel._polish import PolishOutcome, polish_kkt
from numopt.bilevel.problem import CoupledConstraints, as_bounds, evaluate_level
from numopt.bilevel.projections import make_projection

__all__ = ["bilevel_minimize", "value_function_gradient"]

SOLVER = "bilevel_minimize"
# Proximal parameters and steps must lie in this range: the stationarity measure divides by
# the squared steps, which must neither underflow to 0 nor overflow.
_STEP_RANGE = (float(np.sqrt(np.finfo(float).tiny)), float(1.0 / np.sqrt(np.finfo(float).tiny)))
# Without coupled rows there is no active set to identify, and the polish (guarded by its
# acceptance tests) is tried once this early as well.
_EARLY_POLISH_AT = 20
# The range of the default c0 (the curvature ratio of f to F).
_C0_RANGE = (1.0, 1e4)
# The range of the default gamma1.
_GAMMA1_RANGE = (1e-2, 1e2)
# The outer step's test compares with the largest merit of this many recent iterates (a
# non-monotone test: the step may cross a kink of F, where the merit rises for a while).
_MERIT_MEMORY = 10
# Iterations at which the steps are re-estimated (and every 1000 after).
_RESCALE_AT = frozenset(10 * 2 ** j for j in range(10))


@dataclass(frozen=True)
class _StepOverrides:
    """User-set proximal parameters and steps (None: derived from measured curvatures)."""

    gamma1: float | None
    gamma2: float | None
    alpha: float | None
    beta: float | None
    eta: float | None


def bilevel_minimize(upper, lower, x0, y0, *, constraints=(), x_bounds=None, y_bounds=None,
                     project=None, method="lv-hba", tol=1e-6, maxiter=20000, gamma1=None,
                     gamma2=None, c0=None, penalty_power=0.45, multiplier_bound=np.inf, alpha=None,
                     beta=None, eta=None, tol_gap=None, polish="auto", polish_tol=1e-3,
                     polish_max_size=600, check_every=10, backend="auto", callback=None,
                     verbose=0, warn=True, **unknown_options):
    r"""Solve a bilevel problem with a convex, coupled-constrained lower level by LV-HBA.

    .. math::

        \min_{x \in X,\, y \in Y} F(x, y) \quad\text{s.t.}\quad
        y \in \arg\min_{y' \in Y} \{ f(x, y') : g(x, y') \le 0,\ h(x, y') = 0 \}

    Only first derivatives of ``F``, ``f`` and the constraints are used, and each iteration is one
    projected gradient descent-ascent step on the lower level's proximal Lagrangian followed by one
    projected gradient step on the penalised value-function reformulation (a single loop).

    Parameters
    ----------
    upper : callable
        ``upper(x, y) -> (F, grad_x F, grad_y F)`` (see
        :class:`~numopt.bilevel.problem.LevelFunction` to build it from three callables).
    lower : callable
        ``lower(x, y) -> (f, grad_x f, grad_y f)``; ``f(x, .)`` must be convex.
    x0 : array_like, shape (n,)
        Upper-level start.
    y0 : array_like, shape (m,)
        Lower-level start. ``(x0, y0)`` is projected onto the feasible set first.
    constraints : constraint or sequence, optional
        Coupled lower-level constraints on the stacked vector ``w = [x, y]`` in SciPy's types:
        `scipy.optimize.LinearConstraint` (projected exactly, no ``project`` needed),
        `scipy.optimize.NonlinearConstraint` with a callable ``jac``, or ``{"type": "eq"|"ineq",
        "fun", "jac"}`` dicts (``"ineq"`` means ``fun(w) >= 0``). They must be jointly convex
        in ``(x, y)`` (affine for equalities). The upper level is restricted to the same set.
    x_bounds, y_bounds : pair or `scipy.optimize.Bounds`, optional
        Boxes ``X`` and ``Y`` as ``(lower, upper)`` (scalars or arrays; None for unbounded).
    project : callable, optional
        ``project(x, y) -> (x, y)``: Euclidean projection onto ``C = {(x, y) in X x Y :
        g <= 0, h = 0}``. Required when a constraint is nonlinear; replaces the built-in exact
        projection otherwise.
    method : {"lv-hba"}
        The algorithm (only LV-HBA for now).
    tol : float
        Stop when the projected-step residual of the penalised problem and the lower-level gap
        estimate ``f - v_gamma`` are both at most ``tol`` (``tol_gap`` for the gap).
    maxiter : int
        Maximum number of iterations.
    callback : callable, optional
        ``callback(intermediate_result)`` (with ``x``, ``nit``, ``fun``, ``stationarity``,
        ``lower_gap``, ``penalty``) or legacy ``callback(xk)``, called every ``check_every``
        iterations; raising ``StopIteration`` stops with status 99.
    verbose : int
        0 silent, 1 final report, 2 a table row every ``check_every`` iterations.
    warn : bool
        Emit a `ConvergenceWarning` when the run does not converge.
    **unknown_options
        Any other keyword warns with `scipy.optimize.OptimizeWarning` and is ignored.

    Returns
    -------
    OptimizeResult
        ``x``, ``y``; ``fun`` (``F(x, y)``); ``lower_fun`` (``f(x, y)``); ``lower_gap`` (the
        estimate of ``f - v_gamma >= 0``, 0 for an exact lower-level solution);
        ``constraint_violation`` (largest violation of the coupled rows and boxes);
        ``multipliers`` (the lower-level multipliers, one per one-sided row: first the
        linear constraints, then the nonlinear ones, each contributing its equality rows, then
        its upper sides, then its lower sides); ``z``, ``theta``
        (LV-HBA's auxiliary variables); ``penalty`` (the last ``c_k``); ``stationarity``;
        ``steps`` (the step sizes and gammas used); ``polished`` and ``polish_message``; ``nit``,
        ``nfev`` (upper-level calls), ``nfev_lower``, ``ncev`` (constraint calls);
        ``nonfinite_trials`` (trial steps rejected for non-finite values); ``success``,
        ``status``, ``message``, ``backend``, ``time``, ``history``.

    Raises
    ------
    ValueError
        Non-finite or wrongly shaped inputs, inconsistent or empty linear constraints, non-finite
        user values at the start, bad option values, proximal parameters or steps whose derived
        step sizes leave the range double precision can square (about ``[1.5e-154,
        6.7e153]``).
    TypeError
        Non-callable functions, outputs that are not ``(value, grad_x, grad_y)``, a ``polish``
        that is neither ``"auto"`` nor a bool.

    Options
    -------
    gamma1 : float, optional
        Proximal parameter of the lower-level variable in ``v_gamma``. Default
        ``1 / L_yy`` clipped to ``[0.01, 100]``, ``L_yy`` the curvature of ``f(x0, .)``
        measured at the start (1 when ``f`` is linear in ``y``).
    gamma2 : float, optional
        Proximal parameter of the multipliers. Default ``gamma1 / ||J_y g||^2`` (the
        Jacobian's spectral norm at the start): the multipliers then live on the scale of the
        constraints, and the inner descent-ascent contracts at a rate independent of how the rows
        are scaled.
    c0, penalty_power : float
        Penalty schedule ``c_k = c0 (k + 1)^p`` (the theory asks ``0 < p < 1/2``). The penalised
        problem's bias on ``x`` is O(1/c_k). Default ``c0``: the ratio ``L_f / L_F`` of the
        measured curvatures of ``f`` and ``F`` at the start, clipped to ``[1, 1e4]``, so that
        ``F / c_k`` and ``f - v_gamma`` are on the same scale (a lower level summed over training
        rows against a mean validation loss otherwise biases ``x`` by that ratio).
    multiplier_bound : float
        The truncation ``r`` of the multipliers (``|lambda|, |z| <= r``).
    alpha, beta, eta : float, optional
        Steps for ``(x, y)``, ``z`` and ``(theta, lambda)``. Defaults are derived from curvature
        estimates at the start (see Notes).
    tol_gap : float, optional
        Tolerance of the lower-level gap (default ``tol``).
    polish : {"auto", True, False}
        (NumPy bools count as bools.) Once the stationarity measure is below ``polish_tol``,
        fix the active set of the lower-level rows and solve the bilevel problem with the lower
        level replaced by its KKT equations (Newton on that NLP's KKT system; the Hessian of
        ``F`` and the Jacobian of ``grad_y f`` by forward differences of gradients). This
        removes the O(1/c_k) penalty bias. Newton's steps are damped on an l1 merit. Rows whose
        multiplier comes out negative are dropped and the system re-solved (at most 3 times).
        Accepted only when Newton converged, the lower-level KKT conditions hold, ``y`` is within
        ``tol`` of the lower-level solution, ``F`` is not above (beyond ``tol``) its best value
        with ``x`` frozen at the iterate's and ``y`` lower-level optimal, the projected gradient
        of ``F`` on the lower-level solution set vanishes (and moving an ``x`` held at a bound
        into the box does not lower ``F``), and the point is not degenerate (``F``'s reduced
        curvature there is not ~0: a hyperparameter driven to where ``F`` no longer depends on
        it is rejected); see :mod:`numopt.bilevel._polish`. Otherwise the iteration continues
        and retries after a tenfold drop of the measure. Without coupled rows it is also tried
        at iteration 20. ``"auto"`` polishes when ``n + m + l <= polish_max_size``; the polish
        runs only for NumPy arrays.
    polish_tol : float
        Stationarity at which the first polish is tried.
    polish_max_size : int
        Size limit of ``"auto"`` polishing (its linear algebra is dense).
    check_every : int
        Iterations between convergence checks, history records and callbacks.
    backend : {"auto", "numpy", "numba", "cupy"}
        Array backend; CuPy inputs run on the GPU when the user functions return CuPy arrays.
        The method has no compiled kernels, so ``"numba"`` runs (and reports) ``"numpy"``.

    See Also
    --------
    numopt.bilevel.problem.BilevelProblem : container used by the test-problem zoo.
    numopt.bilevel.projections.make_projection : the exact projections.

    Notes
    -----
    With the proximal Lagrangian value function

    .. math::

        v_\gamma(x, y, z) = \min_{\theta \in Y} \max_{\lambda \in \Lambda} f(x, \theta)
        + \langle\lambda, G(x, \theta)\rangle + \tfrac{1}{2\gamma_1}\|\theta - y\|^2
        - \tfrac{1}{2\gamma_2}\|\lambda - z\|^2,

    (``Lambda``: ``lambda >= 0`` on inequality rows, free on equalities; ``v_gamma <= f`` on the
    feasible set) iteration ``k`` does, with ``c_k = c0 (k+1)^p``:

    1. one projected descent-ascent step on the inner saddle problem at ``(x^k, y^k, z^k)``,
       giving ``(theta^{k+1}, lambda^{k+1})``;
    2. one projected step on ``psi_k = F / c_k + f - v_gamma`` in ``(x, y)`` (onto ``C``) and in
       ``z``, with Danskin's gradient of ``v_gamma`` evaluated at ``(theta^{k+1},
       lambda^{k+1})``: only differences of first derivatives appear, no Hessian.

    Step sizes (derived from the problem's scale at the start): the curvatures ``L_F``, ``L_f``
    (of ``F``, ``f`` in ``w = (x, y)``) and ``L_yy`` (of ``f`` in ``y``) are measured by a few
    power iterations on finite differences of gradients, and ``b_y = ||J_y G||``, ``b_x =
    ||J_x G||`` by power iterations on the Jacobian. With ``s = 1 / b_y`` and ``mu = 1 /
    max(gamma1, gamma2 b_y^2)``, the inner step is ``eta = mu / (a^2 + 1)``, ``a = max(L_yy +
    1/gamma1, 1/(gamma2 b_y^2))`` for ``theta`` (the bound under which simultaneous
    descent-ascent on a strongly monotone operator with unit coupling contracts) and ``eta s^2``
    for ``lambda``; the outer step is ``alpha = 1 / (L_F / c0 + 2 L_f + 2 / gamma1 + s b_x + 1 /
    (gamma2 b_y^2))`` and ``beta = alpha s^2`` for ``z``. When the rows do not involve ``x``
    (``b_x = 0``, so ``C`` is a product of an ``x``-box and a ``y``-set) the ``x`` block gets its
    own step ``1 / (L_F,xx / c0 + 2 L_f,xx)`` from its own curvature. The estimates are taken
    again at iterations 10, 20, 40, ... and every 1000 with ``c_k`` in place of ``c0``
    (``gamma`` kept fixed, since it defines ``v_gamma``), because the curvature along the path can
    differ from that at the start and ``psi_k``'s upper-level part shrinks as ``c_k`` grows.

    Safeguard: measured curvatures can be far too small (at a cold start ``w = 0`` a ridge
    weight ``exp(x)`` has no measurable effect), so every step is checked. The ``theta`` step must
    satisfy the descent lemma of ``L(., lambda^k)``; the ``(x, y, z)`` step that of ``phi =
    F/c_k + f - L(x, theta', lambda'; y, z)`` plus the value-function term ``eta/2 ||r(w+) -
    r(w)||^2`` (``r = grad_theta L``: how far the step moves the inner problem, which is how
    ``v_gamma``'s curvature acts on ``x``), measured from the largest merit of the last 10
    iterations rather than the current one (a non-monotone test in the manner of Grippo,
    Lampariello and Lucidi): where ``F`` has a kink (the SVM's LeakyReLU validation loss at a
    zero margin) the gradient on one side is not a descent direction across it, and a monotone
    test shrinks the step to the distance to the kink and stalls there; the window lets the
    step cross while the merit stays below its recent maximum. A failing step is halved (the
    ``x`` block first);
    trial points with non-finite values fail too, so divergence is caught at the step where it
    starts, without overflow in the iterates. The ``x`` block starts at the joint step and grows
    by half per accepted step up to its measured step. A step halved below about 1e-154 ends the
    run (status -1 when non-finite values were met, else 2). Floating-point warnings inside the
    loop are silenced; ``nonfinite_trials`` counts the rejected non-finite trials and the message
    mentions them once.

    Success (status 0) means: either an accepted polish (above), or ``stationarity <= tol`` and
    ``lower_gap <= tol_gap``, a stationary point of ``psi_k`` with ``y`` lower-level optimal to
    ``tol_gap`` (approximate KKT point of the value-function reformulation with multiplier
    ``c_k``). At status 1 the message gives the gap: above ``tol_gap``, ``y`` is not
    lower-level optimal and ``fun`` is not a value of the bilevel problem; within it, ``fun`` is
    (to that gap) the bilevel objective at an ``x`` that is not stationary.

    The stationarity measure ``||(w^{k+1} - w^k) / alpha, s (z^{k+1} - z^k) / beta||`` is that of
    the penalised problem ``psi_k``, not of the bilevel problem: as the paper's reviewers note, a
    small value does not certify bilevel stationarity; the O(1/c_k) bias is what ``polish``
    removes.

    References
    ----------
    .. [1] W. Yao, C. Yu, S. Zeng, J. Zhang, "Constrained Bi-Level Optimization: Proximal
       Lagrangian Value function Approach and Hessian-free Algorithm", ICLR 2024.

    Examples
    --------
    Lower level ``min_y 1/2 ||y - x||^2 s.t. y1 + y2 <= 1`` (coupled through ``x`` in the
    objective), upper level ``1/2 ||y - (1, 1)||^2 + 1/2 ||x||^2``:

    >>> import numpy as np
    >>> from scipy.optimize import LinearConstraint
    >>> from numopt import bilevel_minimize
    >>> def upper(x, y):
    ...     return 0.5 * np.sum((y - 1) ** 2) + 0.5 * x @ x, x, y - 1
    >>> def lower(x, y):
    ...     return 0.5 * np.sum((y - x) ** 2), x - y, y - x
    >>> row = LinearConstraint(np.array([[0.0, 0.0, 1.0, 1.0]]), -np.inf, 1.0)
    >>> res = bilevel_minimize(upper, lower, np.zeros(2), np.zeros(2), constraints=row)
    >>> res.success, np.round(res.y, 4)
    (True, array([0.5, 0.5]))
    """
    warn_unknown_options(SOLVER, unknown_options)
    settings = _validate(method, upper, lower, project, tol=tol, tol_gap=tol_gap, maxiter=maxiter,
                         check_every=check_every, c0=c0, penalty_power=penalty_power,
                         multiplier_bound=multiplier_bound, polish=polish, polish_tol=polish_tol,
                         polish_max_size=polish_max_size,
                         overrides=_StepOverrides(gamma1=gamma1, gamma2=gamma2, alpha=alpha,
                                                  beta=beta, eta=eta))
    # Created first so that result.time covers the set-up (projection, curvature estimates).
    monitor = IterationMonitor(SOLVER, [Column("fun", "{:>12.5e}", 12), Column("stationarity"),
                                        Column("lower_gap"), Column("penalty")],
                               callback=callback, verbose=verbose, check_every=check_every)
    backend = get_backend(backend, x0, y0, compiled=False)
    evaluations, feasible, iterate = _set_up(upper, lower, x0, y0, constraints, x_bounds,
                                             y_bounds, project, settings, backend.xp)
    # The curvature probes step off the start; where the user's functions overflow there, the
    # estimates come out non-finite and _step_sizes says so (no floating-point warning flood).
    with np.errstate(all="ignore"):
        if settings.c0 is None:
            steps = _step_sizes(evaluations, iterate.x, iterate.y, settings.overrides, 1.0)
            ratio = steps.curvature_lower / max(steps.curvature_upper, 1e-300)
            settings = replace(settings, c0=float(np.clip(ratio, *_C0_RANGE)))
        steps = _step_sizes(evaluations, iterate.x, iterate.y, settings.overrides, settings.c0)
    run = _Run(steps=steps, scale=steps.scale, last_good=iterate)
    size = evaluations.n + evaluations.m + evaluations.rows.size
    # The polish's dense linear algebra is NumPy/SciPy: it runs for NumPy arrays only.
    polish_run = _PolishRun(enabled=backend.xp is np and (
        settings.polish is True or (settings.polish == "auto"
                                    and size <= settings.polish_max_size)),
        threshold=settings.polish_tol)
    _iterate(run, evaluations, feasible, settings, monitor, backend, polish_run)
    return _finish(run, evaluations, feasible, settings, monitor, backend, polish_run, warn)


@dataclass(frozen=True)
class _Settings:
    """The validated options of one run."""

    tol: float
    tol_gap: float
    maxiter: int
    check_every: int
    c0: float | None
    power: float
    bound: float
    polish: object
    polish_tol: float
    polish_max_size: int
    overrides: _StepOverrides

    def penalty(self, iteration):
        """``c_k = c0 (k + 1)^p`` for ``iteration = k + 1``."""
        return self.c0 * iteration ** self.power


@dataclass
class _Evaluations:
    """The user's functions, checked and counted (``nfev``, ``nfev_lower``, ``ncev``)."""

    upper: object
    lower: object
    rows: CoupledConstraints
    n: int
    m: int
    xp: object
    n_upper: int = 0
    n_lower: int = 0
    n_rows: int = 0

    def upper_at(self, x, y):
        self.n_upper += 1
        return evaluate_level(self.upper, "upper", x, y, self.xp)

    def lower_at(self, x, y):
        self.n_lower += 1
        return evaluate_level(self.lower, "lower", x, y, self.xp)

    def rows_at(self, x, y):
        if self.rows.size == 0:
            xp = self.xp
            return xp.zeros(0), xp.zeros((0, self.n)), xp.zeros((0, self.m))
        self.n_rows += 1
        return self.rows.evaluate(x, y)


@dataclass(frozen=True)
class _FeasibleSet:
    """The boxes, the projection onto ``C`` and the multiplier set ``Lambda``."""

    x_lower: object
    x_upper: object
    y_lower: object
    y_upper: object
    project_joint: object
    multiplier_lower: object
    bound: float
    xp: object

    def project_theta(self, theta):
        """``Proj_Y``."""
        return self.xp.clip(theta, self.y_lower, self.y_upper)

    def project_multipliers(self, multipliers):
        """``Proj_Lambda``: ``[0, r]`` on inequality rows, ``[-r, r]`` on equalities."""
        return self.xp.clip(multipliers, self.multiplier_lower, self.bound)


@dataclass(frozen=True)
class _Iterate:
    """LV-HBA's variables: ``(x, y)``, the multiplier proxy ``z`` and the inner ``(theta,
    lam)``."""

    x: object
    y: object
    z: object
    theta: object
    lam: object
    # ``(F, f)`` as ``(value, grad_x, grad_y)`` at ``(x, y)`` when the safeguard computed them.
    values: object = None


@dataclass
class _Steps:
    """Proximal parameters, steps and the curvature estimates they come from."""

    gamma1: float
    gamma2: float
    eta_theta: float
    eta_lambda: float
    alpha: float
    alpha_x: float
    beta: float
    scale: float
    # The x block's step as measured; the safeguard may shrink alpha_x and lets it grow back.
    alpha_x_cap: float
    curvature_upper: float
    curvature_lower: float
    curvature_yy: float
    norm_jy: float
    norm_jx: float

    def as_dict(self):
        return {field.name: float(getattr(self, field.name)) for field in fields(self)}


@dataclass
class _Run:
    """Where the iteration stands: the steps in use, the last checked iterate and its measures."""

    steps: _Steps
    # The multiplier scale of the stationarity measure: that of the start, kept on re-estimation.
    scale: float
    last_good: _Iterate
    status: Status = Status.MAXITER
    nit: int = 0
    stationarity: float = np.inf
    gap: float = np.inf
    # Safeguard records: trial points with non-finite values, the steps of the last accepted
    # outer step (alpha_x, alpha, beta) and which step could not be made (None: none).
    nonfinite_trials: int = 0
    step_used: tuple = (np.nan, np.nan, np.nan)
    failure: object = None
    # The merits phi_j(w_j) of the last iterations: the reference of the outer step's test.
    recent_merits: list = field(default_factory=list)


@dataclass
class _PolishRun:
    """The KKT polish's schedule and its latest outcome."""

    enabled: bool
    threshold: float
    attempts: int = 0
    outcome: PolishOutcome = PolishOutcome(False, "not attempted")

    def attempt(self, evaluations, feasible, iterate, tol):
        """Polish ``iterate``; True when the polished point was accepted."""
        self.attempts += 1
        self.outcome = polish_kkt(evaluations.upper_at, evaluations.lower_at,
                                  evaluations.rows_at, evaluations.rows, iterate.x, iterate.y,
                                  iterate.lam, feasible.x_lower, feasible.x_upper,
                                  feasible.y_lower, feasible.y_upper, tol=tol)
        return self.outcome.accepted


def _validate(method, upper, lower, project, *, tol, tol_gap, maxiter, check_every, c0,
              penalty_power, multiplier_bound, polish, polish_tol, polish_max_size, overrides):
    """Check the functions and options; the options as :class:`_Settings`."""
    check_choice(method, "method", SOLVER, ("lv-hba",))
    check_callable(upper, "upper", SOLVER)
    check_callable(lower, "lower", SOLVER)
    check_callable(project, "project", SOLVER, optional=True)
    tol = check_scalar(tol, "tol", SOLVER, low=0, low_inclusive=True)
    tol_gap = tol if tol_gap is None else check_scalar(tol_gap, "tol_gap", SOLVER, low=0,
                                                       low_inclusive=True)
    maxiter = check_int(maxiter, "maxiter", SOLVER, low=1)
    check_every = check_int(check_every, "check_every", SOLVER, low=1)
    c0 = None if c0 is None else check_scalar(c0, "c0", SOLVER, low=0)
    power = check_scalar(penalty_power, "penalty_power", SOLVER, low=0, low_inclusive=True,
                         high=1)
    bound = multiplier_bound
    bound = np.inf if bound == np.inf else check_scalar(bound, "multiplier_bound", SOLVER, low=0)
    if isinstance(polish, np.bool_):  # e.g. the outcome of a comparison of arrays
        polish = bool(polish)
    if not (polish is True or polish is False or (isinstance(polish, str) and polish == "auto")):
        # 1 or 0 compare equal to True or False but would not be read as such below.
        error = ValueError if isinstance(polish, str) else TypeError
        raise error(f"The 'polish' parameter of {SOLVER} must be one of 'auto', True, False "
                    f"(or a NumPy bool). Got {polish!r} instead.")
    polish_max_size = check_int(polish_max_size, "polish_max_size", SOLVER, low=0)
    polish_tol = check_scalar(polish_tol, "polish_tol", SOLVER, low=0)
    return _Settings(tol=tol, tol_gap=tol_gap, maxiter=maxiter, check_every=check_every, c0=c0,
                     power=power, bound=bound, polish=polish, polish_tol=polish_tol,
                     polish_max_size=polish_max_size, overrides=overrides)


def _set_up(upper, lower, x0, y0, constraints, x_bounds, y_bounds, project, settings, xp):
    """Read the arrays and constraints, project the start onto ``C`` and check it is finite.

    Returns the counted evaluations, the feasible set and the first iterate.
    """
    x = check_array(x0, "x0", ndim=1, dtype=np.float64, xp=xp)
    y = check_array(y0, "y0", ndim=1, dtype=np.float64, xp=xp)
    n, m = x.shape[0], y.shape[0]
    x_lower, x_upper = as_bounds(x_bounds, n, "x_bounds", xp)
    y_lower, y_upper = as_bounds(y_bounds, m, "y_bounds", xp)
    rows = CoupledConstraints(constraints, x, y, xp)
    feasible = _FeasibleSet(
        x_lower=x_lower, x_upper=x_upper, y_lower=y_lower, y_upper=y_upper,
        project_joint=_joint_projection(rows, project, x_lower, x_upper, y_lower, y_upper, n, xp),
        multiplier_lower=xp.where(rows.is_equality, -settings.bound, 0.0), bound=settings.bound,
        xp=xp)
    evaluations = _Evaluations(upper, lower, rows, n, m, xp)
    x, y = feasible.project_joint(x, y)
    start = [evaluations.upper_at(x, y), evaluations.lower_at(x, y), evaluations.rows_at(x, y)]
    # Constant (linear) constraint Jacobians were checked when the constraints were read.
    if not all_finite(*start[0], *start[1], start[2][0]):
        raise ValueError("The user functions (`upper`, `lower` or a constraint) returned "
                         "non-finite values at the (projected) starting point.")
    iterate = _Iterate(x=x, y=y, z=xp.zeros(rows.size), theta=feasible.project_theta(y),
                       lam=xp.zeros(rows.size))
    return evaluations, feasible, iterate


def _iterate(run, evaluations, feasible, settings, monitor, backend, polish):
    """The LV-HBA loop; updates ``run`` (and ``polish``) in place.

    Floating-point warnings are silenced inside: a trial point where the user's functions
    overflow is rejected by the safeguard (and counted in ``run.nonfinite_trials``, reported once
    in the result) rather than flooding the output.
    """
    iterate = run.last_good
    with np.errstate(all="ignore"):
        for k in range(settings.maxiter):
            penalty = settings.penalty(k + 1)
            try:
                following, values = _lv_hba_step(iterate, run, penalty, evaluations, feasible)
            except _StepFailure as failure:
                run.failure = failure
                run.status = Status.NONFINITE if failure.nonfinite else Status.STALLED
                return
            run.nit = k + 1
            if run.nit in _RESCALE_AT or run.nit % 1000 == 0:
                _rescale(run, evaluations, following, settings, penalty)
            if run.nit % settings.check_every and run.nit != settings.maxiter:
                iterate = following
                continue
            if _check(run, iterate, following, values, penalty, evaluations, settings, monitor,
                      backend):
                break
            iterate = following
            # Polish once the iterate is close enough for the active set to be identified, and
            # again each time the residual has dropped tenfold since the last rejected attempt.
            if polish.enabled and (run.stationarity <= polish.threshold or (
                    run.nit == _EARLY_POLISH_AT and not evaluations.rows.size)):
                polish.threshold = min(polish.threshold, run.stationarity / 10)
                if polish.attempt(evaluations, feasible, iterate, settings.tol):
                    run.status = Status.CONVERGED
                    break


def _rescale(run, evaluations, following, settings, penalty):
    """Re-measure the curvatures at ``following`` and take the new steps.

    The curvature seen at the start can be far from the one along the path (the SVM's weights
    exp(c) grow); this runs at iterations 10, 20, 40, ..., then every 1000, keeping gamma (it
    defines v_gamma) and any user-given step. psi_k's curvature involves F / c_k, so the
    current penalty enters the new steps. The x block keeps the step the safeguard settled on
    when it lies between the new joint step and the new measured x step.
    """
    fresh = _step_sizes(evaluations, following.x, following.y, settings.overrides, penalty,
                        gammas=(run.steps.gamma1, run.steps.gamma2))
    if fresh is None:
        return
    fresh.alpha_x = min(fresh.alpha_x_cap, max(fresh.alpha, run.steps.alpha_x))
    run.steps = fresh


class _StepFailure(Exception):
    """The safeguard halved a step down to the bottom of ``_STEP_RANGE`` without acceptance."""

    def __init__(self, block, nonfinite):
        super().__init__(block)
        self.block = block
        self.nonfinite = nonfinite


def _lv_hba_step(iterate, run, penalty, evaluations, feasible):
    """One LV-HBA iteration, safeguarded: the next iterate and ``(F, f, f(x, theta'), G(x,
    theta'))`` at the current one. Raises :class:`_StepFailure` when a step cannot be made."""
    inner = _inner_step(iterate, run, evaluations, feasible)
    return _outer_step(iterate, inner, run, penalty, evaluations, feasible)


def _inner_step(iterate, run, evaluations, feasible):
    """Step 1: projected descent-ascent on the proximal Lagrangian at ``(x^k, y^k, z^k)``.

    The ``theta`` step is backtracked until the descent lemma holds for ``L(., lambda^k)``
    (``1/gamma1``-strongly convex), so a curvature grown since the last measurement (the ridge
    weight ``exp(x)`` rising) halves the inner steps instead of blowing the iterate up.
    Returns ``(theta', lambda', (f, grad_x f, grad_y f) at (x, theta'), (G, J_x, J_y) there)``.
    """
    xp, steps = evaluations.xp, run.steps
    x, y, z, theta, lam = iterate.x, iterate.y, iterate.z, iterate.theta, iterate.lam
    lower_value, _, fy_theta = evaluations.lower_at(x, theta)
    g_theta, _, jy_theta = evaluations.rows_at(x, theta)
    d_theta = fy_theta + jy_theta.T @ lam + (theta - y) / steps.gamma1
    d_lambda = -g_theta + (lam - z) / steps.gamma2
    current = lower_value + lam @ g_theta + xp.sum((theta - y) ** 2) / (2 * steps.gamma1)
    while True:
        theta_next = feasible.project_theta(theta - steps.eta_theta * d_theta)
        lam_next = feasible.project_multipliers(lam - steps.eta_lambda * d_lambda)
        at_theta = evaluations.lower_at(x, theta_next)
        rows_theta = evaluations.rows_at(x, theta_next)
        move = theta_next - theta
        trial = (at_theta[0] + lam @ rows_theta[0]
                 + xp.sum((theta_next - y) ** 2) / (2 * steps.gamma1))
        bound = current + d_theta @ move + xp.sum(move ** 2) / (2 * steps.eta_theta)
        if _accept(run, trial, bound, *at_theta[1:], rows_theta[0], lam_next):
            return theta_next, lam_next, at_theta, rows_theta
        steps.eta_theta, steps.eta_lambda = steps.eta_theta / 2, steps.eta_lambda / 2
        if steps.eta_theta < _STEP_RANGE[0]:
            raise _StepFailure("eta", run.nonfinite_trials > 0)


def _accept(run, trial, bound, *arrays):
    """The backtracking test ``trial <= bound`` (with round-off slack); non-finite trials fail
    and are counted (their floating-point warnings are silenced, see :func:`_iterate`)."""
    if not (np.isfinite(float(trial)) and all_finite(*arrays)):
        run.nonfinite_trials += 1
        return False
    return float(trial) <= float(bound) + 1e-12 * (1.0 + abs(float(bound)))


def _merit(point_values, theta_values, rows_values, x_y_z, inner, steps, penalty, xp):
    """``phi = F / c_k + f(x, y) - L(x, theta', lambda'; y, z)`` and the inner gradient ``r =
    grad_theta L`` at ``(x, y, z)`` with ``(theta', lambda')`` fixed.

    ``phi`` is ``psi_k`` with ``v_gamma`` replaced by the proximal Lagrangian at the inner
    iterate; ``(grad_x phi, grad_y phi, grad_z phi)`` is the LV-HBA direction.
    """
    (upper_value, _, _), (lower_value, _, _) = point_values
    theta_value, _, fy_theta = theta_values
    g_theta, _, jy_theta = rows_values
    _, y, z = x_y_z
    theta, lam = inner
    lagrangian = (theta_value + lam @ g_theta + xp.sum((theta - y) ** 2) / (2 * steps.gamma1)
                  - xp.sum((lam - z) ** 2) / (2 * steps.gamma2))
    residual = fy_theta + jy_theta.T @ lam + (theta - y) / steps.gamma1
    return upper_value / penalty + lower_value - lagrangian, residual


def _outer_step(iterate, inner, run, penalty, evaluations, feasible):
    """Step 2: projected step on ``psi_k = F/c_k + f - v_gamma`` in ``(x, y)`` and ``z``, with
    Danskin's gradient of ``v_gamma`` at the fresh ``(theta', lambda')``, safeguarded.

    A step is accepted when ``phi(w+) + eta/2 ||r(w+) - r(w)||^2 <= phi_ref + <d, w+ - w> +
    ||w+ - w||_D^2 / 2`` (``phi``, ``r`` from :func:`_merit`, ``D`` the block steps, ``eta`` the
    ``theta`` step, ``phi_ref`` the largest of ``phi(w)`` and the merits of the last
    ``_MERIT_MEMORY - 1`` iterates, each under its own iteration's ``c_k`` and inner point).
    One inner step from ``theta`` lowers ``L`` by about ``eta/2 ||r||^2``, so
    ``v_gamma <= L(theta, lambda) - eta/2 ||r||^2`` to first order and the added term is the
    curvature ``v_gamma`` puts on the step (the ``x``-``theta`` coupling) measured along it (the
    rigorous strong-convexity bound ``gamma1/2`` in its place stalls a run with a huge user
    ``gamma1``). A failing step is halved (the ``x`` block first).
    Returns ``(following, (F, f, f(x, theta'), G(x, theta')))``.
    """
    xp, steps = evaluations.xp, run.steps
    x, y, z = iterate.x, iterate.y, iterate.z
    theta_next, lam_next, at_theta, rows_theta = inner
    point_values = iterate.values or (evaluations.upper_at(x, y), evaluations.lower_at(x, y))
    (upper_value, fx_upper, fy_upper), (lower_value, fx_lower, fy_lower) = point_values
    vx, vy, vz = value_function_gradient(at_theta[1], rows_theta[1], y, z, theta_next, lam_next,
                                         steps.gamma1, steps.gamma2)
    d_x, d_y, d_z = fx_upper / penalty + fx_lower - vx, fy_upper / penalty + fy_lower - vy, -vz
    phi, residual = _merit(point_values, at_theta, rows_theta, (x, y, z),
                           (theta_next, lam_next), steps, penalty, xp)
    coupling = steps.eta_theta
    run.recent_merits = (run.recent_merits + [float(phi)])[-_MERIT_MEMORY:]
    reference = max(run.recent_merits)
    while True:
        x_next, y_next = feasible.project_joint(x - steps.alpha_x * d_x, y - steps.alpha * d_y)
        z_next = feasible.project_multipliers(z - steps.beta * d_z)
        trial_values = (evaluations.upper_at(x_next, y_next),
                        evaluations.lower_at(x_next, y_next))
        trial_theta = evaluations.lower_at(x_next, theta_next)
        trial_rows = evaluations.rows_at(x_next, theta_next)
        phi_next, residual_next = _merit(trial_values, trial_theta, trial_rows,
                                         (x_next, y_next, z_next), (theta_next, lam_next),
                                         steps, penalty, xp)
        dx, dy, dz = x_next - x, y_next - y, z_next - z
        trial = phi_next + coupling / 2 * xp.sum((residual_next - residual) ** 2)
        bound = (reference + d_x @ dx + d_y @ dy + d_z @ dz
                 + xp.sum(dx ** 2) / (2 * steps.alpha_x) + xp.sum(dy ** 2) / (2 * steps.alpha)
                 + xp.sum(dz ** 2) / (2 * steps.beta))
        if _accept(run, trial, bound, x_next, y_next, z_next, residual_next):
            break
        _shrink_outer(steps, run)
    run.step_used = (steps.alpha_x, steps.alpha, steps.beta)
    # A step accepted at once lets the x block grow back towards its measured step.
    steps.alpha_x = min(steps.alpha_x * 1.5, max(steps.alpha_x_cap, steps.alpha))
    following = _Iterate(x=x_next, y=y_next, z=z_next, theta=theta_next, lam=lam_next,
                         values=trial_values)
    return following, (upper_value, lower_value, at_theta[0], rows_theta[0])


def _shrink_outer(steps, run):
    """Halve the outer steps after a failed test: the ``x`` block alone while it is larger than
    the joint step (its measured curvature is the unreliable one), all blocks otherwise."""
    if steps.alpha_x > steps.alpha:
        steps.alpha_x = max(steps.alpha_x / 2, steps.alpha)
        return
    steps.alpha, steps.alpha_x, steps.beta = steps.alpha / 2, steps.alpha_x / 2, steps.beta / 2
    if steps.alpha < _STEP_RANGE[0]:
        raise _StepFailure("alpha", run.nonfinite_trials > 0)


def _check(run, iterate, following, values, penalty, evaluations, settings, monitor, backend):
    """Measure, record and test the step ``iterate -> following``; True to stop."""
    xp, steps = evaluations.xp, run.steps
    upper_value, lower_value, lower_theta, g_next = values
    # Residual of psi_k (w-part in its units, z-part in the scaled multiplier units).
    alpha_x, alpha, beta = run.step_used
    step_w = xp.sqrt(xp.sum((following.x - iterate.x) ** 2) / alpha_x ** 2
                     + xp.sum((following.y - iterate.y) ** 2) / alpha ** 2)
    step_z = (xp.linalg.norm(following.z - iterate.z) * run.scale / beta
              if evaluations.rows.size else 0.0)
    run.stationarity = float(xp.sqrt(step_w ** 2 + step_z ** 2))
    run.gap = float(lower_value - lower_theta - following.lam @ g_next
                    - xp.sum((following.theta - iterate.y) ** 2) / (2 * steps.gamma1)
                    + xp.sum((following.lam - iterate.z) ** 2) / (2 * steps.gamma2))
    if not (np.isfinite(run.stationarity) and np.isfinite(run.gap)
            and np.isfinite(float(upper_value))
            and all_finite(following.x, following.y, following.z, following.theta,
                           following.lam)):
        run.status = Status.NONFINITE
        return True
    run.last_good = following
    stop = monitor.record(run.nit, x=backend.to_numpy(following.x), fun=float(upper_value),
                          stationarity=run.stationarity, lower_gap=run.gap, penalty=penalty)
    if run.stationarity <= settings.tol and run.gap <= settings.tol_gap:
        run.status = Status.CONVERGED
    elif stop:
        run.status = Status.CALLBACK
    return run.status != Status.MAXITER


def _finish(run, evaluations, feasible, settings, monitor, backend, polish, warn):
    """Final polish when none was tried, final values and the result."""
    iterate = run.last_good
    if polish.enabled and run.status == Status.MAXITER and not polish.attempts:
        with np.errstate(all="ignore"):  # a trial point of the polish may overflow
            if polish.attempt(evaluations, feasible, iterate, settings.tol):
                run.status = Status.CONVERGED
    polished = polish.outcome.accepted
    if polished:
        outcome = polish.outcome
        iterate = _Iterate(x=outcome.x, y=outcome.y, z=outcome.multipliers, theta=outcome.y,
                           lam=outcome.multipliers)
    upper_value, _, _ = evaluations.upper_at(iterate.x, iterate.y)
    lower_value, _, _ = evaluations.lower_at(iterate.x, iterate.y)
    g_final, _, _ = evaluations.rows_at(iterate.x, iterate.y)
    gap, message = run.gap, None
    if polished:
        # At a lower-level KKT point (theta, lambda) = (y, multipliers) solves the inner saddle
        # problem, so f - v_gamma reduces to the complementarity term -<lambda, G>.
        gap = float(-(iterate.lam @ g_final)) if evaluations.rows.size else 0.0
        message = ("Converged: the KKT polish found a point where the lower level is solved (its "
                   "KKT conditions hold) and which is stationary for the upper level with the "
                   "lower-level active set fixed.")
    violation = _constraint_violation(g_final, evaluations.rows.is_equality, iterate, feasible)
    message = message or _status_message(run, gap, settings)
    to_numpy = backend.to_numpy
    return monitor.finish(
        run.status, backend=backend.name, hints=_hints(settings), warn=warn, message=message,
        x=to_numpy(iterate.x), y=to_numpy(iterate.y), fun=float(upper_value),
        lower_fun=float(lower_value), lower_gap=gap, constraint_violation=violation,
        multipliers=to_numpy(iterate.lam), z=to_numpy(iterate.z), theta=to_numpy(iterate.theta),
        penalty=settings.penalty(max(run.nit, 1)), stationarity=run.stationarity,
        steps=run.steps.as_dict(), polished=polished, polish_message=polish.outcome.message,
        nit=run.nit, nfev=evaluations.n_upper, nfev_lower=evaluations.n_lower,
        ncev=evaluations.n_rows, nonfinite_trials=run.nonfinite_trials)


def _status_message(run, gap, settings):
    """The result's message for an unpolished ending: what the returned pair is and is not,
    plus one summary of the trial points the safeguard rejected as non-finite."""
    if run.status == Status.MAXITER and gap > settings.tol_gap:
        message = (f"Maximum number of iterations reached: y is not lower-level optimal (the "
                   f"estimated gap f - v_gamma is {gap:.3g}), so `fun` is the upper objective at "
                   f"this pair, not a value of the bilevel problem.")
    elif run.status == Status.MAXITER:
        # The gap alone is small: saying that y is not lower-level optimal would be false.
        message = (f"Maximum number of iterations reached: y is lower-level optimal to the "
                   f"estimated gap f - v_gamma = {gap:.3g}, but the pair is not stationary "
                   f"(stationarity {run.stationarity:.3g} > tol = {settings.tol:g}) and no KKT "
                   f"polish was accepted, so x is not a certified bilevel solution.")
    elif run.status in (Status.NONFINITE, Status.STALLED) and run.failure is not None:
        message = (f"The safeguard halved the step {run.failure.block!r} below "
                   f"{_STEP_RANGE[0]:.1e} without meeting its descent test"
                   + (" (the functions returned non-finite values along it)"
                      if run.failure.nonfinite else "")
                   + "; the last accepted iterate is returned.")
    else:
        message = run.status.message
    if run.nonfinite_trials:
        message += (f" {run.nonfinite_trials} trial step(s) gave non-finite values and were "
                    f"rejected (their floating-point warnings were silenced).")
    return message


def _hints(settings):
    """What to change, per unsuccessful status."""
    steps = ("give smaller steps (alpha, eta) or proximal parameters (gamma1, gamma2), or "
             "rescale `upper` and `lower`; check that f(x, .) is convex")
    return {Status.NONFINITE: steps, Status.STALLED: steps,
            None: (f"increase maxiter (now {settings.maxiter}) or loosen tol (now "
                   f"{settings.tol:g}); the penalty bias O(1/c_k) shrinks as c_k grows")}


def value_function_gradient(fx_theta, jx_theta, y, z, theta, lam, gamma1, gamma2):
    """Danskin's gradient of ``v_gamma`` at ``(x, y, z)`` from the inner saddle point.

    With ``(theta, lam)`` the saddle point of the proximal Lagrangian at ``(x, y, z)``:
    ``grad_x v = grad_x f(x, theta) + J_x G(x, theta)^T lam``, ``grad_y v = (y - theta) /
    gamma1``, ``grad_z v = (lam - z) / gamma2``. LV-HBA evaluates it at its single-step
    estimate of the saddle point.

    Parameters
    ----------
    fx_theta : array, shape (n,)
        ``grad_x f(x, theta)``.
    jx_theta : array, shape (l, n)
        ``J_x G(x, theta)``.
    y, z, theta, lam : array
        The point and the (estimated) saddle point.
    gamma1, gamma2 : float
        Proximal parameters.

    Returns
    -------
    tuple of array
        ``(grad_x v, grad_y v, grad_z v)``.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.bilevel.lv_hba import value_function_gradient
    >>> gx, gy, gz = value_function_gradient(np.zeros(1), np.ones((1, 1)), np.ones(1),
    ...                                      np.zeros(1), np.zeros(1), np.full(1, 2.0), 1.0, 1.0)
    >>> gx.tolist(), gy.tolist(), gz.tolist()
    ([2.0], [1.0], [2.0])
    """
    return fx_theta + jx_theta.T @ lam, (y - theta) / gamma1, (lam - z) / gamma2


def _joint_projection(rows, project, x_lower, x_upper, y_lower, y_upper, n, xp):
    """``(x, y) -> Proj_C(x, y)``: the user's ``project``, else the exact linear projection."""
    if project is not None:
        def user_projection(x, y):
            output = project(x, y)
            if not isinstance(output, tuple) or len(output) != 2:
                raise TypeError("`project` must return a tuple (x, y).")
            return (check_array(output[0], "project(x, y)[0]", shape=x.shape, xp=xp),
                    check_array(output[1], "project(x, y)[1]", shape=y.shape, xp=xp))
        return user_projection
    if not rows.linear:
        raise ValueError("Nonlinear coupled constraints need the `project` argument (the "
                         "Euclidean projection onto the joint feasible set); only linear "
                         "constraints are projected exactly by bilevel_minimize.")
    eq = rows.is_equality
    projection = make_projection(
        A=rows.matrix[~eq], b=rows.rhs[~eq], E=rows.matrix[eq], d=rows.rhs[eq],
        lower=xp.concatenate([x_lower, y_lower]), upper=xp.concatenate([x_upper, y_upper]))

    def linear_projection(x, y):
        w = xp.concatenate([x, y])
        if all_finite(w):  # a NaN step is left for the iteration's check (status -1)
            w = projection(w)
        return w[:n], w[n:]
    return linear_projection


def _power_iteration(apply, size, xp, iterations=10):
    """Largest singular value of a linear map given by ``apply(v)``, by power iteration."""
    vector = xp.asarray(np.random.default_rng(0).standard_normal(size))
    vector /= xp.linalg.norm(vector)
    value = 0.0
    for _ in range(iterations):
        image = apply(vector)
        value = float(xp.linalg.norm(image))
        if value == 0.0 or not np.isfinite(value):
            return 0.0 if value == 0.0 else np.inf
        vector = image / value
    return value


def _curvature(gradient, point, xp):
    """Largest curvature of a function at ``point`` from its ``gradient`` (first order only).

    Power iteration on the symmetric map ``v -> (grad(p + e v) - grad(p - e v)) / (2 e)`` (the
    Hessian-vector product by central differences of gradients).
    """
    if point.shape[0] == 0:
        return 0.0
    step = 1e-4 * (1.0 + float(xp.linalg.norm(point)))

    def hessian_vector(vector):
        return (gradient(point + step * vector) - gradient(point - step * vector)) / (2 * step)
    return _power_iteration(hessian_vector, point.shape[0], xp)


def _step_sizes(evaluations, x, y, opts, c0, gammas=None):
    """Default gammas and steps from curvature estimates at ``(x, y)`` (see Notes).

    ``c0`` is the penalty of the iteration the steps are for (``c_k`` on re-estimation).

    ``gammas`` keeps the proximal parameters of an earlier call (they define ``v_gamma``, so a
    re-estimation during the run changes only the steps); then None is returned when the
    curvatures are not finite (the iteration keeps its steps and decides).
    """
    measured = _measure(evaluations, x, y)
    for value, name in ((measured.curvature_upper, "upper"),
                        (measured.curvature_lower, "lower")):
        if not np.isfinite(value):
            if gammas is not None:
                return None
            raise ValueError(f"`{name}` returned non-finite gradients near the starting point.")
    n_rows, scale = evaluations.rows.size, measured.scale
    if gammas is None:
        gamma1 = opts.gamma1
        if gamma1 is None:
            gamma1 = float(np.clip(1.0 / max(measured.curvature_yy, 1e-12), *_GAMMA1_RANGE))
        gamma1 = check_scalar(gamma1, "gamma1", SOLVER, low=0)
        gamma2 = opts.gamma2
        gamma2 = gamma1 * scale ** 2 if gamma2 is None else check_scalar(gamma2, "gamma2",
                                                                         SOLVER, low=0)
    else:
        gamma1, gamma2 = gammas
    gamma2_scaled = gamma2 / scale ** 2  # in units where the y-Jacobian has norm 1
    if not gamma2_scaled > 0.0:  # gamma1 * scale^2 underflowed
        return _unusable_steps(opts, gammas, {"gamma2": gamma2})
    theta_lipschitz = measured.curvature_yy + measured.curvature_rows + 1.0 / gamma1
    if n_rows:
        monotonicity = min(1.0 / gamma1, 1.0 / gamma2_scaled)
        lipschitz = max(theta_lipschitz, 1.0 / gamma2_scaled)
        # A product, not ** 2: a huge 1/gamma then gives eta = 0 (reported below) instead of
        # an OverflowError.
        eta = monotonicity / (lipschitz * lipschitz + 1.0)
    else:
        eta = 1.0 / theta_lipschitz
    if opts.eta is not None:
        eta = check_scalar(opts.eta, "eta", SOLVER, low=0)
    if opts.alpha is None:
        alpha = 1.0 / (measured.curvature_upper / c0 + 2 * measured.curvature_lower
                       + 2.0 / gamma1 + scale * measured.norm_jx
                       + (1.0 / gamma2_scaled if n_rows else 0.0))
    else:
        alpha = check_scalar(opts.alpha, "alpha", SOLVER, low=0)
    alpha_x = alpha
    if opts.alpha is None and x.shape[0] and measured.norm_jx == 0.0:
        alpha_x = _block_step_x(evaluations, x, y, c0, alpha)
    beta = alpha * scale ** 2 if opts.beta is None else check_scalar(opts.beta, "beta",
                                                                        SOLVER, low=0)
    # The x block starts at the joint step and grows by half per accepted step up to its own
    # measured step (a ramp: a curvature measured as ~0 at a cold start is not trusted at once).
    steps = _Steps(gamma1=gamma1, gamma2=gamma2, eta_theta=eta, eta_lambda=eta * scale ** 2,
                   alpha=alpha, alpha_x=alpha, beta=beta, scale=scale, alpha_x_cap=alpha_x,
                   curvature_upper=measured.curvature_upper,
                   curvature_lower=measured.curvature_lower,
                   curvature_yy=measured.curvature_yy, norm_jy=measured.norm_jy,
                   norm_jx=measured.norm_jx)
    used = {"eta_theta": eta, "alpha": alpha, "alpha_x": alpha_x}
    if n_rows:  # gamma2 and the multiplier steps act only on the rows' multipliers
        used.update(gamma2=gamma2, eta_lambda=steps.eta_lambda, beta=beta)
    if not all(_STEP_RANGE[0] <= value <= _STEP_RANGE[1] for value in used.values()):
        return _unusable_steps(opts, gammas, used)
    return steps


def _unusable_steps(opts, gammas, used):
    """Steps outside ``_STEP_RANGE``: None during the run (the iteration keeps its steps), a
    ValueError naming the user's parameters at the start."""
    if gammas is not None:
        return None
    given = {name: value for name, value in vars(opts).items() if value is not None}
    derived = ", ".join(f"{name}={value:.3g}" for name, value in used.items())
    if not given:
        raise ValueError(f"The step sizes {SOLVER} derives from the curvatures measured at the "
                         f"start must lie in [{_STEP_RANGE[0]:.1e}, {_STEP_RANGE[1]:.1e}]; got "
                         f"{derived} instead: rescale `upper` and `lower`, or change `c0`.")
    names = ", ".join(repr(name) for name in given)
    values = ", ".join(f"{name}={value!r}" for name, value in given.items())
    raise ValueError(f"The {names} parameter(s) of {SOLVER} must give step sizes in "
                     f"[{_STEP_RANGE[0]:.1e}, {_STEP_RANGE[1]:.1e}]. Got {values}, which give "
                     f"{derived} instead.")


@dataclass(frozen=True)
class _Measured:
    """Curvatures of ``F``, ``f`` (in ``w``), ``f(x, .)`` and the rows, and Jacobian norms."""

    curvature_upper: float
    curvature_lower: float
    curvature_yy: float
    curvature_rows: float
    norm_jx: float
    norm_jy: float
    scale: float


def _measure(evaluations, x, y):
    """Power-iteration estimates of the problem's scales at ``(x, y)`` (first derivatives)."""
    xp, n = evaluations.xp, x.shape[0]
    w = xp.concatenate([x, y])

    def joint_gradient(level):
        def gradient(point):
            _, gx, gy = level(point[:n], point[n:])
            return xp.concatenate([gx, gy])
        return gradient

    curvature_upper = _curvature(joint_gradient(evaluations.upper_at), w, xp)
    curvature_lower = _curvature(joint_gradient(evaluations.lower_at), w, xp)
    curvature_yy = _curvature(lambda v: evaluations.lower_at(x, v)[2], y, xp)
    if not evaluations.rows.size:
        return _Measured(curvature_upper, curvature_lower, curvature_yy, curvature_rows=0.0,
                         norm_jx=0.0, norm_jy=1.0, scale=1.0)
    _, jx, jy = evaluations.rows_at(x, y)
    norm_jy = _power_iteration(lambda v: jy.T @ (jy @ v), y.shape[0], xp) ** 0.5
    norm_jx = _power_iteration(lambda v: jx.T @ (jx @ v), n, xp) ** 0.5 if n else 0.0
    # A nonlinear row may have a zero y-gradient at the start (|y|^2 <= 1 at y = 0): no
    # scaling information then, so the multipliers keep the constraints' own units.
    norm_jy = norm_jy if norm_jy > 0.0 else 1.0
    # Curvature of the constraints (0 for linear rows), per unit multiplier after scaling.
    scale = 1.0 / norm_jy
    curvature_rows = 0.0 if evaluations.rows.linear else scale * _curvature(
        lambda v: xp.concatenate([xp.sum(part, axis=0)
                                  for part in evaluations.rows_at(v[:n], v[n:])[1:]]), w, xp)
    return _Measured(curvature_upper, curvature_lower, curvature_yy, curvature_rows, norm_jx,
                     norm_jy, scale)


def _block_step_x(evaluations, x, y, c0, alpha):
    """The step of the ``x`` block when the rows do not involve ``x``.

    Then ``C = X x C_y`` is a product and a separate step for ``x`` is still a Euclidean
    projected step per block. The x-block's own curvature can be far smaller than the joint one
    (the SVM's log-weights enter only through ``exp(c) xi^2``).
    """
    xp = evaluations.xp
    curvature_xx = (_curvature(lambda v: evaluations.upper_at(v, y)[1], x, xp) / c0
                    + 2 * _curvature(lambda v: evaluations.lower_at(v, y)[1], x, xp))
    alpha_x = max(alpha, 1.0 / max(curvature_xx, 1e-12))
    return min(alpha_x, 1e6 * alpha)  # a guard against a locally flat start


def _constraint_violation(values, is_eq, iterate, feasible):
    """Largest violation of the coupled rows (``max(g, 0)``, ``|h|``) and of the boxes."""
    xp = feasible.xp
    parts = [0.0]
    if values.shape[0]:
        parts.append(float(xp.max(xp.where(is_eq, xp.abs(values), xp.maximum(values, 0.0)))))
    for point, low, high in ((iterate.x, feasible.x_lower, feasible.x_upper),
                             (iterate.y, feasible.y_lower, feasible.y_upper)):
        if point.shape[0]:
            parts.append(float(xp.max(xp.maximum(low - point, point - high))))
    return max(parts)
