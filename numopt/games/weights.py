"""Small-gain algebra on the N x N block constants: SGN matrix, margin, optimal weights, band.

With block curvatures ``mu_i`` and couplings ``L_ij`` (Sharma, arXiv:2512.06791), weights ``w > 0``
give the
SGN matrix ``S(w)_ii = mu_i``, ``S(w)_ij = -(L_ij sqrt(w_i/w_j) + L_ji sqrt(w_j/w_i)) / 2`` and
the margin ``alpha(w) = lambda_min(S(w))``. With the comparison matrix ``K = diag(mu) - L``,
``alpha(w) >= a`` iff ``W (K - a I) + (K - a I)^T W`` is positive semidefinite, so (``K`` being a
Z-matrix) the best margin over all weights is the smallest real eigenvalue ``tau(K)`` and, when
``K`` is irreducible, it is attained at ``w_i = q_i / p_i`` from the right and left Perron vectors
``K p = tau p``, ``K^T q = tau q``.
"""

import numpy as np

from numopt.games import _verified

__all__ = ["sgn_matrix", "sgn_margin", "sgn_margin_bound", "comparison_matrix", "best_margin",
           "perron_weights", "proves_not_m_matrix", "ascend", "maximise_margin",
           "timescale_band"]


def comparison_matrix(mu, coupling):
    """``K = diag(mu) - L``: a Z-matrix; certifiable iff it is a nonsingular M-matrix."""
    return np.diag(mu) - coupling


def sgn_matrix(mu, coupling, weights):
    """The symmetric SGN matrix ``S(w)`` whose smallest eigenvalue is the margin."""
    scale = np.sqrt(np.asarray(weights, dtype=float))
    ratio = scale[:, None] / scale[None, :]
    matrix = -0.5 * (coupling * ratio + coupling.T * ratio.T)
    np.fill_diagonal(matrix, mu)
    return matrix


def sgn_margin(mu, coupling, weights):
    """``alpha(w) = lambda_min(S(w))``: the strong-monotonicity modulus certified in ``M(w)``.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.games.weights import sgn_margin
    >>> L = np.array([[0.0, 10.0], [0.05, 0.0]])
    >>> round(sgn_margin(np.ones(2), L, [1.0, 200.0]), 6)
    0.292893
    """
    return float(np.linalg.eigvalsh(sgn_matrix(mu, coupling, weights))[0])


def best_margin(mu, coupling):
    """``tau(K)``: the smallest real eigenvalue of ``K``, the supremum of ``alpha(w)``."""
    return float(np.linalg.eigvals(comparison_matrix(mu, coupling)).real.min())


def perron_weights(mu, coupling, regularisation=1e-9):
    """Weights ``w_i = q_i / p_i`` from the Perron vectors of ``K`` (normalised to ``w_0 = 1``).

    A reducible ``K`` (the coupling graph is not strongly connected) has Perron vectors with zero
    entries and its best margin is a supremum that no finite weight attains; only then a coupling
    of ``regularisation * scale`` between every pair is added to make ``K`` irreducible. The
    margin of the returned weights on the TRUE constants is at least ``tau`` of the perturbed
    ``K``, because ``alpha(w)`` only grows when couplings shrink.
    """
    from scipy.linalg import eig

    n = len(mu)
    if n == 1:
        return np.ones(1)
    from scipy.sparse.csgraph import connected_components

    perturbed = coupling
    n_components, _ = connected_components(coupling > 0, directed=True, connection="strong")
    if n_components > 1:
        scale = max(np.abs(mu).max(), np.abs(coupling).max(), np.finfo(float).tiny)
        perturbed = coupling + regularisation * scale * (1.0 - np.eye(n))
    values, left, right = eig(comparison_matrix(mu, perturbed), left=True, right=True)
    index = int(np.argmin(values.real))
    # The Perron vectors of an irreducible Z-matrix are positive up to a common sign.
    right_vector = np.abs(right[:, index].real)
    left_vector = np.abs(left[:, index].real)
    tiny = np.finfo(float).tiny
    log_weights = np.log(np.maximum(left_vector, tiny)) - np.log(np.maximum(right_vector, tiny))
    # Nearly decoupled players give ratios of underflowing entries: keep ratios within e^+-30.
    return np.exp(np.clip(log_weights - log_weights[0], -30.0, 30.0))


