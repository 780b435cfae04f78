"""Hessian sources, approximations and the regularized-system models of gn-newton.

References are independent: dense ``numpy.linalg.solve``, finite differences of the gradients,
explicit sums of per-sample outer products.
"""

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import approx_fprime, check_grad

from numopt.problems.least_squares import chebyshev_rosenbrock, linear_power, rosenbrock_residuals
from numopt.problems.softmax import LogSumExp, SoftmaxRegression
from numopt.unconstrained import _regularized_solve as models
from numopt.unconstrained.hessian_approx import (
    HessianOperator,
    RankOne,
    make_model,
    resolve_hessian,
)


def _spd(d, seed=0, shift=0.1):
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(d, d))
    return M @ M.T / d + shift * np.eye(d)


def _model(kind, H, metric):
    if kind == "cholesky":
        return models.CholeskyModel(H, metric)
    if kind == "eigh":
        return models.EigenModel(H, metric)
    if kind == "sparse":
        return models.SparseModel(sparse.csr_matrix(H), metric)
    return models.CGModel(lambda v: H @ v, metric, diagonal=np.diag(H).copy(), forcing=1e-12,
                          maxiter=200)


@pytest.mark.parametrize("kind", ["cholesky", "eigh", "sparse", "cg"])
@pytest.mark.parametrize("with_metric", [False, True])
def test_models_solve_shifted_system(kind, with_metric):
    d = 12
    H = _spd(d)
    B = _spd(d, seed=1, shift=1.0) if with_metric else None
    metric = models.Metric(B)
    g = np.random.default_rng(2).normal(size=d)
    for lam in (1e-3, 0.5, 30.0):
        expected = np.linalg.solve(H + lam * (np.eye(d) if B is None else B), g)
        got = _model(kind, H, metric).solve(g, lam)
        np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("kind", ["cholesky", "eigh", "cg"])
def test_models_reject_indefinite_systems(kind):
    d = 6
    H = np.diag([-2.0, 1, 1, 1, 1, 1])
    metric = models.Metric()
    g = np.ones(d)
    assert _model(kind, H, metric).solve(g, 1.0) is None  # H + I has eigenvalue -1
    np.testing.assert_allclose(_model(kind, H, metric).solve(g, 3.0),
                               np.linalg.solve(H + 3.0 * np.eye(d), g), rtol=1e-8)


def test_sparse_model_rejects_non_descent_step():
    H = sparse.diags([-2.0, 1.0, 1.0])
    assert models.SparseModel(H, models.Metric()).solve(np.array([1.0, 0.0, 0.0]), 1.0) is None


def test_cg_forcing_term_controls_accuracy():
    d = 40
    H = _spd(d, shift=1e-3)
    g = np.random.default_rng(3).normal(size=d) * 1e-4
    model = models.CGModel(lambda v: H @ v, models.Metric(), forcing=0.5, maxiter=500)
    step = model.solve(g, 1e-3)
    residual = np.linalg.norm((H + 1e-3 * np.eye(d)) @ step - g)
    # eta = min(0.5, sqrt(||g||)) ~ 0.02 for ||g|| ~ 6e-4
    assert residual <= min(0.5, np.linalg.norm(g) ** 0.5) * np.linalg.norm(g) * (1 + 1e-9)
    assert model.products > 0


@pytest.mark.parametrize("with_metric", [False, True])
def test_rank_one_model_is_sherman_morrison(with_metric):
    d = 7
    rng = np.random.default_rng(4)
    u, g = rng.normal(size=d), rng.normal(size=d)
    B = _spd(d, seed=5, shift=1.0) if with_metric else np.eye(d)
    model = models.RankOneModel(2.5, u, models.Metric(B if with_metric else None))
    expected = np.linalg.solve(0.3 * B + 2.5 * np.outer(u, u), g)
    np.testing.assert_allclose(model.solve(g, 0.3), expected, rtol=1e-9)
    np.testing.assert_allclose(RankOne(2.5, u).toarray(), 2.5 * np.outer(u, u))


