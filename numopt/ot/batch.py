"""Sinkhorn-Newton-Sparse for k targets sharing one cost matrix: batched Sinkhorn sweeps."""

import inspect
import math

import numpy as np

from numopt._core.result import Status
from numopt._core.validation import check_array, check_marginals
from numopt._core.warnings import warn_unknown_options
from numopt.backends import get_backend, on_device
from numopt.ot.sinkhorn_newton import (
    _finish,
    _monitor,
    _newton_stage,
    _Options,
    _output_dtype,
    _solve,
    _State,
    _validate,
    sinkhorn_newton,
)

__all__ = ["sinkhorn_newton_batch"]

_SOLVER = "sinkhorn_newton_batch"
# Log-scaling bound of the shared kernel. An entry of K that underflowed (< e^-745) can grow by
# at most e^(4 * _LIMIT) ~ e^-145 of the plan's scale before the next absorption, so it stays
# negligible; a larger bound than the single solver's lets targets drift apart without absorbing.
_LIMIT = 150.0
# The options of sinkhorn_newton, with its defaults (the batch takes the same ones).
_OPTION_DEFAULTS = {name: parameter.default
                    for name, parameter in inspect.signature(sinkhorn_newton).parameters.items()
                    if parameter.kind == parameter.KEYWORD_ONLY
                    and name in _Options.__dataclass_fields__}


def _columns_ok(backend, a, B):
    """Targets the shared kernel serves: every weight positive (a zero needs a reduced problem)."""
    if not bool((a > 0).all()):
        return np.zeros(B.shape[1], dtype=bool)
    return np.asarray(backend.to_numpy((B > 0).all(axis=0)), dtype=bool)


class _Batch:
    """k targets' scalings ``alpha`` (n, k), ``beta`` (m, k) on one absorbed kernel ``K``.

    The kernel is that of the mean target's c-transform start (see ``_State``), so every target
    starts from a kernel whose entries are at most 1 and within a factor of its own plan.
    """

    def __init__(self, backend, a, B, C, reg):
        xp = backend.xp
        shared = _State(backend, a, B.mean(axis=1), C, reg)
        self.backend, self.xp, self.a, self.B, self.C, self.reg = backend, xp, a, B, C, reg
        self.U, self.V, self.K = shared.U, shared.V, shared.K
        self.alpha = xp.ones((a.shape[0], B.shape[1]))
        self.beta = B / (self.K.T @ self.alpha)  # the first half-sweep: column marginals exact
        self.active = np.arange(B.shape[1])

    def sweeps(self, count, tol):
        """``count`` sweeps of the active targets; returns (done, errors, rates)."""
        errors, done = self.backend.sinkhorn_sweeps_batch(
            self.K, self.a[:, None], self.B[:, self.active], self.alpha, self.beta, count, tol,
            _LIMIT)
        errors = self.backend.to_numpy(errors)[:done]
        with np.errstate(divide="ignore", invalid="ignore"):
            rates = (errors[-1] / errors[0]) ** (1.0 / max(done - 1, 1))
        rates = np.where((errors[0] > 0) & (errors[-1] > 0) & (done > 1), rates, np.nan)
        return done, errors[-1], rates

    def exact_errors(self):
        """L1 marginal error of each active target's plan (both marginals)."""
        xp, K = self.xp, self.K
        rows = self.alpha * (K @ self.beta) - self.a[:, None]
        cols = self.beta * (K.T @ self.alpha) - self.B[:, self.active]
        return self.backend.to_numpy(xp.abs(rows).sum(axis=0) + xp.abs(cols).sum(axis=0))

    def in_range(self):
        """Per active target: scalings finite and inside ``[e^-_LIMIT, e^_LIMIT]``."""
        xp = self.xp
        with np.errstate(divide="ignore", invalid="ignore"):
            la, lb = xp.abs(xp.log(self.alpha)), xp.abs(xp.log(self.beta))
        ok = (la.max(axis=0) <= _LIMIT) & (lb.max(axis=0) <= _LIMIT)
        return self.backend.to_numpy(ok)

    def absorb_common(self):
        """Fold the targets' mean log-scalings into ``K`` (one exp pass)."""
        xp = self.xp
        la, lb = xp.log(self.alpha), xp.log(self.beta)
        shift_u, shift_v = la.mean(axis=1), lb.mean(axis=1)
        self.U += shift_u
        self.V += shift_v
        self.alpha = xp.exp(la - shift_u[:, None])
        self.beta = xp.exp(lb - shift_v[:, None])
        self.backend.absorb_kernel(self.U, self.V, self.C, self.reg, self.K)

    def keep(self, mask):
        """Keep the active targets where ``mask`` holds (columns are copied once)."""
        self.active = self.active[mask]
        self.alpha = self.xp.ascontiguousarray(self.alpha[:, mask])
        self.beta = self.xp.ascontiguousarray(self.beta[:, mask])

    def state_of(self, column):
        """Target ``active[column]`` as a single-target state (its plan is the new kernel)."""
        alpha, beta = self.alpha[:, column], self.beta[:, column]
        target = self.B[:, self.active[column]]
        K = self.K * alpha[:, None]
        K *= beta[None, :]
        xp = self.xp
        return _State.absorbed(self.backend, self.a, target, self.C, self.reg,
                                       self.U + xp.log(alpha), self.V + xp.log(beta), K)

    def record(self, monitors, nit, errors):
        """History rows of the active targets (a batch runs without callbacks)."""
        xp = self.xp
        F = self.reg * (self.U[:, None] + xp.log(self.alpha))
        G = self.reg * (self.V[:, None] + xp.log(self.beta))
        B = self.B[:, self.active]
        duals = self.backend.to_numpy(self.a @ F + (B * G).sum(axis=0)
                                      - self.reg * B.sum(axis=0))
        for column, target in enumerate(self.active):
            x = self.backend.to_numpy(xp.concatenate([F[:, column], G[:, column]]))
            monitors[target].record(nit, x=x, marginal_error=float(errors[column]),
                                    fun=float(duals[column]), n_newton=0)


