"""Small-Gain Nash (SGN) certificates: block-weighted contraction of gradient play.

Spec: ``shared/papers/lvhba_sgn.md`` part B (B2 certificate, B3 step sizes, B6 Fisher geometry).
"""

import time
from dataclasses import dataclass, field, fields

import numpy as np

from numopt._core.iteration import Column, IterationMonitor
from numopt._core.result import Status
from numopt._core.validation import (
    check_array,
    check_choice,
    check_int,
    check_scalar,
    check_seed,
)
from numopt._core.warnings import warn_unknown_options
from numopt.games import _bounds
from numopt.games import weights as sgn_weights
from numopt.games.game import Game, Region

__all__ = ["certify_nash", "Certificate"]

_SOLVER = "certify_nash"

# RK4's stability region contains the closed right half-disc of radius ~2.6156; 2.5 is just inside
# (spec B3; the reference code's C4).
RK4_CONSTANT = 2.5


@dataclass(frozen=True)
class Certificate:
    """A Small-Gain Nash certificate (or the honest statement that none was found).

    When ``certified``, ``<F(x) - F(y), M(w)(x - y)> >= margin ||x - y||_M^2`` on ``region`` with
    ``M(w) = diag(w_i I_{d_i})``: gradient flow contracts at rate ``margin`` and projected Euler
    with step ``h < euler_step_max`` contracts by ``sqrt(1 - 2 h margin + h^2 beta^2)`` per step.

    Besides the fields below, it answers ``key in cert`` / ``cert[key]`` like a result object.

    Attributes
    ----------
    certified : bool
        ``margin > 0`` with the returned weights.
    rigorous : bool
        True only when the constants are bounds on the whole region (affine game, Lipschitz
        widening or user bounds); False for sampled estimates.
    reason : str
        Why the game is (not) certified, in words.
    geometry : str
        ``"euclidean"`` or ``"fisher"``.
    mu : ndarray, shape (N,)
        Block curvatures ``inf lambda_min(sym grad^2_{x_i x_i} f_i)``.
    coupling : ndarray, shape (N, N)
        Couplings ``L_ij = sup ||grad^2_{x_i x_j} f_i||_2`` (zero diagonal).
    comparison_matrix : ndarray, shape (N, N)
        ``K = diag(mu) - L``.
    m_matrix : bool
        Whether ``K`` is a nonsingular M-matrix (some weights certify iff it is).
    small_gain_ratio : float
        ``rho(diag(mu)^{-1} L)`` (below 1 iff ``K`` is a nonsingular M-matrix, when ``mu > 0``).
    weights : ndarray, shape (N,)
        Block weights ``w`` (``w_0 = 1``).
    margin : float
        ``alpha*`` = ``lambda_min(S(w))``, the certified contraction rate (may be <= 0).
    best_margin : float
        ``tau(K)``, the supremum of the margin over all weights.
    beta : float
        Lipschitz constant of ``F`` in the ``M(w)`` norm on the region.
    euler_step_max, euler_step, euler_factor : float
        ``2 alpha/beta^2``, the best step ``alpha/beta^2`` and its factor ``sqrt(1-alpha^2/beta^2)``
        (NaN when not certified).
    rk4_step : float
        ``2.5 / beta`` (NaN when not certified).
    timescale_band : tuple or None
        Two players: the ratios ``w_1/w_0`` with positive margin ``(r_-, r_+)``.
    euclidean_margin : float
        ``lambda_min(sym J_F)``: the classical margin, for comparison.
    region : Region
    block_sizes : tuple of int
    source : str
        How the constants were obtained.
    status, success, message, nit, time, backend, history, fun
        As in every numopt result: status 0 certified, -4 not certified, 99 stopped by the
        callback; ``nit`` weight-search iterations; ``history`` the margin along the weight search;
        ``fun = -margin``.
    """

    certified: bool
    rigorous: bool
    reason: str
    geometry: str
    mu: np.ndarray
    coupling: np.ndarray
    comparison_matrix: np.ndarray
    m_matrix: bool
    small_gain_ratio: float
    weights: np.ndarray
    margin: float
    best_margin: float
    beta: float
    euler_step_max: float
    euler_step: float
    euler_factor: float
    rk4_step: float
    timescale_band: tuple
    euclidean_margin: float
    region: Region
    block_sizes: tuple
    source: str
    status: int
    success: bool
    message: str
    nit: int
    time: float
    backend: str
    history: dict = field(repr=False)
    fun: float = np.nan

    @property
    def x(self):
        """The block weights (what the weight search iterates on), as ``x`` of a result."""
        return self.weights

    def __contains__(self, key):
        return key in {f.name for f in fields(self)} or key == "x"

    def __getitem__(self, key):
        if key not in self:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def keys(self):
        return [f.name for f in fields(self)]

    def euler_factor_at(self, step):
        """Return the certified per-step factor ``sqrt(1 - 2 h alpha + h^2 beta^2)`` of Euler.

        Parameters
        ----------
        step : float
            The Euler step ``h``.

        Returns
        -------
        float
            ``NaN`` when not certified; ``>= 1`` (no contraction certified) outside
            ``(0, euler_step_max)``.
        """
        if not self.certified:
            return np.nan
        return float(np.sqrt(max(0.0, 1 - 2 * step * self.margin + step ** 2 * self.beta ** 2)))

    def __str__(self):
        verdict = "CERTIFIED" if self.certified else "NOT CERTIFIED"
        rigour = ("rigorous: the bounds hold on the whole region" if self.rigorous else
                  "NOT rigorous: constants are sampled estimates, not bounds between samples")
        lines = [
            f"Small-Gain Nash certificate ({self.geometry} geometry): {verdict}",
            f"  {self.reason}",
            f"  {rigour} [{self.source}]",
            f"  players N = {len(self.mu)}, block sizes {self.block_sizes}",
            f"  mu = {np.array2string(self.mu, precision=5)}",
            f"  K nonsingular M-matrix: {self.m_matrix} (small-gain ratio "
            f"{self.small_gain_ratio:.5g})",
            f"  weights w = {np.array2string(self.weights, precision=5)}",
            f"  margin alpha* = {self.margin:.6g} (best over weights {self.best_margin:.6g}); "
            f"Euclidean margin {self.euclidean_margin:.6g}",
            f"  beta = {self.beta:.6g}",
        ]
        if self.certified:
            lines += [f"  Euler: contracts for h < {self.euler_step_max:.6g}; best h = "
                      f"{self.euler_step:.6g} with factor {self.euler_factor:.6g}",
                      f"  RK4 step <= {self.rk4_step:.6g}"]
        if self.timescale_band is not None:
            lines.append(f"  timescale band w1/w0 in ({self.timescale_band[0]:.6g}, "
                         f"{self.timescale_band[1]:.6g})")
        lines.append(f"  status {self.status}: {self.message} (nit = {self.nit}, "
                     f"{self.time * 1e3:.2f} ms)")
        return "\n".join(lines)


