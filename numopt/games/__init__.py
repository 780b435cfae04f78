"""Small-Gain Nash: certificates and certified gradient play for N-player differentiable games.

``certify_nash(game, region)`` returns a :class:`Certificate` (block weights, contraction margin,
safe Euler/RK4 steps, the two-player timescale band); ``gradient_play(game, x0)`` runs (projected)
Euler or RK4 gradient play at the certified step. Games are described by :class:`Game`
(pseudo-gradient, block sizes, feasible sets), :func:`quadratic_game`,
:func:`linear_quadratic_game` and :class:`TabularMarkovGame` (entropy-regularised softmax policies,
Fisher geometry).
"""

from numopt.games.certify import Certificate, certify_nash
from numopt.games.game import Box, Game, Region, Simplex, linear_quadratic_game, quadratic_game
from numopt.games.markov import TabularMarkovGame
from numopt.games.play import gradient_play

__all__ = ["certify_nash", "gradient_play", "Certificate", "Game", "Box", "Simplex", "Region",
           "quadratic_game", "linear_quadratic_game", "TabularMarkovGame"]
