"""Contraction certificates of gradient play: Small-Gain Nash (SGN) and strong monotonicity.

After V. Sharma, "Small-Gain Nash: Certified Contraction to Nash Equilibria in Differentiable
Games", arXiv:2512.06791 (2025): the certificate, its step sizes and the Fisher geometry.
Every margin is a verified lower bound and every Lipschitz constant a verified upper bound in
floating point (:mod:`numopt.games._verified`); the best of the available certificates is returned.
"""

import textwrap
import time
from dataclasses import dataclass

import numpy as np

from numopt._core.iteration import Column, IterationMonitor
from numopt._core.result import OptimizeResult, Status
from numopt._core.validation import (
    array_namespace,
    check_array,
    check_choice,
    check_int,
    check_scalar,
    check_seed,
)
from numopt._core.warnings import warn_unknown_options
from numopt.games import _bounds
from numopt.games import weights as sgn_weights
from numopt.games._verified import round_down, round_up
from numopt.games.game import Game, Region, game_backend

__all__ = ["certify_nash", "Certificate", "KINDS"]

_SOLVER = "certify_nash"

# RK4's stability region contains the closed right half-disc of radius ~2.6156; 2.5 is just inside
# (the step-size rule of Sharma, arXiv:2512.06791).
RK4_CONSTANT = 2.5

# The certificates, in the order that breaks ties (within floating-point error) between margins.
KINDS = ("small-gain", "monotone", "weighted-monotone")
_DESCRIPTIONS = {
    "small-gain": "small-gain certificate (block norms, block-weighted metric)",
    "monotone": "strong monotonicity in the unweighted metric",
    "weighted-monotone": "strong monotonicity in the block-weighted metric",
}
# The block-weighted weight search evaluates dense eigenvalues: only up to this dimension, and
# (its supremum being unknown) only while an iteration gains more than WEIGHTED_FTOL.
SEARCH_LIMIT = 256
WEIGHTED_FTOL = 1e-6
# Fingerprints: fixed probe points and Jacobian sketch vector, and the agreement required.
_PROBE_SEED = 2512_06791
_FINGERPRINT_RTOL = 1e-12