def _as_region(region, game):
    if region is None:
        return Region.whole(game.dim)
    if isinstance(region, Region):
        candidate = region
    elif isinstance(region, tuple) and len(region) == 2:
        candidate = Region(*region)
    else:
        raise TypeError(f"`region` must be None, a Region or a (low, high) pair; got "
                        f"{type(region).__name__}.")
    if candidate.dim != game.dim:
        raise ValueError(f"`region` must have dimension {game.dim} (the game's); got "
                         f"{candidate.dim}.")
    return candidate


def _small_gain_ratio(mu, coupling):
    if np.any(mu <= 0):
        return np.inf
    return float(np.abs(np.linalg.eigvals(coupling / mu[:, None])).max())


def _reason(certified, m_matrix, ratio, margin, best, mu):
    if certified:
        return (f"K is a nonsingular M-matrix (small-gain ratio {ratio:.4g} < 1); margin "
                f"alpha* = {margin:.6g} > 0 in the block-weighted metric.")
    if np.any(mu <= 0):
        worst = int(np.argmin(mu))
        return (f"player {worst} has no positive curvature on the region (mu = {mu[worst]:.4g}), "
                f"so no block weights certify. This does not prove that gradient play diverges.")
    if not m_matrix:
        return (f"small-gain condition fails: rho(diag(mu)^-1 L) = {ratio:.4g} >= 1, so K is not "
                f"a nonsingular M-matrix and no block weights certify. This does not prove that "
                f"gradient play diverges.")
    return (f"the weights reached margin {margin:.4g} but the best possible is {best:.4g}; "
            f"increase weight_maxiter.")


