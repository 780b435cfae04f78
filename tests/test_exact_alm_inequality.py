"""exact-alm with bounds and inequality constraints (active-set SQP on the exact augmented
Lagrangian). References: SLSQP and trust-constr on Hock-Schittkowski problems, the published
optimal values of the Hock-Schittkowski collection (1981), and closed-form KKT points."""

import warnings

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, NonlinearConstraint
from scipy.optimize import minimize as scipy_minimize

from numopt import minimize
from numopt._core.warnings import ConvergenceWarning


def _hs21():
    return dict(fun=lambda x: 0.01 * x[0] ** 2 + x[1] ** 2 - 100,
                jac=lambda x: np.array([0.02 * x[0], 2 * x[1]]), x0=np.array([-1.0, -1.0]),
                bounds=[(2, 50), (-50, 50)],
                constraints=[LinearConstraint([[10.0, -1.0]], 10.0, np.inf)]), -99.96


def _hs35():
    def fun(x):
        return (9 - 8 * x[0] - 6 * x[1] - 4 * x[2] + 2 * x[0] ** 2 + 2 * x[1] ** 2 + x[2] ** 2
                + 2 * x[0] * x[1] + 2 * x[0] * x[2])

    def jac(x):
        return np.array([-8 + 4 * x[0] + 2 * x[1] + 2 * x[2], -6 + 4 * x[1] + 2 * x[0],
                         -4 + 2 * x[2] + 2 * x[0]])
    budget = {"type": "ineq", "fun": lambda x, t: t - x[0] - x[1] - 2 * x[2],
              "jac": lambda x, t: np.array([[-1.0, -1.0, -2.0]]), "args": (3.0,)}
    return dict(fun=fun, jac=jac, x0=np.full(3, 0.5), bounds=Bounds(0, np.inf),
                constraints=[budget]), 1.0 / 9.0


def _hs71():
    def product_jac(x):
        return np.array([[x[1] * x[2] * x[3], x[0] * x[2] * x[3], x[0] * x[1] * x[3],
                          x[0] * x[1] * x[2]]])
    return dict(fun=lambda x: x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2],
                jac=lambda x: np.array([x[3] * (2 * x[0] + x[1] + x[2]), x[0] * x[3],
                                        x[0] * x[3] + 1, x[0] * (x[0] + x[1] + x[2])]),
                x0=np.array([1.0, 5.0, 5.0, 1.0]), bounds=[(1, 5)] * 4,
                constraints=[NonlinearConstraint(np.prod, 25, np.inf, jac=product_jac),
                             NonlinearConstraint(lambda x: x @ x, 40, 40,
                                                 jac=lambda x: 2 * x[None, :])]), 17.0140173


def _hs76():
    def fun(x):
        return (x[0] ** 2 + 0.5 * x[1] ** 2 + x[2] ** 2 + 0.5 * x[3] ** 2 - x[0] * x[2]
                + x[2] * x[3] - x[0] - 3 * x[1] + x[2] - x[3])

    def jac(x):
        return np.array([2 * x[0] - x[2] - 1, x[1] - 3, 2 * x[2] - x[0] + x[3] + 1,
                         x[3] + x[2] - 1])
    return dict(fun=fun, jac=jac, x0=np.full(4, 0.5), bounds=Bounds(0, np.inf),
                constraints=[LinearConstraint([[1, 2, 1, 1], [3, 1, 2, -1]], -np.inf, [5, 4]),
                             LinearConstraint([[0, 1, 4, 0]], 1.5, np.inf)]), -4.681818181


HS = {"hs21": _hs21, "hs35": _hs35, "hs71": _hs71, "hs76": _hs76}


# HS57 and HS25 (Hock & Schittkowski 1981), with their published optimal values
_A57 = np.repeat([8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 42],
                 [2, 4, 4, 3, 3, 2, 3, 3, 3, 3, 2, 3, 2, 1, 2, 2, 1, 1]).astype(float)
_B57 = np.array([0.49, 0.49, 0.48, 0.47, 0.48, 0.47, 0.46, 0.46, 0.45, 0.43, 0.45, 0.43, 0.43,
                 0.44, 0.43, 0.43, 0.46, 0.45, 0.42, 0.42, 0.43, 0.41, 0.41, 0.40, 0.42, 0.40,
                 0.40, 0.41, 0.40, 0.41, 0.41, 0.40, 0.40, 0.40, 0.38, 0.41, 0.40, 0.40, 0.41,
                 0.38, 0.40, 0.40, 0.39, 0.39])


