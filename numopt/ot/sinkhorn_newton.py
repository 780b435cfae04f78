"""Sinkhorn-Newton-Sparse: entropic optimal transport by Sinkhorn sweeps, then sparse Newton."""

import math
from dataclasses import dataclass

import numpy as np

from numopt._core.iteration import Column, IterationMonitor
from numopt._core.result import Status
from numopt._core.validation import (
    all_finite,
    check_array,
    check_choice,
    check_int,
    check_marginals,
    check_scalar,
)
from numopt._core.warnings import warn_unknown_options
from numopt.backends import get_backend, on_device
from numopt.ot._linear_solve import LINEAR_SOLVERS, newton_direction
from numopt.ot._sparsify import SPARSIFY_RULES, sparsify

__all__ = ["sinkhorn_newton"]

_SOLVER = "sinkhorn_newton"

# Scalings are re-absorbed into the kernel once a log-scaling leaves [-_LIMIT, _LIMIT]; a Newton
# step never moves a log-potential by more than _MAX_STEP. Between absorptions an entry that
# underflowed in the kernel (< e^-745 of the plan's scale) can grow by at most e^(4 * _LIMIT), so it
# stays negligible.
_LIMIT = 30.0
# A float32 kernel underflows below e^-87 instead of e^-745: the same argument gives 15.
_LIMIT32 = 15.0
_MAX_STEP = 20.0
_STEP_SIZES = (1.0, 0.5, 0.25, 0.1)
_ARMIJO = 1e-4
_SLOW_PROGRESS = 0.9
_MU_START, _MU_MIN = 1e-3, 1e-8
# reg=None picks _REG_FRACTION * std(C) (see the docstring's Notes for the measurement).
_REG_FRACTION = 0.05


@dataclass(frozen=True)
class _Options:
    """The validated options of one run (see :func:`sinkhorn_newton`)."""

    switch_tol: float
    switch_sweeps: int
    sparsify: str
    delta: float
    density: float
    linear_solver: str
    cg_rtol: float
    cg_maxiter: int
    fallback_sweeps: int
    check_every: int

    @classmethod
    def checked(cls, n, m, *, switch_tol, switch_sweeps, sparsify, delta, density, linear_solver,
                cg_rtol, cg_maxiter, fallback_sweeps, check_every):
        if density is None:
            # SNS's lambda = 2/n keeps about two entries per row; measured on the benchmark
            # problems, five per row converged in fewer Newton steps for the same cost.
            density = min(1.0, 5.0 / min(n, m))
        return cls(
            switch_tol=check_scalar(switch_tol, "switch_tol", _SOLVER, low=0, low_inclusive=True),
            switch_sweeps=check_int(switch_sweeps, "switch_sweeps", _SOLVER, low=0),
            sparsify=check_choice(sparsify, "sparsify", _SOLVER, SPARSIFY_RULES),
            delta=check_scalar(delta, "delta", _SOLVER, low=0, low_inclusive=True),
            density=check_scalar(density, "density", _SOLVER, low=0, high=1),
            linear_solver=check_choice(linear_solver, "linear_solver", _SOLVER, LINEAR_SOLVERS),
            cg_rtol=check_scalar(cg_rtol, "cg_rtol", _SOLVER, low=0, high=1),
            cg_maxiter=check_int(cg_maxiter, "cg_maxiter", _SOLVER, low=1),
            fallback_sweeps=check_int(fallback_sweeps, "fallback_sweeps", _SOLVER, low=1),
            check_every=check_int(check_every, "check_every", _SOLVER, low=1))


def _output_dtype(*arrays):
    """float32 when every one of ``arrays`` is a float32 array, else float64."""
    if all(getattr(array, "dtype", None) == np.float32 for array in arrays):
        return np.float32
    return np.float64


def _default_reg(C, xp):
    """``_REG_FRACTION * std(C)``: scales with C and ignores a shift; 1 for a constant C."""
    spread = float(xp.std(C))
    return _REG_FRACTION * spread if spread > 0 else 1.0