class Certificate(OptimizeResult):
    """A contraction certificate of gradient play (or the honest statement that none was found).

    When ``certified``, ``<F(x) - F(y), M(w)(x - y)> >= margin ||x - y||_M^2`` on ``region`` with
    ``M(w) = diag(w_i I_{d_i})``: gradient flow contracts at rate ``margin`` and projected Euler
    with step ``h < euler_step_max`` contracts by ``sqrt(1 - 2 h margin + h^2 beta^2)`` per step.
    A read-only :class:`numopt.OptimizeResult`: keys are also attributes; it prints a few lines.

    Attributes
    ----------
    certified : bool
        ``margin > 0``: the margin exceeds its floating-point error bound.
    kind : str
        Which certificate this is: "small-gain" (SGN, from block norms), "monotone" (plain
        strong monotonicity, unweighted: Euclidean in the Euclidean geometry) or
        "weighted-monotone" (strong monotonicity of the whole Jacobian in ``M(w)``).
    candidates : dict
        The certified margin of every kind computed, by kind.
    rigorous : bool
        True only when the constants are bounds on the whole region (affine game, Lipschitz
        widening or user bounds); False for sampled estimates (the same floating-point test is
        applied to them).
    reason : str
        Why the game is (not) certified, in words.
    geometry : str
        ``"euclidean"`` or ``"fisher"``.
    margin : float
        The certified contraction rate: a verified lower bound of the modulus of the chosen kind
        at ``weights`` (may be <= 0).
    margin_error : float
        The floating-point error bound subtracted from the computed modulus to get ``margin``.
    weights : ndarray, shape (N,)
        Block weights ``w`` (``w_0 = 1``; all 1 for "monotone").
    beta : float
        A verified Lipschitz constant of ``F`` in the ``M(w)`` norm on the region.
    euler_step_max, euler_step, euler_factor : float
        ``2 alpha/beta^2``, the step ``alpha/beta^2`` and its factor ``sqrt(1-alpha^2/beta^2)``,
        rounded to the safe side (NaN when not certified).
    rk4_step : float
        ``2.5 / beta`` (NaN when not certified).
    mu : ndarray, shape (N,)
        Lower bounds of the block curvatures ``inf lambda_min(sym grad^2_{x_i x_i} f_i)``.
    coupling : ndarray, shape (N, N)
        Upper bounds of the couplings ``L_ij = sup ||grad^2_{x_i x_j} f_i||_2`` (zero diagonal).
    comparison_matrix : ndarray, shape (N, N)
        ``K = diag(mu) - L``.
    m_matrix : bool or None
        True: ``K`` is proven a nonsingular M-matrix (some block weights certify); False: proven
        not to be one, from inner bounds of the constants (no block weights certify); None:
        within rounding of the boundary, undecided.
    small_gain_ratio : float
        ``rho(diag(mu)^{-1} L)`` (below 1 iff ``K`` is a nonsingular M-matrix, when ``mu > 0``).
    best_margin : float
        ``tau(K)``, the supremum of the small-gain margin over all weights (computed value).
    timescale_band : tuple or None
        Two players: the ratios ``w_1/w_0`` with positive small-gain margin ``(r_-, r_+)``.
    euclidean_margin : float
        ``lambda_min(sym J_F)`` (a verified lower bound up to dimension 2048, else a Lanczos
        estimate): the classical margin.
    region : Region
    block_sizes : tuple of int
    source : str
        How the constants were obtained.
    fingerprint : dict
        Probe points and the game's pseudo-gradient and Jacobian sketch there (see
        :meth:`check_game`).
    status, success, message, nit, time, backend, history, fun, x
        As in every numopt result: status 0 certified, -4 not certified, 99 stopped by the
        callback; ``nit`` weight-search iterations; ``history`` the margin along the weight
        searches; ``fun = -margin``; ``x`` the weights.
    """

    def __setattr__(self, name, value):
        raise AttributeError(f"A Certificate is read-only; cannot set {name!r}.")

    def __delattr__(self, name):
        raise AttributeError(f"A Certificate is read-only; cannot delete {name!r}.")

    def _read_only(self, *args, **kwargs):
        """Refused: a certificate is read-only (raises TypeError)."""
        raise TypeError("A Certificate is read-only.")

    __setitem__ = __delitem__ = __ior__ = _read_only
    update = pop = popitem = clear = setdefault = _read_only

    def __reduce__(self):
        # dict's default reduction refills the mapping item by item, which is refused here.
        return (type(self), (), None, None, None) if not self else (_rebuild, (dict(self),))

    def euler_factor_at(self, step):
        """Return the certified per-step factor ``sqrt(1 - 2 h alpha + h^2 beta^2)`` of Euler.

        Parameters
        ----------
        step : float
            The Euler step ``h``.

        Returns
        -------
        float
            Rounded up; ``NaN`` when not certified; ``>= 1`` (no contraction certified) outside
            ``(0, euler_step_max)``.

        Examples
        --------
        >>> from numopt import certify_nash
        >>> from numopt.problems.games_zoo import scalar_game
        >>> cert = certify_nash(scalar_game())
        >>> round(cert.euler_factor_at(cert.euler_step), 6)
        0.985171
        """
        if not self.certified:
            return np.nan
        linear, quadratic = 2 * step * self.margin, (step * self.beta) ** 2
        square = round_up(1 - linear + quadratic, 1 + abs(linear) + quadratic)
        root = float(np.sqrt(max(square, 0.0)))
        return round_up(root, root)

    def check_game(self, game):
        """Raise ``ValueError`` unless ``game`` matches the certified game's fingerprint.

        The fingerprint holds the block sizes and, at three fixed probe points, the
        pseudo-gradient and the Jacobian times a fixed vector; they must agree to 1e-12 relative.

        Parameters
        ----------
        game : Game

        Examples
        --------
        >>> from numopt import certify_nash
        >>> from numopt.problems.games_zoo import scalar_game
        >>> cert = certify_nash(scalar_game())
        >>> cert.check_game(scalar_game())
        >>> cert.check_game(scalar_game(a=5.0))
        Traceback (most recent call last):
        ...
        ValueError: `certificate` was computed for a different game: its Jacobian differs ...
        """
        if tuple(game.block_sizes) != self.block_sizes:
            raise ValueError(f"`certificate` is for block sizes {self.block_sizes}, the game "
                             f"has {tuple(game.block_sizes)}.")
        values, sketches = _probe(game, self.fingerprint["points"])
        for name, new, old in (("Jacobian", sketches, self.fingerprint["sketches"]),
                               ("pseudo-gradient", values, self.fingerprint["values"])):
            difference = _mismatch(new, old)
            if difference is not None:
                raise ValueError(f"`certificate` was computed for a different game: its {name} "
                                 f"differs at the fingerprint's probe points (largest difference "
                                 f"{difference:.3g}). Certify this game with certify_nash(game, "
                                 f"region).")

    def __repr__(self):
        verdict = "CERTIFIED" if self.certified else "NOT CERTIFIED"
        rigour = ("rigorous: the bounds hold on the whole region" if self.rigorous else
                  "NOT rigorous: constants are sampled estimates, not bounds between samples")
        weights = np.array2string(np.asarray(self.weights), precision=4, threshold=6,
                                  edgeitems=3, max_line_width=90)
        chosen = "by" if self.certified else "(largest margin:"
        lines = [f"Certificate: {verdict} {chosen} {self.kind}{'' if self.certified else ')'} "
                 f"({self.geometry} geometry)",
                 f"  {rigour}",
                 f"  margin alpha = {self.margin:.6g} (error bound {self.margin_error:.2g} "
                 f"subtracted), beta = {self.beta:.6g}",
                 f"  weights w = {weights}"]
        if self.certified:
            lines.append(f"  Euler: contracts for h < {self.euler_step_max:.6g}; best h = "
                         f"{self.euler_step:.6g} with factor {self.euler_factor:.6g}; RK4 step "
                         f"<= {self.rk4_step:.6g}")
        lines.append(f"  K nonsingular M-matrix: {self.m_matrix} (small-gain ratio "
                     f"{self.small_gain_ratio:.5g}); Euclidean margin {self.euclidean_margin:.6g}")
        if self.timescale_band is not None:
            lines.append(f"  timescale band w1/w0 in ({self.timescale_band[0]:.6g}, "
                         f"{self.timescale_band[1]:.6g})")
        lines += textwrap.wrap(f"status {self.status}: {self.reason}", 96,
                               initial_indent="  ", subsequent_indent="    ")
        return "\n".join(lines)

    __str__ = __repr__


