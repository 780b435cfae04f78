"""Games with known answers for the Small-Gain Nash solvers.

The SGN paper's scalar and LQ games, random ensembles, a zero-sum counter-example, a
box-constrained game, N-firm Cournot oligopolies and the two-state Markov coordination game.
Every factory returns a :class:`numopt.games.Game`; the closed forms quoted in the docstrings
are the independent references the tests and benchmarks check against (the test games of Sharma,
arXiv:2512.06791).
"""

import numpy as np

from numopt.games.game import Box, linear_quadratic_game, quadratic_game
from numopt.games.markov import TabularMarkovGame

__all__ = ["scalar_game", "orthogonal_lq_game", "random_lq_game", "random_n_player_game",
           "zero_sum_game", "box_constrained_game", "cournot_game", "markov_coordination_game"]


def scalar_game(mu=(1.0, 1.0), a=10.0, b=0.05):
    """Return the scalar game ``f_i = mu_i x_i^2 / 2 + c_i x_1 x_2`` of the paper (section 5.1).

    ``J = [[mu_1, a], [b, mu_2]]``, equilibrium 0; for ``mu = (1, 1)``: ``alpha* = 1 - sqrt(ab)``,
    ``beta = 1 + sqrt(ab)``, Euclidean margin ``1 - (a + b)/2``.

    Parameters
    ----------
    mu : tuple of float
        Own curvatures ``(mu_1, mu_2)``.
    a, b : float
        Couplings ``c_1 = a`` (player 1) and ``c_2 = b`` (player 2).

    Returns
    -------
    Game

    Examples
    --------
    >>> from numopt.problems.games_zoo import scalar_game
    >>> scalar_game().matrix
    array([[ 1.  , 10.  ],
           [ 0.05,  1.  ]])
    """
    return quadratic_game([[mu[0], a], [b, mu[1]]], [1, 1], name="scalar 2x2 game")


def orthogonal_lq_game(coupling_scale, dim=64, a=10.0, b=0.05, seed=12345):
    """Return the LQ game of the paper's section E-B2: ``H = [[I, lam a R], [lam b R^T, I]]``.

    ``R`` is the orthogonal factor of a Gaussian matrix (``default_rng(seed)``, signs fixed so the
    triangular factor has a positive diagonal). With ``s = lam sqrt(ab)``: ``alpha* = 1 - s``,
    ``beta = 1 + s``, Euclidean margin ``1 - lam (a + b) / 2``, eigenvalues ``1 +- s``.

    Parameters
    ----------
    coupling_scale : float
        ``lam``.
    dim : int
        Total dimension (two players of ``dim // 2``).
    a, b : float
        Coupling strengths of players 1 and 2.
    seed : int
        Seed of the orthogonal matrix.

    Returns
    -------
    Game

    Examples
    --------
    >>> from numopt.problems.games_zoo import orthogonal_lq_game
    >>> orthogonal_lq_game(1.0).block_sizes
    (32, 32)
    """
    half = dim // 2
    gaussian = np.random.default_rng(seed).standard_normal((half, half))
    q, r = np.linalg.qr(gaussian)
    rotation = q * np.sign(np.diag(r))
    lam = float(coupling_scale)
    return linear_quadratic_game([np.eye(half), np.eye(half)],
                                 {(0, 1): lam * a * rotation, (1, 0): lam * b * rotation.T},
                                 name=f"orthogonal LQ game (lambda={lam:g}, d={dim})")


def random_lq_game(coupling_scale, seed, dim=64, a=10.0, b=0.05):
    """Return a game of the random ensemble of E-B2: ``Q_i = R_i^T R_i + I``, coupling norm 1.

    Parameters
    ----------
    coupling_scale : float
        ``lam``: the couplings are ``lam a C`` and ``lam b C^T``.
    seed : int
        Seed of ``R_i`` and ``C``.
    dim : int
        Total dimension (two players of ``dim // 2``).
    a, b : float
        Coupling strengths.

    Returns
    -------
    Game

    Examples
    --------
    >>> from numopt.problems.games_zoo import random_lq_game
    >>> random_lq_game(0.5, seed=0).dim
    64
    """
    rng = np.random.default_rng(seed)
    half = dim // 2
    own = []
    for _ in range(2):
        factor = rng.standard_normal((half, half))
        own.append(factor.T @ factor + np.eye(half))
    coupling = rng.standard_normal((half, half))
    coupling /= np.linalg.norm(coupling, 2)
    lam = float(coupling_scale)
    return linear_quadratic_game(own, {(0, 1): lam * a * coupling, (1, 0): lam * b * coupling.T},
                                 name=f"random LQ game (lambda={lam:g}, seed={seed})")


