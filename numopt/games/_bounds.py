"""Block constants of a game on a region as verified bounds: mu_i, L_ij, norms, margins, beta.

For one Jacobian ``J`` (Euclidean) or its Fisher-normalised form
``J_hat_ij = G_i^{+1/2} J_ij G_j^{+1/2}`` (mirror geometry, Sharma, arXiv:2512.06791) the constants
are
``mu_i = lambda_min(sym J_ii)``, ``L_ij = ||J_ij||_2`` and ``||J_ii||_2``. Each is rounded outward
(:mod:`numopt.games._verified`): ``mu_i`` and margins are proven lower bounds, norms proven upper
bounds of the exact values for the float Jacobian. Over a region they are the min/max over the
Jacobians there: exactly one for an affine game (rigorous), sampled vertices for others (an
estimate), or a grid of cell centres widened by a Lipschitz constant of ``J`` times the half cell
diagonal (rigorous).
"""

from dataclasses import dataclass

import numpy as np

from numopt._core.validation import all_finite, array_namespace
from numopt.games import _verified
from numopt.games._verified import gamma, round_down, round_up

# Above this dimension the dense verified tests of the whole Jacobian (Cholesky, SVD) cost
# seconds: beta is then bounded by the N x N block-norm matrix, the Euclidean margin is only
# estimated (Lanczos) and the whole-Jacobian certificates are not offered.
DENSE_LIMIT = 2048
# The Jacobians kept for the whole-Jacobian certificates hold at most this many entries.
STORE_LIMIT = 2 ** 24
# Roundings per entry of fl(M^1/2 J M^-1/2): two square roots, a product and a quotient.
SCALING_ROUNDINGS = 4


@dataclass
class BlockConstants:
    mu: np.ndarray             # (N,) lower bounds of the block curvatures (inf over the region)
    coupling: np.ndarray       # (N, N) upper bounds of the couplings (sup), zero diagonal
    diag_norm: np.ndarray      # (N,) upper bounds of sup ||J_ii||_2, for the block bound on beta
    euclidean_margin: float    # lower bound of inf lambda_min(sym J) (Euclidean coordinates)
    monotone_margin: float     # the same for the (normalised) Jacobians; NaN above DENSE_LIMIT
    monotone_estimate: float   # its floating-point value (the difference is the error bound)
    jacobians: np.ndarray      # (P, dim, dim) (normalised) Jacobians kept; None -> block bounds
    sizes: tuple               # block sizes of the (normalised) Jacobians
    spread: float              # ||J(x) - J(point)||_2 bound added on the region (0: exact)
    rigorous: bool
    source: str                # how the constants were obtained, for the summary


def _to_host(value):
    xp = array_namespace(value)
    return xp.asnumpy(value) if xp is not np else np.asarray(value, dtype=float)


def _edges(sizes):
    return np.concatenate([[0], np.cumsum(sizes)]).astype(int)


def point_constants(jacobians, sizes):
    """Verified ``(mu, coupling, diag_norm)`` of each Jacobian of a stack ``(P, dim, dim)``.

    Returns arrays of shapes ``(P, N)``, ``(P, N, N)`` (zero diagonal) and ``(P, N)``.
    """
    count, n = len(jacobians), len(sizes)
    if len(set(sizes)) == 1:
        # Equal blocks: one batched call over the P x N x N grid of d x d blocks.
        d = sizes[0]
        grid = jacobians.reshape(count, n, d, n, d).transpose(0, 1, 3, 2, 4)
        norms = _verified.norm_upper(grid)
        mu = _verified.symmetric_lower(grid[:, np.arange(n), np.arange(n)])
    else:
        edges = _edges(sizes)
        norms, mu = np.empty((count, n, n)), np.empty((count, n))
        for i in range(n):
            rows = slice(edges[i], edges[i + 1])
            for j in range(n):
                norms[:, i, j] = _verified.norm_upper(jacobians[:, rows, edges[j]:edges[j + 1]])
            mu[:, i] = _verified.symmetric_lower(jacobians[:, rows, rows])
    diag_norm = np.diagonal(norms, axis1=1, axis2=2).copy()
    coupling = norms * (1.0 - np.eye(n))
    return mu, coupling, diag_norm