def _sum_of_squares(parts):
    """``f = ||r||^2`` and its gradient ``2 J^T r`` from ``parts(x) = (r, J)``."""
    def fun(x):
        r = parts(x)[0]
        return r @ r

    def jac(x):
        r, J = parts(x)
        return 2 * J.T @ r
    return fun, jac


def _hs57():
    """A least-squares fit with a nonlinear inequality; near x0 a flat saddle (f 8 % above
    the optimum at gradient norm 2.6e-6)."""
    def parts(x):
        e = np.exp(-x[1] * (_A57 - 8))
        r = _B57 - x[0] - (0.49 - x[0]) * e
        J = np.column_stack([-1 + e, (0.49 - x[0]) * (_A57 - 8) * e])
        return r, J
    fun, jac = _sum_of_squares(parts)
    con = NonlinearConstraint(lambda x: 0.49 * x[1] - x[0] * x[1], 0.09, np.inf,
                              jac=lambda x: np.array([[-x[1], 0.49 - x[0]]]))
    return dict(fun=fun, jac=jac, x0=np.array([0.42, 5.0]), bounds=[(0.4, None), (-4, None)],
                constraints=[con]), 0.02845966972


def _hs25():
    """A bound-constrained fit whose x0 lies on a plateau (gradient norm 2e-8, f = 32.835)."""
    i = np.arange(1, 100)
    u = 25 + (-50 * np.log(0.01 * i)) ** (2 / 3)
    def parts(x):
        d = u - x[1]
        p = d ** x[2]
        e = np.exp(-p / x[0])
        r = -0.01 * i + e
        J = np.column_stack([e * p / x[0] ** 2, e * x[2] * d ** (x[2] - 1) / x[0],
                             -e * p * np.log(d) / x[0]])
        return r, J
    fun, jac = _sum_of_squares(parts)
    return dict(fun=fun, jac=jac, x0=np.array([100.0, 12.5, 3.0]),
                bounds=[(0.1, 100), (0, 25.6), (0, 5)]), 0.0


def _solve(problem, tol=None, **options):
    problem = dict(problem)
    x0 = problem.pop("x0")
    return minimize(problem.pop("fun"), x0, method="exact-alm", tol=tol,
                    options={"seed": 0, **options}, **problem)


