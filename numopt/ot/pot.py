"""POT's ``ot.sinkhorn`` and ``ot.sinkhorn2``, solved by :func:`~numopt.sinkhorn_newton`.

A POT user switches with one import: signatures, defaults, return shapes, ``log`` dictionaries,
warnings and errors follow POT's ``ot.bregman.sinkhorn`` / ``sinkhorn2`` (POT's contract overrides
numopt's conventions here: ``log`` changes the return type, ``reg=0`` warns, empty weights are
uniform), and every solve is numopt's Sinkhorn-Newton-Sparse; POT itself is never called.

Several targets (``b`` of shape (m, k)) are solved together by
:func:`~numopt.ot.sinkhorn_newton_batch` (in :func:`_solve_targets`).
"""

from dataclasses import dataclass

import numpy as np

from numopt._core.validation import (
    array_namespace,
    check_array,
    check_choice,
    check_int,
    check_marginals,
    check_scalar,
)
from numopt._core.warnings import NumoptWarning, emit, warn_not_converged
from numopt.ot.batch import sinkhorn_newton_batch
from numopt.ot.sinkhorn_newton import sinkhorn_newton

__all__ = ["sinkhorn", "sinkhorn2", "PLAN_METHODS", "LOSS_METHODS", "POT_TUNING"]

#: Method names POT's ``sinkhorn`` accepts; each is solved by :func:`sinkhorn_newton`.
PLAN_METHODS = ("sinkhorn", "sinkhorn_log", "greenkhorn", "sinkhorn_stabilized",
                "sinkhorn_epsilon_scaling")
#: Method names POT's ``sinkhorn2`` accepts.
LOSS_METHODS = ("sinkhorn", "sinkhorn_log", "sinkhorn_stabilized")
#: Tuning parameters of POT's methods (absorption threshold, epsilon schedule, print period):
#: numopt's solver has no use for them, so they are accepted and ignored.
POT_TUNING = frozenset({"tau", "print_period", "epsilon0", "numInnerItermax"})


@dataclass(frozen=True)
class _Problem:
    """A validated call: ``targets`` holds the k target histograms as columns."""

    solver: str
    a: object
    targets: object
    M: object
    reg: float
    stop_thr: float
    max_iter: int
    batched: bool
    start_u: object


@dataclass(frozen=True)
class _Solution:
    """Per-target plans and costs, log-scalings as (n, k) and (m, k), and the solver's record."""

    plans: list
    costs: object
    log_u: object
    log_v: object
    err: list
    niter: int
    results: list


def _weights(value, name, size, M, xp):
    """POT's weights: empty means uniform (in M's dtype); otherwise a floating array."""
    if hasattr(value, "__len__") and len(value) == 0:
        return xp.full(size, 1.0 / size, dtype=M.dtype)
    return check_array(value, name, xp=xp)


def _warm_start(warmstart, problem_shape, k, batched, xp):
    """POT's ``warmstart = (log_u, log_v)``: returns the checked ``log_u``."""
    if warmstart is None:
        return None
    if not isinstance(warmstart, (tuple, list)) or len(warmstart) != 2:
        raise TypeError("`warmstart` must be a pair (log_u, log_v) of arrays or None; got "
                        f"{type(warmstart).__name__}.")
    checked = []
    for index, size in enumerate(problem_shape):
        part = check_array(warmstart[index], f"warmstart[{index}]", dtype=np.float64, xp=xp)
        if part.shape not in ((size,), (size, k) if batched else (size,)):
            expected = f"({size},)" + (f" or ({size}, {k})" if batched else "")
            raise ValueError(f"`warmstart[{index}]` must have shape {expected}; got shape "
                             f"{part.shape}.")
        checked.append(part)
    return checked[0]