def _margin_and_gradient(log_weights, mu, coupling):
    """``alpha(exp(u))`` and its gradient in ``u`` (where the smallest eigenvalue is simple).

    With ``E_ij = L_ij exp((u_i - u_j)/2)`` and the unit eigenvector ``v``,
    ``d alpha / d u_k = -v_k ((E v)_k - (E^T v)_k) / 2``.
    """
    values, vectors = np.linalg.eigh(sgn_matrix(mu, coupling, np.exp(log_weights)))
    vector = vectors[:, 0]
    half = np.exp(log_weights / 2)
    scaled = coupling * half[:, None] / half[None, :]
    gradient = -0.5 * vector * (scaled @ vector - scaled.T @ vector)
    return float(values[0]), gradient


def sgn_margin_bound(mu, coupling, weights):
    """A verified lower bound of ``alpha(w) = lambda_min(S(w))`` for the exact ``S(w)``.

    ``S(w)`` is formed in floating point with at most five roundings per off-diagonal entry (two
    square roots, a quotient, a product, a sum; the diagonal is exact), so the exact matrix is
    within ``gamma_6 ||S||_F`` of it in the 2-norm; the smallest eigenvalue of the float matrix is
    bounded from below by the Cholesky test of :mod:`numopt.games._verified`.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.games.weights import sgn_margin_bound
    >>> L = np.array([[0.0, 10.0], [0.05, 0.0]])
    >>> bound = sgn_margin_bound(np.ones(2), L, [1.0, 200.0])
    >>> bool(1 - np.sqrt(0.5) - 1e-13 < bound <= 1 - np.sqrt(0.5))
    True
    """
    return float(_verified.symmetric_lower(sgn_matrix(mu, coupling, weights), roundings=5))


def proves_not_m_matrix(mu, coupling):
    """True when ``K = diag(mu) - L`` is proven not to be a nonsingular M-matrix.

    A nonsingular M-matrix has ``K^-1 >= 0``, so a non-negative ``p != 0`` with ``K p <= 0``
    rules it out (it would give ``p = K^-1 K p <= 0``). The candidate is the eigenvector of the
    smallest real eigenvalue of ``K`` (its Perron vector), and ``(L p)_i >= mu_i p_i`` is checked
    with both sides rounded outward; equivalently ``rho(diag(mu)^-1 L) >= 1`` when ``mu > 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.games.weights import proves_not_m_matrix
    >>> bool(proves_not_m_matrix(np.ones(2), np.array([[0.0, 2.0], [2.0, 0.0]])))
    True
    >>> bool(proves_not_m_matrix(np.ones(2), np.array([[0.0, 0.5], [0.5, 0.0]])))
    False
    """
    mu, coupling = np.asarray(mu, dtype=float), np.asarray(coupling, dtype=float)
    if np.any(mu <= 0):
        return True                      # K e_i <= 0 for a non-positive diagonal entry
    values, vectors = np.linalg.eig(comparison_matrix(mu, coupling))
    vector = np.abs(vectors[:, int(np.argmin(values.real))].real)
    vector[vector < 1e-12 * vector.max()] = 0.0
    support = vector > 0
    n = len(mu)
    # (L p)_i is a sum of n non-negative products: it errs by at most gamma_n relative.
    pushed = (coupling @ vector) * (1 - _verified.gamma(n))
    pulled = mu * vector * (1 + _verified.gamma(1))
    return bool(np.all(pushed[support] >= pulled[support]))