def _monitor(solver, callback, verbose, check_every):
    """The iteration monitor of one target's run."""
    return IterationMonitor(solver, [Column("marginal_error"), Column("fun", "{:>12.6e}", 12),
                                     Column("n_newton", "{:>8.0f}", 8)],
                            callback=callback, verbose=verbose, check_every=check_every)


def _validate(a, b, C, reg, tol, maxiter, xp):
    a = check_array(a, "a", ndim=1, dtype=np.float64, xp=xp)
    b = check_array(b, "b", ndim=1, dtype=np.float64, xp=xp)
    C = check_array(C, "C", ndim=2, dtype=np.float64, xp=xp)
    if C.shape != (a.shape[0], b.shape[0]):
        raise ValueError(f"`C` must have shape (len(a), len(b)) = ({a.shape[0]}, {b.shape[0]}); "
                         f"got shape {C.shape}.")
    mass = check_marginals(a, b)
    reg = _default_reg(C, xp) if reg is None else check_scalar(reg, "reg", _SOLVER, low=0)
    tol = check_scalar(tol, "tol", _SOLVER, low=0, low_inclusive=True)
    maxiter = check_int(maxiter, "maxiter", _SOLVER, low=1)
    return a, b, C, mass, reg, tol, maxiter


class _State:
    """The plan ``diag(alpha) K diag(beta)`` with ``K = exp(U_i + V_j - C_ij / reg)``.

    ``U``, ``V`` are the scaled potentials at the last absorption; the current scaled potentials
    are ``U + log(alpha)`` and ``V + log(beta)`` (POT's ``f = reg * (U + log alpha)``).
    """

    def __init__(self, backend, a, b, C, reg, start_u=None, kernel_dtype=np.float64):
        xp = backend.xp
        n, m = C.shape
        self.backend, self.xp, self.a, self.b, self.C, self.reg = backend, xp, a, b, C, reg
        self.limit = _LIMIT32 if kernel_dtype == np.float32 else _LIMIT
        # c-transforms from zero potentials (or from the warm start's ``start_u``): every
        # exponent is then <= log(max marginal), so the absorbed kernel cannot overflow at any reg.
        start_f = xp.zeros(n) if start_u is None else reg * start_u
        self.V = xp.log(b) - backend.logsumexp_cols(start_f, xp.zeros(m), C, reg)
        self.U = xp.log(a) - backend.logsumexp_rows(xp.zeros(n), reg * self.V, C, reg)
        # a float32 kernel halves the memory traffic of the sweeps and marginal passes
        self.K = xp.empty(C.shape, dtype=kernel_dtype)
        self.alpha, self.beta = xp.ones(n), xp.ones(m)
        self.row_sums, self.col_sums = backend.absorb_kernel(self.U, self.V, C, reg, self.K)

    @classmethod
    def absorbed(cls, backend, a, b, C, reg, U, V, K):
        """The state whose absorbed kernel ``K = exp(U_i + V_j - C_ij / reg)`` is given."""
        state = cls.__new__(cls)
        state.backend, state.xp, state.a, state.b, state.C, state.reg = \
            backend, backend.xp, a, b, C, reg
        state.U, state.V, state.K = U, V, K
        state.limit = _LIMIT
        state.alpha, state.beta = backend.xp.ones(K.shape[0]), backend.xp.ones(K.shape[1])
        state.row_sums, state.col_sums = K.sum(axis=1), K.sum(axis=0)
        return state

    def log_scalings(self):
        return self.xp.log(self.alpha), self.xp.log(self.beta)

    def absorb(self):
        """Fold the scalings into ``K`` (one exp pass); returns False on non-finite values."""
        log_alpha, log_beta = self.log_scalings()
        if not all_finite(log_alpha, log_beta):
            return False
        self.U += log_alpha
        self.V += log_beta
        self.alpha[...] = 1.0
        self.beta[...] = 1.0
        self.row_sums, self.col_sums = self.backend.absorb_kernel(self.U, self.V, self.C,
                                                                  self.reg, self.K)
        return all_finite(self.row_sums, self.col_sums)

    def needs_absorb(self, extra_row=0.0, extra_col=0.0):
        log_alpha, log_beta = self.log_scalings()
        return (float(self.xp.abs(log_alpha).max()) + extra_row > self.limit
                or float(self.xp.abs(log_beta).max()) + extra_col > self.limit)

    def refresh_marginals(self):
        self.row_sums, self.col_sums = self.backend.scaled_marginals(self.K, self.alpha,
                                                                     self.beta)

    def marginal_error(self):
        xp = self.xp
        return float(xp.abs(self.row_sums - self.a).sum() + xp.abs(self.col_sums - self.b).sum())

    def potentials(self):
        log_alpha, log_beta = self.log_scalings()
        return self.reg * (self.U + log_alpha), self.reg * (self.V + log_beta)

    def dual_value(self):
        """``<a, f> + <b, g> - reg * sum(P)``: the dual objective (``fun`` at the optimum)."""
        f, g = self.potentials()
        return float(self.a @ f + self.b @ g - self.reg * self.row_sums.sum())

    def sweeps(self, count, tol):
        """Up to ``count`` Sinkhorn sweeps; returns (sweeps done, error before the last one,
        contraction factor per sweep over the batch or None)."""
        errors, done = self.backend.sinkhorn_sweeps(self.K, self.a, self.b, self.alpha,
                                                    self.beta, count, tol, self.limit)
        errors = self.backend.to_numpy(errors)[:done]
        rate = None
        if done > 1 and errors[0] > 0 and errors[-1] > 0:
            rate = float((errors[-1] / errors[0]) ** (1.0 / (done - 1)))
        return done, float(errors[-1]), rate