def certify_nash(game, region=None, *, weights="optimize", geometry="euclidean", n_samples=256,
                 weight_maxiter=100, tol=1e-12, seed=0, callback=None, verbose=0,
                 **unknown_options):
    """Certify that gradient play contracts to the Nash equilibrium of ``game`` on ``region``.

    Computes the Small-Gain Nash certificate: block curvatures and couplings, the comparison
    M-matrix, block weights maximising the contraction margin, the Lipschitz constant in the
    weighted metric and the step sizes for which Euler and RK4 gradient play contract.

    Parameters
    ----------
    game : Game
        The game (see :class:`numopt.games.Game`, :func:`numopt.games.quadratic_game`,
        :class:`numopt.games.TabularMarkovGame`).
    region : Region or (low, high) or None
        A box of joint strategies that contains the equilibrium and the trajectories to be
        certified. None means the whole space, allowed only when the Jacobian is constant.
    weights : "optimize" or array_like, shape (N,)
        "optimize" (default) maximises the margin over the block weights; an array is used as is.
    geometry : {"euclidean", "fisher"}
        "fisher" measures each block in its Fisher (mirror) metric, for softmax policies of a
        :class:`numopt.games.TabularMarkovGame`; gradient play is then natural policy gradient.

    Returns
    -------
    Certificate
        See :class:`Certificate`; ``status`` 0 certified, -4 not certified.

    Other Parameters
    ----------------
    n_samples : int
        For a non-quadratic game on a bounded region: without ``jacobian_lipschitz``, the number
        of vertices sampled (all ``2^dim`` when there are at most this many) and the certificate
        is an estimate (``rigorous=False``); with it, the number of grid cells whose centre values
        are widened by ``jacobian_lipschitz`` times the half cell diagonal (rigorous).
    weight_maxiter : int
        Iteration limit of the log-weight ascent that polishes the Perron start.
    tol : float
        The ascent stops when the margin is within ``tol`` (relative) of its supremum.
    seed : int
        Seed of the random vertex sample.
    callback : callable, optional
        Called after each weight-search iteration with an ``OptimizeResult`` (``x`` = the
        weights, ``margin``), or legacy ``callback(weights)``; ``StopIteration`` stops the search
        (status 99; the certificate then uses the weights reached).
    verbose : int
        0 silent, 1 the summary, 2 also the weight-search table.
    **unknown_options
        Unknown options are ignored with an ``OptimizeWarning`` naming them.

    Raises
    ------
    TypeError
        ``game`` is not a :class:`Game`, or ``region`` has the wrong type.
    ValueError
        Mismatched dimensions, unbounded region for a non-quadratic game, non-finite Jacobian
        on the region, bad weights.

    See Also
    --------
    gradient_play : Runs gradient play at the certified step.

    Notes
    -----
    With ``mu_i = inf lambda_min(sym J_ii)``, ``L_ij = sup ||J_ij||`` and
    ``S(w)_ij = -(L_ij sqrt(w_i/w_j) + L_ji sqrt(w_j/w_i))/2``, ``S_ii = mu_i``, the margin is
    ``alpha(w) = lambda_min(S(w))``; ``alpha > 0`` makes ``F`` strongly monotone in
    ``M(w) = diag(w_i I)``. Its supremum over ``w`` is the smallest real eigenvalue of the
    comparison matrix ``K = diag(mu) - L``, attained at ``w_i = q_i / p_i`` (Perron vectors), so a
    certificate exists iff ``K`` is a nonsingular M-matrix, i.e. iff the small-gain ratio
    ``rho(diag(mu)^{-1} L) < 1`` (two players: ``L_12 L_21 < mu_1 mu_2``). Euler contracts for
    ``h < 2 alpha / beta^2`` with factor ``sqrt(1 - 2 h alpha + h^2 beta^2)``; RK4 is stable for
    ``h <= 2.5 / beta``.

    References
    ----------
    .. [1] V. Sharma, "Small-Gain Nash: Certified Contraction to Nash Equilibria in
       Differentiable Games", arXiv:2512.06791, 2025.

    Examples
    --------
    >>> from numopt import certify_nash
    >>> from numopt.games import quadratic_game
    >>> game = quadratic_game([[1.0, 10.0], [0.05, 1.0]], [1, 1])
    >>> cert = certify_nash(game)
    >>> cert.certified, round(cert.margin, 5), round(cert.euclidean_margin, 3)
    (True, 0.29289, -4.025)
    >>> [round(r, 2) for r in cert.timescale_band]
    [34.31, 1165.69]
    """
    start = time.perf_counter()
    warn_unknown_options(_SOLVER, unknown_options)
    if not isinstance(game, Game):
        raise TypeError(f"`game` must be a numopt.games.Game; got {type(game).__name__}.")
    geometry = check_choice(geometry, "geometry", _SOLVER, ("euclidean", "fisher"))
    n_samples = check_int(n_samples, "n_samples", _SOLVER, low=1)
    weight_maxiter = check_int(weight_maxiter, "weight_maxiter", _SOLVER, low=0)
    tol = check_scalar(tol, "tol", _SOLVER, low=0, low_inclusive=True)
    region = _as_region(region, game)
    normaliser = None
    if geometry == "fisher":
        normaliser = getattr(game, "fisher_normaliser", None)
        if normaliser is None:
            raise ValueError("geometry='fisher' needs a game with a Fisher metric (a "
                             "TabularMarkovGame); got " + type(game).__name__ + ".")
    constants = _bounds.region_constants(game, region, n_samples=n_samples,
                                         rng=check_seed(seed, "certify_nash"),
                                         normaliser=normaliser)
    mu, coupling = constants.mu, constants.coupling
    n = game.n_players

    monitor = IterationMonitor(_SOLVER, [Column("margin")], callback=callback,
                               verbose=verbose - 1 if verbose else 0)

    def record(nit, log_weights, margin):
        return monitor.record(nit, x=np.exp(log_weights - log_weights[0]), margin=margin)

    stopped = False
    if isinstance(weights, str):
        check_choice(weights, "weights", _SOLVER, ("optimize",))
        # Start from the Perron weights (optimal when K is irreducible) unless the uniform ones
        # are better, which only happens when the Perron vectors are numerically degenerate.
        start_weights = max((sgn_weights.perron_weights(mu, coupling), np.ones(n)),
                            key=lambda w: sgn_weights.sgn_margin(mu, coupling, w))
        log_weights, nit, stopped = sgn_weights.maximise_margin(
            mu, coupling, np.log(start_weights), maxiter=weight_maxiter, tol=tol, record=record)
        block_weights = np.exp(log_weights - log_weights[0])
    else:
        block_weights = check_array(weights, "weights", shape=(n,))
        if np.any(block_weights <= 0):
            raise ValueError(f"`weights` must be positive; found min(weights) = "
                             f"{block_weights.min():g}.")
        block_weights = block_weights / block_weights[0]
        if not (np.all(block_weights > 0) and np.all(np.isfinite(block_weights))):
            raise ValueError(f"`weights` must have ratios weights[i] / weights[0] in float64's "
                             f"range; got {np.asarray(weights, dtype=float).tolist()}.")
        nit = 0
        stopped = record(0, np.log(block_weights), sgn_weights.sgn_margin(mu, coupling,
                                                                          block_weights))

    # The reported margin is always evaluated at the returned weights (never the theory value).
    margin = sgn_weights.sgn_margin(mu, coupling, block_weights)
    best = sgn_weights.best_margin(mu, coupling)
    ratio = _small_gain_ratio(mu, coupling)
    m_matrix = bool(best > 0)
    certified = bool(margin > 0)
    beta = _bounds.weighted_lipschitz(constants, block_weights)
    if certified:
        euler_step_max, euler_step = 2 * margin / beta ** 2, margin / beta ** 2
        euler_factor = float(np.sqrt(max(0.0, 1 - (margin / beta) ** 2)))
        rk4_step = RK4_CONSTANT / beta
    else:
        euler_step_max = euler_step = euler_factor = rk4_step = np.nan
    band = sgn_weights.timescale_band(mu, coupling) if n == 2 else None
    status = Status.CALLBACK if stopped else (Status.CONVERGED if certified
                                             else Status.NOT_CERTIFIED)
    reason = _reason(certified, m_matrix, ratio, margin, best, mu)
    message = ("Certified: gradient play contracts in the block-weighted metric."
               if status == Status.CONVERGED else status.message + " " + reason)
    certificate = Certificate(
        certified=certified, rigorous=constants.rigorous, reason=reason, geometry=geometry,
        mu=mu, coupling=coupling, comparison_matrix=sgn_weights.comparison_matrix(mu, coupling),
        m_matrix=m_matrix, small_gain_ratio=ratio, weights=block_weights, margin=margin,
        best_margin=best, beta=beta, euler_step_max=euler_step_max, euler_step=euler_step,
        euler_factor=euler_factor, rk4_step=rk4_step, timescale_band=band,
        euclidean_margin=constants.euclidean_margin, region=region,
        block_sizes=game.block_sizes, source=constants.source, status=int(status),
        success=status == Status.CONVERGED, message=message, nit=nit,
        time=time.perf_counter() - start, backend=_backend_name(game), history=monitor.history(),
        fun=-margin)
    if verbose:
        print(certificate)
    return certificate


def _backend_name(game):
    # The block algebra runs in the namespace of the game's Jacobian (NumPy, or CuPy on a GPU).
    matrix = getattr(game, "matrix", None)
    return "cupy" if matrix is not None and type(matrix).__module__.startswith("cupy") else "numpy"
