"""The numba logistic / softmax kernels against the NumPy reference (and a dense computation)."""

import numpy as np
import pytest
from scipy import sparse

from numopt.backends import get_backend
from tests.conftest import requires_gpu


def _csr(n=60, d=9, density=0.4, seed=0):
    X = sparse.random(n, d, density=density, random_state=seed, format="csr")
    X.sort_indices()
    return X


@pytest.fixture(params=["numpy", "numba"])
def kernels(request):
    return get_backend(request.param)


def test_logistic_kernels_match_dense_formulas(kernels):
    X = _csr()
    rng = np.random.default_rng(1)
    y = rng.choice([-1.0, 1.0], size=X.shape[0])
    # Large margins on purpose: the loss must not overflow for either sign.
    x = 30 * rng.normal(size=X.shape[1])
    csr = (X.indptr, X.indices, X.data)
    f, g, w = kernels.logistic_fgw(*csr, y, x, 0.3)
    dense = X.toarray()
    margins = y * (dense @ x)
    sigma_neg = 1 / (1 + np.exp(margins))
    n = X.shape[0]
    assert np.isclose(f, np.logaddexp(0, -margins).mean() + 0.15 * x @ x, rtol=1e-13)
    np.testing.assert_allclose(g, dense.T @ (-y * sigma_neg) / n + 0.3 * x, rtol=1e-12,
                               atol=1e-15)
    exp_abs = np.exp(-np.abs(margins))
    np.testing.assert_allclose(w, exp_abs / (1 + exp_abs) ** 2 / n, rtol=1e-12, atol=1e-300)
    gram = dense.T @ (w[:, None] * dense)
    np.testing.assert_allclose(kernels.csr_weighted_gram(*csr, w, X.shape[1]), gram,
                               rtol=1e-12, atol=1e-16)
    v = rng.normal(size=X.shape[1])
    np.testing.assert_allclose(kernels.csr_weighted_hessp(*csr, w, v), gram @ v, rtol=1e-12,
                               atol=1e-16)


def test_softmax_kernels_numba_match_numpy():
    X = _csr(seed=2)
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, size=X.shape[0])
    W = rng.normal(size=(X.shape[1], 4))
    csr = (X.indptr, X.indices, X.data)
    reference, compiled = get_backend("numpy"), get_backend("numba")
    f_ref, G_ref, P_ref = reference.softmax_fgp(*csr, labels, W, 0.1)
    f, G, P = compiled.softmax_fgp(*csr, labels, W, 0.1)
    assert np.isclose(f, f_ref, rtol=1e-13)
    np.testing.assert_allclose(G, G_ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(P, P_ref, rtol=1e-12)
    residual = P.copy()
    residual[np.arange(len(labels)), labels] -= 1
    for diag, outer, sign in ((P, P, 1.0), (P, P, 0.0), (np.zeros_like(P), residual, -1.0)):
        np.testing.assert_allclose(compiled.csr_block_gram(*csr, diag, outer, sign, X.shape[1]),
                                   reference.csr_block_gram(*csr, diag, outer, sign, X.shape[1]),
                                   rtol=1e-12, atol=1e-15)


@pytest.mark.gpu
@requires_gpu
def test_cupy_logistic_kernels_match_numpy():
    import cupy

    X = _csr()
    y = np.random.default_rng(1).choice([-1.0, 1.0], size=X.shape[0])
    x = np.random.default_rng(2).normal(size=X.shape[1])
    csr = (X.indptr, X.indices, X.data)
    f, g, w = get_backend("numpy").logistic_fgw(*csr, y, x, 0.1)
    f_gpu, g_gpu, w_gpu = get_backend("cupy").logistic_fgw(*map(cupy.asarray, csr),
                                                           cupy.asarray(y), cupy.asarray(x), 0.1)
    assert np.isclose(f_gpu, f)
    np.testing.assert_allclose(cupy.asnumpy(g_gpu), g, rtol=1e-12)
    np.testing.assert_allclose(cupy.asnumpy(w_gpu), w, rtol=1e-12)