def _rebuild(fields):
    return Certificate(**fields)


@dataclass
class _Candidate:
    kind: str
    weights: np.ndarray
    margin: float              # verified lower bound
    estimate: float            # floating-point value

    @property
    def error(self):
        return max(0.0, self.estimate - self.margin)


# ----------------------------------------------------------------------------- fingerprint
def _probe_points(region):
    """Three fixed points: the centre and two interior points of the bounded coordinates."""
    rng = np.random.default_rng(_PROBE_SEED)
    fractions, normal = rng.uniform(0.2, 0.8, (2, region.dim)), rng.standard_normal((2, region.dim))
    bounded = np.isfinite(region.low) & np.isfinite(region.high)
    low, high = np.where(bounded, region.low, 0.0), np.where(bounded, region.high, 0.0)
    inside = np.where(bounded, low + (high - low) * fractions, normal)
    return np.vstack([(low + high) / 2, inside])


def _probe(game, points):
    """The pseudo-gradient and ``J(x) r`` (a fixed random ``r``) at ``points``, on the host."""
    sketch = np.random.default_rng(_PROBE_SEED + 1).standard_normal(game.dim)
    values, sketches = [], []
    for point in points:
        jacobian = game.jacobian(point)
        xp = array_namespace(jacobian)
        values.append(_bounds._to_host(game.pseudo_gradient(xp.asarray(point))))
        sketches.append(_bounds._to_host(jacobian @ xp.asarray(sketch)))
    return np.array(values), np.array(sketches)


def _mismatch(new, old):
    """None when the arrays agree (same non-finite pattern, 1e-12 relative), else the gap."""
    if new.shape != old.shape:
        return np.inf
    finite = np.isfinite(new)
    if np.any(finite != np.isfinite(old)) or np.any(new[~finite] != old[~finite]):
        return np.inf
    new, old = new[finite], old[finite]
    gap = float(np.abs(new - old).max(initial=0.0))
    scale = float(max(np.abs(new).max(initial=0.0), np.abs(old).max(initial=0.0)))
    return None if gap <= _FINGERPRINT_RTOL * scale else gap


# ----------------------------------------------------------------------------- candidates
def _small_gain_weights(mu, coupling, *, maxiter, tol, record):
    """Optimal small-gain weights: the Perron start (or ones, if better) polished by ascent."""
    start = max((sgn_weights.perron_weights(mu, coupling), np.ones(len(mu))),
                key=lambda w: sgn_weights.sgn_margin(mu, coupling, w))
    log_weights, nit, stopped = sgn_weights.maximise_margin(
        mu, coupling, np.log(start), maxiter=maxiter, tol=tol, record=record)
    return np.exp(log_weights - log_weights[0]), nit, stopped


