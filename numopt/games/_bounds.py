"""Block constants of a game on a region: curvature mu_i, couplings L_ij, block norms, beta.

For one Jacobian ``J`` (Euclidean) or its Fisher-normalised form
``J_hat_ij = G_i^{+1/2} J_ij G_j^{+1/2}`` (mirror geometry, spec B6) the constants are
``mu_i = lambda_min(sym J_ii)``, ``L_ij = ||J_ij||_2`` and ``||J_ii||_2``. Over a region they are
the min/max over the Jacobians there: exactly one for an affine game (rigorous), sampled vertices
for others (an estimate), or a grid of cell centres widened by a Lipschitz constant of ``J`` times
the half cell diagonal (rigorous).
"""

from dataclasses import dataclass

import numpy as np

from numopt._core.validation import all_finite, array_namespace

# Above this dimension the exact Lipschitz constant (a dense SVD) and the Euclidean margin (a dense
# eigendecomposition) cost seconds; beta is then bounded by the N x N block-norm matrix and the
# Euclidean margin computed by Lanczos.
DENSE_LIMIT = 2048


@dataclass
class BlockConstants:
    mu: np.ndarray             # (N,) block curvatures (inf over the region)
    coupling: np.ndarray       # (N, N) coupling bounds, zero diagonal (sup over the region)
    diag_norm: np.ndarray      # (N,) sup ||J_ii||_2, for the block bound on beta
    euclidean_margin: float    # inf lambda_min(sym J) over the region (Euclidean geometry)
    jacobians: list            # (normalised) Jacobians used for beta; empty -> block bound
    sizes: tuple               # block sizes of the (normalised) Jacobians
    rigorous: bool
    source: str                # how the constants were obtained, for the summary


def _to_host(value):
    xp = array_namespace(value)
    return xp.asnumpy(value) if xp is not np else np.asarray(value)


def block_constants(jacobian, sizes):
    """``(mu, coupling, diag_norm)`` of one Jacobian with player blocks of ``sizes``."""
    xp = array_namespace(jacobian)
    n = len(sizes)
    if len(set(sizes)) == 1:
        # Equal blocks: one batched SVD over the N x N grid of d x d blocks.
        d = sizes[0]
        grid = jacobian.reshape(n, d, n, d).transpose(0, 2, 1, 3)
        norms = xp.linalg.svd(grid, compute_uv=False)[..., 0]
        diagonal = grid[xp.arange(n), xp.arange(n)]
        mu = xp.linalg.eigvalsh((diagonal + diagonal.transpose(0, 2, 1)) / 2)[:, 0]
        norms, mu = _to_host(norms), _to_host(mu)
    else:
        edges = np.concatenate([[0], np.cumsum(sizes)])
        norms = np.empty((n, n))
        mu = np.empty(n)
        for i in range(n):
            for j in range(n):
                block = jacobian[edges[i]:edges[i + 1], edges[j]:edges[j + 1]]
                norms[i, j] = spectral_norm(block)
            block = jacobian[edges[i]:edges[i + 1], edges[i]:edges[i + 1]]
            mu[i] = float(xp.linalg.eigvalsh((block + block.T) / 2)[0])
    diag_norm = np.diag(norms).copy()
    coupling = norms.copy()
    np.fill_diagonal(coupling, 0.0)
    return mu, coupling, diag_norm


def _extreme_eigenvalue(symmetric, largest):
    """The smallest or largest eigenvalue of a symmetric matrix (LAPACK's subset driver on CPU)."""
    xp = array_namespace(symmetric)
    if xp is not np:
        values = xp.linalg.eigvalsh(symmetric)
        return float(values[-1] if largest else values[0])
    n = symmetric.shape[0]
    if n > DENSE_LIMIT:
        from scipy.sparse.linalg import eigsh

        return float(eigsh(symmetric, k=1, which="LA" if largest else "SA", tol=1e-10,
                           return_eigenvectors=False)[0])
    from scipy.linalg import LinAlgError, eigh

    index = n - 1 if largest else 0
    try:
        return float(eigh(symmetric, eigvals_only=True, subset_by_index=[index, index],
                          driver="evr")[0])
    except LinAlgError:
        # LAPACK's MRRR (dstemr) can fail on clustered spectra; the full solver does not.
        return float(np.linalg.eigvalsh(symmetric)[index])


def euclidean_margin(jacobian):
    """``lambda_min(sym J)``: the classical (Rosen) strong-monotonicity modulus at one point."""
    return _extreme_eigenvalue((jacobian + jacobian.T) / 2, largest=False)