def _reference(problem, method):
    problem = dict(problem)
    x0 = problem.pop("x0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the references' own warnings are not under test
        return scipy_minimize(problem.pop("fun"), x0, method=method, **problem,
                              options={"maxiter": 2000} if method == "trust-constr" else {})


@pytest.mark.parametrize("inner_solver", ["direct", "block", "range-kaczmarz", "auto"])
@pytest.mark.parametrize("name", sorted(HS))
def test_hock_schittkowski_against_slsqp_and_published_values(name, inner_solver):
    problem, optimum = HS[name]()
    res = _solve(problem, inner_solver=inner_solver, tol=1e-9)
    assert res.success, res.message
    slsqp = _reference(problem, "SLSQP")
    np.testing.assert_allclose(res.fun, optimum, rtol=1e-6)
    np.testing.assert_allclose(res.fun, slsqp.fun, rtol=1e-6)
    np.testing.assert_allclose(res.x, slsqp.x, atol=1e-4)
    assert res.constr_violation <= 1e-8


@pytest.mark.parametrize("name", sorted(HS))
def test_multipliers_match_trust_constr(name):
    """Same sign convention as trust-constr: ``grad f + sum_i J_i^T v_i + z = 0``; trust-constr
    reports the bound multipliers ``z`` as its last ``v``."""
    problem, _ = HS[name]()
    res = _solve(problem, inner_solver="direct", tol=1e-10)
    reference = _reference({**problem, "constraints": [
        c if not isinstance(c, dict) else NonlinearConstraint(
            lambda x, c=c: c["fun"](x, *c.get("args", ())), 0, np.inf,
            jac=lambda x, c=c: c["jac"](x, *c.get("args", ()))) for c in problem["constraints"]]},
        "trust-constr")
    for ours, theirs in zip(res.v, reference.v[:-1], strict=True):
        np.testing.assert_allclose(ours, theirs, atol=2e-3)
    np.testing.assert_allclose(res.bound_multipliers, reference.v[-1], atol=2e-3)


def _complementarity(values, lb, ub, v, atol):
    """Upper side active where v > 0, lower side where v < 0, v = 0 strictly inside."""
    values, v = np.atleast_1d(values), np.atleast_1d(v)
    assert np.all(values >= lb - atol) and np.all(values <= ub + atol)
    assert np.all(np.minimum(np.maximum(v, 0.0), ub - values) <= atol)
    assert np.all(np.minimum(np.maximum(-v, 0.0), values - lb) <= atol)


@pytest.mark.parametrize("name", sorted(HS))
def test_complementarity_and_stationarity_at_solutions(name):
    problem, _ = HS[name]()
    res = _solve(problem, inner_solver="direct", tol=1e-9)
    gradient = problem["jac"](res.x) + res.bound_multipliers
    for constraint, v in zip(problem["constraints"], res.v, strict=True):
        if isinstance(constraint, dict):
            args = constraint.get("args", ())
            values, J = constraint["fun"](res.x, *args), constraint["jac"](res.x, *args)
            lb, ub = 0.0, np.inf
        elif isinstance(constraint, LinearConstraint):
            J, lb, ub = np.asarray(constraint.A, float), constraint.lb, constraint.ub
            values = J @ res.x
        else:
            values, J = constraint.fun(res.x), constraint.jac(res.x)
            lb, ub = constraint.lb, constraint.ub
        _complementarity(values, lb, ub, v, 1e-7)
        gradient = gradient + np.atleast_2d(J).T @ v
    bounds = problem["bounds"]
    lower, upper = (bounds.lb, bounds.ub) if isinstance(bounds, Bounds) else np.array(bounds).T
    _complementarity(res.x, lower, upper, res.bound_multipliers, 1e-7)
    np.testing.assert_allclose(gradient, 0.0, atol=1e-7)


@pytest.mark.parametrize("make, tol", [(_hs57, None), (_hs25, 1e-9)])
def test_leaves_flat_saddles_and_plateaus(make, tol):
    """Where the reduced Hessian is slightly indefinite and the gradient tiny, a fixed curvature
    floor made the steps vanish (HS57: 500 steps at f 8 % above the optimum; HS25: no move from
    x0); the floor that vanishes with the KKT residual reaches the published optima."""
    problem, optimum = make()
    res = _solve(problem, tol=tol, maxiter=300)
    assert res.success, res.message
    assert abs(res.fun - optimum) <= 1e-6 * max(1.0, abs(optimum))
    assert res.constr_violation <= 1e-8


def test_unattainable_tol_stops_as_stalled_not_at_maxiter():
    problem, optimum = _hs57()
    with pytest.warns(ConvergenceWarning, match="stopped decreasing"):
        res = _solve(problem, tol=1e-15)
    assert res.status == 2 and not res.success
    assert res.nit < 100
    np.testing.assert_allclose(res.fun, optimum, rtol=1e-8)


def _quadratic(target):
    return (lambda x: (x - target) @ (x - target)), (lambda x: 2 * (x - target))


@pytest.mark.parametrize("bounds", [[(0, 1), (-1, None)], Bounds([0, -1], [1, np.inf])])
def test_bounds_closed_form(bounds):
    """min (x0 - 2)^2 + (x1 + 2)^2 on [0, 1] x [-1, inf): x = (1, -1), z = -grad f = (2, -2)."""
    fun, jac = _quadratic(np.array([2.0, -2.0]))
    res = minimize(fun, np.zeros(2), jac=jac, method="exact-alm", bounds=bounds)
    assert res.success
    np.testing.assert_allclose(res.x, [1.0, -1.0], atol=1e-8)
    np.testing.assert_allclose(res.bound_multipliers, [2.0, -2.0], atol=1e-7)
    assert res.v == []


@pytest.mark.parametrize("target, x, v", [
    # two-sided 1 <= x0 + x1 <= 3: lower side active at x = (1/2, 1/2), v = -1
    (np.zeros(2), [0.5, 0.5], -1.0),
    # upper side active at x = (3/2, 3/2) from target (2, 2): 2 (x - 2) + v = 0, v = 1
    (np.full(2, 2.0), [1.5, 1.5], 1.0),
    # inside: the unconstrained minimiser, v = 0
    (np.array([1.0, 0.5]), [1.0, 0.5], 0.0)])
def test_two_sided_linear_constraint_closed_form(target, x, v):
    fun, jac = _quadratic(target)
    res = minimize(fun, np.array([5.0, -3.0]), jac=jac, method="exact-alm",
                   constraints=LinearConstraint([[1.0, 1.0]], 1.0, 3.0))
    assert res.success
    np.testing.assert_allclose(res.x, x, atol=1e-8)
    np.testing.assert_allclose(res.v[0], [v], atol=1e-7)


def test_one_sided_nonlinear_with_equality_closed_form():
    """min -x0 - x1 - x2 s.t. x0^2 + x1^2 <= 2, x2 = 1 (mixed): x = (1, 1, 1), v = (1/2, 1)."""
    disk = NonlinearConstraint(lambda x: x[0] ** 2 + x[1] ** 2, -np.inf, 2.0,
                               jac=lambda x: np.array([[2 * x[0], 2 * x[1], 0.0]]))
    plane = LinearConstraint([[0.0, 0.0, 1.0]], 1.0, 1.0)
    res = minimize(lambda x: -x.sum(), np.array([0.2, 0.1, 0.0]), jac=lambda x: -np.ones(3),
                   hess=lambda x: np.zeros((3, 3)), method="exact-alm",
                   constraints=[disk, plane])
    assert res.success
    np.testing.assert_allclose(res.x, [1.0, 1.0, 1.0], atol=1e-7)
    np.testing.assert_allclose(res.v[0], [0.5], atol=1e-7)
    np.testing.assert_allclose(res.v[1], [1.0], atol=1e-7)


def test_dict_ineq_is_fun_nonnegative_with_nonpositive_multiplier():
    """SciPy's ``{"type": "ineq"}`` is ``fun(x) >= 0``, a lower side: v <= 0 when active."""
    fun, jac = _quadratic(np.zeros(2))
    res = minimize(fun, np.array([3.0, 3.0]), jac=jac, method="exact-alm",
                   constraints={"type": "ineq", "fun": lambda x, s: x[0] + x[1] - s,
                                "jac": lambda x, s: np.array([[1.0, 1.0]]), "args": (1.0,)})
    np.testing.assert_allclose(res.x, [0.5, 0.5], atol=1e-8)
    np.testing.assert_allclose(res.v[0], [-1.0], atol=1e-7)


def test_infeasible_ends_with_status_minus_3_at_least_violation():
    """x in [0, 1]^2 and x0 + x1 >= 3. Least squared violation: x = (t, t) minimising
    2 (t - 1)^2 + (3 - 2 t)^2, t = 4/3, every row violated by 1/3."""
    fun, jac = _quadratic(np.zeros(2))
    with pytest.warns(Warning):
        res = minimize(fun, np.array([0.5, 0.2]), jac=jac, method="exact-alm",
                       bounds=[(0, 1), (0, 1)],
                       constraints=LinearConstraint([[1.0, 1.0]], 3.0, np.inf))
    assert res.status == -3 and not res.success
    np.testing.assert_allclose(res.x, [4.0 / 3.0, 4.0 / 3.0], atol=1e-6)
    np.testing.assert_allclose(res.constr_violation, 1.0 / 3.0, atol=1e-6)
    assert "3.333e-01" in res.message


def test_infeasible_nonlinear():
    """x0^2 + x1^2 <= 1 and x0 + x1 >= 3 cannot both hold."""
    fun, jac = _quadratic(np.zeros(2))
    disk = NonlinearConstraint(lambda x: x @ x, -np.inf, 1.0, jac=lambda x: 2 * x[None, :])
    with pytest.warns(Warning):
        res = minimize(fun, np.array([0.1, 0.3]), jac=jac, method="exact-alm",
                       constraints=[disk, LinearConstraint([[1.0, 1.0]], 3.0, np.inf)],
                       options={"maxiter": 200})
    assert res.status == -3
    assert f"{res.constr_violation:.3e}" in res.message
    # no point does better than the least violation by a wide margin (grid check)
    grid = np.stack(np.meshgrid(np.linspace(-2, 3, 201), np.linspace(-2, 3, 201)), -1)
    worst = np.maximum(np.maximum((grid ** 2).sum(-1) - 1, 0), np.maximum(3 - grid.sum(-1), 0))
    assert res.constr_violation <= 1.5 * worst.min()


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(bounds=[(0, 1)]), ValueError, "bounds"),
    (dict(bounds=[(1, 0), (0, 1)]), ValueError, "bounds"),
    (dict(bounds=5), TypeError, "bounds"),
    (dict(bounds=[(0, 1), (0, 1)], options={"multipliers0": [0.0]}), ValueError,
     "multipliers0"),
    (dict(bounds=[(0, 1), (0, 1)], options={"epsilon": 0.0}), ValueError, "epsilon"),
])
def test_errors_name_the_argument(kwargs, error, match):
    fun, jac = _quadratic(np.zeros(2))
    with pytest.raises(error, match=match):
        minimize(fun, np.ones(2), jac=jac, method="exact-alm", **kwargs)