def _weighted_monotone_weights(constants, start, *, maxiter, tol, record):
    """Polish ``start`` for the whole-Jacobian margin (a local ascent: it is not concave)."""
    if len(start) == 1 or constants.jacobians.shape[-1] > SEARCH_LIMIT:
        return start, 0, False
    log_weights, nit, stopped = sgn_weights.ascend(
        lambda u: _bounds.weighted_margin_and_gradient(constants, u), np.log(start),
        target=_bounds.eigenvalue_ceiling(constants), maxiter=maxiter, tol=tol,
        ftol=WEIGHTED_FTOL, record=record)
    return np.exp(log_weights - log_weights[0]), nit, stopped


def _candidates(constants, kinds, sg_weights, wm_weights):
    """The certified margin (verified) and computed margin of each requested kind."""
    mu, coupling = constants.mu, constants.coupling
    found = []
    if "small-gain" in kinds:
        found.append(_Candidate("small-gain", sg_weights,
                                sgn_weights.sgn_margin_bound(mu, coupling, sg_weights),
                                sgn_weights.sgn_margin(mu, coupling, sg_weights)))
    if "monotone" in kinds and np.isfinite(constants.monotone_margin):
        found.append(_Candidate("monotone", np.ones(len(mu)), constants.monotone_margin,
                                constants.monotone_estimate))
    if "weighted-monotone" in kinds and wm_weights is not None:
        found.append(_Candidate("weighted-monotone", wm_weights,
                                *_bounds.weighted_margin(constants, wm_weights)))
    return found


def _best(candidates):
    """The largest certified margin; a later kind must win by more than both error bounds."""
    best = candidates[0]
    for candidate in candidates[1:]:
        if candidate.margin > best.margin + best.error + candidate.error:
            best = candidate
    return best


def _m_matrix(constants, optimal_bound):
    """True / False / None: ``K`` proven a nonsingular M-matrix / proven not / undecided."""
    if optimal_bound > 0:
        return True
    inner = _bounds.inner_constants(constants)
    if inner is None:
        return None
    # The exact K lies entrywise below K_hi = diag(mu_upper) - coupling_lower (same Z pattern):
    # if K_hi is not a nonsingular M-matrix, neither is K.
    return False if sgn_weights.proves_not_m_matrix(*inner) else None


def _small_gain_ratio(mu, coupling):
    if np.any(mu <= 0):
        return np.inf
    return float(np.abs(np.linalg.eigvals(coupling / mu[:, None])).max())


# ----------------------------------------------------------------------------- reasons
def _small_gain_verdict(m_matrix, ratio, best, mu, margin, user_weights):
    """The small-gain diagnosis in words (``margin``: the small-gain margin at its weights)."""
    if m_matrix and margin > 0:
        return (f"The small-gain certificate gives margin {margin:.4g} (K is a nonsingular "
                f"M-matrix, small-gain ratio {ratio:.4g} < 1).")
    if m_matrix and np.isnan(margin):
        return (f"K is a nonsingular M-matrix (small-gain ratio {ratio:.4g} < 1): "
                f"kind='small-gain' certifies (best margin {best:.4g}).")
    if m_matrix:
        fix = "pass weights='optimize'" if user_weights else "the weight search was stopped"
        return (f"K is a nonsingular M-matrix (small-gain ratio {ratio:.4g} < 1), so other block "
                f"weights certify (best small-gain margin {best:.4g}); {fix}.")
    if np.any(mu <= 0):
        worst = int(np.argmin(mu))
        if m_matrix is None:
            return (f"Player {worst}'s curvature is within rounding of 0 (lower bound "
                    f"{mu[worst]:.3g}), so the small-gain test is undecided.")
        return (f"Player {worst} has no positive curvature on the region (mu = {mu[worst]:.4g}), "
                f"so no block weights give a small-gain certificate.")
    if m_matrix is None:
        return (f"The small-gain ratio rho(diag(mu)^-1 L) = {ratio:.17g} is within rounding of "
                f"1: K is singular to working precision, so neither a small-gain certificate nor "
                f"its impossibility can be proven.")
    return (f"The small-gain condition fails: rho(diag(mu)^-1 L) = {ratio:.4g} >= 1, so K is not "
            f"a nonsingular M-matrix and no block weights certify.")