def _checked(solver, a, b, M, reg, method, methods, numItermax, stopThr, warmstart):
    """Validate a call with the names the user passed; returns a :class:`_Problem`."""
    M = check_array(M, "M", ndim=2)
    xp = array_namespace(M)
    n, m = M.shape
    a = _weights(a, "a", n, M, xp)
    b = _weights(b, "b", m, M, xp)
    if a.shape != (n,):
        raise ValueError(f"`a` must have shape (M.shape[0],) = ({n},); got shape {a.shape}.")
    if b.shape[:1] != (m,) or b.ndim > 2:
        raise ValueError(f"`b` must have shape (M.shape[1],) = ({m},) or (M.shape[1], k) for k "
                         f"targets; got shape {b.shape}.")
    targets = b if b.ndim == 2 else b[:, None]
    for k in range(targets.shape[1]):
        check_marginals(a, targets[:, k])
    check_choice(method.lower() if isinstance(method, str) else method, "method", solver,
                 methods)
    return _Problem(
        solver=solver, a=a, targets=targets, M=M,
        reg=check_scalar(reg, "reg", solver, low=0, low_inclusive=True),
        stop_thr=check_scalar(stopThr, "stopThr", solver, low=0, low_inclusive=True),
        max_iter=check_int(numItermax, "numItermax", solver, low=1), batched=b.ndim == 2,
        start_u=_warm_start(warmstart, (n, m), targets.shape[1], b.ndim == 2, xp))


def _solve_targets(problem, options):
    """The targets' results: one :func:`sinkhorn_newton` solve, or one
    :func:`sinkhorn_newton_batch` solve of the k columns (their plans are not formed: POT's
    drop-ins return only losses for several targets).

    POT's ``stopThr`` bounds ``||P^T 1 - b||_2``; numopt stops on the L1 error of both marginals,
    which bounds it from above, so ``tol = stopThr / sum(a)`` makes the returned plan meet it.
    """
    tol = problem.stop_thr / float(problem.a.sum())
    if not problem.batched:
        return [sinkhorn_newton(problem.a, problem.targets[:, 0], problem.M, problem.reg,
                                tol=tol, maxiter=problem.max_iter, warn=False,
                                _start_log_u=problem.start_u, **options)]
    return sinkhorn_newton_batch(problem.a, problem.targets, problem.M, problem.reg, tol=tol,
                                 maxiter=problem.max_iter, plans=False, warn=False,
                                 _start_log_u=problem.start_u, **options)


def _error_history(results):
    """POT's ``log['err']``: the marginal error at each check, summed over the targets (a target
    that has stopped keeps its last value)."""
    # a solve stopped before its first check (non-finite values at once) has no history
    histories = [np.asarray(res.history.get("marginal_error", ())) for res in results]
    histories = [h if h.size else np.array([res.marginal_error])
                 for h, res in zip(histories, results, strict=True)]
    length = max(h.size for h in histories)
    padded = [np.pad(h, (0, length - h.size), mode="edge") for h in histories]
    return [float(error) for error in np.sum(padded, axis=0)]


def _from_results(problem, results):
    xp = array_namespace(results[0].potentials[0])
    dtype = results[0].potentials[0].dtype
    return _Solution(
        plans=[res.plan for res in results],
        costs=xp.asarray([res.cost for res in results], dtype=dtype),
        log_u=xp.stack([res.potentials[0] for res in results], axis=1) / dtype.type(problem.reg),
        log_v=xp.stack([res.potentials[1] for res in results], axis=1) / dtype.type(problem.reg),
        err=_error_history(results), niter=max(res.nit for res in results), results=results)


def _undefined(problem):
    """NaN results for ``reg = 0``, where the entropic problem has no solution to compute."""
    xp = array_namespace(problem.M)
    (n, m), k = problem.M.shape, problem.targets.shape[1]

    def nan(*shape):
        return xp.full(shape, xp.nan, dtype=problem.M.dtype)

    return _Solution(plans=[nan(n, m)] * k, costs=nan(k), log_u=nan(n, k), log_v=nan(m, k),
                     err=[float("nan")], niter=0, results=[])


def _solve(problem, verbose, warn, kwargs):
    """Solve every target, warn as POT does, and return the :class:`_Solution`."""
    for name, pot_name in (("tol", "stopThr"), ("maxiter", "numItermax")):
        if name in kwargs:
            raise TypeError(f"{problem.solver} takes POT's `{pot_name}`, not numopt's `{name}`.")
    if problem.reg == 0:
        # POT warns (numerical errors) and returns NaN here, whatever ``warn`` says.
        emit(f"The 'reg' parameter of {problem.solver} is 0: the entropic problem needs reg > 0, "
             "so the result is NaN. Use a reg > 0.", NumoptWarning)
        return _undefined(problem)
    options = {key: value for key, value in kwargs.items() if key not in POT_TUNING}
    results = _solve_targets(problem, {"verbose": 2 if verbose else 0, **options})
    for res in results:
        if not res.success:
            warn_not_converged(res, problem.solver,
                               f"increase numItermax (now {problem.max_iter}), stopThr (now "
                               f"{problem.stop_thr:g}) or reg (now {problem.reg:g})", warn)
            break
    return _from_results(problem, results)


