"""Registry examples of certify_nash and gradient_play: small games with closed-form answers."""

import numpy as np

from numopt._core.registry import Example
from numopt._examples import games_baselines as _baselines
from numopt.games.certify import certify_nash
from numopt.games.game import Game, Region, quadratic_game
from numopt.games.play import gradient_play
from numopt.problems.games_zoo import orthogonal_lq_game, scalar_game

__all__ = ["make_certify_example", "make_gradient_play_example"]


def make_certify_example():
    """The scalar 2x2 game of the SGN paper: alpha* = 1 - sqrt(0.5), beta = 1 + sqrt(0.5)."""
    game = scalar_game()
    closed_form = np.array([1 - np.sqrt(0.5), 1 + np.sqrt(0.5)])

    def accuracy(certificate):
        return float(np.abs(np.array([certificate.margin, certificate.beta]) - closed_form).max())

    def solve_peer():
        # The reference code's search: a 161-point grid of weight ratios r = w2/w1.
        ratios = np.geomspace(0.1, 1e4, 161)
        margins = [1 - 0.5 * (10 / np.sqrt(r) + 0.05 * np.sqrt(r)) for r in ratios]
        best = ratios[int(np.argmax(margins))]
        beta = np.linalg.norm(np.diag([1, np.sqrt(best)]) @ game.matrix
                              @ np.diag([1, 1 / np.sqrt(best)]), 2)
        return len(ratios), float(np.abs(np.array([max(margins), beta]) - closed_form).max())

    nan_game = Game(lambda x: np.full(2, np.nan), [1, 1])
    return Example(
        problem="scalar 2x2 game (SGN paper 5.1)",
        solve=lambda callback=None, **options: certify_nash(game, callback=callback, **options),
        accuracy=accuracy, accuracy_label="|(alpha, beta) - closed form|", tolerance=1e-10,
        peer="161-ratio grid (reference code)", solve_peer=solve_peer,
        bad_inputs={
            "not a Game": lambda: certify_nash(game.matrix),
            "region of the wrong dimension": lambda: certify_nash(game, Region.cube(np.zeros(3),
                                                                                    1.0)),
            "block sizes that do not match H": lambda: quadratic_game(game.matrix, [1, 2]),
            "non-finite Jacobian": lambda: certify_nash(nan_game, Region.cube(np.zeros(2), 1.0)),
            "unknown geometry": lambda: certify_nash(game, geometry="riemann"),
            "non-positive weights": lambda: certify_nash(game, weights=[1.0, -2.0]),
        })


def make_gradient_play_example():
    """Certified Euler gradient play on the 64-dimensional LQ game (lambda = 1) with an offset."""
    base = orthogonal_lq_game(1.0)
    offset = np.random.default_rng(0).standard_normal(base.dim)
    game = quadratic_game(base.matrix, base.block_sizes, offset=offset, name="LQ game + offset")
    equilibrium = np.linalg.solve(game.matrix, -offset)
    x0 = np.zeros(game.dim)
    bounded = certify_nash(game, Region.cube(np.zeros(game.dim), 1.0))

    def solve_peer():
        step = 1.0 / np.linalg.norm(game.matrix, 2)
        x, nit, _ = _baselines.extragradient(game, x0, step, tol=1e-10, maxiter=20000)
        return nit, float(np.abs(x - equilibrium).max())

    return Example(
        problem="64-dim LQ game, lambda = 1 (SGN paper E-B2)",
        solve=lambda callback=None, **options: gradient_play(
            game, x0, callback=callback, **{"tol": 1e-10, **options}),
        accuracy=lambda res: float(np.abs(res.x - equilibrium).max()),
        accuracy_label="|x - H^-1 c|_inf", tolerance=1e-8,
        peer="extragradient, h = 1/||H||", solve_peer=solve_peer,
        bad_inputs={
            "x0 of the wrong shape": lambda: gradient_play(game, np.zeros(3)),
            "x0 with NaN": lambda: gradient_play(game, np.full(game.dim, np.nan)),
            "x0 outside the certificate's region": lambda: gradient_play(
                game, np.full(game.dim, 5.0), certificate=bounded),
            "certified step for an uncertified game": lambda: gradient_play(
                orthogonal_lq_game(1.5), x0),
            "negative step": lambda: gradient_play(game, x0, step=-0.1),
            "unknown method": lambda: gradient_play(game, x0, method="leapfrog"),
        })