def _margins(jacobians):
    """Verified lower bounds and estimates of ``lambda_min(sym J)`` for a stack of Jacobians;
    above DENSE_LIMIT both are the Lanczos estimate (not verified)."""
    dim = jacobians.shape[-1]
    if dim <= DENSE_LIMIT:
        return _verified.symmetric_enclosure(jacobians)
    from scipy.sparse.linalg import eigsh

    estimates = np.array([eigsh((j + j.T) / 2, k=1, which="SA", tol=1e-10,
                                return_eigenvectors=False)[0] for j in jacobians])
    return estimates, estimates


def scaled_jacobians(jacobians, weights, sizes):
    """``fl(M^1/2 J M^-1/2)`` with ``M = diag(w_i I_{d_i})`` (``SCALING_ROUNDINGS`` per entry)."""
    scale = np.repeat(np.sqrt(np.asarray(weights, dtype=float)), sizes)
    return scale[:, None] * jacobians / scale[None, :]


def _weighted_spread(constants, weights):
    # ||M^1/2 E M^-1/2||_2 <= sqrt(max w / min w) ||E||_2.
    if constants.spread == 0:
        return 0.0
    ratio = np.sqrt(np.max(weights) / np.min(weights)) * (1 + gamma(3))
    return round_up(ratio * constants.spread, ratio * constants.spread)


def weighted_lipschitz(constants, weights):
    """``beta``: a verified Lipschitz constant of ``F`` in the ``M(w)`` norm over the region.

    The smaller of the block bound ``||B(w)||_2`` with ``B_ii = ||J_ii||``,
    ``B_ij = L_ij sqrt(w_i / w_j)`` (Sharma, arXiv:2512.06791) and, when Jacobians are kept, the
    largest
    ``||M^1/2 J M^-1/2||_2`` widened by the region's spread; both rounded up.
    """
    weights = np.asarray(weights, dtype=float)
    scale = np.sqrt(weights)
    block = constants.coupling * (scale[:, None] / scale[None, :])
    np.fill_diagonal(block, constants.diag_norm)
    # B is non-negative: entrywise relative errors gamma_4 raise its norm by at most gamma_4.
    beta = round_up(_verified.norm_upper(block) * (1 + gamma(SCALING_ROUNDINGS)), 0.0)
    if constants.jacobians is not None:
        scaled = scaled_jacobians(constants.jacobians, weights, constants.sizes)
        forming = gamma(SCALING_ROUNDINGS) / (1 - gamma(SCALING_ROUNDINGS))
        dense = np.max(_verified.norm_upper(scaled)
                       + forming * _verified.frobenius_upper(scaled))
        spread = _weighted_spread(constants, weights)
        beta = min(beta, round_up(dense + spread, dense + spread))
    return float(beta)


def weighted_margin(constants, weights):
    """A verified lower bound and the estimate of ``inf lambda_min(sym(M^1/2 J M^-1/2))``.

    The strong-monotonicity modulus of ``F`` in ``M(w)`` from the whole Jacobians (at least the
    small-gain margin, which only sees block norms), minus the region's weighted spread.
    ``(nan, nan)`` when no Jacobians are kept.
    """
    if constants.jacobians is None:
        return np.nan, np.nan
    scaled = scaled_jacobians(constants.jacobians, weights, constants.sizes)
    lower, estimate = _verified.symmetric_enclosure(scaled, roundings=SCALING_ROUNDINGS)
    spread = _weighted_spread(constants, weights)
    lower = float(np.min(lower))
    return round_down(lower - spread, abs(lower) + spread), float(np.min(estimate)) - spread


