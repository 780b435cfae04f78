"""gradient_play: certified contraction, constrained equilibria, honest failures."""

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numopt import certify_nash, gradient_play
from numopt._core.warnings import ConvergenceWarning
from numopt.games import Box, Game, Region, Simplex, linear_quadratic_game, quadratic_game
from numopt.problems.games_zoo import (
    box_constrained_game,
    cournot_game,
    orthogonal_lq_game,
    scalar_game,
)
from tests.conftest import requires_gpu


def m_norm(x, weights, sizes):
    return np.sqrt(np.sum(np.repeat(weights, sizes) * x ** 2))


def run_collecting(game, x0, **kwargs):
    iterates = [np.array(x0, dtype=float)]
    res = gradient_play(game, x0, callback=lambda xk: iterates.append(np.array(xk)), **kwargs)
    return res, iterates


def test_scalar_game_euler_contracts_at_certified_factor():
    # T-S1: ||x_k||_M <= q*^k ||x_0||_M for every k, q* = 0.9851714, from (0.15, -0.15).
    game = scalar_game()
    cert = certify_nash(game)
    res, iterates = run_collecting(game, [0.15, -0.15], certificate=cert, tol=1e-12)
    assert res.success and res.step == pytest.approx(0.100505, abs=1e-6)
    assert res.certified_factor == pytest.approx(0.9851714, abs=1e-7)
    start = m_norm(iterates[0], cert.weights, [1, 1])
    for k, x in enumerate(iterates):
        assert m_norm(x, cert.weights, [1, 1]) <= 0.9851714 ** k * start * (1 + 1e-12)
    assert res.contraction_factor <= res.certified_factor
    # In the Euclidean norm the trajectory leaves the starting ball (paper Figure 1).
    assert max(np.linalg.norm(x) for x in iterates) > np.linalg.norm(iterates[0])


# Certified Euler near lambda = 1.414 needs ~1/(alpha/beta)^2 ~ 1e5 steps: RK4 only there.
@pytest.mark.parametrize("lam, method", [(0.5, "euler"), (1.0, "euler"), (0.5, "rk4"),
                                         (1.0, "rk4"), (1.4, "rk4")])
def test_lq_game_reaches_the_equilibrium(lam, method):
    base = orthogonal_lq_game(lam)
    offset = np.random.default_rng(1).standard_normal(64)
    game = quadratic_game(base.matrix, base.block_sizes, offset=offset)
    reference = np.linalg.solve(game.matrix, -offset)
    res = gradient_play(game, np.zeros(64), method=method, tol=1e-10, maxiter=20000)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, reference, atol=1e-8)
    # One evaluation per Euler step (four per RK4 step) and one for the residual at the
    # returned x, where the stopping test is applied.
    assert res.nfev == res.nit * (1 if method == "euler" else 4) + 1
    if method == "euler":
        assert res.contraction_factor <= res.certified_factor + 1e-12
        assert res.max_step_ratio <= res.certified_factor + 1e-12
        weights = certify_nash(game).weights
        assert m_norm(res.x - reference, weights, [32, 32]) <= res.error_bound * (1 + 1e-9)


@st.composite
def certified_games(draw):
    n = draw(st.integers(2, 3))
    sizes = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    own = []
    for d in sizes:
        factor = rng.standard_normal((d, d))
        own.append(factor @ factor.T + np.eye(d))
    strength = draw(st.floats(0.0, 1.0))
    couplings = {(i, j): strength * rng.standard_normal((sizes[i], sizes[j])) / n
                 for i in range(n) for j in range(n) if i != j}
    fraction = draw(st.floats(0.05, 0.999))
    return linear_quadratic_game(own, couplings, offset=rng.standard_normal(sum(sizes))), \
        fraction, rng.standard_normal(sum(sizes))


@settings(max_examples=40, deadline=None)
@given(certified_games())
def test_certified_play_contracts_at_least_at_certified_rate(case):
    game, fraction, x0 = case
    cert = certify_nash(game)
    if not cert.certified:
        return
    step = fraction * cert.euler_step_max
    factor = cert.euler_factor_at(step)
    equilibrium = np.linalg.solve(game.matrix, -game.offset)
    res, iterates = run_collecting(game, x0, certificate=cert, step=step, maxiter=60, warn=False)
    distances = [m_norm(x - equilibrium, cert.weights, game.block_sizes) for x in iterates]
    for before, after in itertools.pairwise(distances):
        assert after <= factor * before + 1e-10 * (1 + distances[0])