def random_n_player_game(n_players, block_size, seed, coupling=0.5, asymmetry=10.0):
    """Return N players of size ``d`` with SPD ``Q_i`` (spectrum in ``[1, 2]``), random couplings.

    Coupling ``(i, j)`` has spectral norm ``coupling * asymmetry^(+-1/2) / (N - 1)`` (the sign set
    by a random orientation of each pair), so the small-gain ratio stays near ``coupling`` while
    the Euclidean margin degrades with ``asymmetry``.

    Parameters
    ----------
    n_players, block_size : int
        ``N`` and ``d``.
    seed : int
        Random seed.
    coupling : float
        Overall coupling strength.
    asymmetry : float
        Ratio of the two directions' coupling norms in each pair.

    Returns
    -------
    Game

    Examples
    --------
    >>> from numopt.problems.games_zoo import random_n_player_game
    >>> random_n_player_game(3, 2, seed=0).block_sizes
    (2, 2, 2)
    """
    rng = np.random.default_rng(seed)
    d = block_size
    own = []
    for _ in range(n_players):
        basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
        own.append(basis @ np.diag(rng.uniform(1.0, 2.0, d)) @ basis.T)
    couplings = {}
    scale = coupling / max(n_players - 1, 1)
    for i in range(n_players):
        for j in range(i + 1, n_players):
            strong, weak = (i, j) if rng.random() < 0.5 else (j, i)
            for (p, q), size in (((strong, weak), np.sqrt(asymmetry)),
                                 ((weak, strong), 1 / np.sqrt(asymmetry))):
                block = rng.standard_normal((d, d))
                couplings[(p, q)] = scale * size * block / np.linalg.norm(block, 2)
    return linear_quadratic_game(own, couplings,
                                 name=f"random {n_players}-player game (d={d}, seed={seed})")


def zero_sum_game(mu=1.0, coupling=2.0, dim=2):
    """Return ``F(x) = [[mu I, A], [-A^T, mu I]] x`` with ``||A|| = coupling`` (zero-sum, curved).

    Strongly monotone with Euclidean margin ``mu``, yet ``L_12 L_21 = coupling^2``: not
    SGN-certifiable once ``coupling > mu``.

    Parameters
    ----------
    mu : float
        Own curvature.
    coupling : float
        ``||A||``.
    dim : int
        Block size of each player.

    Returns
    -------
    Game

    Examples
    --------
    >>> from numopt.problems.games_zoo import zero_sum_game
    >>> zero_sum_game(1.0, 2.0, dim=1).matrix
    array([[ 1.,  2.],
           [-2.,  1.]])
    """
    block = coupling * np.eye(dim)
    return linear_quadratic_game([mu * np.eye(dim), mu * np.eye(dim)],
                                 {(0, 1): block, (1, 0): -block.T}, name="zero-sum-like game")


def box_constrained_game(low=-1.0, high=1.0):
    """Return a scalar game pulled towards ``(2, -2)`` with boxes ``[low, high]`` per player.

    ``F(x) = J x - J (2, -2)`` with ``J = [[1, 0.5], [0.2, 1]]``: the unconstrained equilibrium
    ``(2, -2)`` lies outside the boxes, so the constrained one is on the boundary .

    Parameters
    ----------
    low, high : float
        Bounds of both players' boxes.

    Returns
    -------
    Game

    Examples
    --------
    >>> from numopt.problems.games_zoo import box_constrained_game
    >>> box_constrained_game().project([3.0, -5.0])
    array([ 1., -1.])
    """
    matrix = np.array([[1.0, 0.5], [0.2, 1.0]])
    return quadratic_game(matrix, [1, 1], offset=-matrix @ np.array([2.0, -2.0]),
                          feasible_sets=[Box(low, high), Box(low, high)],
                          name="box-constrained game")