def _newton_step(state, mu, opts, mass):
    """One sparse Newton step with a backtracking line search on the dual potential.

    Returns ``(accepted, step_length, new_mu)``.
    """
    xp, backend = state.xp, state.backend
    a, b = state.a, state.b
    grad_row, grad_col = state.row_sums - a, state.col_sums - b
    error = float(xp.abs(grad_row).sum() + xp.abs(grad_col).sum())
    indptr, indices, data = sparsify(backend, state.K, state.alpha, state.beta, opts.sparsify,
                                     delta=opts.delta * error, density=opts.density)
    shift = mu * error
    d_row, d_col, _ = newton_direction(backend, indptr, indices, data, state.K.shape,
                                       state.row_sums + shift, state.col_sums + shift, grad_row,
                                       grad_col, method=opts.linear_solver,
                                       cg_rtol=max(opts.cg_rtol, min(0.1, error / mass)),
                                       cg_maxiter=opts.cg_maxiter)
    if not all_finite(d_row, d_col):
        return False, 0.0, 4.0 * mu
    largest_row, largest_col = float(xp.abs(d_row).max()), float(xp.abs(d_col).max())
    scale = min(1.0, _MAX_STEP / max(largest_row, largest_col, 1e-300))
    if state.needs_absorb(scale * largest_row, scale * largest_col):
        if not state.absorb():
            return False, 0.0, 4.0 * mu
    slope = float(grad_row @ d_row + grad_col @ d_col)  # < 0 for a descent direction
    if not slope < 0:
        return False, 0.0, 4.0 * mu
    total = float(state.row_sums.sum())
    linear = float(a @ d_row + b @ d_col)
    for fraction in _STEP_SIZES:
        step = scale * fraction
        alpha = state.alpha * xp.exp(step * d_row)
        beta = state.beta * xp.exp(step * d_col)
        row_sums, col_sums = backend.scaled_marginals(state.K, alpha, beta)
        if not all_finite(row_sums, col_sums):
            continue
        trial_total = float(row_sums.sum())
        # change of the dual potential F = sum(P) - <a, U> - <b, V> (scaled units)
        decrease = trial_total - total - step * linear
        # sums of ~nm terms of size <= mass: below this the change is rounding noise, and the
        # marginal error decides.
        noise = 64 * np.finfo(np.float64).eps * (total + trial_total + step * abs(linear)) \
            * math.sqrt(row_sums.shape[0] + col_sums.shape[0])
        trial_error = float(xp.abs(row_sums - a).sum() + xp.abs(col_sums - b).sum())
        if decrease <= _ARMIJO * step * slope or (decrease <= noise and trial_error < error):
            state.alpha, state.beta = alpha, beta
            state.row_sums, state.col_sums = row_sums, col_sums
            if fraction == 1.0 and scale == 1.0:
                mu = max(mu / 2.0, _MU_MIN)
            elif fraction < 0.5:
                mu *= 2.0
            return True, step, mu
    return False, 0.0, 4.0 * mu