def test_box_constrained_equilibrium_matches_active_set_reference():
    # T-S6: 2 players x 2 coordinates with boxes; reference NE by enumerating active sets of the
    # affine VI (every coordinate at its lower bound, its upper bound or free).
    rng = np.random.default_rng(5)
    matrix = np.array([[2.0, 0.3, 1.5, 0.0], [0.3, 1.5, 0.2, 0.8],
                       [0.1, 0.0, 2.0, 0.4], [0.0, 0.2, 0.4, 1.0]])
    offset = rng.standard_normal(4) * 3
    low, high = -0.5 * np.ones(4), 0.5 * np.ones(4)
    game = quadratic_game(matrix, [2, 2], offset=offset,
                          feasible_sets=[Box(low[:2], high[:2]), Box(low[2:], high[2:])])
    reference = None
    for pattern in itertools.product((0, 1, 2), repeat=4):     # 0 low, 1 high, 2 free
        x = np.where(np.array(pattern) == 0, low, high).astype(float)
        free = np.array(pattern) == 2
        if free.any():
            rhs = -offset[free] - matrix[np.ix_(free, ~free)] @ x[~free]
            x[free] = np.linalg.solve(matrix[np.ix_(free, free)], rhs)
        value = matrix @ x + offset
        if (np.all(x >= low - 1e-12) and np.all(x <= high + 1e-12)
                and np.all(value[np.array(pattern) == 0] >= -1e-12)
                and np.all(value[np.array(pattern) == 1] <= 1e-12)):
            reference = x
            break
    assert reference is not None
    assert np.any(np.isclose(np.abs(reference), 0.5))              # on the boundary
    res = gradient_play(game, np.zeros(4), tol=1e-12)
    assert res.success
    np.testing.assert_allclose(res.x, reference, atol=1e-9)


def test_zoo_box_game_ends_on_the_corner():
    res = gradient_play(box_constrained_game(), np.zeros(2))
    np.testing.assert_allclose(res.x, [1.0, -1.0], atol=1e-12)


def test_simplex_constrained_matrix_game_reaches_regularised_equilibrium():
    # Two players on the simplex with strongly convex own costs: f_i = |x_i|^2 + x_i^T A_i x_j.
    game = linear_quadratic_game([2 * np.eye(3), 2 * np.eye(3)],
                                 {(0, 1): [[0, 1, -1], [-1, 0, 1], [1, -1, 0]],
                                  (1, 0): [[0, -1, 1], [1, 0, -1], [-1, 1, 0]]},
                                 feasible_sets=[Simplex(), Simplex()])
    cert = certify_nash(game)
    res = gradient_play(game, np.r_[1.0, 0, 0, 0, 1.0, 0], certificate=cert, step=0.3)
    assert res.success
    # Reference: by symmetry the uniform strategies (1/3, 1/3, 1/3) solve the VI: F is constant
    # along the simplex at that point.
    np.testing.assert_allclose(res.x, np.full(6, 1 / 3), atol=1e-8)


def test_divergent_step_returns_last_finite_iterate_and_warns():
    game = orthogonal_lq_game(1.0)
    with pytest.warns(ConvergenceWarning, match="decrease step"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)      # overflow on the way to inf
            res = gradient_play(game, np.ones(64), step=1.5, maxiter=100000)
    assert res.status == -1 and not res.success and np.all(np.isfinite(res.x))