def _reason(chosen, candidates, small_gain_verdict):
    if chosen.margin > 0:
        text = (f"{_DESCRIPTIONS[chosen.kind].capitalize()}: margin {chosen.margin:.6g} > 0 "
                f"after subtracting its floating-point error bound {chosen.error:.2g}.")
        return text if chosen.kind == "small-gain" else text + " " + small_gain_verdict
    parts = [small_gain_verdict]
    parts += [f"{_DESCRIPTIONS[c.kind].capitalize()}: margin {c.estimate:.4g} <= 0."
              for c in candidates if c.kind != "small-gain" and c.estimate <= -c.error]
    near = [c for c in candidates if c.estimate > -c.error]
    if near:
        parts.append(f"The game is within rounding of the certification boundary: the computed "
                     f"{near[0].kind} margin {near[0].estimate:.3g} does not exceed its "
                     f"floating-point error bound {near[0].error:.2g}.")
    parts.append("This does not prove that gradient play diverges.")
    return " ".join(parts)


# ----------------------------------------------------------------------------- entry point
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


def _steps(margin, beta):
    """``(euler_step_max, euler_step, rk4_step)`` rounded down (NaN when not certified)."""
    if margin <= 0:
        return np.nan, np.nan, np.nan
    step = margin / beta ** 2
    return round_down(2 * step, 2 * step), round_down(step, step), \
        round_down(RK4_CONSTANT / beta, RK4_CONSTANT / beta)


def _user_weights(weights, n):
    block_weights = check_array(weights, "weights", shape=(n,))
    if np.any(block_weights <= 0):
        raise ValueError(f"`weights` must be positive; found min(weights) = "
                         f"{block_weights.min():g}.")
    block_weights = block_weights / block_weights[0]
    if not (np.all(block_weights > 0) and np.all(np.isfinite(block_weights))):
        raise ValueError(f"`weights` must have ratios weights[i] / weights[0] in float64's "
                         f"range; got {np.asarray(weights, dtype=float).tolist()}.")
    return block_weights


def _search_weights(constants, weights, kinds, options, record):
    """``(optimal small-gain weights, small-gain weights, weighted weights, nit, stopped)``."""
    mu, coupling = constants.mu, constants.coupling
    if not isinstance(weights, str):
        given = _user_weights(weights, len(mu))
        stopped = record(0, np.log(given), sgn_weights.sgn_margin(mu, coupling, given))
        optimal, _, _ = _small_gain_weights(mu, coupling, record=None, **options)
        return optimal, given, given if constants.jacobians is not None else None, 0, stopped
    check_choice(weights, "weights", _SOLVER, ("optimize",))
    optimal, nit, stopped = _small_gain_weights(mu, coupling, record=record, **options)
    weighted = None
    if "weighted-monotone" in kinds and constants.jacobians is not None and not stopped:
        weighted, more, stopped = _weighted_monotone_weights(
            constants, optimal, record=lambda k, u, m: k > 0 and record(nit + k, u, m),
            **options)
        nit += more
    return optimal, optimal, weighted, nit, stopped


