"""Every warning numopt emits is exported, documented and reported at the user's line."""

import warnings

import numpy as np
import pytest
from scipy.optimize import (
    LinearConstraint,
    NonlinearConstraint,
    OptimizeWarning,
    rosen,
    rosen_der,
    rosen_hess,
)

import numopt
from numopt.ot import sinkhorn


def _caught(thunk):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        thunk()
    return caught


def _sphere_problem():
    sphere = NonlinearConstraint(lambda x: x @ x, 1.0, 1.0, jac=lambda x: 2 * x[None, :],
                                 hess=lambda x, v: 2 * v[0] * np.eye(3))
    return dict(fun=lambda x: x.sum(), x0=np.ones(3), jac=lambda x: np.ones(3),
                hess=lambda x: np.zeros((3, 3)), constraints=sphere)


def _bilevel(**options):
    def upper(x, y):
        return 0.5 * np.sum((y - 1) ** 2) + 0.5 * x @ x, x, y - 1

    def lower(x, y):
        return 0.5 * np.sum((y - x) ** 2), x - y, y - x

    row = LinearConstraint(np.array([[0.0, 0.0, 1.0, 1.0]]), -np.inf, 1.0)
    return numopt.bilevel_minimize(upper, lower, np.zeros(2), np.zeros(2), constraints=row,
                                   **options)


OT = (np.full(5, 0.2), np.full(5, 0.2), np.random.default_rng(0).random((5, 5)))

CALLS = {
    "sinkhorn_newton maxiter": lambda: numopt.sinkhorn_newton(*OT, 1e-3, maxiter=1),
    "sinkhorn_newton unknown option": lambda: numopt.sinkhorn_newton(*OT, 0.1, bogus=1),
    "ot.sinkhorn maxiter": lambda: sinkhorn(*OT, 1e-3, numItermax=1),
    "minimize gn-newton maxiter": lambda: numopt.minimize(
        rosen, np.zeros(3), jac=rosen_der, hess=rosen_hess, method="gn-newton",
        options={"maxiter": 1}),
    "minimize gn-newton unknown option": lambda: numopt.minimize(
        rosen, np.zeros(3), jac=rosen_der, hess=rosen_hess, method="gn-newton",
        options={"bogus": 1}),
    "minimize exact-alm maxiter": lambda: numopt.minimize(
        **_sphere_problem(), method="exact-alm", options={"maxiter": 1}),
    "bilevel_minimize maxiter": lambda: _bilevel(maxiter=2, polish=False),
    "bilevel_minimize unknown option": lambda: _bilevel(bogus=1),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_warnings_point_at_the_callers_line(name):
    caught = [w for w in _caught(CALLS[name]) if issubclass(w.category, OptimizeWarning)]
    assert caught, f"{name} emitted no warning"
    for record in caught:
        assert record.filename == __file__, f"{name}: reported at {record.filename}"


def test_warning_classes_are_public_and_documented():
    assert issubclass(numopt.ConvergenceWarning, numopt.NumoptWarning)
    assert issubclass(numopt.NumoptWarning, OptimizeWarning)
    for name in ("NumoptWarning", "ConvergenceWarning"):
        assert name in numopt.__all__ and getattr(numopt, name).__doc__


def test_convergence_warning_names_the_option_to_change():
    caught = _caught(lambda: numopt.sinkhorn_newton(*OT, 1e-3, maxiter=1))
    assert caught[0].category is numopt.ConvergenceWarning
    assert "maxiter" in str(caught[0].message)
