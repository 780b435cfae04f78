"""numba (and CuPy) OT kernels against the NumPy reference kernels."""

import numpy as np
import pytest

from numopt.backends import get_backend
from tests.conftest import requires_gpu

NUMPY = get_backend("numpy")


def _problem(n=37, m=29, reg=0.05, seed=0):
    rng = np.random.default_rng(seed)
    C = rng.random((n, m))
    f, g = rng.normal(size=n) * 0.1, rng.normal(size=m) * 0.1
    return f, g, C, reg


def _absorbed(n=37, m=29, reg=0.02, seed=0):
    """A kernel with entries spanning many octaves (plus exact zeros) and random scalings."""
    _, _, C, _ = _problem(n, m, reg, seed)
    K = np.empty_like(C)
    # exponents in [-50, 0]: entries from 1 down past the last octave bin (2^-63)
    NUMPY.absorb_kernel(np.zeros(n), np.zeros(m), C * 50 * reg, reg, K)
    K[0, :3] = 0.0
    rng = np.random.default_rng(seed + 1)
    return K, rng.random(n) + 0.5, rng.random(m) + 0.5


def _compare(reference, candidate, rtol=1e-12, atol=1e-300):
    if isinstance(reference, tuple):
        assert len(reference) == len(candidate)
        for ref, got in zip(reference, candidate, strict=False):
            _compare(ref, got, rtol, atol)
    else:
        np.testing.assert_allclose(np.asarray(candidate), np.asarray(reference), rtol=rtol,
                                   atol=atol)


@pytest.mark.parametrize("name, reg", [("logsumexp_rows", 1.0), ("logsumexp_rows", 1e-4),
                                       ("logsumexp_cols", 1.0), ("logsumexp_cols", 1e-4)])
def test_dense_passes(name, reg):
    f, g, C, _ = _problem()
    numba = get_backend("numba")
    _compare(getattr(NUMPY, name)(f, g, C, reg), getattr(numba, name)(f, g, C, reg))


def test_logsumexp_matches_scipy():
    from scipy.special import logsumexp

    f, g, C, reg = _problem()
    exponent = (f[:, None] + g[None, :] - C) / reg
    for backend in ("numpy", "numba"):
        kernels = get_backend(backend)
        np.testing.assert_allclose(kernels.logsumexp_rows(f, g, C, reg),
                                   logsumexp(exponent, axis=1), rtol=1e-13)
        np.testing.assert_allclose(kernels.logsumexp_cols(f, g, C, reg),
                                   logsumexp(exponent, axis=0), rtol=1e-13)


def test_absorb_kernel_underflow_is_zero():
    _, _, C, _ = _problem()
    reg = 1e-3  # exponents down to -1000: most entries underflow
    u, v = np.zeros(C.shape[0]), np.zeros(C.shape[1])
    out_ref, out_numba = np.empty_like(C), np.empty_like(C)
    sums_ref = NUMPY.absorb_kernel(u, v, C, reg, out_ref)
    sums_numba = get_backend("numba").absorb_kernel(u, v, C, reg, out_numba)
    _compare(out_ref, out_numba, atol=1e-300)
    _compare(sums_ref, sums_numba)
    assert np.all(np.isfinite(out_numba))


def test_scaled_marginals_and_cost():
    K, alpha, beta = _absorbed()
    numba = get_backend("numba")
    plan = alpha[:, None] * K * beta[None, :]
    _compare((plan.sum(1), plan.sum(0)), numba.scaled_marginals(K, alpha, beta))
    _compare(NUMPY.scaled_marginals(K, alpha, beta), numba.scaled_marginals(K, alpha, beta))
    C = np.random.default_rng(3).random(K.shape)
    np.testing.assert_allclose(numba.plan_cost(K, alpha, beta, C), (plan * C).sum(), rtol=1e-12)
    np.testing.assert_allclose(NUMPY.plan_cost(K, alpha, beta, C), (plan * C).sum(), rtol=1e-12)