def sinkhorn_newton(a, b, C, reg=None, *, tol=1e-8, maxiter=10000, switch_tol=1e-1,
                    switch_sweeps=300, sparsify="mass", delta=1e-4, density=None,
                    linear_solver="cg", cg_rtol=1e-10, cg_maxiter=1000, fallback_sweeps=10,
                    check_every=10, backend="auto", callback=None, verbose=0, warn=True,
                    **unknown_options):
    r"""Entropic optimal transport by Sinkhorn warm-up followed by sparse Newton steps.

    Solves

    .. math::

        \min_{P \ge 0} \; \langle C, P \rangle + \mathrm{reg} \sum_{ij} P_{ij} (\log P_{ij} - 1)
        \quad \text{s.t.} \quad P \mathbf{1} = a, \; P^\top \mathbf{1} = b

    (POT's ``reg``) to an L1 marginal error ``||P 1 - a||_1 + ||P^T 1 - b||_1 <= tol * sum(a)``.

    Parameters
    ----------
    a : array_like, shape (n,)
        Source weights, non-negative with a positive sum.
    b : array_like, shape (m,)
        Target weights, non-negative, with the same sum as ``a`` (relative tolerance 1e-6; ``b``
        is then rescaled to ``sum(a)`` exactly).
    C : array_like, shape (n, m)
        Cost matrix (finite).
    reg : float or None
        Entropic regularisation, > 0. Values down to ``1e-4 * max(C)`` are handled without
        overflow (all passes are in a stabilised scaling domain). None picks
        ``0.05 * std(C)`` (the standard deviation of C's entries; 1 when C is constant), so that
        the plan does not change when C is scaled or shifted; the value used is ``res.reg``.
    tol : float
        Target L1 marginal error relative to the total mass; 0 runs all ``maxiter`` iterations.
    maxiter : int
        Bound on the total iterations (Sinkhorn sweeps plus Newton steps).
    backend : {"auto", "numba", "numpy", "cupy"}
        Array backend; see :func:`numopt.backends.get_backend`.
    callback : callable, optional
        ``callback(intermediate_result)`` with keys ``x`` (the potentials ``f`` and ``g``
        concatenated), ``nit``, ``marginal_error``, ``fun`` (the dual objective); or legacy
        ``callback(xk)``. Raising ``StopIteration`` stops the run with status 99.
    verbose : int
        0 silent, 1 final report, 2 a table row at each check.
    warn : bool
        Emit a :class:`~numopt._core.warnings.ConvergenceWarning` when not converged.
    **unknown_options
        Any other keyword warns with ``OptimizeWarning`` and is ignored.

    Returns
    -------
    OptimizeResult
        ``plan`` (n, m); ``potentials`` ``(f, g)`` in POT's convention
        ``P_ij = exp((f_i + g_j - C_ij) / reg)`` (``-inf`` where the weight is zero); ``cost``
        ``<C, P>``; ``fun`` the entropic objective; ``marginal_error`` (absolute L1, both
        marginals); ``reg`` (the regularisation used); ``nit``, ``n_sinkhorn``, ``n_newton``;
        ``history`` (``nit``, ``time``, ``marginal_error``, ``fun`` = dual objective,
        ``n_newton``); ``backend``, ``time``, ``success``, ``status``, ``message``.

    Options
    -------
    switch_tol : float
        Sinkhorn hands over to Newton once the relative marginal error is below ``switch_tol``
        and the observed Sinkhorn contraction predicts more than ``switch_sweeps`` further sweeps
        to reach ``tol``. Set it to 0 to run plain (stabilised) Sinkhorn.
    switch_sweeps : int
        See ``switch_tol``: the cost of the Newton stage measured in Sinkhorn sweeps.
    sparsify : {"mass", "topk", "row_topk"}
        How the plan block of the Hessian is sparsified: ``"mass"`` drops at most
        ``delta * marginal_error`` of mass per row and per column (SSNS's rule, with the bound
        ``||H - H_S||_2 <= delta * marginal_error``); ``"topk"`` keeps a global top
        ``density * n * m`` (SNS); ``"row_topk"`` keeps the top ``density * m`` of each row.
    delta : float
        Mass-dropping factor of ``sparsify="mass"``.
    density : float or None
        Kept fraction for ``"topk"`` and ``"row_topk"``; None means ``5 / min(n, m)``.
    linear_solver : {"cg", "direct"}
        Jacobi-preconditioned CG on the Schur complement, or its sparse LU.
    cg_rtol : float
        Smallest relative residual of the CG solves; each solve stops at
        ``max(cg_rtol, min(0.1, relative marginal error))`` (inexact Newton with a forcing term
        that vanishes with the gradient, so the fast local convergence is kept).
    cg_maxiter : int
        Iteration bound of each CG solve.
    fallback_sweeps : int
        Sinkhorn sweeps run when a Newton step fails its line search.
    check_every : int
        Sinkhorn sweeps between convergence checks (and history rows).

    Raises
    ------
    ValueError
        NaN/inf or negative entries, unequal masses, shape mismatch, ``reg <= 0``, bad options.
    TypeError
        Non-numeric input or option.

    See Also
    --------
    numopt.ot.sinkhorn : POT-shaped wrapper returning the plan.
    numopt.ot.sinkhorn2 : POT-shaped wrapper returning the transport cost.

    Notes
    -----
    With scaled potentials :math:`u = f / \mathrm{reg}`, :math:`v = g / \mathrm{reg}` the solver
    minimises the convex dual :math:`F(u, v) = \sum_{ij} P_{ij} - a^\top u - b^\top v`,
    :math:`P_{ij} = e^{u_i + v_j - C_{ij}/\mathrm{reg}}`, whose gradient is the marginal residual
    :math:`(P\mathbf 1 - a, P^\top \mathbf 1 - b)` and whose Hessian is
    :math:`[[\mathrm{diag}(P\mathbf 1), P], [P^\top, \mathrm{diag}(P^\top\mathbf 1)]]`.

    *Stabilised scaling domain.* The plan is stored as :math:`\mathrm{diag}(\alpha) K
    \mathrm{diag}(\beta)` with an absorbed kernel :math:`K = e^{U_i + V_j - C_{ij}/\mathrm{reg}}`
    whose entries are at most 1; a Sinkhorn sweep is then two matrix-vector products fused into
    one read of :math:`K` (no ``exp`` per entry), and the scalings are folded back into :math:`K`
    when a log-scaling exceeds 30. The initial potentials are c-transforms, so no pass overflows.

    *Stage 1* runs Sinkhorn sweeps. *Stage 2* starts once the relative marginal error is below
    ``switch_tol`` and the contraction factor measured over the last ``check_every`` sweeps
    predicts that Sinkhorn would need more than ``switch_sweeps`` sweeps to reach ``tol`` (SNS's
    fixed warm-up length, Tang et al. 2024, replaced by a measured rule; fast-contracting problems
    therefore never pay for Newton).

    *Newton step.* The diagonals are exact and the plan block is sparsified (``sparsify``); the
    last variable of the smaller side is fixed (gauge) and the Hessian is shifted by
    :math:`\mu \cdot \mathrm{error}` (as SSNS, Tang & Qiu 2024; :math:`\mu` halves after a full
    step, grows after a short one). The Schur complement of the system is solved by sparse LU or
    CG (``linear_solver``). The step length is the first of 1, 1/2, 1/4, 1/10 (after capping the
    largest potential change at 20) passing an Armijo test on :math:`F`, or, once the decrease is
    below rounding level, reducing the marginal error. When none passes, ``fallback_sweeps``
    Sinkhorn sweeps are run and :math:`\mu` grows, so the method is never much slower than
    Sinkhorn. Each trial is one pass over :math:`K` without ``exp``.

    *Measured choices* (n = 1000 points in the unit square, squared distance, 2-core machine;
    the full table is in the documentation page): plain stabilised Sinkhorn takes 0.13 s, 0.65 s
    and does not converge in 10^4 sweeps at reg = 1e-2, 1e-3, 1e-4 of max(C); switching at
    relative error 1e-1 with CG takes 0.13 s (no switch), 0.19 s (41 sweeps + 10 Newton steps)
    and 0.57 s (243 + 21); switching at 1e-2 spends 231 and 2378 sweeps instead; the sparse LU
    solve was 2-10x slower than CG (fill-in); global and per-row top-k needed 28-180 Newton steps
    where ``"mass"`` needed 4-21, because a fixed count drops too much mass from dense rows.

    *Zero weights.* Rows and columns of zero weight are removed, the reduced problem is solved,
    and zeros are put back into the plan (their potentials are ``-inf``, as in POT's log domain).

    *Default reg.* ``reg=None`` uses :math:`0.05\,\mathrm{std}(C)`, the fraction ott-jax uses
    for its default. Measured on 300 and 1000 points (uniform square, two Gaussians, a shifted
    1-D grid; ``benchmarks/bench_ot_default_reg.py``), the entropic excess of the transport
    cost over the unregularised optimum is about
    :math:`0.8 \cdot \mathrm{fraction} \cdot \mathrm{std}(C)`: 0.02-0.04 std(C) at 0.05,
    reached by 166-240 Sinkhorn sweeps alone (29 iterations with 8 Newton steps on the grid);
    0.01 sharpens the plan (excess 0.005-0.009 std(C)) but needs the Newton stage everywhere, at
    0.8-8x the time. The standard deviation, unlike ``max(C)``, ignores a constant added to C,
    so the default plan is invariant under :math:`C \to sC + c`.

    *float32.* When ``a``, ``b`` and ``C`` are all float32, the absorbed kernel is stored in
    float32, so the Sinkhorn sweeps and the marginal passes (most of the O(nm) memory traffic)
    read half the bytes. The sweeps also multiply and sum in float32 (twice the SIMD lanes) while
    the L1 error exceeds ten times the rounding of those sums (:math:`10\sqrt{m}\,2^{-23}` of
    the mass; measured floor of float32 sums: 0.2-0.4 of that), then in float64; scalings,
    potentials and the marginal passes stay float64, the passes that read ``C``
    (c-transforms, absorptions, cost) read it in float64, and the log-scalings are re-absorbed
    at 15 instead of 30 (float32 underflows below :math:`e^{-87}`). ``marginal_error`` is that
    of the float32 kernel; the returned plan differs from it by the kernel's rounding (a
    relative 6e-8 per entry), so its marginal error in float64 arithmetic is at most
    ``max(tol, ~3e-7) * sum(a)``: tolerances down to 1e-6 are met by the plan itself. Measured
    (n = 3000 uniform points, reg = 1e-2 max(C), tol 1e-5, shared 2-core machine): float32 reached
    the plan error 1e-5 in 0.87 s against 1.97 s for float64 (2.3x); storing the kernel in float32
    with float64 sums, the earlier design, gave 1.15x. ``plan`` and ``potentials`` are returned
    as float32.

    References
    ----------
    .. [1] X. Tang, M. Shavlovsky, H. Rahmanian, E. Tardini, K. K. Thekumparampil, T. Xiao,
           L. Ying, "Accelerating Sinkhorn algorithm with sparse Newton iterations", ICLR 2024.
    .. [2] Z. Tang, Y. Qiu, "Safe and sparse Newton method for entropic-regularized optimal
           transport", NeurIPS 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt import sinkhorn_newton
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.random((50, 2)), rng.random((60, 2))
    >>> C = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    >>> a, b = np.full(50, 1 / 50), np.full(60, 1 / 60)
    >>> res = sinkhorn_newton(a, b, C, 1e-2)
    >>> res.success, res.marginal_error < 1e-8
    (True, True)
    >>> bool(np.allclose(res.plan.sum(axis=1), a))
    True
    """
    start_backend = get_backend(backend, a, b, C)
    xp = start_backend.xp
    caller_on_device = on_device(a, b, C)
    out_dtype = _output_dtype(a, b, C)
    a, b, C, mass, reg, tol, maxiter = _validate(a, b, C, reg, tol, maxiter, xp)
    n, m = C.shape
    # Private keyword of the POT drop-ins (numopt.ot.pot): POT's warm start, the log-scaling
    # u = f / reg from which the first c-transform starts (validated by the drop-in).
    start_u = unknown_options.pop("_start_log_u", None)
    warn_unknown_options(_SOLVER, unknown_options)
    opts = _Options.checked(n, m, switch_tol=switch_tol, switch_sweeps=switch_sweeps,
                            sparsify=sparsify, delta=delta, density=density,
                            linear_solver=linear_solver, cg_rtol=cg_rtol, cg_maxiter=cg_maxiter,
                            fallback_sweeps=fallback_sweeps, check_every=check_every)
    monitor = _monitor(_SOLVER, callback, verbose, opts.check_every)

    # Solve on the support of the weights (zeros are put back at the end).
    rows, cols = a > 0, b > 0
    full_support = bool(rows.all()) and bool(cols.all())
    if not full_support:
        rows_idx, cols_idx = xp.nonzero(rows)[0], xp.nonzero(cols)[0]
        a_s, b_s = a[rows_idx], b[cols_idx]
        C_s = xp.ascontiguousarray(C[rows_idx][:, cols_idx])
    else:
        a_s, b_s, C_s = a, b, C
    b_s = b_s * (mass / float(b_s.sum()))  # equal masses exactly, or tol could be unreachable
    if start_u is not None:
        start_u = xp.asarray(start_u, dtype=xp.float64)
        start_u = start_u if full_support else start_u[rows_idx]

    state = _State(start_backend, a_s, b_s, C_s, reg, start_u, kernel_dtype=out_dtype)
    # tol = 0: no plan counts as converged, so all maxiter iterations run
    status, counts = _solve(state, tol * mass if tol > 0 else -math.inf, maxiter, opts, mass,
                            monitor)

    def embed(plan_s, f_s, g_s):
        if full_support:
            plan, f, g = plan_s, f_s, g_s
        else:
            plan = xp.zeros((n, m))
            plan[xp.ix_(rows_idx, cols_idx)] = plan_s
            f, g = xp.full(n, -xp.inf), xp.full(m, -xp.inf)
            f[rows_idx], g[cols_idx] = f_s, g_s
        return tuple(start_backend.to_caller(arr.astype(out_dtype, copy=False), caller_on_device)
                     for arr in (plan, f, g))

    return _finish(state, status, counts, monitor, embed, tol=tol, mass=mass, maxiter=maxiter,
                   warn=warn)