def weighted_margin_and_gradient(constants, log_weights):
    """The estimate ``min_k lambda_min(sym(M^1/2 J_k M^-1/2))`` at ``w = exp(u)`` and its gradient
    in ``u`` (at the minimising Jacobian, where the eigenvalue is simple).

    With ``A = M^1/2 J M^-1/2`` and the unit eigenvector ``v`` (blocks ``v_k``),
    ``d lambda / d u_k = (v_k . (A v)_k - v_k . (A^T v)_k) / 2``.
    """
    scaled = scaled_jacobians(constants.jacobians, np.exp(log_weights), constants.sizes)
    values, vectors = np.linalg.eigh((scaled + np.swapaxes(scaled, 1, 2)) / 2)
    index = int(np.argmin(values[:, 0]))
    vector, matrix = vectors[index, :, 0], scaled[index]
    products = vector * (matrix @ vector - matrix.T @ vector) / 2
    gradient = np.add.reduceat(products, _edges(constants.sizes)[:-1])
    return float(values[index, 0]), gradient


def eigenvalue_ceiling(constants):
    """``min_k min Re eig(J_k)``: no weights give a margin above it (an estimate)."""
    return float(min(np.linalg.eigvals(j).real.min() for j in constants.jacobians))


def inner_constants(constants):
    """Verified ``(mu_upper, coupling_lower)`` from the kept Jacobians, or None.

    ``inf_x lambda_min(sym J_ii(x))`` is at most a Rayleigh quotient at any kept point and
    ``sup_x ||J_ij(x)||`` at least ``||J_ij v|| / ||v||`` there, so these are bounds of the exact
    region constants from the inside (used to prove that ``K`` is not an M-matrix).
    """
    if constants.jacobians is None:
        return None
    n, edges = len(constants.sizes), _edges(constants.sizes)
    mu_upper, coupling_lower = np.full(n, np.inf), np.zeros((n, n))
    for jacobian in constants.jacobians:
        for i in range(n):
            rows = slice(edges[i], edges[i + 1])
            block = jacobian[rows, rows]
            symmetric = (block + block.T) / 2
            vector = np.linalg.eigh(symmetric)[1][:, 0]
            mu_upper[i] = min(mu_upper[i], _verified.rayleigh_upper(symmetric, vector,
                                                                     relative_error=gamma(1)))
            for j in range(n):
                if j != i:
                    block = jacobian[rows, edges[j]:edges[j + 1]]
                    vector = np.linalg.svd(block)[2][0]
                    coupling_lower[i, j] = max(coupling_lower[i, j],
                                               _verified.norm_lower(block, vector))
    return mu_upper, coupling_lower


def _check_finite(jacobian, where):
    if not all_finite(jacobian):
        raise ValueError(f"The game's Jacobian is not finite at {where}; the certificate needs a "
                         f"finite `jacobian` (or pseudo_gradient) on the whole region.")


def _covering_radius(region, n_samples):
    """Cell centres and a rounded-up radius within which every point of the box has a centre."""
    points, half_diagonal = region.cell_centres(n_samples)
    # The centres are rounded to floats: add their rounding (one ulp-ish per coordinate).
    rounding = 4 * _verified.EPS * np.sqrt(region.dim) * float(
        np.max(np.abs(np.concatenate([region.low, region.high]))))
    return points, round_up(half_diagonal * (1 + gamma(2 * region.dim)) + rounding,
                            half_diagonal + rounding)


def _jacobian_at(game, point, normaliser):
    """The host Jacobian at ``point`` (finite-checked) and the normalised one with its sizes."""
    jacobian = _to_host(game.jacobian(point))
    _check_finite(jacobian, f"the sample point {point!r}")
    if normaliser is None:
        return jacobian, jacobian, game.block_sizes
    transform, sizes = normaliser(point)
    normalised = transform @ jacobian @ transform.T
    _check_finite(normalised, f"the sample point {point!r} (Fisher-normalised)")
    return jacobian, normalised, sizes