def _batch_stage(batch, leave, tol, maxiter, opts, mass, monitors):
    """Stage 1 of every target at once: batched sweeps until each target converges, reaches
    its Newton switch, leaves the shared kernel's range or runs out of iterations.

    ``leave(column_mask, stage, nit)`` hands the masked active targets on (``stage`` None:
    converged; ``"newton"``; ``"single"``: both stages alone; ``"restart"``: solved afresh;
    ``"maxiter"``).
    """
    switch_error = opts.switch_tol * mass
    nit = 0
    while batch.active.size:
        if nit >= maxiter:
            leave(np.ones(batch.active.size, dtype=bool), "maxiter", nit)
            return
        done, errors, rates = batch.sweeps(min(opts.check_every, maxiter - nit), tol)
        nit += done
        finite = batch.backend.to_numpy(batch.xp.isfinite(batch.alpha).all(axis=0)
                                        & batch.xp.isfinite(batch.beta).all(axis=0))
        in_range = batch.in_range()
        if not finite.all():
            errors, rates, in_range = errors[finite], rates[finite], in_range[finite]
            leave(~finite, "restart", nit)
        if not in_range.all():
            batch.absorb_common()
            in_range = batch.in_range()
            errors, rates = errors[in_range], rates[in_range]
            leave(~in_range, "single", nit)
        if batch.active.size == 0:
            return
        # ``errors`` (from the kernel) is that of the state before the last sweep; it decides
        # when the exact one is worth two matrix products.
        if (errors <= max(tol, switch_error)).any():
            errors = batch.exact_errors()
        batch.record(monitors, nit, errors)
        converged = errors <= tol
        with np.errstate(divide="ignore", invalid="ignore"):
            # sweeps Sinkhorn would still need at its measured contraction factor
            needed = np.where((rates < 1) & (tol > 0), np.log(tol / errors) / np.log(rates),
                              np.inf)
        # the single-target rule: a run's iterations must not depend on the machine's timings
        switch = ~converged & (errors <= switch_error) & (needed > opts.switch_sweeps)
        leave(converged, None, nit)
        leave(switch[~converged], "newton", nit)


