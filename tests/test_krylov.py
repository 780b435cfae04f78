"""The Lanczos process of numopt._core.krylov and the LAPACK kernels of numopt.backends.linalg,
against NumPy's dense solvers and the conjugate-gradient loop."""

import numpy as np
import pytest

from numopt._core.krylov import Lanczos, conjugate_gradients
from numopt.backends.linalg import cho_solve, cholesky, solve_triangular


def _spd(d, seed=0, shift=1.0):
    A = np.random.default_rng(seed).normal(size=(d, d))
    return A @ A.T + shift * np.eye(d)


@pytest.mark.parametrize("shift", [1e-3, 0.5, 10.0])
def test_lanczos_full_basis_solves_every_shift_exactly(shift):
    A, b = _spd(12), np.random.default_rng(1).normal(size=12)
    process = Lanczos(lambda v: A @ v, b)
    while not process.exhausted and process.products < 12:
        process.extend()
    out = process.solve(shift)
    expected = np.linalg.solve(A + shift * np.eye(12), b)
    np.testing.assert_allclose(out.x, expected, rtol=1e-8, atol=1e-10)
    assert out.positive_definite and out.residual <= 1e-8 * np.linalg.norm(b)


@pytest.mark.parametrize("steps", [1, 3, 6])
def test_lanczos_iterates_are_cg_iterates_and_residual_estimate_is_true(steps):
    # The k-th Galerkin solution of the shifted system equals k CG steps on it (exact arithmetic;
    # here to rounding), and beta_k |y_k| is the true residual norm.
    A, b, shift = _spd(30, seed=2), np.random.default_rng(3).normal(size=30), 0.7
    shifted = A + shift * np.eye(30)
    process = Lanczos(lambda v: A @ v, b)
    for _ in range(steps):
        process.extend()
    out = process.solve(shift)
    cg = conjugate_gradients(lambda v: shifted @ v, b, 0.0, steps)
    np.testing.assert_allclose(out.x, cg.x, rtol=1e-7, atol=1e-9)
    assert np.isclose(out.residual, np.linalg.norm(b - shifted @ out.x), rtol=1e-6)
    assert process.products == steps


def test_lanczos_flags_indefinite_shift_like_cg_breakdown():
    A = np.diag([-2.0, 1.0, 3.0, 5.0])
    b = np.ones(4)
    process = Lanczos(lambda v: A @ v, b)
    for _ in range(4):
        process.extend()
    out = process.solve(1.0)  # A + I has the eigenvalue -1
    assert out.x is None and not out.positive_definite
    breakdown = conjugate_gradients(lambda v: (A + np.eye(4)) @ v, b, 1e-12, 10).breakdown
    assert breakdown
    ok = process.solve(2.5)  # A + 2.5 I is positive definite
    np.testing.assert_allclose(ok.x, np.linalg.solve(A + 2.5 * np.eye(4), b), rtol=1e-10)


def test_lanczos_rejects_zero_start_vector():
    with pytest.raises(ValueError, match="start vector"):
        Lanczos(lambda v: v, np.zeros(3))


@pytest.mark.parametrize("d", [1, 4, 40])
@pytest.mark.parametrize("order", ["C", "F"])
def test_cholesky_and_cho_solve_match_numpy(d, order):
    A = _spd(d, seed=d)
    rhs = np.random.default_rng(d).normal(size=(d, 3))
    L = cholesky(np.asarray(A, order=order))
    np.testing.assert_allclose(L, np.linalg.cholesky(A), rtol=1e-12, atol=1e-12)
    factor = np.asarray(L, order=order)
    np.testing.assert_allclose(cho_solve(factor, rhs), np.linalg.solve(A, rhs), rtol=1e-9)
    np.testing.assert_allclose(cho_solve(factor, rhs[:, 0]), np.linalg.solve(A, rhs[:, 0]),
                               rtol=1e-9)
    np.testing.assert_allclose(solve_triangular(factor, rhs[:, 0]),
                               np.linalg.solve(np.linalg.cholesky(A), rhs[:, 0]), rtol=1e-9)


def test_cholesky_raises_on_indefinite_matrix():
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        cholesky(np.diag([1.0, -1.0]))


def test_empty_systems_are_solved():
    empty = np.zeros((0, 0))
    assert cholesky(empty).shape == (0, 0)
    assert cho_solve(empty, np.zeros(0)).shape == (0,)
