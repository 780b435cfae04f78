"""Certified gradient play: projected Euler or RK4 on ``x' = -F(x)`` at a certified step."""

import numpy as np

from numopt._core.iteration import Column, IterationMonitor
from numopt._core.result import Status
from numopt._core.validation import (
    all_finite,
    array_namespace,
    check_choice,
    check_int,
    check_scalar,
)
from numopt._core.warnings import warn_unknown_options
from numopt.games.certify import Certificate, certify_nash
from numopt.games.game import Game, game_backend

__all__ = ["gradient_play"]

_SOLVER = "gradient_play"


def _resolve_step(step, method, certificate):
    if isinstance(step, str):
        check_choice(step, "step", _SOLVER, ("certified",))
        if not certificate.certified:
            raise ValueError("step='certified' needs a certified game, but " + certificate.reason
                             + " Pass a float `step` to run uncertified gradient play.")
        return certificate.euler_step if method == "euler" else certificate.rk4_step
    return check_scalar(step, "step", _SOLVER, low=0)


def gradient_play(game, x0, *, certificate=None, method="euler", step="certified", tol=1e-8,
                  maxiter=10000, check_every=1, backend="auto", callback=None, verbose=0,
                  warn=True, **unknown_options):
    """Run simultaneous gradient play ``x <- Proj(x - h F(x))`` towards a Nash equilibrium.

    Every player takes the same step ``h``; with a certificate, ``h`` is the certified one and the
    run reports the contraction factor it observed in the certificate's metric next to the
    certified factor.

    Parameters
    ----------
    game : Game
        The game.
    x0 : array_like, shape (dim,)
        Start (projected onto the feasible sets); it must lie in the certificate's region.
    certificate : Certificate, optional
        From :func:`certify_nash` on this game (checked against its fingerprint). Default:
        certify ``game`` on the whole space (affine games only). Its geometry decides the
        dynamics: "fisher" runs natural gradient play
        ``theta_i <- theta_i - h G_i(theta)^+ F_i(theta)``.
    method : {"euler", "rk4"}
        Projected explicit Euler, or classical RK4 on the flow (projected after each step).
    step : "certified" or float
        "certified": ``alpha/beta^2`` (Euler, the step with the best certified factor) or
        ``2.5/beta`` (RK4); a float is used as is.

    Returns
    -------
    OptimizeResult
        ``x`` (the last iterate), ``fun`` (the residual at ``x``), ``nit`` (steps taken),
        ``nfev`` (evaluations of ``F``, one more than the steps need: the residual at the
        returned ``x``), ``step``, ``method``, ``geometry``, ``weights``,
        ``contraction_factor`` (observed: the geometric mean of
        ``||x_{k+1} - x_k||_M / ||x_k - x_{k-1}||_M``), ``max_step_ratio`` (the largest such
        ratio), ``certified_factor`` (the certificate's per-step factor ``q`` for Euclidean
        Euler, NaN otherwise), ``error_bound`` (the a-posteriori bound
        ``h fun / (1 - q) >= ||x - x*||_M`` when ``q`` is certified, else NaN), and the common
        keys. ``status`` 0: the stopping test holds at ``x``; 1: ``maxiter``; 2: the step no
        longer moves ``x`` in floating point (increase ``step``); -1: non-finite values;
        99: the callback stopped the run.

    Other Parameters
    ----------------
    tol : float
        Stop when the natural residual ``||x - Proj(x - h F(x))||_M / h`` at the current ``x``
        (``||F(x)||_M`` without constraints, computed as such) is at most ``tol``; that ``x`` is
        returned.
    maxiter : int
        Iteration limit.
    check_every : int
        Record history and call ``callback`` every this many iterations.
    backend : {"auto", "numpy", "numba", "cupy"}
        Where the iteration runs: the namespace of the game's arrays and ``x0`` (``"auto"``);
        ``"cupy"`` needs a game built from CuPy arrays. There are no compiled kernels, so
        ``"numba"`` runs (and reports) ``"numpy"``.
    callback : callable, optional
        ``callback(intermediate_result)`` or legacy ``callback(xk)``; ``StopIteration`` stops
        with status 99.
    verbose : int
        0 silent, 1 a final report, 2 a table row per record.
    warn : bool
        Emit a :class:`ConvergenceWarning` when the run does not converge.
    **unknown_options
        Unknown options are ignored with an ``OptimizeWarning`` naming them.

    Raises
    ------
    TypeError, ValueError
        Bad ``game``, ``x0`` of the wrong shape or non-finite, ``x0`` outside the certificate's
        region, a certificate computed for another game, ``step="certified"`` with an
        uncertified game, bad options.

    See Also
    --------
    certify_nash : Computes the certificate, its weights and steps.

    Notes
    -----
    For a product feasible set and ``M(w) = diag(w_i I)``, the M-projection is the per-block
    Euclidean projection, so projected Euler contracts with factor
    ``sqrt(1 - 2 h alpha + h^2 beta^2)`` whenever ``h < 2 alpha / beta^2`` (Sharma,
    arXiv:2512.06791). For RK4 the
    certificate gives stability of the linearisation (the right half-disc of radius 2.5 lies in
    RK4's stability region), not a norm contraction factor.

    A point with ``Proj(x - h F(x)) = x`` for one ``h > 0`` has it for every ``h > 0`` (the
    fixed-point form of the variational inequality): when rounding keeps ``x`` fixed but a
    visibly larger step would move it, the run has stalled (status 2), it has not converged.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt import gradient_play
    >>> from numopt.games import quadratic_game
    >>> game = quadratic_game([[1.0, 10.0], [0.05, 1.0]], [1, 1], offset=[-11.0, -1.05])
    >>> res = gradient_play(game, np.zeros(2))
    >>> res.success, np.round(res.x, 6)
    (True, array([1., 1.]))
    >>> res.contraction_factor <= res.certified_factor
    True
    """
    warn_unknown_options(_SOLVER, unknown_options)
    if not isinstance(game, Game):
        raise TypeError(f"`game` must be a numopt.games.Game; got {type(game).__name__}.")
    method = check_choice(method, "method", _SOLVER, ("euler", "rk4"))
    tol = check_scalar(tol, "tol", _SOLVER, low=0)
    maxiter = check_int(maxiter, "maxiter", _SOLVER, low=1)
    if certificate is None:
        if not game.is_affine and isinstance(step, str):
            raise ValueError("step='certified' for a game with a non-constant Jacobian needs a "
                             "`certificate`: call certify_nash(game, region) first.")
        certificate = certify_nash(game) if game.is_affine else None
    elif not isinstance(certificate, Certificate):
        raise TypeError(f"`certificate` must be a Certificate from certify_nash; got "
                        f"{type(certificate).__name__}.")
    else:
        certificate.check_game(game)
    step_size = _resolve_step(step, method, certificate)
    chosen = game_backend(backend, game, _SOLVER, x0)
    x = game.check_point(x0)
    if certificate is not None and not certificate.region.contains(np.asarray(
            x.get() if hasattr(x, "get") else x)):
        raise ValueError(f"`x0` lies outside the certificate's region {certificate.region!r}; "
                         f"the certificate says nothing there.")
    geometry = "euclidean" if certificate is None else certificate.geometry
    weights = np.ones(game.n_players) if certificate is None else certificate.weights
    certified_factor = np.nan
    if certificate is not None and method == "euler" and geometry == "euclidean":
        certified_factor = certificate.euler_factor_at(step_size)
        certified_factor = certified_factor if certified_factor < 1 else np.nan
    monitor = IterationMonitor(_SOLVER, [Column("residual"), Column("step_ratio")],
                               callback=callback, verbose=verbose, check_every=check_every)
    play = _Play(game, game.natural_direction if geometry == "fisher" else game.pseudo_gradient,
                 method, step_size, array_namespace(x).asarray(np.repeat(weights,
                                                                         game.block_sizes)))
    status, x, residual, nit = play.run(game.project(x), tol=tol, maxiter=maxiter,
                                        monitor=monitor)
    return _finish(play, status, x, residual, nit, certified_factor, monitor, tol=tol,
                   maxiter=maxiter, geometry=geometry, weights=weights, warn=warn,
                   backend=chosen.name)