def _finisher(batch, results, targets, solve_alone, opts, tol, mass, maxiter, monitors, embed,
              warn):
    """The ``leave`` of :func:`_batch_stage`: finishes each leaving target into ``results``."""
    statuses = {None: Status.CONVERGED, "maxiter": Status.MAXITER}

    def leave(mask, stage, nit):
        for column in np.nonzero(mask)[0]:
            target = targets[batch.active[column]]
            if stage == "restart":
                results[target] = solve_alone(target)
                continue
            state = batch.state_of(column)
            counts = {"nit": nit, "n_sinkhorn": nit, "n_newton": 0}
            status = statuses.get(stage)
            monitor = monitors[batch.active[column]]
            tol_abs = tol * mass if tol > 0 else -math.inf
            if stage == "newton":
                status, counts = _newton_stage(state, tol_abs, maxiter, opts, mass,
                                                       monitor, counts)
            elif stage == "single":
                status, counts = _solve(state, tol_abs, maxiter, opts, mass, monitor,
                                                counts)
            results[target] = _finish(state, status, counts, monitor, embed, tol=tol,
                                              mass=mass, maxiter=maxiter, warn=warn)
        if mask.any():
            batch.keep(~mask)

    return leave


def sinkhorn_newton_batch(a, B, C, reg=None, *, tol=1e-8, maxiter=10000, plans=True,
                          backend="auto", verbose=0, warn=True, **options):
    r"""Entropic optimal transport from one source to k targets sharing the cost matrix.

    Solves the problem of :func:`~numopt.sinkhorn_newton` for each column of ``B``; the
    Sinkhorn stage of all targets runs together, as matrix-matrix products.

    Parameters
    ----------
    a : array_like, shape (n,)
        Source weights, non-negative with a positive sum.
    B : array_like, shape (m, k)
        The k target histograms as columns, each of the mass of ``a`` (relative tolerance 1e-6;
        each is rescaled to ``sum(a)`` exactly).
    C : array_like, shape (n, m)
        Cost matrix (finite).
    reg : float or None
        Entropic regularisation, as in :func:`~numopt.sinkhorn_newton` (None: ``0.05 * std(C)``).
    tol : float
        Target L1 marginal error of each target, relative to the total mass.
    maxiter : int
        Bound on each target's iterations (Sinkhorn sweeps plus Newton steps).
    plans : bool
        Form each target's plan (``res.plan``, n x m each); False leaves ``res.plan`` None and
        saves k dense arrays when only costs or potentials are wanted.
    backend : {"auto", "numba", "numpy", "cupy"}
        Array backend; see :func:`numopt.backends.get_backend`.
    verbose : int
        0 silent, 1 a final report per target, 2 also table rows.
    warn : bool
        Emit a :class:`~numopt._core.warnings.ConvergenceWarning` for each unconverged target.
    **options
        The options of :func:`~numopt.sinkhorn_newton` (``switch_tol``, ``sparsify``, ...,
        ``callback``); any other keyword warns with ``OptimizeWarning``.

    Returns
    -------
    list of OptimizeResult
        One per target, with the keys of :func:`~numopt.sinkhorn_newton`'s result.

    See Also
    --------
    numopt.sinkhorn_newton : One target.
    numopt.ot.sinkhorn2 : POT's drop-in, which solves its k targets with this function.

    Notes
    -----
    The targets share one absorbed kernel :math:`K = e^{U_i + V_j - C_{ij}/\mathrm{reg}}`
    (built from the c-transforms of the mean target) and keep their own scalings, the columns
    of :math:`\alpha` (n, k) and :math:`\beta` (m, k): a sweep for all targets is
    :math:`\alpha = a / (K\beta)`, :math:`\beta = B / (K^\top \alpha)`, two BLAS-3 products
    reading :math:`K` twice instead of 2k matrix-vector products. The scalings may drift to
    :math:`e^{\pm 150}` before their mean over the targets is folded into :math:`K`; a target
    still outside that range after the fold continues alone, as do targets that converge,
    reach the Newton switch of :func:`~numopt.sinkhorn_newton` (the sparse Newton stage is
    solved per target, from its plan) or exhaust ``maxiter``; the batch shrinks to the
    unfinished targets. Targets with a zero weight (or all of them when ``a`` has one), and
    every target when a ``callback`` (or a POT drop-in's warm start) is given, are solved one at
    a time by :func:`~numopt.sinkhorn_newton`.

    *Newton switch.* Each target switches by :func:`~numopt.sinkhorn_newton`'s rule
    (``switch_tol``, ``switch_sweeps`` in single-target sweeps), so the same call gives the same
    iterations on every machine. Pricing the switch by the measured cost of a target's share of a
    batched sweep was tried (the batch then sweeps longer: 1.43x against 32 single calls at
    reg 1e-3 instead of 1.09x on the loaded 2-core machine) and dropped: it made iteration counts
    depend on timings.

    *Measured split between the stages* (one target, n = 1000 uniform points, squared distance):
    at reg = 1e-2 max(C) the solve is Sinkhorn only (about 180 sweeps); at 1e-3 it is the
    c-transform start (14 % of the time), 31 sweeps (4 %) and 12 Newton steps (82 %: CG on the
    Schur complement 30 %, sparsification histograms 22 %, line-search passes 10 %). The batch
    removes the per-target start and most of the sweeps' cost; the Newton stage stays per target
    (each target has its own sparsity pattern), which bounds the gain at small reg.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.ot import sinkhorn_newton_batch
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.random((50, 2)), rng.random((60, 2))
    >>> C = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    >>> a = np.full(50, 1 / 50)
    >>> B = rng.random((60, 4)); B /= B.sum(axis=0)
    >>> results = sinkhorn_newton_batch(a, B, C, 1e-2)
    >>> [bool(res.success and res.marginal_error < 1e-8) for res in results]
    [True, True, True, True]
    >>> bool(np.allclose(results[2].plan.sum(axis=0), B[:, 2]))
    True
    """
    start_backend = get_backend(backend, a, B, C)
    xp = start_backend.xp
    caller_on_device = on_device(a, B, C)
    out_dtype = _output_dtype(a, B, C)
    B = check_array(B, "B", ndim=2, dtype=np.float64, xp=xp)
    a, _, C, mass, reg, tol, maxiter = _validate(a, B[:, 0], C, reg, tol, maxiter, xp)
    for target in range(B.shape[1]):
        check_marginals(a, B[:, target])
    values = {name: options.pop(name, default) for name, default in _OPTION_DEFAULTS.items()}
    callback = options.pop("callback", None)
    # Private keyword of the POT drop-ins: their warm start, f / reg of shape (n,) or (n, k).
    start_u = options.pop("_start_log_u", None)
    warn_unknown_options(_SOLVER, options)
    opts = _Options.checked(*C.shape, **values)

    def solve_alone(target):
        start = start_u if start_u is None or start_u.ndim == 1 else start_u[:, target]
        res = sinkhorn_newton(a, B[:, target], C, reg, tol=tol, maxiter=maxiter,
                              backend=start_backend.name, callback=callback, verbose=verbose,
                              warn=warn, _start_log_u=start, **values)
        if not plans:
            res["plan"] = None
        return res

    def embed(plan, f, g):
        plan = plan if plans else None
        return tuple(None if arr is None else
                     start_backend.to_caller(arr.astype(out_dtype, copy=False), caller_on_device)
                     for arr in (plan, f, g))

    results = [None] * B.shape[1]
    together = _columns_ok(start_backend, a, B) & (callback is None) & (start_u is None)
    for target in np.nonzero(~together)[0]:
        results[target] = solve_alone(target)
    targets = np.nonzero(together)[0]
    if targets.size:
        batch_B = xp.ascontiguousarray(B[:, targets])
        batch_B *= mass / batch_B.sum(axis=0)  # equal masses exactly, or tol could be unreachable
        batch = _Batch(start_backend, a, batch_B, C, reg)
        monitors = [_monitor(_SOLVER, None, verbose, opts.check_every) for _ in targets]
        leave = _finisher(batch, results, targets, solve_alone, opts, tol, mass, maxiter,
                          monitors, embed, warn)
        _batch_stage(batch, leave, tol * mass if tol > 0 else -math.inf, maxiter, opts, mass,
                     monitors)
    return results