def _finish(state, status, counts, monitor, embed, *, tol, mass, maxiter, warn):
    """The result of a run that ended in ``state``; ``embed(plan, f, g)`` maps the solved
    support's arrays to the caller's (``plan`` None: the plan is not formed)."""
    state.refresh_marginals()
    error = state.marginal_error()
    if status == Status.CONVERGED and not error <= tol * mass:
        status = Status.STALLED  # can only happen through rounding in the last pass
    f_s, g_s = state.potentials()
    reg, backend = state.reg, state.backend
    cost = float(backend.plan_cost(state.K, state.alpha, state.beta, state.C))
    total = float(state.row_sums.sum())
    fun = float(f_s @ state.row_sums + g_s @ state.col_sums - reg * total)
    plan_s = state.K
    plan_s *= state.alpha[:, None]
    plan_s *= state.beta[None, :]
    plan, f, g = embed(plan_s, f_s, g_s)
    message = None
    if status == Status.MAXITER:
        # names no option: the POT drop-ins report this message for their numItermax/stopThr
        message = (f"Maximum number of iterations ({maxiter}) reached with L1 marginal error "
                   f"{error:.3e} > {tol * mass:.3e}.")
    elif status == Status.NONFINITE:  # exp(-C/reg), a weight or the mass beyond float64's range
        message = (f"{Status.NONFINITE.message} Increase reg (now {reg:g}; (max(C) - min(C)) / "
                   f"reg <= 1e4 is safe), drop weights below 1e-300, or rescale a and b to a "
                   f"total mass in [1e-300, 1e300] (now {mass:.3g}).")
    hint = f"increase maxiter (now {maxiter}) or loosen tol (now {tol:g})"
    return monitor.finish(status, backend=backend.name, warn=warn,
                          hints={None: hint, Status.NONFINITE: f"increase reg (now {reg:g})"},
                          message=message, plan=plan, potentials=(f, g), cost=cost, fun=fun,
                          marginal_error=error, reg=reg, nit=counts["nit"],
                          n_sinkhorn=counts["n_sinkhorn"], n_newton=counts["n_newton"])