def spectral_norm(matrix):
    """``||A||_2 = sqrt(lambda_max(A^T A))`` (the largest eigenvalue is accurate to rounding)."""
    return float(np.sqrt(max(_extreme_eigenvalue(matrix.T @ matrix, largest=True), 0.0)))


def weighted_lipschitz(constants, weights):
    """``beta``: a Lipschitz constant of ``F`` in the ``M(w)`` norm over the region.

    The largest singular value of ``M^{1/2} J M^{-1/2}`` over the stored Jacobians, else the
    rigorous bound ``||B(w)||_2`` with ``B_ii = ||J_ii||``, ``B_ij = L_ij sqrt(w_i / w_j)``
    (spec B3).
    """
    if not constants.jacobians:
        scale = np.sqrt(weights)
        block = constants.coupling * scale[:, None] / scale[None, :]
        np.fill_diagonal(block, constants.diag_norm)
        return float(np.linalg.norm(block, 2))
    scale_np = np.repeat(np.sqrt(weights), constants.sizes)
    beta = 0.0
    for jacobian in constants.jacobians:
        xp = array_namespace(jacobian)
        scale = xp.asarray(scale_np)
        beta = max(beta, spectral_norm(scale[:, None] * jacobian / scale[None, :]))
    return beta


def _check_finite(jacobian, where):
    if not all_finite(jacobian):
        raise ValueError(f"The game's Jacobian is not finite at {where}; the certificate needs a "
                         f"finite `jacobian` (or pseudo_gradient) on the whole region.")


def region_constants(game, region, *, n_samples, rng, normaliser=None):
    """The :class:`BlockConstants` of ``game`` on ``region``.

    ``normaliser(x) -> (T, sizes)`` maps ``J`` to ``T J T^T`` (Fisher geometry); None is Euclidean.
    """
    xp_probe = np.zeros(game.dim)
    if game.is_affine and normaliser is None:
        jacobian = game.jacobian(xp_probe)
        _check_finite(jacobian, "the origin")
        mu, coupling, diag_norm = block_constants(jacobian, game.block_sizes)
        exact = game.dim <= DENSE_LIMIT
        return BlockConstants(mu, coupling, diag_norm, euclidean_margin(jacobian),
                              [jacobian] if exact else [], game.block_sizes, True,
                              "exact (affine pseudo-gradient: constant Jacobian)")
    if not region.bounded:
        raise ValueError("`region` must be bounded for a game whose Jacobian is not constant; "
                         "pass Region.cube(center, radius) or (low, high).")
    lipschitz = game.jacobian_lipschitz if normaliser is None else None
    if lipschitz is None:
        points = region.sample_points(n_samples, rng)
        vertices = "all" if len(points) - 1 == 2 ** game.dim else "random"
        spread = 0.0
        source = (f"sampled at {len(points) - 1} ({vertices}) vertices and the centre; NOT a "
                  f"bound between samples")
    else:
        # Rigorous: every x in the box is within half a cell diagonal of a cell centre.
        points, half_diagonal = region.cell_centres(n_samples)
        spread = lipschitz * half_diagonal
        source = (f"{len(points)} cell centres widened by jacobian_lipschitz * half cell "
                  f"diagonal = {spread:.3g}")
        if not game.exact_jacobian:
            source += "; NOT rigorous: the Jacobian is a finite-difference estimate"
    mus, couplings, diag_norms, margins, jacobians = [], [], [], [], []
    sizes = game.block_sizes
    for point in points:
        jacobian = game.jacobian(point)
        _check_finite(jacobian, f"the sample point {point!r}")
        margins.append(euclidean_margin(jacobian))
        if normaliser is not None:
            transform, sizes = normaliser(point)
            jacobian = transform @ jacobian @ transform.T
            _check_finite(jacobian, f"the sample point {point!r} (Fisher-normalised)")
        mu, coupling, diag_norm = block_constants(jacobian, sizes)
        mus.append(mu), couplings.append(coupling), diag_norms.append(diag_norm)
        if lipschitz is None:
            jacobians.append(jacobian)
    offdiag = 1.0 - np.eye(game.n_players)
    # Without a Lipschitz constant beta is the largest sampled value; with one, the block bound.
    return BlockConstants(np.min(mus, axis=0) - spread,
                          np.max(couplings, axis=0) + spread * offdiag,
                          np.max(diag_norms, axis=0) + spread, float(min(margins)) - spread,
                          jacobians, sizes, lipschitz is not None and game.exact_jacobian, source)