def test_metric_rejects_non_spd_and_computes_dual_norm():
    with pytest.raises(ValueError, match="metric"):
        models.Metric(np.diag([1.0, -1.0]))
    B = _spd(5, seed=6, shift=1.0)
    g = np.arange(5.0)
    assert np.isclose(models.Metric(B).dual_norm(g), np.sqrt(g @ np.linalg.solve(B, g)))


def test_make_model_checks_shape_and_types():
    metric = models.Metric()
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        make_model(np.eye(2), 3, metric, factorization="cholesky", cg_forcing=0.5, cg_maxiter=10)
    with pytest.raises(TypeError, match="hess"):
        make_model(np.array([["a"] * 3] * 3, dtype=object), 3, metric, factorization="cholesky",
                   cg_forcing=0.5, cg_maxiter=10)
    assert make_model(np.full((3, 3), np.nan), 3, metric, factorization="eigh", cg_forcing=0.5,
                      cg_maxiter=10) is None
    op = HessianOperator(lambda v: 2 * v, 3, diagonal=np.full(3, 2.0))
    assert isinstance(make_model(op, 3, metric, factorization="eigh", cg_forcing=0.5,
                                 cg_maxiter=10), models.CGModel)


def test_resolve_hessian_errors():
    def f(x):
        return float(x @ x)

    kwargs = dict(lazy_reuse=2, subsample=0.5, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="'hess' parameter"):
        resolve_hessian("bfgs", None, f, (), 2, **kwargs)
    with pytest.raises(TypeError, match="hess_fisher"):
        resolve_hessian("fisher", None, f, (), 2, **kwargs)
    with pytest.raises(TypeError, match="second-order"):
        resolve_hessian(None, None, f, (), 2, **kwargs)
    with pytest.raises(TypeError, match="'hess' parameter"):
        resolve_hessian(np.eye(2), None, f, (), 2, **kwargs)
    with pytest.raises(TypeError, match="'hessp' parameter"):
        resolve_hessian(None, 3, f, (), 2, **kwargs)
    problem = rosenbrock_residuals(p=2)
    source = resolve_hessian("lazy", None, problem.fun, (), 2, **kwargs)
    assert source.reuse == 2 and source.name == "lazy"


# --- problem objects: derivatives against finite differences -------------------------------------


def _fd_hessian(jac, x, step=1e-6):
    return np.array([(jac(x + step * e) - jac(x - step * e)) / (2 * step)
                     for e in np.eye(x.size)]).T


def _softmax(backend="numba", reg=0.05, seed=0):
    rng = np.random.default_rng(seed)
    X = sparse.random(40, 6, density=0.5, random_state=seed, format="csr")
    labels = rng.integers(0, 3, size=40)
    return SoftmaxRegression(X, labels, reg=reg, n_classes=3, backend=backend)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_softmax_derivatives(backend):
    problem = _softmax(backend)
    x = np.random.default_rng(1).normal(size=problem.n)
    assert check_grad(problem.fun, problem.jac, x) < 1e-6
    np.testing.assert_allclose(problem.hess(x), _fd_hessian(problem.jac, x), atol=1e-7)
    v = np.arange(problem.n, dtype=float)
    np.testing.assert_allclose(problem.hessp(x, v), problem.hess(x) @ v, rtol=1e-10, atol=1e-12)
    f, g = problem.fun_and_jac(x)
    assert f == problem.fun(x) and np.array_equal(g, problem.jac(x))