class _Play:
    """One run of gradient play: the update, the residual, the stall test, step statistics."""

    def __init__(self, game, direction, method, step_size, metric):
        self.game, self.direction, self.method, self.step_size = game, direction, method, step_size
        self.metric = metric            # the weights per coordinate, in the namespace of x
        self.nfev, self.steps, self.max_ratio = 0, [], 0.0

    def norm(self, vector):
        # ||v||_M^2 = sum_i w_i ||v_i||^2 with one reduction per call.
        xp = array_namespace(vector)
        return float(xp.sqrt(xp.sum(self.metric * vector * vector)))

    def evaluate(self, point):
        self.nfev += 1
        return self.direction(point)

    def residual(self, x, direction_x):
        """``(||x - Proj(x - h d)||_M / h, Euler's point Proj(x - h d), stalled)`` at ``x``.

        Unconstrained, the residual is ``||d(x)||_M`` exactly (``x - h d`` may round to ``x``).
        Constrained, it is measured on the projected point; since ``Proj(x - h d) = x`` for one
        ``h > 0`` iff for all (the fixed-point form of the variational inequality), a point that
        rounding keeps fixed but a visible step moves has stalled.
        """
        h = self.step_size
        point = self.game.project(x - h * direction_x)
        if not self.game.constrained:
            return self.norm(direction_x), point, False
        residual = self.norm(point - x) / h
        xp = array_namespace(x)
        largest = float(xp.max(xp.abs(direction_x)))
        if residual > 0 or largest == 0:
            return residual, point, False
        visible = max(h, np.sqrt(np.finfo(float).eps) * (1 + float(xp.max(xp.abs(x)))) / largest)
        moved = not bool(xp.all(self.game.project(x - visible * direction_x) == x))
        return residual, point, moved

    def advance(self, x, direction_x, euler_point):
        """The next iterate: Euler's point, or classical RK4 on the flow (projected)."""
        if self.method == "euler":
            return euler_point
        h = self.step_size
        k2 = self.evaluate(x - h / 2 * direction_x)
        k3 = self.evaluate(x - h / 2 * k2)
        k4 = self.evaluate(x - h * k3)
        return self.game.project(x - h / 6 * (direction_x + 2 * k2 + 2 * k3 + k4))

    def run(self, x, *, tol, maxiter, monitor):
        """Iterate until the residual at the current ``x`` is at most ``tol`` (or a stop)."""
        nit, ratio = 0, np.nan
        while True:
            direction_x = self.evaluate(x)
            if not all_finite(direction_x):
                return Status.NONFINITE, x, np.nan, nit
            residual, euler_point, stalled = self.residual(x, direction_x)
            converged = residual <= tol and not stalled
            if (converged or (nit > 0 and monitor.due(nit))) and monitor.record(
                    nit, x=x, residual=residual, step_ratio=ratio):
                return Status.CALLBACK, x, residual, nit
            if converged or stalled or nit == maxiter:
                status = Status.CONVERGED if converged else (
                    Status.STALLED if stalled else Status.MAXITER)
                return status, x, residual, nit
            candidate = self.advance(x, direction_x, euler_point)
            if not all_finite(candidate):
                return Status.NONFINITE, x, residual, nit
            step_norm = self.norm(candidate - x)
            if step_norm == 0:
                return Status.STALLED, x, residual, nit
            ratio = step_norm / self.steps[-1] if self.steps else np.nan
            self.max_ratio = max(self.max_ratio, ratio) if self.steps else 0.0
            self.steps.append(step_norm)
            x, nit = candidate, nit + 1


