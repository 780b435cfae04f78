"""Sketch-and-project inner solvers and their kernels (numpy reference vs numba vs direct)."""

import numpy as np
import pytest
import scipy.sparse as sp

from numopt.backends import get_backend
from numopt.constrained.sketching import KKTSketcher, RangeSpaceSketcher, direct_solve, sketch_solve
from tests.conftest import requires_gpu

SKETCHES = ("kaczmarz", "gaussian", "block")


def _kkt(seed, n=12, m=4, rank_deficient=False):
    """A random symmetric KKT matrix [[H, G^T], [G, 0]] and a consistent right-hand side."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    H = A @ A.T / n + np.eye(n)
    G = rng.standard_normal((m, n))
    if rank_deficient:
        G[-1] = G[0]
    K = np.block([[H, G.T], [G, np.zeros((m, m))]])
    solution = rng.standard_normal(n + m)
    return K, K @ solution


@pytest.mark.parametrize("method", SKETCHES)
@pytest.mark.parametrize("sparse", [False, True])
def test_sketch_solvers_match_direct_solve(method, sparse, cpu_backend):
    K, b = _kkt(1)
    reference = np.linalg.solve(K, b)
    matrix = sp.csr_matrix(K) if sparse else K
    z, info = sketch_solve(matrix, b, method=method, rtol=1e-10, max_steps=2_000_000, seed=3,
                           backend=cpu_backend)
    assert info["converged"]
    assert info["residual"] <= 1e-10 * np.linalg.norm(b)
    np.testing.assert_allclose(z, reference, atol=1e-7)


@pytest.mark.parametrize("method", SKETCHES)
def test_rank_deficient_consistent_system_is_solved(method):
    K, b = _kkt(2, rank_deficient=True)
    z, info = sketch_solve(K, b, method=method, rtol=1e-9, max_steps=2_000_000, seed=0)
    assert info["converged"]
    assert np.linalg.norm(K @ z - b) <= 1e-9 * np.linalg.norm(b)


@pytest.mark.parametrize("method", SKETCHES)
@pytest.mark.parametrize("sparse", [False, True])
def test_numba_kernels_match_numpy_reference(method, sparse):
    K, b = _kkt(4, n=9, m=3)
    K = sp.csr_matrix(K) if sparse else K
    results = []
    for name in ("numpy", "numba"):
        sketcher = KKTSketcher(K, method, get_backend(name), np.random.default_rng(7),
                               block_size=3)
        z, residual, steps = sketcher.solve(b, np.zeros_like(b), 0.0, 200)
        results.append((z, sketcher.r, steps))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-10, atol=1e-12)
    assert results[0][2] == results[1][2] == 200


def test_budget_is_respected_and_reported():
    K, b = _kkt(5)
    z, info = sketch_solve(K, b, method="kaczmarz", rtol=1e-14, max_steps=50, seed=0)
    assert info["steps"] == 50 and not info["converged"]


def test_direct_solve_rejects_singular_matrix():
    K = np.array([[1.0, 1.0], [1.0, 1.0]])
    with pytest.raises(np.linalg.LinAlgError):
        direct_solve(K, np.array([1.0, 0.0]))
    with pytest.raises(np.linalg.LinAlgError):
        direct_solve(sp.csr_matrix(K), np.array([1.0, 0.0]))


@pytest.mark.parametrize("bad, match", [
    (dict(K=np.ones((2, 3)), b=np.ones(2)), "square"),
    (dict(K=np.array([[1.0, 2.0], [0.0, 1.0]]), b=np.ones(2)), "symmetric"),
    (dict(K=np.eye(2), b=np.ones(3)), "shape"),
    (dict(K=np.eye(2), b=np.array([1.0, np.nan])), "finite"),
    (dict(K=np.array([[np.inf, 0.0], [0.0, 1.0]]), b=np.ones(2)), "finite"),
])
def test_bad_systems_raise(bad, match):
    with pytest.raises(ValueError, match=match):
        sketch_solve(bad["K"], bad["b"])


def test_bad_options_raise():
    with pytest.raises(ValueError, match="method"):
        sketch_solve(np.eye(2), np.ones(2), method="cholesky")
    with pytest.raises(ValueError, match="max_steps"):
        sketch_solve(np.eye(2), np.ones(2), max_steps=0)


@pytest.mark.gpu
@requires_gpu
@pytest.mark.parametrize("method", SKETCHES + ("direct",))
def test_cupy_matches_direct(method):
    import cupy

    K, b = _kkt(6)
    z, info = sketch_solve(cupy.asarray(K), cupy.asarray(b), method=method, rtol=1e-10,
                           max_steps=2_000_000, seed=0)
    assert info["converged"]
    np.testing.assert_allclose(z, np.linalg.solve(K, b), atol=1e-7)


def _range_space_system(seed, n=30, m=12):
    """``[[D, G^T], [G, 0]]`` with a positive diagonal ``D`` and a sparse ``G``, and ``b``."""
    rng = np.random.default_rng(seed)
    diagonal = 1.0 + rng.random(n)
    G = sp.random(m, n, density=0.3, random_state=seed, format="csr") + sp.eye(m, n)
    K = sp.bmat([[sp.diags(diagonal), G.T], [G, None]], format="csc")
    return diagonal, G.tocsr(), K, rng.standard_normal(n + m)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_range_space_sketch_matches_sparse_lu(backend):
    from scipy.sparse.linalg import spsolve

    diagonal, G, K, b = _range_space_system(0)
    sketcher = RangeSpaceSketcher(diagonal, G, get_backend(backend), np.random.default_rng(1))
    z, residual, steps = sketcher.solve(b, np.zeros_like(b), 1e-11 * np.linalg.norm(b), 10**6)
    # its residual is the full KKT residual (the first block row holds exactly)
    assert residual == pytest.approx(np.linalg.norm(K @ z - b), rel=1e-6, abs=1e-13)
    np.testing.assert_allclose(z, spsolve(K, b), atol=1e-9)
    # continued from the returned z, nothing more is needed
    assert sketcher.solve(b, z, 1e-11 * np.linalg.norm(b), 10)[2] == 0


def test_range_space_numba_kernel_matches_numpy_reference():
    diagonal, G, _, b = _range_space_system(2)
    rows = np.random.default_rng(3).integers(0, G.shape[0], size=500)
    results = []
    for name in ("numpy", "numba"):
        multipliers, dx = np.zeros(G.shape[0]), b[:G.shape[1]] / diagonal
        gram_diagonal = np.asarray(G.multiply(G) @ (1.0 / diagonal)).ravel()
        get_backend(name).range_kaczmarz_steps(G, 1.0 / diagonal, gram_diagonal,
                                               b[G.shape[1]:], multipliers, dx, rows)
        results.append((multipliers, dx))
    for numpy_array, numba_array in zip(*results, strict=True):
        np.testing.assert_allclose(numba_array, numpy_array, rtol=1e-12, atol=1e-14)