_DEFAULT = object()  # leave the argument out: SciPy's default


@pytest.mark.parametrize("objective_hess, constraint_jac, constraint_hess", [
    (None, _DEFAULT, _DEFAULT),  # a NonlinearConstraint's defaults: jac "2-point", hess BFGS()
    ("2-point", "3-point", None),
    ("3-point", "callable", "2-point"),
    ("cs", "callable", "cs"),
])
def test_scipy_derivative_spellings_on_hs71(objective_hess, constraint_jac, constraint_hess):
    """The derivative spellings trust-constr takes, on HS71 (published optimum 17.0140173).

    ``tol=1e-6``: a differenced Jacobian carries errors near ``sqrt(eps)``, so the KKT residual
    stalls near 1e-7 (as it would for any method)."""
    problem, optimum = _hs71()
    product = problem["constraints"][0]
    kwargs = {}
    if constraint_jac is not _DEFAULT:
        kwargs["jac"] = product.jac if constraint_jac == "callable" else constraint_jac
    if constraint_hess is not _DEFAULT:
        kwargs["hess"] = constraint_hess
    problem["constraints"] = [NonlinearConstraint(product.fun, 25, np.inf, **kwargs),
                              problem["constraints"][1]]
    res = _solve({**problem, "hess": objective_hess}, tol=1e-6)
    assert res.success, res.message
    np.testing.assert_allclose(res.fun, optimum, rtol=1e-6)
    assert res.constr_violation <= 1e-6  # the tolerance bounds the violation as well


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(hess="foo"), ValueError, "`hess`"),
    (dict(hess=42), TypeError, "`hess`"),
    (dict(constraints=NonlinearConstraint(lambda x: x @ x, 0, 1, jac="4-point")), ValueError,
     r"constraints\[0\]\.jac"),
    (dict(constraints=NonlinearConstraint(lambda x: x @ x, 0, 1, jac="2-point", hess="2-point")),
     ValueError, r"constraints\[0\]\.hess"),
])
def test_bad_derivative_spellings_raise(kwargs, error, match):
    fun, jac = _quadratic(np.zeros(2))
    kwargs = {"bounds": [(0, 1), (0, 1)], **kwargs}
    with pytest.raises(error, match=match):
        minimize(fun, np.ones(2), jac=jac, method="exact-alm", **kwargs)


def test_result_carries_trust_constr_fields():
    """``grad``, ``jac``, ``constr`` and ``optimality`` as trust-constr defines them, checked
    against the user's functions at ``res.x``."""
    problem, _ = _hs71()
    res = _solve(problem, tol=1e-9)
    np.testing.assert_allclose(res.grad, problem["jac"](res.x))
    for constraint, values, J in zip(problem["constraints"], res.constr, res.jac, strict=True):
        np.testing.assert_allclose(values, np.atleast_1d(constraint.fun(res.x)))
        np.testing.assert_allclose(J, constraint.jac(res.x))
    lagrangian = res.grad + res.bound_multipliers + sum(
        np.atleast_2d(J).T @ v for J, v in zip(res.jac, res.v, strict=True))
    np.testing.assert_allclose(res.optimality, np.max(np.abs(lagrangian)), atol=1e-12)
    assert res.optimality <= 1e-8