def _record(monitor, state, nit, n_newton, error):
    """History row and callback; returns True when the callback asked to stop."""
    f, g = state.potentials()
    x = state.backend.to_numpy(state.xp.concatenate([f, g]))
    # after a sweep the column sums are exactly b, so sum(P) = sum(b) (the dual's last term)
    dual = float(state.a @ f + state.b @ g) - state.reg * float(state.b.sum())
    if n_newton:
        dual = state.dual_value()
    return monitor.record(nit, x=x, marginal_error=error, fun=dual, n_newton=n_newton)


def _sweeps_to_tol(error, tol, rate):
    """Sweeps Sinkhorn needs to bring ``error`` to ``tol`` at its measured contraction ``rate``."""
    if rate >= 1 or tol <= 0:
        return math.inf
    return max(math.log(tol / error) / math.log(rate), 0.0)


def _solve(state, tol, maxiter, opts, mass, monitor, counts=None):
    """Run both stages (``counts``: the iterations already done); returns (status, counts)."""
    counts = counts or {"nit": 0, "n_sinkhorn": 0, "n_newton": 0}
    if not all_finite(state.row_sums, state.col_sums):
        return Status.NONFINITE, counts
    switch_error = opts.switch_tol * mass
    # ---- stage 1: Sinkhorn sweeps until the adaptive switch ---------------------------------
    newton = False
    while not newton:
        if counts["nit"] >= maxiter:
            return Status.MAXITER, counts
        batch = min(opts.check_every, maxiter - counts["nit"])
        done, error, rate = state.sweeps(batch, tol)
        counts["nit"] += done
        counts["n_sinkhorn"] += done
        if not all_finite(state.alpha, state.beta) or state.needs_absorb():
            if not state.absorb():
                return Status.NONFINITE, counts
        # ``error`` (from the kernel) is that of the state before the last sweep; it decides
        # when the exact one is worth a pass.
        if error <= max(tol, switch_error):
            state.refresh_marginals()
            error = state.marginal_error()
        if _record(monitor, state, counts["nit"], 0, error):
            return Status.CALLBACK, counts
        if error <= tol:
            return Status.CONVERGED, counts
        if error <= switch_error and rate is not None:
            # sweeps Sinkhorn would still need at its measured contraction factor
            newton = _sweeps_to_tol(error, tol, rate) > opts.switch_sweeps
    return _newton_stage(state, tol, maxiter, opts, mass, monitor, counts)


def _newton_stage(state, tol, maxiter, opts, mass, monitor, counts):
    """Stage 2: sparse Newton steps with line search and Sinkhorn fallback; (status, counts)."""
    mu = _MU_START
    while counts["nit"] < maxiter:
        before = state.marginal_error()
        accepted, _, mu = _newton_step(state, mu, opts, mass)
        counts["nit"] += 1
        counts["n_newton"] += 1
        # A step that failed, or barely reduced the marginal error, costs more than the
        # Sinkhorn sweeps it replaces: run some of those too.
        if not accepted or state.marginal_error() > _SLOW_PROGRESS * before:
            budget = min(opts.fallback_sweeps, maxiter - counts["nit"])
            if budget > 0:
                done, _, _ = state.sweeps(budget, tol)
                counts["nit"] += done
                counts["n_sinkhorn"] += done
                if state.needs_absorb() and not state.absorb():
                    return Status.NONFINITE, counts
                state.refresh_marginals()
        error = state.marginal_error()
        if _record(monitor, state, counts["nit"], counts["n_newton"], error):
            return Status.CALLBACK, counts
        if error <= tol:
            return Status.CONVERGED, counts
    return Status.MAXITER, counts
