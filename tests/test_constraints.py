"""One parser of SciPy constraints: records against the constraints' definitions, and the same
error from minimize(method="exact-alm") and bilevel_minimize for the same mistake."""

import re

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import LinearConstraint, NonlinearConstraint

from numopt import bilevel_minimize, minimize
from numopt._core.constraints import parse_constraints

# Both solvers see a vector of length 4: x in exact-alm, w = [x, y] (2 + 2) in bilevel_minimize.
N = 4


def _fun(v):
    return np.array([v @ v - 1.0])


def _jac(v):
    return 2.0 * v[None, :]


GOOD = NonlinearConstraint(_fun, 0.0, 0.0, jac=_jac)

# (constraints, exception, text the message must contain: the entry it names)
MISTAKES = {
    "not a constraint": ([object()], TypeError, "`constraints[0]`"),
    "second entry not a constraint": ([GOOD, "c"], TypeError, "`constraints[1]`"),
    "constraints not a sequence": (5, TypeError, "`constraints`"),
    # (a NonlinearConstraint's default jac="2-point" is no mistake for exact-alm, which takes
    # SciPy's finite-difference Jacobians like trust-constr; tests/test_exact_alm.py covers it)
    "nonlinear fun not callable": (NonlinearConstraint("x @ x", 0.0, 0.0, jac=_jac), TypeError,
                                   "`constraints[0].fun`"),
    "dict without jac": ({"type": "eq", "fun": _fun}, TypeError, "`constraints[0]['jac']`"),
    "dict without fun": ({"type": "eq", "jac": _jac}, TypeError, "`constraints[0]['fun']`"),
    "dict of unknown type": ({"type": "equal", "fun": _fun, "jac": _jac}, ValueError,
                             "`constraints[0]['type']`"),
    "linear A of wrong width": ([GOOD, LinearConstraint(np.ones((1, N + 1)), 0.0, 0.0)],
                                ValueError, "`constraints[1].A`"),
    "linear A not finite": (LinearConstraint([[1.0, np.nan, 0.0, 0.0]], 0.0, 0.0), ValueError,
                            "`constraints[0].A`"),
    "NaN lower bound": (NonlinearConstraint(_fun, np.nan, 0.0, jac=_jac), ValueError,
                        "`constraints[0].lb`"),
    "lb above ub": (NonlinearConstraint(_fun, 1.0, 0.0, jac=_jac), ValueError,
                    "`constraints[0]` must have lb <= ub"),
    "linear lb above ub": (LinearConstraint(np.ones((1, N)), 1.0, 0.0), ValueError,
                           "`constraints[0]` must have lb <= ub"),
    "bounds of different lengths": (NonlinearConstraint(_fun, [0.0, 0.0], [0.0, 0.0, 0.0],
                                                        jac=_jac), ValueError,
                                    "`constraints[0].lb` and `constraints[0].ub`"),
    "bounds longer than fun": (NonlinearConstraint(_fun, [0.0, 0.0], [0.0, 0.0], jac=_jac),
                               ValueError, "`constraints[0].lb` and `constraints[0].ub`"),
}


def _exact_alm(constraints):
    minimize(lambda x: x @ x, np.full(N, 0.5), jac=lambda x: 2 * x, constraints=constraints,
             method="exact-alm")


def _bilevel(constraints):
    def level(x, y):
        return 0.5 * (x @ x + y @ y), x, y

    bilevel_minimize(level, level, np.full(2, 0.5), np.full(2, 0.5), constraints=constraints,
                     project=lambda x, y: (x, y))


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_same_mistake_same_error_in_both_solvers(mistake):
    constraints, error, named = MISTAKES[mistake]
    messages = []
    for solve in (_exact_alm, _bilevel):
        with pytest.raises(error, match=re.escape(named)) as info:
            solve(constraints)
        assert type(info.value) is error
        messages.append(str(info.value))
    # the wording is the same; only the description of the vector A acts on differs
    assert messages[0] == messages[1].replace("w = [x, y]", "x")


def test_records_follow_the_constraint_definitions():
    """Records against SciPy's meaning: ``lb <= A v <= ub``, dict ``"ineq"`` is ``fun >= 0``,
    ``args`` passed after ``v``."""
    A = sp.csr_matrix(np.array([[1.0, 0.0, 2.0, 0.0], [0.0, 1.0, 0.0, 0.0]]))
    shift = 3.0
    records = parse_constraints(
        [LinearConstraint(A, [0.0, -np.inf], [0.0, 1.0]),
         {"type": "ineq", "fun": lambda v, s: v[:2] - s, "jac": lambda v, s: np.eye(2, N) * s,
          "args": (shift,)},
         NonlinearConstraint(_fun, -1.0, 1.0, jac=_jac, hess=lambda v, w: 2 * w[0] * np.eye(N))],
        N)
    linear, ineq, ball = records
    assert [r.kind for r in records] == ["linear", "nonlinear", "nonlinear"]
    assert [r.label for r in records] == [f"constraints[{i}]" for i in range(3)]
    assert sp.issparse(linear.A) and np.array_equal(linear.A.toarray(), A.toarray())
    assert linear.is_equality.tolist() == [True, False]
    assert linear.ub.tolist() == [0.0, 1.0]
    v = np.arange(1.0, N + 1)
    np.testing.assert_array_equal(ineq.fun(v), [1.0 - shift, 2.0 - shift])
    np.testing.assert_array_equal(ineq.jac(v), np.eye(2, N) * shift)
    assert ineq.sides(2)[0].tolist() == [0.0, 0.0] and ineq.sides(2)[1].tolist() == [np.inf] * 2
    assert ineq.hess is None and ball.hess is not None
    assert not ball.is_equality.any()
    assert parse_constraints(None, N) == [] and parse_constraints((), N) == []