def test_rk4_beyond_true_threshold_does_not_converge():
    s = np.sqrt(0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = gradient_play(orthogonal_lq_game(1.0), np.ones(64), method="rk4",
                            step=1.05 * 2.7852936 / (1 + s), maxiter=3000, warn=False)
    assert not res.success


def test_maxiter_status_and_warning():
    with pytest.warns(ConvergenceWarning, match="maxiter"):
        res = gradient_play(scalar_game(), [0.15, -0.15], maxiter=5)
    assert res.status == 1 and res.nit == 5 and len(res.history["nit"]) == 5


def test_uncertified_game_needs_float_step_and_reason():
    game = orthogonal_lq_game(1.5)
    with pytest.raises(ValueError, match="small-gain"):
        gradient_play(game, np.zeros(64))
    res = gradient_play(game, np.zeros(64), step=0.1, maxiter=10)      # x0 = x*: converges
    assert res.success and np.isnan(res.certified_factor)


def test_bad_inputs():
    game = scalar_game()
    bounded = certify_nash(game, Region.cube(np.zeros(2), 1.0))
    with pytest.raises(ValueError, match="outside the certificate's region"):
        gradient_play(game, [2.0, 0.0], certificate=bounded)
    with pytest.raises(ValueError, match="shape"):
        gradient_play(game, [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="finite"):
        gradient_play(game, [np.inf, 0.0])
    with pytest.raises(ValueError, match="certificate"):
        gradient_play(Game(lambda x: x ** 3 + x, [1, 1]), [0.1, 0.1])
    with pytest.raises(TypeError, match="certificate"):
        gradient_play(game, [0.1, 0.1], certificate="yes")
    with pytest.raises(ValueError, match="block sizes"):
        gradient_play(quadratic_game(np.eye(3), [1, 2]), np.zeros(3), certificate=bounded)
    with pytest.raises(ValueError, match="step"):
        gradient_play(game, [0.1, 0.1], step="fast")
    with pytest.raises(ValueError, match="pseudo_gradient"):
        gradient_play(Game(lambda x: np.zeros(3), [1, 1]), [0.1, 0.1], step=0.1)
    with pytest.raises(TypeError, match="game"):
        gradient_play(np.eye(2), [0.1, 0.1])


def test_non_quadratic_game_with_sampled_certificate():
    game = Game(lambda x: x + x ** 3 / 3 + np.array([[0.0, 0.8], [0.4, 0.0]]) @ np.sin(x), [1, 1])
    cert = certify_nash(game, Region.cube(np.zeros(2), 0.5))
    res = gradient_play(game, [0.4, -0.3], certificate=cert, tol=1e-12)
    assert res.success and np.abs(res.x).max() < 1e-11            # the equilibrium is 0


def test_verbose_table(capsys):
    gradient_play(scalar_game(), [0.15, -0.15], verbose=2, maxiter=3, warn=False)
    out = capsys.readouterr().out
    assert "residual" in out and out.count("\n") >= 4


@requires_gpu
@pytest.mark.gpu
def test_cupy_game_runs_on_device():
    import cupy

    game = quadratic_game(cupy.asarray(orthogonal_lq_game(1.0).matrix), [32, 32])
    cert = certify_nash(game)
    assert cert.backend == "cupy" and cert.margin == pytest.approx(1 - np.sqrt(0.5), abs=1e-10)
    res = gradient_play(game, cupy.ones(64), certificate=cert, tol=1e-10)
    assert res.success and res.backend == "cupy" and float(cupy.abs(res.x).max()) < 1e-8


def test_user_projection_callable():
    # Decoupled players pulled to c_i outside the unit disc: the equilibrium is c_i / |c_i|.
    target = np.array([3.0, 4.0, 0.0, -2.0])

    def disc(y):
        return y / max(1.0, np.linalg.norm(y))

    game = quadratic_game(np.eye(4), [2, 2], offset=-target, feasible_sets=[disc, disc])
    res = gradient_play(game, np.zeros(4), tol=1e-12)
    np.testing.assert_allclose(res.x, [0.6, 0.8, 0.0, -1.0], atol=1e-10)
    bad = quadratic_game(np.eye(4), [2, 2], feasible_sets=[lambda y: y[:1], None])
    with pytest.raises(ValueError, match="feasible_sets"):
        gradient_play(bad, np.ones(4), step=0.1)


# ---------------------------------------------------------------- honest stopping
def test_step_too_small_to_move_x_stalls_naming_step():
    # The case: ||F(x0)|| = 44 and h so small that x0 - h F(x0) rounds to x0.
    game = quadratic_game(10 * np.array([[1.0, 10.0], [0.05, 1.0]]), [1, 1],
                          offset=[21.0, -2.15])
    x0 = np.array([0.3, 0.2])
    np.testing.assert_allclose(game.pseudo_gradient(x0), [44.0, 0.0], atol=1e-13)
    with pytest.warns(ConvergenceWarning, match="increase step"):
        res = gradient_play(game, x0, step=1e-20)
    assert res.status == 2 and not res.success and "`step`" in res.message
    np.testing.assert_array_equal(res.x, x0)
    assert res.fun == pytest.approx(m_norm(game.pseudo_gradient(x0), res.weights, [1, 1]))


def test_constrained_stall_and_genuine_boundary_fixed_point():
    game = box_constrained_game()                  # equilibrium at the corner (1, -1)
    with pytest.warns(ConvergenceWarning, match="increase step"):
        res = gradient_play(game, [0.25, 0.5], step=1e-20)
    assert res.status == 2 and "`step`" in res.message
    # At the corner, Proj(x - h F(x)) = x for every h: a genuine fixed point, converged at once
    # with residual 0 although F(x) != 0.
    corner = np.array([1.0, -1.0])
    assert np.abs(game.pseudo_gradient(corner)).min() >= 0.5
    res = gradient_play(game, corner, step=1e-20)
    assert res.success and res.nit == 0 and res.fun == 0


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_success_means_the_stopping_test_holds_at_the_returned_x(method):
    base = orthogonal_lq_game(0.5, dim=8)
    game = quadratic_game(base.matrix, base.block_sizes, offset=np.arange(8.0))
    cert = certify_nash(game)
    res = gradient_play(game, np.zeros(8), certificate=cert, method=method, tol=1e-9)
    # Independent check: the natural residual of an unconstrained game is ||F(x)||_M.
    residual = m_norm(game.matrix @ res.x + game.offset, cert.weights, game.block_sizes)
    assert res.success and residual <= 1e-9 and res.fun == pytest.approx(residual, rel=1e-12)
    assert res.history["residual"][-1] == res.fun


def test_certificate_of_another_game_is_refused():
    cert = certify_nash(scalar_game())
    with pytest.raises(ValueError, match="different game: its Jacobian"):
        gradient_play(scalar_game(a=9.0), [0.1, 0.1], certificate=cert)
    shifted = quadratic_game(scalar_game().matrix, [1, 1], offset=[1.0, 0.0])
    with pytest.raises(ValueError, match="different game: its pseudo-gradient"):
        gradient_play(shifted, [0.1, 0.1], certificate=cert)
    # The same game built again is accepted.
    res = gradient_play(scalar_game(), [0.1, 0.1], certificate=cert)
    assert res.success


# ---------------------------------------------------------------- Cournot oligopolies
def cournot_equilibrium(n_firms, intercept=100.0, slope=1.0):
    """Closed form: (b + d_i) q_i = a - c_i - b Q, Q = S_1 / (1 + b S_0)."""
    costs, curvatures = np.linspace(10.0, 12.0, n_firms), np.linspace(0.5, 1.0, n_firms)
    weights = 1 / (slope + curvatures)
    total = np.sum((intercept - costs) * weights) / (1 + slope * weights.sum())
    return (intercept - costs - slope * total) * weights


def _check_cournot_play(n_firms, method):
    game, equilibrium = cournot_game(n_firms), cournot_equilibrium(n_firms)
    assert equilibrium.min() > 0                                  # interior
    cert = certify_nash(game)
    # ||x - x*|| <= ||F(x)|| / alpha at an interior point; the residual test ends near that.
    res = gradient_play(game, np.zeros(n_firms), certificate=cert, method=method,
                        tol=1e-9 * cert.margin, maxiter=100000)
    assert res.success, res.message
    assert np.abs(res.x - equilibrium).max() <= 1e-8
    if method == "euler":
        assert res.contraction_factor <= res.certified_factor


@pytest.mark.parametrize("n_firms", range(2, 51))
def test_certified_rk4_play_reaches_the_cournot_equilibrium(n_firms):
    _check_cournot_play(n_firms, "rk4")


@pytest.mark.parametrize("n_firms", [2, 3, 4, 5, 10, 20])
def test_certified_euler_play_reaches_the_cournot_equilibrium(n_firms):
    _check_cournot_play(n_firms, "euler")


@pytest.mark.slow
@pytest.mark.parametrize("n_firms", range(2, 51))
def test_certified_euler_play_reaches_every_cournot_equilibrium(n_firms):
    _check_cournot_play(n_firms, "euler")