def certify_nash(game, region=None, *, kind="best", weights="optimize", geometry="euclidean",
                 n_samples=256, weight_maxiter=100, tol=1e-12, seed=0, backend="auto",
                 callback=None, verbose=0, **unknown_options):
    """Certify that gradient play contracts to the Nash equilibrium of ``game`` on ``region``.

    Computes the Small-Gain Nash certificate (block curvatures and couplings, the comparison
    M-matrix, block weights maximising the contraction margin) and the plain strong-monotonicity
    certificates (Euclidean, and block-weighted with the weights the search finds), and returns
    the one with the largest certified margin, with the Lipschitz constant in its metric and the
    step sizes for which Euler and RK4 gradient play contract. Margins are verified lower bounds
    in floating point: a game within rounding of the boundary is not certified.

    Parameters
    ----------
    game : Game
        The game (see :class:`numopt.games.Game`, :func:`numopt.games.quadratic_game`,
        :class:`numopt.games.TabularMarkovGame`).
    region : Region or (low, high) or None
        A box of joint strategies that contains the equilibrium and the trajectories to be
        certified. None means the whole space, allowed only when the Jacobian is constant.
    kind : {"best", "small-gain", "monotone", "weighted-monotone"}
        "best" (default) computes every certificate and returns the largest certified margin;
        a kind computes only that one (e.g. "small-gain" reproduces the SGN paper).
    weights : "optimize" or array_like, shape (N,)
        "optimize" (default) maximises the margins over the block weights; an array is used as is
        by the small-gain and block-weighted certificates.
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
        Iteration limit of each log-weight ascent (small-gain, then block-weighted).
    tol : float
        An ascent stops when the margin is within ``tol`` (relative) of its supremum.
    seed : int
        Seed of the random vertex sample.
    backend : {"auto", "numpy", "numba", "cupy"}
        Where the game's arrays live (``"auto"`` follows the game); ``"cupy"`` needs a game built
        from CuPy arrays. The verified arithmetic of the certificate always runs on the host, and
        there are no compiled kernels, so ``"numba"`` runs (and reports) ``"numpy"``.
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
        on the region, bad weights, a whole-Jacobian ``kind`` above dimension 2048.

    See Also
    --------
    gradient_play : Runs gradient play at the certified step.

    Notes
    -----
    With ``mu_i = inf lambda_min(sym J_ii)``, ``L_ij = sup ||J_ij||`` and
    ``S(w)_ij = -(L_ij sqrt(w_i/w_j) + L_ji sqrt(w_j/w_i))/2``, ``S_ii = mu_i``, the small-gain
    margin is ``alpha(w) = lambda_min(S(w))``; ``alpha > 0`` makes ``F`` strongly monotone in
    ``M(w) = diag(w_i I)``. Its supremum over ``w`` is the smallest real eigenvalue of the
    comparison matrix ``K = diag(mu) - L``, attained at ``w_i = q_i / p_i`` (Perron vectors), so a
    small-gain certificate exists iff ``K`` is a nonsingular M-matrix, i.e. iff the small-gain
    ratio ``rho(diag(mu)^{-1} L) < 1`` (two players: ``L_12 L_21 < mu_1 mu_2``). The whole-Jacobian
    modulus ``inf lambda_min(sym(M^1/2 J M^-1/2))`` is never smaller than ``alpha(w)`` and, with
    ``w = 1``, is the classical (Rosen) Euclidean margin, which certifies games such as N-firm
    Cournot oligopolies that the small-gain test cannot. Euler contracts for
    ``h < 2 alpha / beta^2`` with factor ``sqrt(1 - 2 h alpha + h^2 beta^2)``; RK4 is stable for
    ``h <= 2.5 / beta``.

    Floating point: each block constant is rounded outward and each margin is a lower bound
    proven by Rump's floating-point Cholesky test of the shifted symmetric matrix, minus a bound
    of the rounding in forming it; ``beta`` is an upper bound proven the same way. The margin is
    therefore below the computed one by ``margin_error`` (about ``n^2`` units of roundoff times
    the scale), and ``certified`` means it is still positive.

    References
    ----------
    .. [1] V. Sharma, "Small-Gain Nash: Certified Contraction to Nash Equilibria in
       Differentiable Games", arXiv:2512.06791, 2025.
    .. [2] S. M. Rump, "Verification of positive definiteness", BIT 46 (2006) 433-452.
    .. [3] J. B. Rosen, "Existence and uniqueness of equilibrium points for concave n-person
       games", Econometrica 33 (1965) 520-534.

    Examples
    --------
    >>> from numopt import certify_nash
    >>> from numopt.games import quadratic_game
    >>> game = quadratic_game([[1.0, 10.0], [0.05, 1.0]], [1, 1])
    >>> cert = certify_nash(game)
    >>> cert.certified, cert.kind, round(cert.margin, 5), round(cert.euclidean_margin, 3)
    (True, 'small-gain', 0.29289, -4.025)
    >>> [round(r, 2) for r in cert.timescale_band]
    [34.31, 1165.69]
    """
    start = time.perf_counter()
    warn_unknown_options(_SOLVER, unknown_options)
    if not isinstance(game, Game):
        raise TypeError(f"`game` must be a numopt.games.Game; got {type(game).__name__}.")
    kind = check_choice(kind, "kind", _SOLVER, ("best", *KINDS))
    geometry = check_choice(geometry, "geometry", _SOLVER, ("euclidean", "fisher"))
    n_samples = check_int(n_samples, "n_samples", _SOLVER, low=1)
    options = {"maxiter": check_int(weight_maxiter, "weight_maxiter", _SOLVER, low=0),
               "tol": check_scalar(tol, "tol", _SOLVER, low=0, low_inclusive=True)}
    chosen = game_backend(backend, game, _SOLVER)
    region = _as_region(region, game)
    normaliser = None
    if geometry == "fisher":
        normaliser = getattr(game, "fisher_normaliser", None)
        if normaliser is None:
            raise ValueError("geometry='fisher' needs a game with a Fisher metric (a "
                             "TabularMarkovGame); got " + type(game).__name__ + ".")
    constants = _bounds.region_constants(game, region, n_samples=n_samples,
                                         rng=check_seed(seed, _SOLVER), normaliser=normaliser)
    kinds = KINDS if kind == "best" else (kind,)
    monitor = IterationMonitor(_SOLVER, [Column("margin")], callback=callback,
                               verbose=verbose - 1 if verbose else 0)

    def record(nit, log_weights, margin):
        return monitor.record(nit, x=np.exp(log_weights - log_weights[0]), margin=margin)

    optimal, *searched, nit, stopped = _search_weights(constants, weights, kinds, options, record)
    candidates = _candidates(constants, kinds, *searched)
    if not candidates:
        raise ValueError(f"kind={kind!r} needs the whole Jacobian, which is not kept above "
                         f"dimension {_bounds.DENSE_LIMIT}; got dimension {game.dim}. Use "
                         f"kind='small-gain'.")
    certificate = _assemble(
        game, region, constants, candidates, optimal, geometry=geometry, nit=nit,
        stopped=stopped, user_weights=not isinstance(weights, str), history=monitor.history(),
        elapsed=time.perf_counter() - start, backend=chosen.name)
    if verbose:
        print(certificate)
    return certificate


