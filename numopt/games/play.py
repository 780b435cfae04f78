"""Certified gradient play: projected Euler or RK4 on ``x' = -F(x)`` at a certified step."""

import numpy as np

from numopt._core.iteration import Column, IterationMonitor
from numopt._core.result import Status, make_result
from numopt._core.validation import (
    all_finite,
    array_namespace,
    check_choice,
    check_int,
    check_scalar,
)
from numopt._core.warnings import warn_not_converged, warn_unknown_options
from numopt.games.certify import Certificate, certify_nash
from numopt.games.game import Game

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
                  maxiter=10000, check_every=1, callback=None, verbose=0, warn=True,
                  **unknown_options):
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
        From :func:`certify_nash`. Default: certify ``game`` on the whole space (affine games
        only). Its geometry decides the dynamics: "fisher" runs natural gradient play
        ``theta_i <- theta_i - h G_i(theta)^+ F_i(theta)``.
    method : {"euler", "rk4"}
        Projected explicit Euler, or classical RK4 on the flow (projected after each step).
    step : "certified" or float
        "certified": ``alpha/beta^2`` (Euler, the step with the best certified factor) or
        ``2.5/beta`` (RK4); a float is used as is.

    Returns
    -------
    OptimizeResult
        ``x`` (the equilibrium reached), ``fun`` (the final residual), ``nit``, ``nfev``,
        ``step``, ``method``, ``geometry``, ``weights``, ``contraction_factor`` (observed: the
        geometric mean of ``||x_{k+1} - x_k||_M / ||x_k - x_{k-1}||_M``), ``max_step_ratio``
        (the largest such ratio), ``certified_factor`` (the certificate's per-step factor for
        Euclidean Euler, NaN otherwise), ``error_bound`` (the a-posteriori bound
        ``q/(1-q) ||x_{k+1} - x_k||_M`` on ``||x - x*||_M`` when certified, else NaN), and the
        common keys.

    Other Parameters
    ----------------
    tol : float
        Stop when ``||x_{k+1} - x_k||_M / h`` (the natural residual, ``||F(x_k)||_M`` without
        constraints) is at most ``tol``.
    maxiter : int
        Iteration limit.
    check_every : int
        Record history and call ``callback`` every this many iterations.
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
        region, ``step="certified"`` with an uncertified game, bad options.

    See Also
    --------
    certify_nash : Computes the certificate, its weights and steps.

    Notes
    -----
    For a product feasible set and ``M(w) = diag(w_i I)``, the M-projection is the per-block
    Euclidean projection, so projected Euler contracts with factor
    ``sqrt(1 - 2 h alpha + h^2 beta^2)`` whenever ``h < 2 alpha / beta^2`` (spec B3). For RK4 the
    certificate gives stability of the linearisation (the right half-disc of radius 2.5 lies in
    RK4's stability region), not a norm contraction factor.

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
    if certificate is not None and certificate.block_sizes != game.block_sizes:
        raise ValueError(f"`certificate` is for block sizes {certificate.block_sizes}, the game "
                         f"has {game.block_sizes}.")
    step_size = _resolve_step(step, method, certificate)
    x = game.check_point(x0)
    if certificate is not None and not certificate.region.contains(np.asarray(
            x.get() if hasattr(x, "get") else x)):
        raise ValueError(f"`x0` lies outside the certificate's region {certificate.region!r}; "
                         f"the certificate says nothing there.")
    geometry = "euclidean" if certificate is None else certificate.geometry
    direction = game.natural_direction if geometry == "fisher" else game.pseudo_gradient
    weights = np.ones(game.n_players) if certificate is None else certificate.weights
    certified_factor = np.nan
    if certificate is not None and method == "euler" and geometry == "euclidean":
        certified_factor = certificate.euler_factor_at(step_size)
        certified_factor = certified_factor if certified_factor < 1 else np.nan
    xp = array_namespace(x)
    # ||v||_M^2 = sum_i w_i ||v_i||^2 with one reduction per call.
    metric = xp.asarray(np.repeat(weights, game.block_sizes))
    nfev = 0

    def update(point):
        nonlocal nfev
        if method == "euler":
            nfev += 1
            return game.project(point - step_size * direction(point))
        k1 = direction(point)
        k2 = direction(point - step_size / 2 * k1)
        k3 = direction(point - step_size / 2 * k2)
        k4 = direction(point - step_size * k3)
        nfev += 4
        return game.project(point - step_size / 6 * (k1 + 2 * k2 + 2 * k3 + k4))

    monitor = IterationMonitor(_SOLVER, [Column("residual"), Column("step_ratio")],
                               callback=callback, verbose=verbose, check_every=check_every)
    x = game.project(x)
    status, nit = Status.MAXITER, 0
    residual = first_step = previous_step = np.nan
    max_ratio = 0.0
    for nit in range(1, maxiter + 1):
        candidate = update(x)
        if not all_finite(candidate):
            status, nit = Status.NONFINITE, nit - 1
            break
        difference = candidate - x
        step_norm = float(xp.sqrt(xp.sum(metric * difference * difference)))
        ratio = step_norm / previous_step if previous_step > 0 else np.nan
        if np.isfinite(ratio):
            max_ratio = max(max_ratio, ratio)
        if nit == 1:
            first_step = step_norm
        previous_step = step_norm
        x = candidate
        residual = step_norm / step_size
        if residual <= tol:
            status = Status.CONVERGED
        if (monitor.due(nit) or status == Status.CONVERGED) and monitor.record(
                nit, x=x, residual=residual, step_ratio=ratio):
            status = Status.CALLBACK
        if status != Status.MAXITER:
            break
    observed = (previous_step / first_step) ** (1 / (nit - 1)) if nit > 1 and first_step > 0 \
        else np.nan
    error_bound = np.nan
    if np.isfinite(certified_factor) and np.isfinite(previous_step):
        error_bound = certified_factor / (1 - certified_factor) * previous_step
    result = make_result(
        status, backend="cupy" if xp is not np else "numpy", time=monitor.elapsed(),
        history=monitor.history(), x=x, fun=residual, nit=nit, nfev=nfev, step=step_size,
        method=method, geometry=geometry, weights=weights, contraction_factor=float(observed),
        max_step_ratio=float(max_ratio) if max_ratio > 0 else np.nan,
        certified_factor=float(certified_factor), error_bound=float(error_bound))
    hint = (f"increase maxiter (now {maxiter}) or loosen tol (now {tol:g})"
            if status == Status.MAXITER else
            f"decrease step (now {step_size:.4g}); use step='certified' with a certified game")
    if status != Status.CALLBACK:
        warn_not_converged(result, _SOLVER, hint, warn)
    monitor.report(result)
    return result
