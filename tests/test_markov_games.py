"""Fisher/mirror geometry on the entropy-regularised two-state Markov game (spec E-B3, T-S7)."""

import itertools

import numpy as np
import pytest

from numopt import certify_nash, gradient_play
from numopt.games import Region, TabularMarkovGame
from numopt.problems.games_zoo import markov_coordination_game


@pytest.fixture(scope="module")
def game():
    return markov_coordination_game()


@pytest.fixture(scope="module")
def certificate(game):
    # The SGN paper's certificate (the small-gain one), whose numbers spec T-S7 publishes.
    return certify_nash(game, Region.cube(np.zeros(8), 0.1), geometry="fisher",
                        kind="small-gain")


def test_uniform_policies_are_the_equilibrium(game):
    assert np.linalg.norm(game.pseudo_gradient(np.zeros(8))) < 1e-10


def test_pseudo_gradient_matches_finite_differences_of_costs(game):
    theta = np.random.default_rng(0).standard_normal(8) * 0.5
    gradient = game.pseudo_gradient(theta)
    step = 1e-6
    for k in range(8):
        player = 0 if k < 4 else 1
        shift = np.zeros(8)
        shift[k] = step
        fd = (game.costs(theta + shift)[player] - game.costs(theta - shift)[player]) / (2 * step)
        assert gradient[k] == pytest.approx(fd, abs=1e-8)


def test_costs_match_a_monte_carlo_free_rollout(game):
    # Independent evaluation of the discounted return: sum_t gamma^t E[r_t] by propagating the
    # state distribution for 400 steps (gamma^400 ~ 5e-19).
    theta = np.random.default_rng(1).standard_normal(8)
    pi = [np.exp(t) / np.exp(t).sum(1, keepdims=True) for t in theta.reshape(2, 2, 2)]
    joint = np.einsum("sa,sb->sab", *pi)
    reward = np.array([[1.0, -1.0], [-1.0, 1.0]])
    transition = np.einsum("sab,sabt->st", joint, game.transitions)
    state, total = np.array([1.0, 0.0]), 0.0
    for t in range(400):
        total += 0.9 ** t * state @ (joint * reward).sum((1, 2))
        state = state @ transition
    entropy = [-(p * np.log(p)).sum() for p in pi]
    expected = [-((1 - 0.9) * total + h) for h in entropy]
    np.testing.assert_allclose(game.costs(theta), expected, atol=1e-12)


def test_fisher_certificate_reproduces_spec_numbers(certificate):
    # Spec T-S7 (finite-difference port of the reference code): tolerance 1e-2.
    cert = certificate
    assert cert.certified and cert.geometry == "fisher" and not cert.rigorous
    np.testing.assert_allclose(cert.mu, [0.9344, 0.9344], atol=1e-2)
    assert cert.coupling[0, 1] == pytest.approx(0.6009, abs=1e-2)
    assert cert.coupling[1, 0] == pytest.approx(0.6009, abs=1e-2)
    assert cert.margin == pytest.approx(0.3334, abs=1e-2)
    assert cert.weights[1] == pytest.approx(1.0, abs=3e-2)         # best r ~ 1 (grid: 0.977)
    assert cert.beta == pytest.approx(1.572, abs=1e-2)
    assert cert.euler_step_max == pytest.approx(0.270, abs=1e-2)
    np.testing.assert_allclose(cert.timescale_band, (0.133, 7.54), atol=1e-2)
    assert "NOT rigorous" in str(cert)


def test_natural_direction_is_the_minimum_norm_fisher_solve(game):
    theta = np.random.default_rng(2).standard_normal(8) * 0.3
    direction = game.natural_direction(theta)
    gradient = game.pseudo_gradient(theta)
    for block, fisher in zip(game.blocks, game.fisher_blocks(theta), strict=True):
        reference = np.linalg.lstsq(fisher, gradient[block], rcond=None)[0]
        np.testing.assert_allclose(direction[block], reference, atol=1e-12)


