"""Tests of numopt.problems: classic problems and logistic regression against independent
references (finite differences, SciPy's Rosenbrock, SciPy solvers, scikit-learn, literature)."""

import doctest

import numpy as np
import pytest
import scipy.sparse
from scipy.optimize import approx_fprime, minimize, rosen, rosen_der, rosen_hess, rosen_hess_prod

from numopt.datasets import load_libsvm
from numopt.problems import (
    CLASSIC_PROBLEMS,
    LogisticRegression,
    Problem,
    _base,
    classic,
    hs6,
    hs7,
    hs28,
    logistic,
    make_logistic,
    rosenbrock,
)

RNG_SEED = 20261124


def fd_jacobian(fun, x, step=1e-6):
    """Central differences of a vector (or scalar) function, one column per variable."""
    x = np.asarray(x, dtype=np.float64)
    columns = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = step
        columns.append((np.atleast_1d(fun(x + e)) - np.atleast_1d(fun(x - e))) / (2 * step))
    return np.stack(columns, axis=-1)


def check_derivatives(problem, x, rtol=1e-5, atol=1e-6):
    """Gradient, Hessian, Hessian-vector product, constraint Jacobian and Hessians by FD."""
    rng = np.random.default_rng(RNG_SEED)
    np.testing.assert_allclose(problem.jac(x), fd_jacobian(problem.fun, x)[0], rtol=rtol,
                               atol=atol)
    hessian = problem.hess(x)
    np.testing.assert_allclose(hessian, fd_jacobian(problem.jac, x), rtol=rtol, atol=atol)
    np.testing.assert_allclose(hessian, hessian.T)
    p = rng.standard_normal(problem.n)
    np.testing.assert_allclose(problem.hessp(x, p), hessian @ p, rtol=1e-10, atol=1e-10)
    if problem.constraints is not None:
        con = problem.constraints
        jacobian = con.jac(x)
        assert jacobian.shape == (problem.m, problem.n)
        np.testing.assert_allclose(jacobian, fd_jacobian(con.fun, x), rtol=rtol, atol=atol)
        v = rng.standard_normal(problem.m)
        np.testing.assert_allclose(con.hess(x, v), fd_jacobian(lambda z: con.jac(z).T @ v, x),
                                   rtol=rtol, atol=atol)


CLASSIC = [rosenbrock(2), rosenbrock(7), hs6(), hs7(), hs28()]


@pytest.mark.parametrize("problem", CLASSIC, ids=lambda p: p.name)
def test_classic_derivatives_by_finite_differences(problem):
    rng = np.random.default_rng(RNG_SEED)
    for x in (problem.x0, problem.x_opt, problem.x0 + 0.3 * rng.standard_normal(problem.n)):
        check_derivatives(problem, x)


@pytest.mark.parametrize("n", [2, 3, 10])
def test_rosenbrock_matches_scipy(n):
    problem = rosenbrock(n)
    x = np.random.default_rng(n).uniform(-2, 2, n)
    p = np.random.default_rng(n + 1).standard_normal(n)
    assert problem.fun(x) == pytest.approx(rosen(x), rel=1e-13)
    np.testing.assert_allclose(problem.jac(x), rosen_der(x), rtol=1e-13)
    np.testing.assert_allclose(problem.hess(x), rosen_hess(x), rtol=1e-13)
    np.testing.assert_allclose(problem.hessp(x, p), rosen_hess_prod(x, p), rtol=1e-12)
    assert problem.x0[:2].tolist() == [-1.2, 1.0]


@pytest.mark.parametrize("name, x_opt, f_opt", [
    ("HS6", [1.0, 1.0], 0.0),
    ("HS7", [0.0, np.sqrt(3.0)], -np.sqrt(3.0)),
    ("HS28", [0.5, -0.5, 0.5], 0.0),
    ("ROSENBROCK", [1.0, 1.0], 0.0),
])
def test_classic_optima_match_literature(name, x_opt, f_opt):
    problem = CLASSIC_PROBLEMS[name]()
    np.testing.assert_array_equal(problem.x_opt, x_opt)
    assert problem.f_opt == f_opt
    assert problem.fun(problem.x_opt) == pytest.approx(f_opt, abs=1e-15)
    if problem.constraints is not None:
        np.testing.assert_allclose(problem.constraints.fun(problem.x_opt), 0.0, atol=1e-14)
        # first-order optimality: the gradient lies in the range of the constraint normals
        jacobian = problem.constraints.jac(problem.x_opt)
        gradient = problem.jac(problem.x_opt)
        multipliers = np.linalg.lstsq(jacobian.T, -gradient, rcond=None)[0]
        np.testing.assert_allclose(gradient + jacobian.T @ multipliers, 0.0, atol=1e-14)