def _log(solution, batched):
    """POT's log dictionary, plus numopt's results."""
    log_u, log_v = (solution.log_u, solution.log_v) if batched else \
        (solution.log_u[:, 0], solution.log_v[:, 0])
    xp = array_namespace(log_u)
    # as in POT, u = exp(log_u) overflows to inf where f / reg exceeds the dtype's range
    with np.errstate(over="ignore"):
        u, v = xp.exp(log_u), xp.exp(log_v)
    return {"err": solution.err, "niter": solution.niter, "u": u, "v": v, "log_u": log_u,
            "log_v": log_v, "results": solution.results}


def _run(solver, methods, a, b, M, reg, method, numItermax, stopThr, verbose, warn, warmstart,
         kwargs):
    problem = _checked(solver, a, b, M, reg, method, methods, numItermax, stopThr, warmstart)
    return problem, _solve(problem, verbose, warn, kwargs)


def sinkhorn(a, b, M, reg, method="sinkhorn", numItermax=1000, stopThr=1e-9, verbose=False,
             log=False, warn=True, warmstart=None, **kwargs):
    r"""Entropic OT plan with POT's ``ot.sinkhorn`` contract, solved by Sinkhorn-Newton-Sparse.

    Solves :math:`\min_P \langle M, P\rangle + \mathrm{reg} \sum_{ij} P_{ij}(\log P_{ij} - 1)`
    subject to :math:`P\mathbf 1 = a`, :math:`P^\top \mathbf 1 = b` with
    :func:`~numopt.sinkhorn_newton`.

    Parameters
    ----------
    a : array_like, shape (n,)
        Source weights; empty (``[]``) means uniform.
    b : array_like, shape (m,) or (m, k)
        Target weights (same total mass as ``a``); empty means uniform. With k columns, k
        problems over the same ``M`` are solved and their losses returned.
    M : array_like, shape (n, m)
        Cost matrix.
    reg : float
        Entropic regularisation, > 0. As in POT, 0 warns and gives NaN; < 0 raises.
    method : str
        Any name POT accepts (``"sinkhorn"``, ``"sinkhorn_log"``, ``"greenkhorn"``,
        ``"sinkhorn_stabilized"``, ``"sinkhorn_epsilon_scaling"``, any case): each is solved by
        numopt's solver (POT's variants differ in how they reach the same plan). Any other name
        raises ``ValueError``.
    numItermax : int
        Bound on the iterations: Sinkhorn sweeps plus Newton steps.
    stopThr : float
        Bound on POT's error ``||P^T 1 - b||_2`` of the returned plan (met through numopt's
        stronger test ``||P 1 - a||_1 + ||P^T 1 - b||_1 <= stopThr``); 0 runs all
        ``numItermax`` iterations and warns when ``warn``.
    verbose : bool
        Print numopt's iteration table and final report.
    log : bool
        Also return the log dictionary.
    warn : bool
        Warn (:class:`~numopt.ConvergenceWarning`, a ``UserWarning``) when a solve stops
        unconverged.
    warmstart : tuple of arrays, optional
        POT's ``(log_u, log_v)``, shapes (n,) and (m,) (or (n, k) and (m, k)): the
        log-scalings ``f / reg`` and ``g / reg``. As in POT, the first half-sweep recomputes
        ``v`` from ``u``, so ``log_u`` sets the start.
    **kwargs
        Options of :func:`~numopt.sinkhorn_newton` (``backend``, ``sparsify``, ``callback``,
        ...); POT's method-specific ``tau``, ``print_period``, ``epsilon0`` and
        ``numInnerItermax`` are accepted and ignored.

    Returns
    -------
    plan : array, shape (n, m)
        The plan, for a 1-D ``b``; for ``b`` of shape (m, k), the k losses ``<M, P_k>``.
        float32 when ``a``, ``b`` and ``M`` are float32.
    log : dict
        Only with ``log=True``: ``err`` (the L1 marginal error at each check, summed over
        targets; it bounds POT's ``err`` from above), ``niter``, ``u``, ``v``, ``log_u``,
        ``log_v`` (the dual potentials as in POT, (n, k) and (m, k) for k targets), and
        ``results``: numopt's :class:`~numopt.OptimizeResult` of each target (statuses,
        Newton steps, history).

    Raises
    ------
    ValueError
        Unknown ``method``, ``reg < 0``, negative ``stopThr``, shapes that do not match ``M``,
        negative or unequal-mass weights, non-finite input.
    TypeError
        Non-numeric input, a warm start that is not a pair, numopt's ``tol``/``maxiter``.

    See Also
    --------
    numopt.sinkhorn_newton : The solver, with the full result.
    numopt.ot.sinkhorn2 : The loss.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.ot import sinkhorn
    >>> M = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> plan = sinkhorn([0.5, 0.5], [0.5, 0.5], M, 1.0)
    >>> np.round(plan, 8)
    array([[0.36552929, 0.13447071],
           [0.13447071, 0.36552929]])
    >>> plan, log = sinkhorn([], [], M, 1.0, log=True)
    >>> sorted(log)
    ['err', 'log_u', 'log_v', 'niter', 'results', 'u', 'v']
    """
    problem, solution = _run("sinkhorn", PLAN_METHODS, a, b, M, reg, method, numItermax,
                             stopThr, verbose, warn, warmstart, kwargs)
    value = solution.costs if problem.batched else solution.plans[0]
    return (value, _log(solution, problem.batched)) if log else value