def ascend(margin_and_gradient, log_weights0, *, target=np.inf, maxiter=100, tol=1e-12,
           ftol=0.0, record=None):
    """Maximise a margin ``u -> alpha(exp(u))`` over log-weights by L-BFGS-B from ``u_0``.

    ``u_0`` is held at its start value (margins are invariant to scaling all weights) and every
    ``u`` is kept within 40 of the start (weight ratios below ``e^80``). The best point seen is
    returned, so the result is never worse than the start.

    Parameters
    ----------
    margin_and_gradient : callable
        ``u -> (alpha, d alpha / d u)``.
    log_weights0 : ndarray, shape (N,)
        Start.
    target : float
        A known supremum (or upper bound): stop once the margin is within ``tol`` (relative).
    ftol : float
        Stop when an iteration gains less than ``ftol`` (relative); 0 runs to ``target``.
    maxiter : int
        Iteration limit of the ascent.
    tol : float
        Relative tolerance on ``target``.
    record : callable, optional
        ``record(nit, log_weights, margin) -> stop``; a true return ends the ascent.

    Returns
    -------
    log_weights : ndarray
        The best point found.
    nit : int
        Ascent iterations done.
    stopped : bool
        True when ``record`` asked to stop.
    """
    from scipy.optimize import minimize

    best = {"u": np.array(log_weights0, dtype=float), "margin": -np.inf}
    state = {"nit": 0, "stopped": False}

    def keep(u, margin):
        if margin > best["margin"]:
            best["u"], best["margin"] = np.array(u), margin

    def reached():
        return best["margin"] >= target - tol * max(1.0, abs(target))

    margin0, _ = margin_and_gradient(best["u"])
    keep(best["u"], margin0)
    if record is not None and record(0, best["u"], margin0):
        return best["u"], 0, True
    if len(best["u"]) == 1 or reached() or maxiter == 0:
        return best["u"], 0, False

    def negative(u):
        margin, gradient = margin_and_gradient(u)
        keep(u, margin)
        return -margin, -gradient

    class _Stop(Exception):
        pass

    def on_iteration(intermediate_result):
        state["nit"] += 1
        if record is not None and record(state["nit"], best["u"], best["margin"]):
            state["stopped"] = True
            raise _Stop
        if reached():
            raise _Stop

    start = best["u"]
    bounds = [(start[0], start[0])] + [(u - 40.0, u + 40.0) for u in start[1:]]
    try:
        minimize(negative, start, jac=True, method="L-BFGS-B", bounds=bounds,
                 callback=on_iteration, options={"maxiter": maxiter, "ftol": ftol, "gtol": 1e-14})
    except _Stop:
        pass
    return best["u"], state["nit"], state["stopped"]


def maximise_margin(mu, coupling, log_weights0, *, maxiter=100, tol=1e-12, record=None):
    """Maximise the concave function ``u -> lambda_min(S(exp(u)))`` from ``log_weights0``.

    ``alpha(exp(u)) = min_{v >= 0, |v| = 1} v^T S v`` (S is a Z-matrix) is a minimum of concave
    functions of ``u``, hence concave: :func:`ascend` finds its maximum, whose value is known
    (``tau(K)``, :func:`best_margin`) and stops the ascent once reached within ``tol``.

    Parameters and returns are those of :func:`ascend`.
    """
    return ascend(lambda u: _margin_and_gradient(u, mu, coupling), log_weights0,
                  target=best_margin(mu, coupling), maxiter=maxiter, tol=tol, record=record)


def timescale_band(mu, coupling, margin=0.0):
    """The interval of ratios ``r = w_2 / w_1`` whose two-player margin is at least ``margin``.

    With ``P = (mu_1 - a)(mu_2 - a)`` the band is
    ``r_+- = (2P - L_12 L_21 +- 2 sqrt(P (P - L_12 L_21))) / L_21^2`` (Sharma, arXiv:2512.06791),
    non-empty iff
    ``a < min(mu)`` and ``P > L_12 L_21``; a zero coupling makes one end 0 or infinite.

    Parameters
    ----------
    mu : array_like, shape (2,)
        Block curvatures.
    coupling : array_like, shape (2, 2)
        Couplings (diagonal ignored).
    margin : float
        Required margin ``a``.

    Returns
    -------
    tuple of float or None
        ``(r_minus, r_plus)``, or None when no ratio reaches ``margin``.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.games.weights import timescale_band
    >>> band = timescale_band([1.0, 1.0], np.array([[0.0, 10.0], [0.05, 0.0]]))
    >>> [round(r, 2) for r in band]
    [34.31, 1165.69]
    """
    mu = np.asarray(mu, dtype=float)
    if mu.shape != (2,):
        raise ValueError(f"The timescale band is defined for two players; got {mu.size}.")
    l12, l21 = float(coupling[0, 1]), float(coupling[1, 0])
    product = (mu[0] - margin) * (mu[1] - margin)
    if margin >= mu.min() or product <= l12 * l21:
        return None
    centre = 2 * product - l12 * l21
    spread = 2 * np.sqrt(product * (product - l12 * l21))
    # r_- = L12^2 / (centre + spread) (as r_- r_+ = (L12/L21)^2) stays finite when L21 -> 0.
    with np.errstate(over="ignore", divide="ignore"):        # L21 -> 0 sends r_+ to infinity
        return (float(l12 ** 2 / (centre + spread)), float(np.float64(centre + spread) / l21 ** 2))