@pytest.mark.parametrize("method", ["trust-constr", "SLSQP"])
@pytest.mark.parametrize("factory", [hs6, hs7, hs28], ids=["HS6", "HS7", "HS28"])
def test_constrained_optima_agree_with_scipy(factory, method):
    problem = factory()
    kwargs = problem.minimize_kwargs()
    if method == "SLSQP":
        del kwargs["hess"]  # SLSQP is quasi-Newton and warns about a Hessian
        kwargs["constraints"] = {"type": "eq", "fun": problem.constraints.fun,
                                 "jac": problem.constraints.jac}
        options = {"ftol": 1e-14, "maxiter": 500}
    else:
        options = {"gtol": 1e-12, "xtol": 1e-14, "maxiter": 2000}
    result = minimize(**kwargs, method=method, options=options)
    np.testing.assert_allclose(result.x, problem.x_opt, atol=1e-5)
    assert result.fun == pytest.approx(problem.f_opt, abs=1e-8)


def test_rosenbrock_optimum_agrees_with_scipy():
    problem = rosenbrock(5)
    result = minimize(**problem.minimize_kwargs(), method="trust-exact", options={"gtol": 1e-10})
    np.testing.assert_allclose(result.x, problem.x_opt, atol=1e-8)


def test_problem_container():
    problem = hs28()
    assert (problem.n, problem.m) == (3, 1)
    assert rosenbrock(4).m == 0 and rosenbrock(4).constraints is None
    with pytest.raises(ValueError, match="read-only"):
        problem.x0[0] = 1.0
    kwargs = problem.minimize_kwargs()
    kwargs["x0"][0] = 7.0  # a copy: the problem's own start is untouched
    assert problem.x0[0] == -4.0
    assert "HS28" in repr(problem)
    custom = Problem("quad", lambda x: float(x @ x), lambda x: 2 * x, lambda x: 2 * np.eye(2),
                     [1.0, 2.0])
    np.testing.assert_array_equal(custom.hessp(custom.x0, [1.0, 0.0]), [2.0, 0.0])


@pytest.mark.parametrize("n", [1, 2.5, "3"])
def test_rosenbrock_bad_n(n):
    with pytest.raises((ValueError, TypeError), match="'n' parameter of rosenbrock"):
        rosenbrock(n)


# --------------------------------------------------------------------- logistic regression


def random_logistic(n_samples=40, n_features=6, reg=0.05, sparse=False, seed=RNG_SEED):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    X[rng.random(X.shape) < 0.5] = 0.0
    y = np.where(rng.random(n_samples) < 0.5, -1.0, 1.0)
    return LogisticRegression(scipy.sparse.csr_matrix(X) if sparse else X, y, reg)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_logistic_derivatives_by_finite_differences(sparse, reg):
    problem = random_logistic(sparse=sparse, reg=reg)
    rng = np.random.default_rng(1)
    for w in (problem.x0, rng.standard_normal(problem.n)):
        check_derivatives(problem, w)
        value, gradient = problem.fun_and_jac(w)
        assert value == problem.fun(w)
        np.testing.assert_array_equal(gradient, problem.jac(w))


