"""numopt.minimize is SciPy's minimize for every method numopt does not register."""

import inspect

import numpy as np
import pytest
import scipy.optimize
from scipy.optimize import NonlinearConstraint, OptimizeWarning, rosen, rosen_der, rosen_hess

import numopt
from numopt._core.registry import minimize_methods


def test_signature_is_scipys():
    ours = inspect.signature(numopt.minimize)
    theirs = inspect.signature(scipy.optimize.minimize)
    assert list(ours.parameters) == list(theirs.parameters)
    for name, param in theirs.parameters.items():
        assert ours.parameters[name].default == param.default, name


def test_bfgs_falls_through_unchanged():
    x0 = np.array([-1.2, 1.0])
    ours = numopt.minimize(rosen, x0, jac=rosen_der, method="BFGS", options={"gtol": 1e-8})
    theirs = scipy.optimize.minimize(rosen, x0, jac=rosen_der, method="BFGS",
                                     options={"gtol": 1e-8})
    assert type(ours) is type(theirs)
    np.testing.assert_array_equal(ours.x, theirs.x)
    assert ours.nit == theirs.nit and ours.status == theirs.status
    np.testing.assert_allclose(ours.x, [1.0, 1.0], atol=1e-6)  # the known optimum


def test_trust_constr_with_equality_constraint_falls_through():
    # HS28: min (x1+x2)^2 + (x2+x3)^2 s.t. x1 + 2 x2 + 3 x3 = 1; x* = (0.5, -0.5, 0.5).
    def fun(x):
        return (x[0] + x[1]) ** 2 + (x[1] + x[2]) ** 2

    def hess(x):
        return np.array([[2.0, 2.0, 0.0], [2.0, 4.0, 2.0], [0.0, 2.0, 2.0]])

    constraint = NonlinearConstraint(lambda x: x[0] + 2 * x[1] + 3 * x[2], 1, 1,
                                     jac=lambda x: np.array([[1.0, 2.0, 3.0]]),
                                     hess=lambda x, v: np.zeros((3, 3)))
    res = numopt.minimize(fun, np.array([-4.0, 1.0, 1.0]), method="trust-constr", hess=hess,
                          constraints=constraint, options={"gtol": 1e-10, "xtol": 1e-12})
    assert res.success
    np.testing.assert_allclose(res.x, [0.5, -0.5, 0.5], atol=1e-5)


def test_scipy_callback_stop_iteration_and_unknown_options():
    def stop(intermediate_result):
        raise StopIteration

    res = numopt.minimize(rosen, np.zeros(2), jac=rosen_der, hess=rosen_hess, method="trust-exact",
                          callback=stop)
    assert res.status == 99 and not res.success
    with pytest.warns(OptimizeWarning, match="Unknown solver options: bogus"):
        numopt.minimize(rosen, np.zeros(2), method="BFGS", options={"bogus": 1})


def test_unknown_method_is_scipys_error():
    with pytest.raises(ValueError, match="Unknown solver"):
        numopt.minimize(rosen, np.zeros(2), method="no-such-method")


def test_numopt_methods_are_registered_names():
    assert all(isinstance(name, str) and name == name.lower() for name in minimize_methods())


def test_show_options_delegates_and_validates(capsys):
    assert "gtol" in numopt.show_options("minimize", "BFGS", disp=False)
    numopt.show_options("minimize", "bfgs")
    assert "gtol" in capsys.readouterr().out
    with pytest.raises(ValueError, match="Unknown solver"):
        numopt.show_options("no_such_solver")
