"""certify_nash against the SGN paper's published numbers, closed forms and brute force."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numopt import OptimizeResult, certify_nash
from numopt.games import (
    Box,
    Certificate,
    Game,
    Region,
    Simplex,
    _bounds,
    _verified,
    linear_quadratic_game,
    quadratic_game,
)
from numopt.games import weights as sgn_weights
from numopt.problems.games_zoo import (
    cournot_game,
    orthogonal_lq_game,
    random_n_player_game,
    scalar_game,
    zero_sum_game,
)

SQRT_AB = np.sqrt(10 * 0.05)


def weighted_modulus(matrix, sizes, weights):
    """Independent reference: lambda_min(sym(M^1/2 H M^-1/2)), the true modulus in M(w)."""
    scale = np.repeat(np.sqrt(weights), sizes)
    scaled = scale[:, None] * matrix / scale[None, :]
    return np.linalg.eigvalsh((scaled + scaled.T) / 2)[0]


# ---------------------------------------------------------------- T-S1 scalar game (paper 5.1)
def test_scalar_game_published_numbers():
    cert = certify_nash(scalar_game())
    assert cert.certified and cert.rigorous and cert.success and cert.status == 0
    assert cert.margin == pytest.approx(1 - np.sqrt(0.5), abs=1e-12)       # 0.292893
    assert cert.margin == pytest.approx(0.29289, abs=1e-5)
    assert cert.beta == pytest.approx(1 + np.sqrt(0.5), abs=1e-12)         # 1.707107
    assert cert.euler_step_max == pytest.approx(0.2010102, abs=1e-7)
    assert cert.euler_step == pytest.approx(0.100505, abs=1e-6)
    assert cert.euler_factor == pytest.approx(0.9851714, abs=1e-7)
    assert cert.rk4_step == pytest.approx(1.464466, abs=1e-6)
    assert cert.euclidean_margin == pytest.approx(-4.025, abs=1e-12)
    band = ((1.5 - np.sqrt(2)) / 0.0025, (1.5 + np.sqrt(2)) / 0.0025)
    np.testing.assert_allclose(cert.timescale_band, band, rtol=1e-12)
    np.testing.assert_allclose(cert.timescale_band, (34.31458, 1165.68542), atol=1e-5)
    # The optimal weights are the balanced ones w1 L12 = w2 L21: (1, 200).
    np.testing.assert_allclose(cert.weights, [1.0, 200.0], rtol=1e-9)
    assert cert.m_matrix and cert.small_gain_ratio == pytest.approx(SQRT_AB)


def test_scalar_game_not_certified_with_euclidean_weights():
    cert = certify_nash(scalar_game(), weights=[1.0, 1.0])
    assert not cert.certified and not cert.success and cert.status == -4
    assert cert.margin == pytest.approx(-4.025, abs=1e-12)
    assert np.isnan(cert.euler_step) and np.isnan(cert.rk4_step)
    # K is still an M-matrix: the reason says better weights exist.
    assert cert.m_matrix and "weight" in cert.reason


def test_band_edges_have_zero_margin_and_inside_is_certified():
    game = scalar_game()
    cert = certify_nash(game)
    low, high = cert.timescale_band
    for ratio in (low, high):
        assert sgn_weights.sgn_margin(cert.mu, cert.coupling, [1.0, ratio]) == pytest.approx(
            0.0, abs=1e-9)
    for ratio in np.geomspace(low * 1.01, high / 1.01, 7):
        assert weighted_modulus(game.matrix, [1, 1], [1.0, ratio]) > 0
    for ratio in (low / 1.1, high * 1.1):
        assert not certify_nash(game, weights=[1.0, ratio]).certified


def test_band_at_positive_margin_and_degenerate_couplings():
    mu, coupling = np.array([1.0, 2.0]), np.array([[0.0, 1.5], [0.5, 0.0]])
    low, high = sgn_weights.timescale_band(mu, coupling, margin=0.3)
    for ratio in (low, high):
        assert sgn_weights.sgn_margin(mu, coupling, [1, ratio]) == pytest.approx(0.3, abs=1e-9)
    one_way = np.array([[0.0, 3.0], [0.0, 0.0]])
    low, high = sgn_weights.timescale_band(mu, one_way)
    assert high == np.inf and sgn_weights.sgn_margin(mu, one_way, [1, low]) == pytest.approx(
        0.0, abs=1e-9)
    assert sgn_weights.timescale_band(mu, np.array([[0.0, 3.0], [1.0, 0.0]])) is None
    with pytest.raises(ValueError, match="two players"):
        sgn_weights.timescale_band(np.ones(3), np.zeros((3, 3)))


# ---------------------------------------------------------------- T-S2 LQ family (E-B2)
# 1/24 once made LAPACK's MRRR eigensolver fail (regression case for the fallback).
@pytest.mark.parametrize("lam", [0.0, 1 / 24, 0.2, 0.5, 1.0, 1.4])
def test_orthogonal_lq_closed_forms(lam):
    game = orthogonal_lq_game(lam)
    cert = certify_nash(game)
    s = lam * SQRT_AB
    assert cert.certified and cert.rigorous
    assert cert.margin == pytest.approx(1 - s, abs=1e-10)
    assert cert.beta == pytest.approx(1 + s, abs=1e-10)
    assert cert.euclidean_margin == pytest.approx(1 - lam * (10 + 0.05) / 2, abs=1e-10)
    # The certified margin is tight: it equals the true modulus in M(w) (eig H = 1 +- s).
    assert cert.margin == pytest.approx(weighted_modulus(game.matrix, game.block_sizes,
                                                         cert.weights), abs=1e-10)
    eigenvalues = np.linalg.eigvals(game.matrix)
    assert eigenvalues.real.min() == pytest.approx(1 - s, abs=1e-8)
    # True thresholds: spectral radius of the Euler / RK4 maps reaches 1 at 2/(1+s), 2.785/(1+s);
    # the certified steps lie below them.
    assert cert.euler_step_max < 2 / (1 + s) + 1e-12
    assert cert.rk4_step < 2.7852936 / (1 + s)


def test_lq_spot_values_at_half():
    cert = certify_nash(orthogonal_lq_game(0.5))
    assert cert.euclidean_margin == pytest.approx(-1.5125, abs=1e-4)
    assert cert.margin == pytest.approx(0.6464, abs=1e-4)
    assert cert.beta == pytest.approx(1.3536, abs=1e-4)
    assert cert.euler_step_max == pytest.approx(0.7057, abs=1e-4)
    assert cert.rk4_step == pytest.approx(1.8470, abs=1e-4)


def test_lq_certification_boundaries():
    # Euclidean monotone only for lambda < 0.19901; SGN certifies up to 1/sqrt(ab) = 1.41421.
    assert certify_nash(orthogonal_lq_game(0.198)).euclidean_margin > 0
    assert certify_nash(orthogonal_lq_game(0.2)).euclidean_margin < 0
    assert certify_nash(orthogonal_lq_game(1.414)).certified
    cert = certify_nash(orthogonal_lq_game(1.5))
    assert not cert.certified and cert.status == -4 and not cert.m_matrix
    assert "small-gain" in cert.reason and "does not prove" in cert.reason
    assert "NOT CERTIFIED" in str(cert)
    # ... and at lambda = 1.5 the flow is indeed unstable (an eigenvalue of -H in Re > 0).
    assert np.linalg.eigvals(orthogonal_lq_game(1.5).matrix).real.min() < 0


def test_lq_64_game_from_the_spec_seed_matches_published_table():
    cert = certify_nash(orthogonal_lq_game(1.0))
    assert cert.euler_step_max == pytest.approx(0.2010, abs=1e-4)
    assert cert.rk4_step == pytest.approx(1.4645, abs=1e-4)


# ---------------------------------------------------------------- T-S4 conservative case
def test_zero_sum_strongly_monotone_but_not_small_gain_certifiable():
    # Spec T-S4: the small-gain certificate alone says "not certified" without claiming
    # divergence ...
    game = zero_sum_game(mu=1.0, coupling=2.0)
    small_gain = certify_nash(game, kind="small-gain")
    assert not small_gain.certified and small_gain.m_matrix is False
    assert small_gain.best_margin == pytest.approx(1.0 - 2.0)
    assert "does not prove that gradient play diverges" in small_gain.reason
    # ... but the game is strongly monotone (Euclidean margin mu = 1): the best certificate is
    # the plain Euclidean one, and it says why the small-gain one fails.
    cert = certify_nash(game)
    assert cert.euclidean_margin == pytest.approx(1.0)
    assert cert.certified and cert.kind == "monotone" and not cert.m_matrix
    assert cert.margin == pytest.approx(1.0, abs=1e-12) and cert.margin <= 1.0
    np.testing.assert_array_equal(cert.weights, [1.0, 1.0])
    assert cert.candidates["small-gain"] < 0 < cert.candidates["monotone"]
    assert "small-gain condition fails" in cert.reason
    # beta = ||H||_2 = sqrt(mu^2 + coupling^2) for H = [[mu I, A], [-A^T, mu I]], A = c I.
    assert cert.beta == pytest.approx(np.sqrt(5.0), abs=1e-12) and cert.beta >= np.sqrt(5.0)


# ---------------------------------------------------------------- weights for any N
def _random_constants(rng, n):
    mu = rng.uniform(0.5, 2.0, n)
    coupling = rng.uniform(0.0, 1.0, (n, n)) * rng.uniform(0.05, 0.6) * mu.min()
    np.fill_diagonal(coupling, 0.0)
    return mu, coupling


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("seed", range(4))
def test_optimal_weights_beat_brute_force(n, seed):
    rng = np.random.default_rng(seed)
    mu, coupling = _random_constants(rng, n)
    # Scalar blocks with non-positive couplings: the SGN matrix is then exactly
    # sym(M^1/2 H M^-1/2), so the brute force runs on the true modulus of the game.
    game = linear_quadratic_game([np.diag([m]) for m in mu],
                                 {(i, j): [[-coupling[i, j]]] for i in range(n) for j in range(n)
                                  if i != j})
    cert = certify_nash(game)
    grid = np.linspace(-6, 6, 241 if n == 2 else 81)
    mesh = np.stack(np.meshgrid(*[grid] * (n - 1), indexing="ij"), -1).reshape(-1, n - 1)
    brute = max(weighted_modulus(game.matrix, [1] * n, np.exp(np.r_[0.0, u])) for u in mesh)
    assert cert.margin >= brute - 1e-9
    assert cert.margin <= cert.best_margin + 1e-12
    # tau(K): the smallest real eigenvalue of the comparison matrix (independent: numpy.eigvals).
    assert cert.margin == pytest.approx(np.linalg.eigvals(np.diag(mu) - coupling).real.min(),
                                        abs=1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_log_weight_ascent_from_ones_reaches_the_perron_optimum(seed):
    rng = np.random.default_rng(seed)
    mu, coupling = _random_constants(rng, 5)
    coupling *= np.exp(rng.uniform(-2, 2, (5, 5)))           # strongly asymmetric couplings
    margins = []
    log_weights, nit, stopped = sgn_weights.maximise_margin(
        mu, coupling, np.zeros(5), maxiter=500, tol=1e-9,
        record=lambda k, u, m: margins.append(m) and False)
    margin = sgn_weights.sgn_margin(mu, coupling, np.exp(log_weights))
    assert nit > 0 and not stopped
    assert margin == pytest.approx(sgn_weights.best_margin(mu, coupling), abs=1e-7)
    assert margins[-1] >= margins[0]
    perron = sgn_weights.perron_weights(mu, coupling)
    assert sgn_weights.sgn_margin(mu, coupling, perron) == pytest.approx(
        sgn_weights.best_margin(mu, coupling), abs=1e-10)


def test_margin_gradient_matches_finite_differences():
    rng = np.random.default_rng(7)
    mu, coupling = _random_constants(rng, 4)
    u = rng.standard_normal(4)
    _, gradient = sgn_weights._margin_and_gradient(u, mu, coupling)
    step = 1e-6
    for k in range(4):
        shift = np.zeros(4)
        shift[k] = step
        fd = (sgn_weights.sgn_margin(mu, coupling, np.exp(u + shift))
              - sgn_weights.sgn_margin(mu, coupling, np.exp(u - shift))) / (2 * step)
        assert gradient[k] == pytest.approx(fd, abs=1e-7)


def test_reducible_coupling_is_certified_near_its_supremum():
    # Player 1 does not influence player 0: K is reducible, the sup min(mu) is not attained.
    game = quadratic_game([[1.0, 50.0], [0.0, 2.0]], [1, 1])
    cert = certify_nash(game)
    assert cert.certified and cert.margin > 1.0 - 1e-3 and cert.margin <= 1.0
    assert cert.margin <= weighted_modulus(game.matrix, [1, 1], cert.weights) + 1e-12


def test_many_players_unequal_blocks():
    rng = np.random.default_rng(3)
    sizes = [1, 3, 2, 4]
    own = [np.eye(d) * 3 + 0.1 * rng.standard_normal((d, d)) for d in sizes]
    couplings = {(i, j): 0.4 * rng.standard_normal((sizes[i], sizes[j]))
                 for i in range(4) for j in range(4) if i != j}
    game = linear_quadratic_game(own, couplings)
    cert = certify_nash(game)
    edges = np.cumsum([0] + sizes)
    for i in range(4):
        block = game.matrix[edges[i]:edges[i + 1], edges[i]:edges[i + 1]]
        assert cert.mu[i] == pytest.approx(np.linalg.eigvalsh((block + block.T) / 2)[0])
        for j in range(4):
            if i != j:
                assert cert.coupling[i, j] == pytest.approx(np.linalg.norm(
                    game.matrix[edges[i]:edges[i + 1], edges[j]:edges[j + 1]], 2))
    assert cert.margin <= weighted_modulus(game.matrix, sizes, cert.weights) + 1e-10
    assert cert.timescale_band is None


def test_block_bound_on_beta_is_an_upper_bound():
    game = orthogonal_lq_game(0.7, dim=16)
    cert = certify_nash(game)
    constants = _bounds.region_constants(game, Region.whole(16), n_samples=1, rng=None)
    constants.jacobians = None
    assert _bounds.weighted_lipschitz(constants, cert.weights) >= cert.beta - 1e-12


# ---------------------------------------------------------------- T-S3 soundness (hypothesis)
@st.composite
def quadratic_games(draw):
    n = draw(st.integers(2, 3))
    sizes = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    strength = draw(st.floats(0.0, 3.0))
    rng = np.random.default_rng(seed)
    own = []
    for d in sizes:
        factor = rng.standard_normal((d, d))
        own.append(factor @ factor.T + rng.uniform(0.1, 2.0) * np.eye(d)
                   + rng.standard_normal((d, d)) * 0.3)
    couplings = {(i, j): strength * rng.standard_normal((sizes[i], sizes[j])) / n
                 for i in range(n) for j in range(n) if i != j}
    return linear_quadratic_game(own, couplings)


@settings(max_examples=60, deadline=None)
@given(quadratic_games())
def test_certified_margin_never_exceeds_true_modulus(game):
    cert = certify_nash(game)
    true_modulus = weighted_modulus(game.matrix, game.block_sizes, cert.weights)
    assert cert.margin <= true_modulus + 1e-9 * (1 + abs(true_modulus))
    assert cert.certified == (cert.margin > 0)
    scale = np.repeat(np.sqrt(cert.weights), game.block_sizes)
    assert cert.beta == pytest.approx(np.linalg.norm(
        scale[:, None] * game.matrix / scale[None, :], 2), rel=1e-10)
    if not cert.certified:
        assert np.isnan(cert.euler_step_max) and cert.status == -4


# ---------------------------------------------------------------- non-quadratic games
def _cubic_game():
    # F_i = x_i + x_i^3 / 3 + c_ij sin(x_j): curvature grows away from 0, couplings |c| cos <= |c|.
    couplings = np.array([[0.0, 0.8], [0.4, 0.0]])

    def pseudo_gradient(x):
        return x + x ** 3 / 3 + couplings @ np.sin(x)

    def jacobian(x):
        return np.diag(1 + x ** 2) + couplings * np.cos(x)[None, :]

    return pseudo_gradient, jacobian, couplings


def test_sampled_certificate_is_flagged_not_rigorous():
    pseudo_gradient, jacobian, _ = _cubic_game()
    game = Game(pseudo_gradient, [1, 1], jacobian=jacobian)
    cert = certify_nash(game, Region.cube(np.zeros(2), 0.5))
    assert cert.certified and not cert.rigorous
    assert "NOT rigorous" in str(cert)
    # Finite-difference Jacobian (no jacobian given) gives the same constants.
    fd_cert = certify_nash(Game(pseudo_gradient, [1, 1]), Region.cube(np.zeros(2), 0.5))
    assert fd_cert.margin == pytest.approx(cert.margin, abs=1e-8)


def test_lipschitz_certificate_is_rigorous_and_sound():
    pseudo_gradient, jacobian, couplings = _cubic_game()
    radius = 0.5
    # |d/dx (1 + x^2)| <= 2 radius and |d/dx c cos x| <= |c|: a Lipschitz constant of J in the
    # Frobenius (hence operator) norm over the cube.
    lipschitz = np.sqrt((2 * radius) ** 2 * 2 + (couplings ** 2).sum())
    game = Game(pseudo_gradient, [1, 1], jacobian=jacobian, jacobian_lipschitz=lipschitz)
    region = Region.cube(np.zeros(2), radius)
    cert = certify_nash(game, region)
    assert cert.rigorous and cert.certified and "rigorous: the bounds hold" in str(cert)
    rng = np.random.default_rng(0)
    w = np.repeat(cert.weights, game.block_sizes)
    for _ in range(2000):
        x, y = rng.uniform(-radius, radius, (2, 2))
        lhs = np.dot(pseudo_gradient(x) - pseudo_gradient(y), w * (x - y))
        assert lhs >= cert.margin * np.dot(x - y, w * (x - y)) - 1e-12
        assert np.sqrt(np.dot(pseudo_gradient(x) - pseudo_gradient(y), w * (
            pseudo_gradient(x) - pseudo_gradient(y)))) <= cert.beta * np.sqrt(
            np.dot(x - y, w * (x - y))) + 1e-12


# ---------------------------------------------------------------- bad input, result protocol
def test_bad_inputs():
    game = scalar_game()
    with pytest.raises(ValueError, match="block_sizes"):
        quadratic_game(np.eye(3), [1, 1])
    with pytest.raises(ValueError, match="block_sizes"):
        Game(lambda x: x, [2, 0])
    with pytest.raises(TypeError, match="block_sizes"):
        Game(lambda x: x, 3)
    with pytest.raises(ValueError, match="dimension 2"):
        certify_nash(game, (np.zeros(3), np.ones(3)))
    with pytest.raises(TypeError, match="region"):
        certify_nash(game, "everywhere")
    with pytest.raises(ValueError, match="bounded"):
        certify_nash(Game(lambda x: x ** 3, [1, 1]))
    with pytest.raises(ValueError, match="not finite"):
        certify_nash(Game(lambda x: np.where(x > 0, x, np.nan), [1, 1]),
                     Region.cube(np.zeros(2), 1.0))
    with pytest.raises(ValueError, match="shape"):
        certify_nash(Game(lambda x: np.zeros(3), [1, 1]), Region.cube(np.zeros(2), 1.0))
    with pytest.raises(ValueError, match="weights"):
        certify_nash(game, weights=[1.0, 0.0])
    with pytest.raises(ValueError, match="shape"):
        certify_nash(game, weights=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="weights"):
        certify_nash(game, weights="uniform")
    with pytest.raises(ValueError, match="fisher"):
        certify_nash(game, geometry="fisher")
    with pytest.raises(ValueError, match="feasible_sets"):
        Game(lambda x: x, [1, 1], feasible_sets=[None])
    with pytest.raises(ValueError, match="low <= high"):
        Region([1.0], [0.0])
    with pytest.raises(ValueError, match="couplings"):
        linear_quadratic_game([np.eye(1), np.eye(1)], {(0, 0): [[1.0]]})


def test_certificate_acts_like_a_result_and_callback_stops():
    seen = []

    def callback(intermediate_result):
        seen.append(intermediate_result.margin)
        raise StopIteration

    cert = certify_nash(scalar_game(), weights=[1.0, 1.0], callback=callback)
    assert cert.status == 99 and not cert.success and seen == [pytest.approx(-4.025)]
    cert = certify_nash(scalar_game())
    for key in ("fun", "success", "status", "message", "nit", "backend", "time", "history", "x"):
        assert key in cert
    assert cert["fun"] == -cert.margin and cert.get("nope", 3) == 3
    assert set(cert.history) >= {"nit", "margin", "time"}
    with pytest.raises(KeyError):
        cert["nope"]
    with pytest.raises(AttributeError):
        cert.margin = 1.0                                        # frozen


def test_verbose_prints_summary(capsys):
    certify_nash(scalar_game(), verbose=1)
    out = capsys.readouterr().out
    assert "CERTIFIED" in out and "timescale band" in out


def test_simplex_and_box_projections_are_euclidean_projections():
    rng = np.random.default_rng(1)
    simplex = Simplex(2.0)
    for _ in range(20):
        y = rng.standard_normal(5) * 3
        p = simplex.project(y)
        assert p.min() >= 0 and p.sum() == pytest.approx(2.0)
        # Optimality: <y - p, z - p> <= 0 at every vertex z of the simplex.
        for k in range(5):
            assert np.dot(y - p, 2.0 * np.eye(5)[k] - p) <= 1e-10
    np.testing.assert_array_equal(Box([0, -1], [1, 1]).project(np.array([2.0, -3.0])), [1, -1])
    with pytest.raises(ValueError, match="low <= high"):
        Box(1.0, 0.0)


def test_random_vertex_sample_in_higher_dimension():
    game = Game(lambda x: 2 * x + 0.1 * np.sin(np.roll(x, 1)), [5, 5])
    cert = certify_nash(game, Region.cube(np.zeros(10), 0.3), n_samples=32)
    assert cert.certified and not cert.rigorous and "32 (random) vertices" in cert.source
    assert cert.margin <= cert.mu.min() and cert.mu.min() >= 1.9


def test_lipschitz_with_finite_difference_jacobian_is_not_rigorous():
    pseudo_gradient, _, _ = _cubic_game()
    game = Game(pseudo_gradient, [1, 1], jacobian_lipschitz=3.0)
    cert = certify_nash(game, Region.cube(np.zeros(2), 0.5))
    assert not cert.rigorous and "finite-difference" in cert.source


# ---------------------------------------------------------------- verified floating point
def _rank_deficient(seed, n=6, rank=3):
    """``B^T B`` for a small integer ``B`` of ``rank`` rows: exactly representable, PSD and
    exactly singular (lambda_min = 0), with integer entries below 2^10."""
    factor = np.random.default_rng(seed).integers(-4, 5, (rank, n)).astype(float)
    return factor.T @ factor


@pytest.mark.parametrize("seed", range(6))
def test_cholesky_bound_near_singular_matrices(seed):
    # A + t I has lambda_min = t exactly, and (diagonal < 2^10, t a power of two >= 2^-42) the
    # float addition is exact: matrices within ~1e-15 (relative) of singular with a known answer.
    matrix = _rank_deficient(seed)
    scale = np.abs(matrix).max()
    for exponent in (-42, -36, -20):
        shift = 2.0 ** exponent
        for sign in (1.0, -1.0):
            shifted = matrix + sign * shift * np.eye(6)
            assert np.all(np.diag(shifted) - np.diag(matrix) == sign * shift)     # exact
            bound = _verified.lambda_min_lower(shifted)
            assert bound <= sign * shift                              # never above the truth
            assert bound >= sign * shift - 1e-12 * scale              # and close to it
            if sign < 0:
                assert bound < 0                                      # never a false "PD"
    # Well inside (1e-9 relative), positive definiteness is proven; at 2^-42 (~1e-15
    # relative) it is not: the test is inconclusive there, never wrong.
    assert _verified.lambda_min_lower(matrix + 2.0 ** -20 * np.eye(6)) > 0
    assert _verified.lambda_min_lower(matrix + 2.0 ** -42 * np.eye(6)) <= 0
    assert _verified.lambda_min_lower(matrix) <= 0


def test_norm_and_rayleigh_bounds_enclose_exact_values():
    hadamard = np.array([[1.0, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])
    cases = [(np.array([[3.0, 0.0], [4.0, 0.0]]), 5.0), (hadamard, 2.0),
             (np.array([[0.0, 7.0, 0.0]]), 7.0), (np.zeros((3, 2)), 0.0)]
    for matrix, norm in cases:
        upper = _verified.norm_upper(matrix)
        assert norm <= upper <= norm * (1 + 1e-13) + 1e-300
        vector = np.linalg.svd(matrix)[2][0]
        assert norm * (1 - 1e-13) <= _verified.norm_lower(matrix, vector) <= norm
    # Rayleigh quotients bound lambda_min from above; [[2, 1], [1, 2]] has eigenvalues 1 and 3.
    matrix = np.array([[2.0, 1.0], [1.0, 2.0]])
    assert 1.0 <= _verified.rayleigh_upper(matrix, np.array([1.0, -1.0])) < 1.0 + 1e-14
    assert 1.0 <= _verified.rayleigh_upper(matrix, np.array([1.0, 0.3]))
    # Subnormal entries: the bounds stay finite and on the right side.
    tiny = np.array([[5e-324, 0.0], [0.0, 0.0]])
    assert 5e-324 <= _verified.norm_upper(tiny) < 1e-300


def test_proof_that_k_is_not_an_m_matrix():
    # rho(D^-1 L) for D = I, L = [[0, a], [b, 0]] is sqrt(ab): not an M-matrix iff ab >= 1.
    assert sgn_weights.proves_not_m_matrix(np.ones(2), np.array([[0.0, 9.0], [4.0, 0.0]]))
    assert not sgn_weights.proves_not_m_matrix(np.ones(2), np.array([[0.0, 0.9], [1.0, 0.0]]))
    # Exactly singular (ab = 1): K p = 0 holds in floating point only up to rounding, so the
    # proof is not claimed.
    assert not sgn_weights.proves_not_m_matrix(np.ones(2), np.array([[0.0, 4.0], [0.25, 0.0]]))
    # A zero (or negative) curvature rules it out; a one-way coupling (rho = 0) does not.
    assert sgn_weights.proves_not_m_matrix(np.array([0.0, 1.0]), np.zeros((2, 2)))
    assert not sgn_weights.proves_not_m_matrix(np.ones(2), np.array([[0.0, 3.0], [0.0, 0.0]]))


# ---------------------------------------------------------------- games on the boundary
def comparison_game(rng, scale, margin=0.0):
    """A game whose Jacobian is ``(K + margin I) (x) I`` on the first coordinate of each block,
    with ``K = diag(mu) - L`` a singular M-matrix (``K p = 0`` for a positive ``p``; the
    coupling graph contains a cycle, so K is irreducible), block sizes 1 to 3, all scaled.

    The Jacobian is a Z-matrix: every certificate (small-gain, Euclidean or any weights) is
    bounded by ``min Re eig(J) = margin`` (exactly 0 up to rounding when ``margin = 0``).
    Returns the game and its scale (the largest block constant).
    """
    n = int(rng.integers(2, 6))
    sizes = rng.integers(1, 4, n)
    coupling = rng.uniform(0.1, 1.0, (n, n)) * (rng.random((n, n)) < 0.6)
    coupling[np.arange(n), (np.arange(n) + 1) % n] = rng.uniform(0.1, 1.0, n)
    np.fill_diagonal(coupling, 0.0)
    perron = rng.uniform(0.5, 2.0, n)
    mu = coupling @ perron / perron
    largest = max(mu.max() + margin, coupling.max())
    own = [scale * (mu[i] + margin * largest) * np.eye(d) for i, d in enumerate(sizes)]
    couplings = {}
    for i in range(n):
        for j in range(n):
            if i != j and coupling[i, j] > 0:
                block = np.eye(sizes[i], sizes[j])
                couplings[(i, j)] = -scale * coupling[i, j] * block
    return linear_quadratic_game(own, couplings), scale * largest


def test_two_hundred_singular_m_matrix_games_are_never_certified():
    # The experiment: 200 games whose comparison matrix is a singular M-matrix, scaled by
    # 1e-6 .. 1e6. No weighting can certify them; rounding must not either.
    rng = np.random.default_rng(2024)
    certified, undecided = 0, 0
    for _ in range(200):
        game, _ = comparison_game(rng, 10.0 ** rng.uniform(-6, 6))
        cert = certify_nash(game)
        certified += cert.certified
        undecided += cert.m_matrix is None
        assert cert.m_matrix is not True and cert.status == -4
        assert "within rounding" in cert.reason
    assert certified == 0
    assert undecided == 200


@st.composite
def boundary_games(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    return rng, 10.0 ** draw(st.floats(-6.0, 6.0))


@settings(max_examples=40, deadline=None)
@given(boundary_games())
def test_singular_m_matrix_games_at_any_scale_are_not_certified(case):
    rng, scale = case
    game, _ = comparison_game(rng, scale)
    cert = certify_nash(game)
    assert not cert.certified and cert.m_matrix is not True
    assert all(margin <= 0 for margin in cert.candidates.values())
    assert "within rounding of the certification boundary" in cert.reason


@settings(max_examples=40, deadline=None)
@given(boundary_games())
def test_games_with_margin_1e_minus_8_of_their_scale_are_certified(case):
    rng, scale = case
    game, largest = comparison_game(rng, scale, margin=1e-8)
    cert = certify_nash(game)
    true_margin = 1e-8 * largest
    assert cert.certified and cert.m_matrix is True
    # The certified margin is a lower bound of the true one, within rounding of it.
    assert true_margin * (1 - 1e-5) <= cert.margin <= true_margin * (1 + 1e-5)
    assert cert.margin_error < 1e-12 * largest


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_scaled_cyclic_three_player_game_is_not_certified(scale):
    # mu = 1, L_01 = 0.5, L_12 = 0.8, L_20 = 1 / 0.4: rho(L) = (0.5 * 0.8 * 2.5)^(1/3) = 1.
    matrix = scale * np.array([[1.0, -0.5, 0.0], [0.0, 1.0, -0.8], [-2.5, 0.0, 1.0]])
    cert = certify_nash(quadratic_game(matrix, [1, 1, 1]))
    assert not cert.certified and cert.m_matrix is None and cert.margin <= 0
    assert "within rounding" in cert.reason and "weight_maxiter" not in cert.reason
    # Just inside the boundary (L_20 lowered by 1e-8 relative) it is certified with margin
    # about tau(K) = 1 - (1 - 1e-8)^(1/3) ~ 3.3e-9 (times the scale).
    inside = matrix.copy()
    inside[2, 0] *= 1 - 1e-8
    cert = certify_nash(quadratic_game(inside, [1, 1, 1]))
    tau = np.linalg.eigvals(inside).real.min()
    assert cert.certified and cert.margin == pytest.approx(tau, rel=1e-5) and cert.margin <= tau


def test_sampled_boundary_game_is_not_certified_and_stays_non_rigorous():
    # F(x) = K x + x^3 / 10 with K a singular M-matrix: the sampled Jacobians include K itself
    # (at the centre), so the sampled constants sit on the boundary.
    matrix = np.array([[1.0, -1.0], [-1.0, 1.0]])
    game = Game(lambda x: matrix @ x + x ** 3 / 10, [1, 1],
                jacobian=lambda x: matrix + np.diag(3 * x ** 2 / 10))
    cert = certify_nash(game, Region.cube(np.zeros(2), 0.5))
    assert not cert.certified and not cert.rigorous
    assert "within rounding" in cert.reason


# ---------------------------------------------------------------- the best certificate
@pytest.mark.parametrize("n_firms", range(2, 51))
def test_cournot_oligopolies_are_certified(n_firms):
    game = cournot_game(n_firms)
    cert = certify_nash(game)
    # Independent reference: J = b (I + 1 1^T) + diag(d) is symmetric, so its Euclidean modulus
    # is its smallest eigenvalue, at least b + min(d) = 1.5.
    curvatures = np.linspace(0.5, 1.0, n_firms)
    jacobian = np.eye(n_firms) + np.ones((n_firms, n_firms)) + np.diag(curvatures)
    modulus = np.linalg.eigvalsh(jacobian)[0]
    assert cert.certified and cert.rigorous and modulus >= 1.5
    assert cert.margin <= modulus and cert.margin == pytest.approx(modulus, abs=1e-12 * n_firms)
    assert cert.candidates["monotone"] == pytest.approx(modulus, abs=1e-12 * n_firms)
    # The small-gain test sees mu_i = 2 + d_i against N - 1 couplings 1: it fails from N = 4
    # (tau(K) from numpy.linalg.eigvals as the reference).
    tau = np.linalg.eigvals(np.diag(2 + curvatures) - (np.ones((n_firms, n_firms))
                                                        - np.eye(n_firms))).real.min()
    if n_firms >= 4:
        assert tau < 0 and cert.kind == "monotone" and cert.m_matrix is False
    else:
        assert cert.candidates["small-gain"] == pytest.approx(tau, abs=1e-12)
    assert cert.beta >= np.linalg.norm(jacobian, 2) * (1 - 1e-15)


def test_small_gain_kind_alone_reproduces_the_paper_and_best_is_never_worse():
    for game in (scalar_game(), orthogonal_lq_game(0.5), random_n_player_game(4, 3, seed=1),
                 zero_sum_game(1.0, 2.0), cournot_game(6)):
        best = certify_nash(game)
        small_gain = certify_nash(game, kind="small-gain")
        assert set(small_gain.candidates) == {"small-gain"}
        assert small_gain.margin == best.candidates["small-gain"]
        # The largest certified margin (ties within rounding go to the small-gain certificate).
        assert best.margin == best.candidates[best.kind]
        assert best.margin == pytest.approx(max(best.candidates.values()), abs=1e-12)
        for kind, margin in best.candidates.items():
            assert certify_nash(game, kind=kind).margin == pytest.approx(margin, abs=1e-9)


def test_block_weighted_certificate_from_the_whole_jacobian():
    # J = [[1, 10], [-1, 1]]: K = [[1, -10], [-1, 1]] has tau = 1 - sqrt(10) < 0 (no small-gain
    # certificate), the Euclidean margin is 1 - 4.5 < 0, yet with w = (1, 10) the weighted
    # Jacobian [[1, sqrt 10], [-sqrt 10, 1]] has symmetric part I: margin 1 exactly.
    game = quadratic_game([[1.0, 10.0], [-1.0, 1.0]], [1, 1])
    cert = certify_nash(game)
    assert cert.certified and cert.kind == "weighted-monotone" and cert.m_matrix is False
    assert cert.margin == pytest.approx(1.0, abs=1e-12) and cert.margin <= 1.0
    assert cert.weights[1] == pytest.approx(10.0, rel=1e-6)
    assert cert.candidates["small-gain"] < 0 and cert.candidates["monotone"] < 0
    assert cert.margin <= weighted_modulus(game.matrix, [1, 1], cert.weights)


# ---------------------------------------------------------------- result protocol, printing
def test_certificate_is_a_read_only_result_with_a_short_repr():
    import copy
    import pickle

    from scipy.optimize import OptimizeResult as ScipyResult

    cert = certify_nash(random_n_player_game(30, 2, seed=0))
    assert isinstance(cert, OptimizeResult) and isinstance(cert, ScipyResult)
    assert isinstance(cert, Certificate)
    text = repr(cert)
    assert text == str(cert) and len(text.splitlines()) <= 10 and len(text) < 1000
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "CERTIFIED" in text and "..." in text              # 30 weights are summarised
    with pytest.raises(AttributeError, match="read-only"):
        cert.margin = 1.0
    with pytest.raises(TypeError, match="read-only"):
        cert["margin"] = 1.0
    with pytest.raises(TypeError, match="read-only"):
        cert.update(margin=1.0)
    for clone in (copy.deepcopy(cert), pickle.loads(pickle.dumps(cert))):
        assert isinstance(clone, Certificate) and clone.margin == cert.margin
        np.testing.assert_array_equal(clone.weights, cert.weights)
    assert cert.x is cert.weights and cert.fun == -cert.margin