def _finish(play, status, x, residual, nit, certified_factor, monitor, *, tol, maxiter, geometry,
            weights, warn, backend):
    """The result, the warning with what to change, the verbose report."""
    steps, h = play.steps, play.step_size
    observed = ((steps[-1] / steps[0]) ** (1 / (len(steps) - 1))
                if len(steps) > 1 and steps[0] > 0 else np.nan)
    # A contraction with factor q gives ||x - x*|| <= ||x - T(x)|| / (1 - q) at the returned x.
    error_bound = (h * residual / (1 - certified_factor)
                   if np.isfinite(certified_factor) and np.isfinite(residual) else np.nan)
    message = None
    if status == Status.STALLED:
        message = (f"{status.message} The step h = {h:.3g} no longer moves x in floating point "
                   f"although x is not an equilibrium; increase `step`.")
    hints = {Status.MAXITER: f"increase maxiter (now {maxiter}) or loosen tol (now {tol:g})",
             Status.STALLED: f"increase step (now {h:.4g}) so that it moves x in floating point",
             None: f"decrease step (now {h:.4g}); use step='certified' with a certified game"}
    return monitor.finish(
        status, backend=backend, hints=hints, warn=warn, message=message, x=x, fun=residual,
        nit=nit, nfev=play.nfev, step=h, method=play.method, geometry=geometry, weights=weights,
        contraction_factor=float(observed),
        max_step_ratio=float(play.max_ratio) if play.max_ratio > 0 else np.nan,
        certified_factor=float(certified_factor), error_bound=float(error_bound))
