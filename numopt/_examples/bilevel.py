"""Registry example of ``bilevel_minimize``: a strongly convex lower level with an active coupled
inequality (``y*(x)`` and the bilevel solution in closed form), against a nested SciPy peer."""

import numpy as np
from scipy.optimize import LinearConstraint

from numopt._core.registry import Example

__all__ = ["make_example", "nested_scipy_solve"]


def nested_scipy_solve(problem, tol=1e-8):
    """The textbook nested approach: BFGS on ``x -> F(x, y(x))``, each ``y(x)`` solved by SLSQP.

    The outer gradient is by finite differences (``y(x)`` has no cheap derivative without
    implicit differentiation), so every outer gradient costs ``n + 1`` lower-level solves.

    Parameters
    ----------
    problem : BilevelProblem
        A problem whose constraints are SciPy ``LinearConstraint`` objects on ``w = [x, y]``.
    tol : float
        Tolerance of both SciPy solves.

    Returns
    -------
    x, y : ndarray
        The solution found.
    n_lower_solves : int
        Number of lower-level solves.
    """
    from scipy.optimize import minimize

    n = problem.x0.shape[0]
    constraint = problem.constraints
    calls = [0]

    def lower_solution(x):
        calls[0] += 1
        matrix = constraint.A
        rows = [{"type": "ineq", "fun": lambda y: constraint.ub - matrix[:, :n] @ x
                 - matrix[:, n:] @ y, "jac": lambda y: -matrix[:, n:]}]
        res = minimize(lambda y: problem.lower(x, y)[0], problem.y0,
                       jac=lambda y: problem.lower(x, y)[2], constraints=rows, method="SLSQP",
                       options={"ftol": tol * 1e-2, "maxiter": 500})
        return res.x

    outer = minimize(lambda x: problem.upper(x, lower_solution(x))[0], problem.x0,
                     method="BFGS", options={"gtol": tol ** 0.5})
    return outer.x, lower_solution(outer.x), calls[0]


def make_example():
    """The registry :class:`~numopt._core.registry.Example` of ``bilevel_minimize``."""
    from numopt.bilevel.lv_hba import bilevel_minimize
    from numopt.problems.bilevel_zoo import strongly_convex_toy

    problem = strongly_convex_toy()
    x_star = problem.solution["x"]

    def solve(callback=None, **options):
        return bilevel_minimize(**problem.inputs(), callback=callback, **options)

    def accuracy(result):
        return float(np.linalg.norm(result.x - x_star) / np.linalg.norm(x_star))

    def solve_peer():
        x, _, calls = nested_scipy_solve(problem)
        return calls, accuracy(type("Peer", (), {"x": x})())

    def upper_wrong_shape(x, y):
        return 0.0, np.zeros(x.shape[0] + 1), np.zeros(y.shape[0])

    n, m = problem.x0.shape[0], problem.y0.shape[0]
    bad_inputs = {
        "x0 not 1-D": lambda: bilevel_minimize(problem.upper, problem.lower, np.zeros((n, 1)),
                                               problem.y0),
        "NaN in y0": lambda: bilevel_minimize(problem.upper, problem.lower, problem.x0,
                                              np.full(m, np.nan)),
        "upper gradient of the wrong shape": lambda: bilevel_minimize(
            upper_wrong_shape, problem.lower, problem.x0, problem.y0),
        "lower not callable": lambda: bilevel_minimize(problem.upper, 3.0, problem.x0,
                                                       problem.y0),
        "unknown method": lambda: bilevel_minimize(problem.upper, problem.lower, problem.x0,
                                                   problem.y0, method="bome"),
        "constraint of the wrong width": lambda: bilevel_minimize(**{
            **problem.inputs(),
            "constraints": LinearConstraint(np.ones((1, n + m + 1)), -np.inf, 0.0)}),
    }
    return Example(problem=f"strongly convex LL, coupled inequality (n={n}, m={m})",
                   solve=solve, accuracy=accuracy, accuracy_label="rel. err x vs closed form",
                   tolerance=1e-6, peer="nested SciPy (BFGS over SLSQP)",
                   solve_peer=solve_peer, bad_inputs=bad_inputs)