def test_logistic_dense_and_sparse_agree():
    dense, sparse = random_logistic(), random_logistic(sparse=True)
    w = np.random.default_rng(2).standard_normal(dense.n)
    assert dense.fun(w) == pytest.approx(sparse.fun(w), rel=1e-14)
    np.testing.assert_allclose(dense.jac(w), sparse.jac(w), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(dense.hess(w), sparse.hess(w), rtol=1e-13, atol=1e-15)
    p = np.ones(dense.n)
    np.testing.assert_allclose(dense.hessp(w, p), sparse.hessp(w, p), rtol=1e-13, atol=1e-15)


def test_logistic_objective_matches_sklearn_log_loss():
    metrics = pytest.importorskip("sklearn.metrics")
    X, y = load_libsvm("heart_scale")
    w = np.random.default_rng(3).standard_normal(X.shape[1]) * 0.3
    probability_plus = 1.0 / (1.0 + np.exp(-(X @ w)))
    data_term = metrics.log_loss(y, probability_plus, labels=[-1.0, 1.0])
    problem = LogisticRegression(X, y, reg=0.2)
    assert problem.fun(w) == pytest.approx(data_term + 0.1 * (w @ w), rel=1e-12)


@pytest.mark.parametrize("name, reg", [("heart_scale", 1e-2), ("a1a", 1.0 / 1605)])
def test_logistic_optimum_matches_sklearn(name, reg):
    linear_model = pytest.importorskip("sklearn.linear_model")
    X, y = load_libsvm(name)
    problem = LogisticRegression(X, y, reg)
    n = X.shape[0]
    model = linear_model.LogisticRegression(C=1.0 / (n * reg), fit_intercept=False, tol=1e-12,
                                            max_iter=10_000, solver="newton-cg")
    model.fit(X, y)
    result = minimize(**problem.minimize_kwargs(), method="trust-exact",
                      options={"gtol": 1e-8, "maxiter": 500})
    assert result.success
    np.testing.assert_allclose(result.x, model.coef_.ravel(), rtol=1e-5, atol=1e-6)
    assert problem.fun(model.coef_.ravel()) == pytest.approx(result.fun, rel=1e-10)


def test_logistic_approximate_hessian_pieces():
    problem = random_logistic(reg=0.1)
    w = np.random.default_rng(4).standard_normal(problem.n)
    weights = problem.sample_weights(w)
    np.testing.assert_allclose(problem.weighted_gram(weights) + 0.1 * np.eye(problem.n),
                               problem.hess(w), rtol=1e-14)
    scale = problem.per_sample_grad_scale(w)
    # each per-sample loss gradient, by finite differences, is scale_i * x_i
    for i in range(0, problem.n_samples, 7):
        def loss_i(v, i=i):
            return np.logaddexp(0.0, -problem.y[i] * (problem.X[i] @ v))

        np.testing.assert_allclose(approx_fprime(w, loss_i, 1e-7), scale[i] * problem.X[i],
                                   atol=1e-6)
    np.testing.assert_allclose(problem.X.T @ scale / problem.n_samples + 0.1 * w, problem.jac(w),
                               rtol=1e-13)
    outer_products = [np.outer(s * x, s * x) for s, x in zip(scale, problem.X, strict=True)]
    fisher = sum(outer_products) / problem.n_samples
    np.testing.assert_allclose(problem.weighted_gram(scale ** 2), fisher, rtol=1e-12)


def test_logistic_is_stable_for_huge_margins():
    X = np.array([[1000.0], [-1000.0], [800.0]])
    problem = LogisticRegression(X, [1.0, 1.0, -1.0])
    w = np.array([1.0])
    # losses log(1 + e^-1000) ~ 0, log(1 + e^1000) = 1000, log(1 + e^800) = 800 (to 1e-300)
    assert problem.fun(w) == pytest.approx((0.0 + 1000.0 + 800.0) / 3, rel=1e-15)
    np.testing.assert_allclose(problem.jac(w), [(0.0 + 1000.0 + 800.0) / 3], rtol=1e-15)
    assert np.isfinite(problem.hess(w)).all() and problem.hess(w)[0, 0] >= 0.0


def test_make_logistic_defaults():
    problem = make_logistic("a1a")
    assert (problem.n_samples, problem.n_features, problem.n, problem.m) == (1605, 119, 119, 0)
    assert problem.reg == 1.0 / 1605
    assert make_logistic("a1a", reg=0.5, n_features=123).n == 123
    assert "a1a" in repr(problem)


@pytest.mark.parametrize("X, y, reg, error, match", [
    (np.ones((3, 2)), [1, -1, 0], 0.0, ValueError, "`y` must hold labels -1 or \\+1"),
    (np.ones((3, 2)), [1, -1], 0.0, ValueError, "`y` must have shape"),
    (np.ones(3), [1, -1, 1], 0.0, ValueError, "`X` must be a 2-D"),
    ([[1.0, np.nan]], [1], 0.0, ValueError, "`X` must contain only finite"),
    (scipy.sparse.csr_matrix([[1.0, np.inf]]), [1], 0.0, ValueError, "`X` must contain only"),
    (np.ones((1, 2)), [1], -1.0, ValueError, "'reg' parameter of LogisticRegression"),
    (np.ones((1, 2)), [1], "1", TypeError, "'reg' parameter of LogisticRegression"),
    ([["a", "b"]], [1], 0.0, TypeError, "`X` must be an array of real numbers"),
])
def test_logistic_bad_input(X, y, reg, error, match):
    with pytest.raises(error, match=match):
        LogisticRegression(X, y, reg)


def test_logistic_bad_point():
    problem = random_logistic()
    with pytest.raises(ValueError, match=r"`w` must have shape \(6,\)"):
        problem.fun(np.zeros(5))
    with pytest.raises(ValueError, match=r"`p` must have shape \(6,\)"):
        problem.hessp(np.zeros(6), np.zeros(2))
    with pytest.raises(ValueError, match=r"`weights` must have shape \(40,\)"):
        problem.weighted_gram(np.zeros(6))


@pytest.mark.parametrize("module", [_base, classic, logistic])
def test_docstring_examples_run(module):
    assert doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


def test_sparse_recovery_derivatives_structure_and_docstring():
    from numopt.problems import sparse_recovery
    from numopt.problems.sparse_recovery import SparseRecovery

    assert doctest.testmod(sparse_recovery, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0
    problem = SparseRecovery(30, 12, k=5, mu=0.7, seed=3)
    assert problem.A.shape == (12, 30)
    np.testing.assert_array_equal(np.diff(problem.A.indptr), 5)
    x = np.random.default_rng(0).standard_normal(30)
    np.testing.assert_allclose(problem.jac(x), approx_fprime(x, problem.fun, 1e-7), atol=1e-5)
    hess_fd = np.array([approx_fprime(x, lambda z, i=i: problem.jac(z)[i], 1e-7)
                        for i in range(30)])
    np.testing.assert_allclose(problem.hess(x).toarray(), hess_fd, atol=1e-5)
    np.testing.assert_allclose(problem.constraint_fun(problem.x_true), 0.0, atol=1e-12)
    with pytest.raises(ValueError, match="`m` <= `n`"):
        SparseRecovery(5, 6)