def cournot_game(n_firms, intercept=100.0, slope=1.0, marginal_costs=None,
                 cost_curvatures=None):
    """Return the N-firm Cournot oligopoly with linear inverse demand and quadratic costs.

    Firm ``i`` chooses its output ``q_i >= 0``, sells at the price ``P = a - b Q``
    (``Q = sum_j q_j``) and pays ``c_i q_i + d_i q_i^2 / 2``; its cost in the game is minus its
    profit, ``f_i(q) = -q_i (a - b Q) + c_i q_i + d_i q_i^2 / 2``. The pseudo-gradient is
    ``F_i = b (Q + q_i) + d_i q_i + c_i - a``, with the symmetric Jacobian
    ``J = b (I + 1 1^T) + diag(d)``: strongly monotone with Euclidean margin
    ``lambda_min(J) >= b + min(d)``. The small-gain test sees ``mu_i = 2b + d_i`` against
    ``N - 1`` couplings ``b``, so (for equal ``d``) it certifies only when ``d > (N - 3) b``.

    The equilibrium (interior for the defaults, ``N <= 50``) solves ``(b + d_i) q_i = a - c_i -
    b Q``: with ``S_0 = sum_i 1/(b + d_i)`` and ``S_1 = sum_i (a - c_i)/(b + d_i)``,
    ``Q = S_1 / (1 + b S_0)`` and ``q_i = (a - c_i - b Q) / (b + d_i)``.

    Parameters
    ----------
    n_firms : int
        ``N >= 1``.
    intercept, slope : float
        ``a`` and ``b > 0`` of the inverse demand.
    marginal_costs : array_like, shape (N,), optional
        ``c_i``; default evenly spaced in ``[10, 12]``.
    cost_curvatures : array_like, shape (N,), optional
        ``d_i >= 0``; default evenly spaced in ``[0.5, 1]``.

    Returns
    -------
    Game
        Affine, with feasible sets ``q_i >= 0``.

    Examples
    --------
    >>> from numopt.problems.games_zoo import cournot_game
    >>> cournot_game(2, marginal_costs=[10.0, 10.0], cost_curvatures=[0.0, 0.0]).matrix
    array([[2., 1.],
           [1., 2.]])
    """
    n = int(n_firms)
    costs = np.linspace(10.0, 12.0, n) if marginal_costs is None else marginal_costs
    curvatures = np.linspace(0.5, 1.0, n) if cost_curvatures is None else cost_curvatures
    costs = np.broadcast_to(np.asarray(costs, dtype=float), (n,))
    curvatures = np.broadcast_to(np.asarray(curvatures, dtype=float), (n,))
    matrix = slope * (np.eye(n) + np.ones((n, n))) + np.diag(curvatures)
    return quadratic_game(matrix, [1] * n, offset=costs - intercept,
                          feasible_sets=[Box(0.0, np.inf)] * n,
                          name=f"{n}-firm Cournot oligopoly")


def markov_coordination_game(discount=0.9, entropy=1.0):
    """Return the two-player, two-state, two-action coordination game of the SGN Markov experiment.

    Both players get +1 when their actions match and -1 otherwise; matching on 0 (1) moves to
    state 0 (1) with probability 0.9, a mismatch moves uniformly; the start state is 0. The
    uniform policies (``theta = 0``) are the equilibrium.

    Parameters
    ----------
    discount : float
        ``gamma``.
    entropy : float
        Entropy weight ``tau``.

    Returns
    -------
    TabularMarkovGame

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.problems.games_zoo import markov_coordination_game
    >>> game = markov_coordination_game()
    >>> bool(np.abs(game.pseudo_gradient(np.zeros(8))).max() < 1e-12)
    True
    """
    match = np.array([[1.0, -1.0], [-1.0, 1.0]])
    rewards = np.stack([np.stack([match, match])] * 2)
    row = np.empty((2, 2, 2))
    row[0, 0], row[1, 1] = [0.9, 0.1], [0.1, 0.9]
    row[0, 1] = row[1, 0] = [0.5, 0.5]
    transitions = np.stack([row, row])
    return TabularMarkovGame(rewards, transitions, discount=discount, entropy=entropy,
                             initial=[1.0, 0.0], name="2-state Markov coordination game")