def sinkhorn2(a, b, M, reg, method="sinkhorn", numItermax=1000, stopThr=1e-9, verbose=False,
              log=False, warn=False, warmstart=None, **kwargs):
    r"""Entropic OT loss ``<M, P>`` with POT's ``ot.sinkhorn2`` contract.

    As POT's, the value is the linear cost of the entropic plan (without the entropy term);
    :func:`~numopt.sinkhorn_newton` also returns the entropic objective as ``fun``.

    Parameters
    ----------
    a : array_like, shape (n,)
        Source weights; empty means uniform.
    b : array_like, shape (m,) or (m, k)
        Target weights; empty means uniform; k columns give k losses.
    M : array_like, shape (n, m)
        Cost matrix.
    reg : float
        Entropic regularisation, as in :func:`sinkhorn`.
    method : str
        ``"sinkhorn"``, ``"sinkhorn_log"`` or ``"sinkhorn_stabilized"`` (any case), the names
        POT's ``sinkhorn2`` accepts, each solved by numopt's solver; any other raises
        ``ValueError``.
    numItermax : int
        Bound on Sinkhorn sweeps plus Newton steps.
    stopThr : float
        Bound on ``||P^T 1 - b||_2``, as in :func:`sinkhorn`.
    verbose : bool
        Print numopt's iteration table and final report.
    log : bool
        Also return the log dictionary.
    warn : bool
        Warn when a solve stops unconverged (off by default, as in POT).
    warmstart : tuple of arrays, optional
        POT's ``(log_u, log_v)``, as in :func:`sinkhorn`.
    **kwargs
        As in :func:`sinkhorn`.

    Returns
    -------
    loss : float or array, shape (k,)
        ``<M, P>``; for ``b`` of shape (m, k), the k losses. A NumPy scalar for NumPy input,
        float32 when ``a``, ``b`` and ``M`` are float32.
    log : dict
        Only with ``log=True``; as in :func:`sinkhorn`.

    Raises
    ------
    ValueError, TypeError
        As in :func:`sinkhorn`.

    See Also
    --------
    numopt.ot.sinkhorn : The plan.

    Examples
    --------
    >>> from numopt.ot import sinkhorn2
    >>> float(round(sinkhorn2([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]], 1.0), 8))
    0.26894142
    """
    problem, solution = _run("sinkhorn2", LOSS_METHODS, a, b, M, reg, method, numItermax,
                             stopThr, verbose, warn, warmstart, kwargs)
    value = solution.costs if problem.batched else solution.costs[0]
    return (value, _log(solution, problem.batched)) if log else value