def test_softmax_fisher_and_gauss_newton_are_the_stated_sums():
    problem = _softmax("numba")
    x = np.random.default_rng(2).normal(size=problem.n)
    X = problem.X.toarray()
    W = x.reshape(problem.n_features, problem.n_classes)
    scores = X @ W
    probs = np.exp(scores - scores.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    onehot = np.eye(problem.n_classes)[problem.labels]
    fisher = sum(np.outer(np.kron(a, p - e), np.kron(a, p - e))
                 for a, p, e in zip(X, probs, onehot, strict=True)) / problem.n_samples
    gauss_newton = sum(np.kron(np.outer(a, a), np.diag(p)) for a, p in zip(X, probs, strict=True)) \
        / problem.n_samples
    reg = problem.reg * np.eye(problem.n)
    np.testing.assert_allclose(problem.hess_fisher(x), fisher + reg, atol=1e-12)
    np.testing.assert_allclose(problem.hess_gauss_newton(x), gauss_newton + reg, atol=1e-12)
    # Every row kept: the subsampled Hessian is the exact one.
    np.testing.assert_allclose(problem.hess_subsampled(x, 1.0, np.random.default_rng(0)),
                               problem.hess(x), atol=1e-12)
    half = problem.hess_subsampled(x, 0.5, np.random.default_rng(0))
    assert half.shape == (problem.n, problem.n) and np.allclose(half, half.T)


def test_softmax_rejects_bad_input():
    with pytest.raises(ValueError, match="labels"):
        SoftmaxRegression(np.eye(3), [0, 1, 5], n_classes=3)
    with pytest.raises(ValueError, match="labels"):
        SoftmaxRegression(np.eye(3), [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        SoftmaxRegression(np.array([[np.nan, 1.0]]), [0])
    with pytest.raises(ValueError, match="shape"):
        _softmax().fun(np.zeros(3))


def test_logsumexp_derivatives_and_optimum():
    problem = LogSumExp.random(30, 5, mu=0.5, seed=0)
    x = np.random.default_rng(1).normal(size=5)
    assert check_grad(problem.fun, problem.jac, x) < 1e-6
    np.testing.assert_allclose(problem.hess(x), _fd_hessian(problem.jac, x), atol=1e-6)
    # Weighted Gauss-Newton = Hessian + (1/mu) grad grad^T of the log-sum-exp part.
    mean = problem.jac(x) + problem.c
    np.testing.assert_allclose(problem.hess_gauss_newton(x),
                               problem.hess(x) + np.outer(mean, mean) / problem.mu, atol=1e-12)
    assert np.allclose(problem.jac(np.zeros(5)), 0.0)


@pytest.mark.parametrize("make", [lambda: linear_power(np.random.default_rng(0).normal(
    size=(4, 6)), np.ones(4), p=4), lambda: rosenbrock_residuals(p=5),
    lambda: chebyshev_rosenbrock(6, p=4)])
def test_least_squares_derivatives_and_approximations(make):
    problem = make()
    x = problem.x0 + 0.1
    assert check_grad(problem.fun, problem.jac, x) < 1e-5 * max(1.0, np.linalg.norm(
        problem.jac(x)))
    np.testing.assert_allclose(problem.hess(x), _fd_hessian(problem.jac, x), rtol=1e-5,
                               atol=1e-6)
    u = problem.residual(x)
    J = problem.jacobian(x)
    r, p = np.linalg.norm(u), problem.p
    rank_one = (p - 2) * r ** (p - 4) * np.outer(J.T @ u, J.T @ u)
    np.testing.assert_allclose(problem.hess_gauss_newton(x), r ** (p - 2) * J.T @ J + rank_one,
                               rtol=1e-12)
    np.testing.assert_allclose(problem.hess_fisher(x).toarray(), rank_one, rtol=1e-12)
    grad = approx_fprime(x, problem.fun, 1e-7)
    # Fisher term = ((p - 2) / ||u||^p) grad f grad f^T (paper's form)
    np.testing.assert_allclose(problem.hess_fisher(x).toarray(),
                               (p - 2) / r ** p * np.outer(grad, grad), rtol=1e-4, atol=1e-8)