@pytest.mark.parametrize("tol", [0.0, 1e-3])
def test_sinkhorn_sweeps(tol):
    f, g, C, reg = _problem()
    n, m = C.shape
    a, b = np.full(n, 1 / n), np.full(m, 1 / m)
    K = np.exp(-C / reg)
    results = []
    for backend in ("numpy", "numba"):
        alpha, beta = np.ones(n), np.ones(m)
        errors, done = get_backend(backend).sinkhorn_sweeps(K, a, b, alpha, beta, 50, tol, 30.0)
        results.append((errors[:done], alpha, beta))
    assert len(results[0][0]) == len(results[1][0])
    # the errors are differences of O(1/n) numbers: compare them at absolute rounding level
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-10, atol=1e-14)
    for ref, got in zip(results[0][1:], results[1][1:], strict=False):
        np.testing.assert_allclose(got, ref, rtol=1e-10)
    # after a sweep the column marginal is exact
    alpha, beta = results[1][1], results[1][2]
    np.testing.assert_allclose(beta * (K.T @ alpha), b, rtol=1e-12)


def test_sinkhorn_sweeps_stop_when_scalings_leave_range():
    f, g, C, reg = _problem()
    n, m = C.shape
    K = np.exp(-C / reg)
    a, b = np.full(n, 1 / n), np.full(m, 1 / m)
    for backend in ("numpy", "numba"):
        alpha, beta = np.ones(n), np.ones(m)
        _, done = get_backend(backend).sinkhorn_sweeps(K, a, b, alpha, beta, 50, 0.0, 1.0)
        assert done == 1  # log(1/n)-sized scalings exceed the limit 1 at once


def test_sparsify_histograms():
    K, alpha, beta = _absorbed()
    reference = NUMPY.sparsify_histograms(K, alpha, beta)
    candidate = get_backend("numba").sparsify_histograms(K, alpha, beta)
    _compare(reference, candidate, rtol=1e-10, atol=1e-15)
    # bins against frexp: the mass of each row adds up
    plan = alpha[:, None] * K * beta[None, :]
    np.testing.assert_allclose(candidate[0].sum(1), plan.sum(1), rtol=1e-12)
    np.testing.assert_array_equal(candidate[3].sum(1), np.full(K.shape[1], K.shape[0]))
    assert candidate[2][:, -1].sum() > 0 and candidate[2][:, 5].sum() > 0  # bins in use
    # the count of each row's bin k is the number of entries in [2^-(k+1), 2^-k)
    row = plan[1]
    for k in range(10):
        in_bin = np.count_nonzero((row >= 2.0 ** -(k + 1)) & (row < 2.0 ** -k))
        assert candidate[2][1, k] == in_bin


def test_sparsify_select():
    K, alpha, beta = _absorbed()
    plan = alpha[:, None] * K * beta[None, :]
    rng = np.random.default_rng(5)
    row_threshold = np.quantile(plan, 0.9, axis=1) * rng.random(K.shape[0])
    col_threshold = np.quantile(plan, 0.95, axis=0)
    keep = (plan >= row_threshold[:, None]) | (plan >= col_threshold[None, :])
    for backend in ("numpy", "numba"):
        indptr, indices, data = get_backend(backend).sparsify_select(
            K, alpha, beta, row_threshold, col_threshold, int(keep.sum()))
        dense = np.zeros_like(plan)
        rows = np.repeat(np.arange(K.shape[0]), np.diff(indptr))
        dense[rows, indices] = data
        np.testing.assert_allclose(dense, np.where(keep, plan, 0.0), rtol=1e-14)


