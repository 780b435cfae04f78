"""``minimize(method="gn-newton")``: gradient-normalized regularized Newton.

Semenov, Jaggi, Doikov, "Gradient-Normalized Smoothness for Optimization with Approximate
Hessians" (arXiv 2506.13710), Algorithm 1 with the adaptive gamma search of its Appendix D.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import HessianUpdateStrategy
from scipy.optimize._numdiff import approx_derivative

from numopt._core.iteration import Column, IterationMonitor
from numopt._core.result import Status
from numopt._core.validation import (
    all_finite,
    check_array,
    check_choice,
    check_function_output,
    check_int,
    check_scalar,
)
from numopt._core.warnings import warn_unknown_options
from numopt.backends import get_backend, on_device
from numopt.unconstrained._regularized_solve import AbsoluteHessianModel, Metric
from numopt.unconstrained.hessian_approx import FD_METHODS, make_model, resolve_hessian

__all__ = ["_minimize_gn_newton"]

SOLVER = "gn-newton"

#: Iterations one exact Hessian serves under ``hess="lazy"`` (see the benchmark in the docs).
LAZY_REUSE = 4

#: gamma is doubled after an accepted step once this many iterations in a row passed at their
#: first trial (the paper doubles after every accepted step).
GROW_AFTER = 2


_COLUMNS = [Column("fun", "{:>14.7e}", 14), Column("grad_norm"), Column("gamma"),
            Column("lambda"), Column("trials", "{:>6.0f}", 6)]


class _Objective:
    """``x -> (f, g)`` from SciPy-style ``fun``/``jac``, with counters and output checks.

    ``jac`` may be a callable, True (``fun`` returns ``(f, g)``), or one of SciPy's finite
    difference schemes ``"2-point"``, ``"3-point"``, ``"cs"`` (``None`` means ``"2-point"``), run
    by :func:`scipy.optimize._numdiff.approx_derivative` with its default relative step. As in
    SciPy, ``nfev`` counts every call of ``fun`` (those of the differences included) and ``njev``
    every gradient, computed or approximated. The user's functions receive copies of the iterate.
    """

    def __init__(self, fun, jac, args, d, xp):
        if not callable(fun):
            raise TypeError(f"The 'fun' parameter of {SOLVER} must be callable. Got "
                            f"{type(fun).__name__} instead.")
        self.fun, self.jac, self.args = fun, jac, args
        self.difference = "2-point" if jac is None else jac if isinstance(jac, str) else None
        if self.difference is not None:
            check_choice(self.difference, "jac", SOLVER, FD_METHODS)
            _require_numpy(xp, "jac", jac)
        elif jac is not True and not callable(jac):
            raise TypeError(f"The 'jac' parameter of {SOLVER} must be callable, True (when `fun` "
                            f"returns (f, g)), one of {FD_METHODS} or None (finite differences, "
                            f"the gradient of fun). Got {type(jac).__name__} instead.")
        self.d, self.xp = d, xp
        self.nfev = self.njev = 0

    def value(self, x):
        """``fun(x, *args)`` as returned (complex under ``jac="cs"``), counted."""
        self.nfev += 1
        out = self.fun(x.copy(), *self.args)
        return out[0] if self.jac is True else out

    def gradient(self, x):
        """The gradient at ``x`` as returned (for differences of the gradient), counted."""
        self.njev += 1
        if self.jac is True:
            self.nfev += 1
            return self._pair(self.fun(x.copy(), *self.args))[1]
        return self.jac(x.copy(), *self.args)

    def _pair(self, out):
        try:
            value, grad = out
        except (TypeError, ValueError):
            raise TypeError(f"With jac=True, `fun` must return a pair (f, g); got "
                            f"{type(out).__name__}.") from None
        return value, grad

    def __call__(self, x):
        self.njev += 1
        if self.jac is True:
            self.nfev += 1
            value, grad = self._pair(self.fun(x.copy(), *self.args))
        elif self.difference is None:
            self.nfev += 1
            value, grad = self.fun(x.copy(), *self.args), self.jac(x.copy(), *self.args)
        else:
            value = float(check_function_output(self.value(x), "fun", (), self.xp))
            grad = approx_derivative(self.value, x, method=self.difference, f0=value)
            return value, check_function_output(grad, "jac", (self.d,), self.xp)
        value = float(check_function_output(value, "fun", (), self.xp))
        return value, check_function_output(grad, "jac", (self.d,), self.xp)


def _require_numpy(xp, name, value):
    """Finite differences (SciPy's ``approx_derivative``) run on NumPy arrays only."""
    if xp is not np:
        raise ValueError(f"The '{name}' parameter of {SOLVER}: {value!r} (finite differences "
                         f"or a quasi-Newton update) needs NumPy arrays; got arrays of "
                         f"{xp.__name__}. Pass backend='numpy' or a callable.")


def _minimize_gn_newton(fun, x0, args=(), jac=None, hess=None, hessp=None, bounds=None,
                        constraints=(), tol=None, callback=None, *, gtol=None, maxiter=1000,
                        gamma0=1.0, gamma_min=1e-9, max_trials=40, metric="auto",
                        factorization="auto", lazy_reuse=LAZY_REUSE, subsample=0.1, seed=None,
                        cg_forcing=0.5, cg_maxiter=None, backend="auto", verbose=0, disp=False,
                        check_every=1, warn=True, **unknown_options):
    r"""Minimize a smooth function by gradient-normalized regularized Newton steps.

    Each iteration solves ``(H_k + lam_k B) d = g_k`` with ``lam_k = ||g_k||_* / gamma_k`` and
    accepts ``x_k - d`` when ``f(x_k) - f(x_k - d) >= ||g(x_k - d)||_*^2 / (8 lam_k)``; gamma is
    halved after a rejected trial and doubled after an accepted step once two iterations in a
    row have passed at their first trial.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float`` (or ``(float, array)`` when ``jac=True``).
    x0 : array_like, shape (d,)
        Initial point.
    args : tuple, optional
        Extra arguments of ``fun``, ``jac``, ``hess`` and ``hessp``; anything else than a tuple
        is one argument (``args=2.0`` means ``(2.0,)``), as in SciPy. Every user function
        receives a copy of the iterate, so one that overwrites its argument is harmless.
    jac : callable, True, {"2-point", "3-point", "cs"} or None
        Gradient ``jac(x, *args) -> array (d,)``, True when ``fun`` returns ``(f, g)``, or a
        finite-difference scheme of SciPy (``None``, the default, means ``"2-point"``) with
        SciPy's default relative step; the calls of ``fun`` it makes count in ``nfev``.
    hess : callable, str or HessianUpdateStrategy, optional
        ``hess(x, *args)`` returning the (approximate) Hessian as a dense array, a SciPy sparse
        matrix, a :class:`scipy.sparse.linalg.LinearOperator` (solved by CG) or a
        :class:`~numopt.unconstrained.hessian_approx.RankOne`; a finite-difference scheme
        ``"2-point"``, ``"3-point"`` or ``"cs"`` (the dense Hessian from differences of ``jac``,
        which must then be a callable or True; its gradient calls count in ``njev``); a
        :class:`scipy.optimize.HessianUpdateStrategy` such as ``BFGS()`` or ``SR1()``, whose
        matrix is the approximate Hessian ``H_k`` and which is updated with
        ``(x_{k+1} - x_k, g_{k+1} - g_k)`` after every accepted step only (rejected trials do
        not update it); or the name of an approximation provided by the problem object owning
        ``fun``: ``"exact"``, ``"lazy"``, ``"fisher"``, ``"gauss-newton"``, ``"subsampled"``.
    hessp : callable, optional
        ``hessp(x, v, *args) -> H v``; used when ``hess`` is None (CG inner solves, no ``d x d``
        matrix is formed).
    bounds, constraints : None
        Not supported (the method is unconstrained); anything else raises ``ValueError``.
    tol : float, optional
        Sets ``gtol`` when ``gtol`` is not given.
    callback : callable, optional
        ``callback(intermediate_result)`` or ``callback(xk)``; ``StopIteration`` stops the run
        (status 99).

    Options
    -------
    gtol : float
        Stop when ``||g||_2 <= gtol`` (default ``tol``, else 1e-8).
    maxiter : int
        Largest number of accepted steps (default 1000).
    gamma0 : float
        Initial gamma (default 1, as in the paper's code); the search adapts it.
    gamma_min : float
        Floor of gamma after an accepted step (default 1e-9).
    max_trials : int
        Largest number of gamma trials per iteration (default 40); when all fail the run stops
        with status 2 (stalled) at the last accepted point.
    metric : "auto", None or array_like, shape (d, d)
        The metric ``B``. ``"auto"`` (default): for a dense Hessian, the local metric
        ``B_k = |H_k|`` (``H_k`` itself when it is positive definite, else ``V |mu| V^T`` with
        the absolute eigenvalues floored at ``1e-8 max|mu|``), rebuilt with every Hessian; this
        makes steps, the test and gamma independent of the scaling of the variables, which
        badly scaled and curved-valley problems need; the identity for sparse, operator,
        ``hessp`` and rank-one Hessians. Fall-back rule: when every gamma trial of an
        iteration fails with ``B = |H_k|``, the run switches to ``B = I`` for good, resets
        gamma to ``gamma0`` and searches again from the same point. ``None``: the identity
        (the paper's setting). An array: a fixed symmetric positive definite ``B``.
    factorization : {"auto", "cholesky", "eigh"}
        Dense Hessians: a Cholesky factorisation per trial, or one eigendecomposition per Hessian
        after which each trial is ``O(d^2)``. ``"auto"`` uses ``"eigh"`` for lazy Hessians and
        ``"cholesky"`` otherwise. Used with a fixed metric only (``metric=None`` or an
        array): under ``metric="auto"`` a dense Hessian is factorised once for ``|H|``.
    lazy_reuse : int
        Under ``hess="lazy"``: iterations one Hessian serves before it is recomputed (default 4);
        it is also recomputed as soon as a trial with a reused Hessian fails.
    subsample : float
        Under ``hess="subsampled"``: fraction of data rows in each Hessian (default 0.1).
    seed : int or numpy.random.Generator, optional
        Random rows for ``"subsampled"``.
    cg_forcing : float
        CG stops at ``||r|| <= min(cg_forcing, sqrt(||g||)) ||g||`` (default 0.5).
    cg_maxiter : int, optional
        Hessian-vector products per Hessian with ``hessp`` (one Lanczos process serves every
        trial of an iteration), per trial with a preconditioned or non-identity-metric CG
        (default ``min(max(2 d, 20), 1000)``).
    backend : {"auto", "numpy", "numba", "cupy"}
        Where the solver's own linear algebra runs: NumPy (LAPACK) on the host, CuPy on a GPU
        (``"auto"`` follows ``x0``; ``"cupy"`` with NumPy ``x0`` computes on the GPU, passes CuPy
        arrays to the user's functions and returns NumPy). The method has no compiled kernels of
        its own, so ``"numba"`` runs (and reports) ``"numpy"``; a numopt problem object's fused
        oracle picks its own kernels (e.g. ``LogisticRegression(backend=...)``).
    verbose : int
        0 silent, 1 final report, 2 a row per iteration.
    disp : bool
        SciPy's flag; True means ``verbose=1`` at least.
    check_every : int
        Record history / call the callback every this many iterations (default 1).
    warn : bool
        Emit a ``ConvergenceWarning`` when the run does not converge (default True).

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``jac``, ``nit``, ``nfev`` (calls of ``fun``), ``njev`` (gradients,
        computed or differenced), ``nhev`` (calls of ``hess``, or Hessian-vector products with
        ``hessp``; 0 for differenced and quasi-Newton Hessians, as in SciPy), ``ntrials``,
        ``gamma``, ``status``, ``success``, ``message``, ``time``, ``backend`` and ``history``
        (``nit``, ``time``, ``fun``, ``grad_norm``, ``gamma``, ``lambda``, ``trials``).

    Raises
    ------
    ValueError
        Bad ``x0``, options, shapes, bounds/constraints, or non-finite ``fun``/``jac`` at ``x0``.
        Also ``jac`` and ``hess`` both finite differences (as in SciPy, use a
        ``HessianUpdateStrategy`` then), or finite differences / a ``HessianUpdateStrategy``
        with arrays that are not NumPy's.
    TypeError
        Missing second-order information, wrong types.

    Notes
    -----
    The step is :math:`x_{k+1} = x_k - (H_k + \lambda_k B)^{-1} \nabla f(x_k)` with
    :math:`\lambda_k = \|\nabla f(x_k)\|_* / \gamma_k` (Algorithm 1). The acceptance test
    :math:`f(x_k) - f(x_{k+1}) \ge \|\nabla f(x_{k+1})\|_*^2 / (8 \lambda_k)` (Lemma 1) also
    bounds the step, :math:`\|x_{k+1} - x_k\| \le \gamma_k` when :math:`H_k \succeq 0`.
    Deviations from the reference code: a failed factorisation or a non-finite trial point is a
    failed trial (gamma halved), never an accepted step; when every trial fails the run stops at
    the last accepted point instead of taking the last trial; and when ``f(x_k) - f(x_{k+1})`` is
    below the rounding level of ``f`` (``|f| * 1e-15``), the test cannot be decided from ``f``, so
    the trial is accepted when it decreases ``||g||`` (this only matters near ``||g|| ~ 1e-8``).
    The default ``metric="auto"`` is a second deviation: the paper fixes ``B`` (``I`` in its
    experiments), here a dense Hessian's ``|H_k|`` is used, so ``B`` changes from one Hessian
    to the next; within an iteration the test and the gamma search are the paper's, in the norm
    of ``B_k``. Measured on the S2MPJ unconstrained problems with ``n <= 5`` (2 s per run): 76
    of 90 reach ``||g|| <= 1e-6`` against 55 with ``metric=None`` (see the docs page).

    Departures made for speed, none of which touches the acceptance test: (i) the paper's
    search doubles gamma after every accepted step; here gamma is doubled only after two
    iterations in a row passed at their first trial, and otherwise kept. The search still
    only halves on a rejection, so gamma stays above half the value that Lemma 1 guarantees
    to pass and the bound on the number of trials (one per iteration plus the number of
    halvings) holds as in the paper's Appendix D; gamma may grow more slowly, which costs at
    most extra iterations in the globally convergent phase. (ii) With ``hessp`` the inexact
    steps of all trials of an iteration come from one Lanczos basis (the CG iterates of each
    shifted system), extended only when a trial needs a smaller residual; the stopping rule
    is CG's. (iii) Under ``metric="auto"`` the fall-back to ``B = I`` described above.

    References
    ----------
    .. [1] A. Semenov, M. Jaggi, N. Doikov. Gradient-Normalized Smoothness for Optimization with
       Approximate Hessians. arXiv:2506.13710, 2025.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt import minimize
    >>> from scipy.optimize import rosen, rosen_der, rosen_hess
    >>> res = minimize(rosen, np.zeros(5), jac=rosen_der, hess=rosen_hess, method="gn-newton")
    >>> bool(res.success), bool(np.allclose(res.x, 1.0))
    (True, True)

    SciPy's conventions: a quasi-Newton Hessian and a differenced gradient.

    >>> from scipy.optimize import BFGS
    >>> res = minimize(rosen, np.zeros(3), jac=rosen_der, hess=BFGS(), method="gn-newton")
    >>> bool(res.success), bool(np.allclose(res.x, 1.0)), res.nhev
    (True, True, 0)
    >>> res = minimize(rosen, np.zeros(3), jac="3-point", hess=rosen_hess, method="gn-newton",
    ...                options={"gtol": 1e-6})
    >>> bool(res.success), res.nfev == 7 * res.njev
    (True, True)
    """
    warn_unknown_options(SOLVER, unknown_options)
    _check_unconstrained(bounds, constraints)
    chosen = get_backend(backend, x0, compiled=False)
    caller_on_device = on_device(x0)
    x = check_array(x0, "x0", ndim=1, dtype=np.float64, xp=chosen.xp)
    settings = _validate_options(
        x.shape[0], chosen.xp, gtol=gtol, tol=tol, maxiter=maxiter, gamma0=gamma0,
        gamma_min=gamma_min, max_trials=max_trials, metric=metric, factorization=factorization,
        lazy_reuse=lazy_reuse, subsample=subsample, cg_forcing=cg_forcing,
        cg_maxiter=cg_maxiter, verbose=max(check_int(verbose, "verbose", SOLVER, low=0),
                                           1 if disp else 0))
    args = args if isinstance(args, tuple) else (args,)  # SciPy wraps a single argument
    objective = _Objective(fun, jac, args, x.shape[0], chosen.xp)
    if objective.difference is not None and isinstance(hess, str) and hess in FD_METHODS:
        raise ValueError(f"{SOLVER}: with jac={jac!r} (finite differences) the Hessian cannot be "
                         f"differenced as well; got hess={hess!r}. Pass jac=callable, or "
                         f"hess=callable, a HessianUpdateStrategy such as BFGS() or hessp.")
    if isinstance(hess, HessianUpdateStrategy) or (isinstance(hess, str) and hess in FD_METHODS):
        _require_numpy(chosen.xp, "hess", hess)
    source = resolve_hessian(hess, hessp, fun, args, x.shape[0], lazy_reuse=settings.lazy_reuse,
                             subsample=settings.subsample, rng=np.random.default_rng(seed),
                             gradient=objective.gradient)
    models = _Models(source, settings)
    monitor = IterationMonitor(SOLVER, _COLUMNS, callback=callback, verbose=settings.verbose,
                               check_every=check_every)
    run = _start(x, objective, monitor, settings)
    while run.status is None:
        _iterate(run, objective, models, monitor, settings)
    nhev = models.total_products() if hess is None else source.evaluations
    return monitor.finish(run.status, backend=chosen.name, hints=_hints(settings, objective),
                          warn=warn,
                          x=chosen.to_caller(run.point.x, caller_on_device), fun=run.point.f,
                          jac=chosen.to_caller(run.point.g, caller_on_device), nit=run.nit,
                          nfev=objective.nfev, njev=objective.njev, nhev=nhev,
                          ntrials=run.trials_total, gamma=run.gamma)


@dataclass(frozen=True)
class _Settings:
    """The validated options of one run."""

    gtol: float
    maxiter: int
    gamma0: float
    gamma_min: float
    max_trials: int
    metric: object  # "auto" or a Metric
    factorization: str
    lazy_reuse: int
    subsample: float
    cg_forcing: float
    cg_maxiter: int
    verbose: int


@dataclass
class _Point:
    """An accepted iterate: ``x``, ``f(x)``, ``g(x)`` and the norms of ``g``."""

    x: object
    f: float
    g: object
    grad_norm: float
    dual_norm: float = None  # in the metric of the current model


@dataclass
class _Run:
    """Where the run stands between iterations."""

    point: _Point
    gamma: float
    nit: int = 0
    trials_total: int = 0
    streak: int = 0  # iterations in a row whose first gamma trial passed
    status: Status = None


@dataclass
class _Search:
    """The outcome of one gamma search: the last trial and whether it passed the test."""

    accepted: bool = False
    trials: int = 0
    halved: bool = False  # some trial failed the test (gamma was halved)
    lam: float = None
    point: _Point = None


def _check_unconstrained(bounds, constraints):
    """Reject bounds and constraints: the method is unconstrained."""
    no_constraints = constraints is None or (isinstance(constraints, (list, tuple))
                                             and len(constraints) == 0)
    if bounds is not None or not no_constraints:
        raise ValueError(f"{SOLVER} is an unconstrained method: `bounds` and `constraints` must "
                         f"be None/empty. Use method='exact-alm' (equality constraints) or a "
                         f"SciPy method such as 'trust-constr'.")


def _validate_options(d, xp, *, gtol, tol, maxiter, gamma0, gamma_min, max_trials, metric,
                      factorization, lazy_reuse, subsample, cg_forcing, cg_maxiter, verbose):
    """Check every option and return them as :class:`_Settings`."""
    if gtol is None:
        gtol = 1e-8 if tol is None else tol
    gtol = check_scalar(gtol, "gtol", SOLVER, low=0, low_inclusive=True)
    maxiter = check_int(maxiter, "maxiter", SOLVER, low=0)
    gamma0 = check_scalar(gamma0, "gamma0", SOLVER, low=0)
    gamma_min = check_scalar(gamma_min, "gamma_min", SOLVER, low=0)
    max_trials = check_int(max_trials, "max_trials", SOLVER, low=1)
    lazy_reuse = check_int(lazy_reuse, "lazy_reuse", SOLVER, low=1)
    subsample = check_scalar(subsample, "subsample", SOLVER, low=0, high=1)
    cg_forcing = check_scalar(cg_forcing, "cg_forcing", SOLVER, low=0, high=1, high_inclusive=False)
    cg_maxiter = min(max(2 * d, 20), 1000) if cg_maxiter is None else \
        check_int(cg_maxiter, "cg_maxiter", SOLVER, low=1)
    check_choice(factorization, "factorization", SOLVER, ("auto", "cholesky", "eigh"))
    if isinstance(metric, str):
        check_choice(metric, "metric", SOLVER, ("auto",))
    else:
        metric = Metric(None if metric is None else
                        check_array(metric, "metric", shape=(d, d), xp=xp, dtype=np.float64))
    return _Settings(gtol=gtol, maxiter=maxiter, gamma0=gamma0, gamma_min=gamma_min,
                     max_trials=max_trials, metric=metric, factorization=factorization,
                     lazy_reuse=lazy_reuse, subsample=subsample, cg_forcing=cg_forcing,
                     cg_maxiter=cg_maxiter, verbose=verbose)


class _Models:
    """The model of the Hessian in use, its age in iterations, the Krylov products spent and
    the metric (``"auto"`` until the fall-back rule switches it to the identity)."""

    def __init__(self, source, settings):
        self.source, self.settings = source, settings
        # "auto": one eigendecomposition serves a Hessian reused over several iterations.
        self.factorization = settings.factorization if settings.factorization != "auto" else \
            ("eigh" if source.reuse > 1 else "cholesky")
        self.model, self.age, self.products = None, 0, 0
        self.metric = settings.metric

    def fall_back(self):
        """Under ``metric="auto"`` with a dense Hessian, switch to ``B = I``; True if it did.

        The rule: the metric ``|H_k|`` is dropped for the rest of the run when every gamma trial
        of an iteration failed with it (a run that would otherwise stop as stalled).
        """
        if not isinstance(self.model, AbsoluteHessianModel):
            return False
        self.metric = Metric()
        return True

    def stale(self):
        """True when the next iteration needs a fresh Hessian."""
        return self.model is None or self.age >= self.source.reuse

    def refresh(self, point):
        """Replace the model by one at ``point``; False when its Hessian is not finite.

        The new model's metric (``B = |H|`` under ``metric="auto"``) measures ``g`` from now on.
        """
        self.products += getattr(self.model, "products", 0)
        settings = self.settings
        self.model = make_model(self.source(point.x, point.g), point.x.shape[0], self.metric,
                                factorization=self.factorization,
                                cg_forcing=settings.cg_forcing, cg_maxiter=settings.cg_maxiter)
        self.age = 0
        if self.model is None:
            return False
        point.dual_norm = self.model.metric.dual_norm(point.g)
        return True

    def total_products(self):
        """Hessian-vector products of every CG model so far."""
        return self.products + getattr(self.model, "products", 0)


def _start(x, objective, monitor, settings):
    """Evaluate ``x0``, record history row 0 and decide whether the run is over already."""
    f, g = objective(x)
    if not (np.isfinite(f) and all_finite(g)):
        raise ValueError(f"`fun` and `jac` must be finite at x0; got f(x0) = {f} and "
                         f"{int(objective.xp.count_nonzero(~objective.xp.isfinite(g)))} "
                         f"non-finite gradient entries.")
    run = _Run(_Point(x, f, g, float(objective.xp.linalg.norm(g))), settings.gamma0)
    # The callback sees x0 too (history row 0); StopIteration there stops before any step.
    stop = monitor.record(0, x=x, fun=f, grad_norm=run.point.grad_norm, gamma=run.gamma,
                          **{"lambda": None}, trials=0)
    if run.point.grad_norm <= settings.gtol:
        run.status = Status.CONVERGED
    elif stop:
        run.status = Status.CALLBACK
    return run


def _passes(point, trial, dual_trial, lam):
    """Lemma 1 acceptance test; a decrease below the rounding level of f cannot decide it, then
    a smaller gradient does."""
    decrease = point.f - trial.f
    return decrease >= dual_trial ** 2 / (8 * lam) or (
        abs(decrease) <= 1e-15 * max(abs(point.f), abs(trial.f)) and dual_trial < point.dual_norm)


def _search_gamma(run, objective, models, settings):
    """Trials ``x - (H + lam B)^{-1} g`` with ``lam = ||g||_* / gamma`` until one passes."""
    point, search = run.point, _Search()
    for _ in range(settings.max_trials):
        search.trials += 1
        search.lam = point.dual_norm / run.gamma
        step = models.model.solve(point.g, search.lam)
        if step is not None:
            x_trial = point.x - step
            f_trial, g_trial = objective(x_trial)
            if np.isfinite(f_trial) and all_finite(g_trial):
                search.point = _Point(x_trial, f_trial, g_trial, None,
                                      models.model.metric.dual_norm(g_trial))
                if _passes(point, search.point, search.point.dual_norm, search.lam):
                    search.accepted = True
                    return search
        if models.age > 0:
            # A reused (stale) Hessian failed: refresh it and retry the same gamma first.
            if not models.refresh(point):
                return search
            continue
        run.gamma = run.gamma / 2
        search.halved = True
    return search


def _iterate(run, objective, models, monitor, settings):
    """One iteration: a fresh model when due, the gamma search, the step and its record."""
    if run.nit >= settings.maxiter:
        run.status = Status.MAXITER
        return
    if models.stale() and not models.refresh(run.point):
        run.status = Status.NONFINITE
        return
    search = _search_gamma(run, objective, models, settings)
    if not search.accepted and models.fall_back():
        run.trials_total += search.trials
        run.gamma = settings.gamma0  # gamma bounds ||s||_B: its scale changes with B
        if not models.refresh(run.point):
            run.status = Status.NONFINITE
            return
        search = _search_gamma(run, objective, models, settings)
    run.trials_total += search.trials
    if models.model is None:
        run.status = Status.NONFINITE
        return
    if not search.accepted:
        run.status = Status.STALLED
        return
    run.nit += 1
    models.age += 1
    models.source.accepted(search.point.x - run.point.x, search.point.g - run.point.g)
    point = run.point = search.point
    point.grad_norm = float(objective.xp.linalg.norm(point.g))
    if point.grad_norm <= settings.gtol:
        run.status = Status.CONVERGED
    stop = False
    if monitor.due(run.nit) or run.status is not None:
        stop = monitor.record(run.nit, x=point.x, fun=point.f, grad_norm=point.grad_norm,
                              gamma=run.gamma, **{"lambda": search.lam}, trials=search.trials)
    run.streak = 0 if search.halved else run.streak + 1
    if run.streak >= GROW_AFTER:
        # Doubling after every accepted step (the paper's search) makes the next first trial
        # fail about every other iteration, one wasted f/g evaluation each time: gamma grows
        # only once its current value has passed at the first trial GROW_AFTER times in a row.
        run.gamma = max(2 * run.gamma, settings.gamma_min)
    if stop and run.status is None:
        run.status = Status.CALLBACK


def _hints(settings, objective):
    """What to tell the user for each unsuccessful status."""
    stalled = (f"every one of max_trials={settings.max_trials} gamma trials failed; increase "
               f"max_trials, loosen gtol (now {settings.gtol:g}) if ||g|| is at rounding level, "
               f"or check that jac is the gradient of fun")
    if objective.difference is not None:
        # A differenced gradient is exact to ~sqrt(eps) (2-point) or ~eps^(2/3) (3-point)
        # relative to the scale of f and x: a smaller gtol cannot be certified from it.
        stalled += (f"; the gradient is differenced (jac={objective.difference!r}), accurate "
                    f"only to about 1e-5 to 1e-8 times the scale of f: use gtol=1e-5 or a "
                    f"callable jac")
    return {Status.MAXITER: f"increase maxiter (now {settings.maxiter})",
            Status.STALLED: stalled,
            Status.NONFINITE: "the Hessian had NaN or inf entries; check hess"}