def test_npg_at_half_eta_max_converges_from_twenty_seeds(game, certificate):
    eta = certificate.euler_step_max / 2
    for seed in range(42, 62):
        theta0 = np.random.default_rng(seed).normal(0.0, 0.01, 8)
        res = gradient_play(game, theta0, certificate=certificate, step=eta, tol=1e-7,
                            maxiter=2000)
        assert res.success and res.geometry == "fisher"
        assert np.linalg.norm(game.pseudo_gradient(res.x)) < 1e-6
        # The policies are uniform (logits are defined up to a per-state shift).
        for policy in game.policies(res.x):
            np.testing.assert_allclose(policy, 0.5, atol=1e-6)


def test_kl_lyapunov_decreases_along_certified_npg(game, certificate):
    iterates = []
    theta0 = np.clip(np.random.default_rng(3).normal(0.0, 0.05, 8), -0.09, 0.09)
    gradient_play(game, theta0, certificate=certificate, callback=iterates.append, maxiter=60,
                  warn=False)
    weights = certificate.weights

    def lyapunov(theta):
        # V = sum_i w_i sum_s KL(pi_i* || pi_i), with pi* uniform.
        return sum(w * np.sum(0.5 * np.log(0.5 / p))
                   for w, p in zip(weights, game.policies(theta), strict=True))

    values = [lyapunov(theta) for theta in iterates]
    assert all(after < before for before, after in itertools.pairwise(values))


def test_bad_markov_inputs():
    match = np.array([[1.0, -1.0], [-1.0, 1.0]])
    rewards = np.stack([np.stack([match])] * 2)
    with pytest.raises(ValueError, match="transitions"):
        TabularMarkovGame(rewards, np.full((1, 2, 2, 1), 0.5), discount=0.9, entropy=1.0,
                          initial=[1.0])
    with pytest.raises(ValueError, match="discount"):
        TabularMarkovGame(rewards, np.ones((1, 2, 2, 1)), discount=1.0, entropy=1.0,
                          initial=[1.0])
    with pytest.raises(ValueError, match="rewards"):
        TabularMarkovGame(rewards[..., 0], np.ones((1, 2, 2, 1)), discount=0.5, entropy=1.0,
                          initial=[1.0])
    with pytest.raises(ValueError, match="initial"):
        TabularMarkovGame(rewards, np.ones((1, 2, 2, 1)), discount=0.5, entropy=1.0,
                          initial=[0.5])


def test_best_fisher_certificate_beats_small_gain_and_npg_converges(game, certificate):
    region = Region.cube(np.zeros(8), 0.1)
    best = certify_nash(game, region, geometry="fisher")
    assert best.certified and not best.rigorous and best.kind != "small-gain"
    assert best.candidates["small-gain"] == pytest.approx(certificate.margin, abs=1e-12)
    assert best.margin > certificate.margin + 0.02
    # Reference: lambda_min of sym(T J T^T), the Fisher-normalised Jacobian, over the 256
    # vertices and the centre by numpy.linalg.eigvalsh (the unweighted modulus).
    reference = np.inf
    for corner in itertools.chain(itertools.product((-0.1, 0.1), repeat=8), [(0.0,) * 8]):
        point = np.array(corner)
        transform, _ = game.fisher_normaliser(point)
        normalised = transform @ game.jacobian(point) @ transform.T
        reference = min(reference, np.linalg.eigvalsh((normalised + normalised.T) / 2)[0])
    assert best.candidates["monotone"] <= reference
    assert best.candidates["monotone"] == pytest.approx(reference, abs=1e-12)
    assert best.margin >= reference - 1e-12
    for seed in range(42, 47):
        theta0 = np.random.default_rng(seed).normal(0.0, 0.01, 8)
        res = gradient_play(game, theta0, certificate=best, step=best.euler_step_max / 2,
                            tol=1e-7, maxiter=2000)
        assert res.success and np.linalg.norm(game.pseudo_gradient(res.x)) < 1e-6