@pytest.mark.parametrize("transpose", [False, True])
def test_schur_matvec(transpose):
    import scipy.sparse as sp

    rng = np.random.default_rng(2)
    S = sp.random(20, 15, density=0.2, random_state=3, format="csr")
    row_diag, col_diag = rng.random(20) + 1, rng.random(15) + 1
    dense = S.toarray()
    if transpose:
        x = rng.normal(size=20)
        expected = row_diag * x - dense @ ((dense.T @ x) / col_diag)
    else:
        x = rng.normal(size=15)
        expected = col_diag * x - dense.T @ ((dense @ x) / row_diag)
    for backend in ("numpy", "numba"):
        got = get_backend(backend).schur_matvec(S.indptr.astype(np.int64),
                                                S.indices.astype(np.int64), S.data, row_diag,
                                                col_diag, x, transpose)
        np.testing.assert_allclose(got, expected, rtol=1e-12)


@requires_gpu
@pytest.mark.gpu
def test_cupy_kernels_match_numpy():
    import cupy

    cp_backend = get_backend("cupy")
    K, alpha, beta = _absorbed()
    on_device = [cupy.asarray(x) for x in (K, alpha, beta)]
    _compare(NUMPY.scaled_marginals(K, alpha, beta),
             tuple(cupy.asnumpy(x) for x in cp_backend.scaled_marginals(*on_device)))
    _compare(NUMPY.sparsify_histograms(K, alpha, beta),
             tuple(cupy.asnumpy(x) for x in cp_backend.sparsify_histograms(*on_device)),
             rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_sinkhorn_sweeps_batch_is_k_single_target_sweeps(backend):
    _, _, C, reg = _problem()
    n, m = C.shape
    K = np.exp(-C / reg)
    rng = np.random.default_rng(3)
    a = np.full(n, 1 / n)
    B = rng.random((m, 4)) + 0.1
    B /= B.sum(axis=0)
    alpha, beta = np.ones((n, 4)), np.ones((m, 4))
    errors, done = get_backend(backend).sinkhorn_sweeps_batch(K, a[:, None], B, alpha, beta, 30,
                                                              0.0, 30.0)
    assert done == 30
    for target in range(4):
        # the reference: the single-target reference kernel on that column
        single_alpha, single_beta = np.ones(n), np.ones(m)
        single_errors, _ = NUMPY.sinkhorn_sweeps(K, a, B[:, target], single_alpha, single_beta,
                                                 30, 0.0, 30.0)
        # first and last starting errors, as the single-target kernel keeps them
        np.testing.assert_allclose(errors[:, target], single_errors, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(alpha[:, target], single_alpha, rtol=1e-10)
        np.testing.assert_allclose(beta[:, target], single_beta, rtol=1e-10)
    # after a sweep every column marginal is exact
    np.testing.assert_allclose(beta * (K.T @ alpha), B, rtol=1e-12)


def test_sinkhorn_sweeps_batch_stops_at_tol_and_out_of_range():
    _, _, C, reg = _problem()
    n, m = C.shape
    K = np.exp(-C / reg)
    a, B = np.full((n, 1), 1 / n), np.full((m, 2), 1 / m)
    alpha, beta = np.ones((n, 2)), np.ones((m, 2))
    _, done = NUMPY.sinkhorn_sweeps_batch(K, a, B, alpha, beta, 50, 0.0, 1.0)
    assert done == 1  # log(1/n)-sized scalings exceed the limit 1 at once
    alpha, beta = np.ones((n, 2)), np.ones((m, 2))
    errors, done = NUMPY.sinkhorn_sweeps_batch(K, a, B, alpha, beta, 500, 1e-6, 30.0)
    assert 2 < done < 500 and errors[-1].max() <= 1e-6 < errors[0].max()
    # one sweep fewer than that stops short of tol
    alpha, beta = np.ones((n, 2)), np.ones((m, 2))
    shorter, _ = NUMPY.sinkhorn_sweeps_batch(K, a, B, alpha, beta, done - 1, 1e-6, 30.0)
    assert shorter[-1].max() > 1e-6