def _sample_plan(game, region, n_samples, rng, lipschitz):
    """Points, spread, rigour and a description of how the region is covered."""
    if lipschitz is None:
        points = region.sample_points(n_samples, rng)
        vertices = "all" if len(points) - 1 == 2 ** game.dim else "random"
        return points, 0.0, False, (f"sampled at {len(points) - 1} ({vertices}) vertices and the "
                                    f"centre; NOT a bound between samples")
    # Rigorous: every x in the box is within the covering radius of a cell centre.
    points, radius = _covering_radius(region, n_samples)
    spread = round_up(lipschitz * radius, lipschitz * radius)
    source = (f"{len(points)} cell centres widened by jacobian_lipschitz * half cell "
              f"diagonal = {spread:.3g}")
    if not game.exact_jacobian:
        source += "; NOT rigorous: the Jacobian is a finite-difference estimate"
    return points, spread, game.exact_jacobian, source


def region_constants(game, region, *, n_samples, rng, normaliser=None):
    """The :class:`BlockConstants` of ``game`` on ``region``.

    ``normaliser(x) -> (T, sizes)`` maps ``J`` to ``T J T^T`` (Fisher geometry); None is Euclidean.
    """
    if game.is_affine and normaliser is None:
        jacobian = _to_host(game.jacobian(np.zeros(game.dim)))
        _check_finite(jacobian, "the origin")
        stack = jacobian[None]
        mu, coupling, diag_norm = (value[0] for value in point_constants(stack, game.block_sizes))
        dense = game.dim <= DENSE_LIMIT
        margin, estimate = (float(value[0]) for value in _margins(stack))
        return BlockConstants(mu, coupling, diag_norm, margin, margin if dense else np.nan,
                              estimate if dense else np.nan, stack if dense else None,
                              game.block_sizes, 0.0, True,
                              "exact (affine pseudo-gradient: constant Jacobian)")
    if not region.bounded:
        raise ValueError("`region` must be bounded for a game whose Jacobian is not constant; "
                         "pass Region.cube(center, radius) or (low, high).")
    lipschitz = game.jacobian_lipschitz if normaliser is None else None
    points, spread, rigorous, source = _sample_plan(game, region, n_samples, rng, lipschitz)
    raw, normalised, sizes = zip(*(_jacobian_at(game, p, normaliser) for p in points),
                                 strict=True)
    sizes = sizes[0]
    raw, normalised = np.stack(raw), np.stack(normalised)
    mus, couplings, diag_norms = point_constants(normalised, sizes)
    raw_margins = _margins(raw)
    euclidean = float(np.min(raw_margins[0]))
    dense = normalised.shape[-1] <= DENSE_LIMIT
    monotone, estimate = np.nan, np.nan
    if dense:
        lower, estimates = raw_margins if normaliser is None else _margins(normalised)
        monotone, estimate = float(np.min(lower)), float(np.min(estimates)) - spread
    keep = dense and normalised.size <= STORE_LIMIT
    return BlockConstants(
        _widen(np.min(mus, axis=0), -spread), _widen(np.max(couplings, axis=0), spread, True),
        _widen(np.max(diag_norms, axis=0), spread), _widen(euclidean, -spread),
        _widen(monotone, -spread), estimate, normalised if keep else None, sizes, spread,
        rigorous, source)


def _widen(values, spread, zero_diagonal=False):
    """``values + spread`` rounded away from ``values`` (``spread`` of either sign; 0 keeps them);
    with ``zero_diagonal`` the diagonal of a square array stays 0 (couplings)."""
    if spread == 0:
        return values
    rounding = round_down if spread < 0 else round_up
    widened = rounding(np.asarray(values) + spread, np.abs(values) + abs(spread))
    if zero_diagonal:
        np.fill_diagonal(widened, 0.0)
    return widened