def _assemble(game, region, constants, candidates, optimal, *, geometry, nit, stopped,
              user_weights, history, elapsed, backend):
    """The :class:`Certificate` of the best candidate, with the small-gain diagnostics."""
    mu, coupling = constants.mu, constants.coupling
    chosen = _best(candidates)
    m_matrix = _m_matrix(constants, sgn_weights.sgn_margin_bound(mu, coupling, optimal))
    ratio, best = _small_gain_ratio(mu, coupling), sgn_weights.best_margin(mu, coupling)
    beta = _bounds.weighted_lipschitz(constants, chosen.weights)
    certified = bool(chosen.margin > 0)
    euler_step_max, euler_step, rk4_step = _steps(chosen.margin, beta)
    status = Status.CALLBACK if stopped else (Status.CONVERGED if certified
                                             else Status.NOT_CERTIFIED)
    small_gain_margin = candidates[0].margin if candidates[0].kind == "small-gain" else np.nan
    reason = _reason(chosen, candidates, _small_gain_verdict(m_matrix, ratio, best, mu,
                                                             small_gain_margin, user_weights))
    metric = "unweighted" if chosen.kind == "monotone" else "block-weighted"
    message = (f"Certified ({chosen.kind}): gradient play contracts in the {metric} metric."
               if status == Status.CONVERGED else status.message + " " + reason)
    points = _probe_points(region)
    values, sketches = _probe(game, points)
    fields = dict(
        certified=certified, kind=chosen.kind, rigorous=constants.rigorous, reason=reason,
        geometry=geometry, margin=float(chosen.margin), margin_error=float(chosen.error),
        candidates={c.kind: float(c.margin) for c in candidates}, weights=chosen.weights,
        x=chosen.weights, beta=beta, euler_step_max=euler_step_max, euler_step=euler_step,
        euler_factor=np.nan, rk4_step=rk4_step, mu=mu, coupling=coupling,
        comparison_matrix=sgn_weights.comparison_matrix(mu, coupling), m_matrix=m_matrix,
        small_gain_ratio=ratio, best_margin=best,
        timescale_band=sgn_weights.timescale_band(mu, coupling) if len(mu) == 2 else None,
        euclidean_margin=float(constants.euclidean_margin), region=region,
        block_sizes=game.block_sizes, source=constants.source,
        fingerprint={"points": points, "values": values, "sketches": sketches},
        status=int(status), success=status == Status.CONVERGED, message=message, nit=nit,
        time=elapsed, backend=backend, history=history, fun=-float(chosen.margin))
    if certified:
        fields["euler_factor"] = Certificate(**fields).euler_factor_at(euler_step)
    return Certificate(**fields)
