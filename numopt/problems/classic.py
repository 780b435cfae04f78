"""Classic smooth test problems with known optima, in plain NumPy.

The Hock-Schittkowski problems follow W. Hock and K. Schittkowski, *Test Examples for Nonlinear
Programming Codes*, Lecture Notes in Economics and Mathematical Systems 187, Springer, 1981
(problem numbers 6, 7 and 28; starting points and optima as listed there).
"""

import numpy as np

from ._base import Problem

__all__ = ["rosenbrock", "hs6", "hs7", "hs28", "CLASSIC_PROBLEMS"]


def _equality(c, jac, hess):
    from scipy.optimize import NonlinearConstraint

    return NonlinearConstraint(c, 0.0, 0.0, jac=jac, hess=hess)


def rosenbrock(n=2):
    r"""The n-dimensional Rosenbrock function (the chained form).

    .. math:: f(x) = \sum_{i=1}^{n-1} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2,

    started at :math:`x_0 = (-1.2, 1, -1.2, 1, \dots)`; the minimiser is :math:`x^* = (1, \dots,
    1)` with :math:`f^* = 0`.

    Parameters
    ----------
    n : int
        Number of variables, at least 2.

    Returns
    -------
    Problem
        Objective, derivatives, start, known optimum.

    Examples
    --------
    >>> from numopt.problems import rosenbrock
    >>> problem = rosenbrock(4)
    >>> round(problem.fun(problem.x0), 6), problem.fun(problem.x_opt)
    (532.4, 0.0)
    """
    from numopt._core.validation import check_int

    n = check_int(n, "n", "rosenbrock", low=2)

    def fun(x):
        x = np.asarray(x, dtype=np.float64)
        return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))

    def jac(x):
        x = np.asarray(x, dtype=np.float64)
        inner = x[1:] - x[:-1] ** 2
        grad = np.zeros_like(x)
        grad[:-1] = -400.0 * x[:-1] * inner - 2.0 * (1.0 - x[:-1])
        grad[1:] += 200.0 * inner
        return grad

    def hess(x):
        x = np.asarray(x, dtype=np.float64)
        diagonal = np.zeros_like(x)
        diagonal[:-1] = 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
        diagonal[1:] += 200.0
        off = -400.0 * x[:-1]
        return np.diag(diagonal) + np.diag(off, 1) + np.diag(off, -1)

    def hessp(x, p):
        x = np.asarray(x, dtype=np.float64)
        p = np.asarray(p, dtype=np.float64)
        product = np.zeros_like(x)
        diagonal = 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
        product[:-1] = diagonal * p[:-1] - 400.0 * x[:-1] * p[1:]
        product[1:] += 200.0 * p[1:] - 400.0 * x[:-1] * p[:-1]
        return product

    x0 = np.where(np.arange(n) % 2 == 0, -1.2, 1.0)
    return Problem(f"ROSENBROCK{n}", fun, jac, hess, x0, hessp=hessp, x_opt=np.ones(n),
                   f_opt=0.0, source="Rosenbrock (1960), chained n-dimensional form")


def hs6():
    r"""Hock-Schittkowski problem 6.

    .. math:: \min (1 - x_1)^2 \quad \text{s.t.} \quad 10 (x_2 - x_1^2) = 0,

    from :math:`x_0 = (-1.2, 1)`; :math:`x^* = (1, 1)`, :math:`f^* = 0`.

    Returns
    -------
    Problem
        Objective, derivatives, start, known optimum.

    Examples
    --------
    >>> from numopt.problems import hs6
    >>> problem = hs6()
    >>> problem.constraints.fun(problem.x_opt)
    array([0.])
    """

    def fun(x):
        return float((1.0 - x[0]) ** 2)

    def jac(x):
        return np.array([-2.0 * (1.0 - x[0]), 0.0])

    def hess(x):
        return np.array([[2.0, 0.0], [0.0, 0.0]])

    def c(x):
        return np.array([10.0 * (x[1] - x[0] ** 2)])

    def c_jac(x):
        return np.array([[-20.0 * x[0], 10.0]])

    def c_hess(x, v):
        return np.array([[-20.0 * v[0], 0.0], [0.0, 0.0]])

    return Problem("HS6", fun, jac, hess, [-1.2, 1.0], constraints=_equality(c, c_jac, c_hess),
                   x_opt=[1.0, 1.0], f_opt=0.0, source="Hock & Schittkowski (1981), problem 6")


def hs7():
    r"""Hock-Schittkowski problem 7.

    .. math:: \min \log(1 + x_1^2) - x_2 \quad \text{s.t.} \quad (1 + x_1^2)^2 + x_2^2 - 4 = 0,

    from :math:`x_0 = (2, 2)`; :math:`x^* = (0, \sqrt 3)`, :math:`f^* = -\sqrt 3`.

    Returns
    -------
    Problem
        Objective, derivatives, start, known optimum.

    Examples
    --------
    >>> from numopt.problems import hs7
    >>> problem = hs7()
    >>> round(problem.f_opt, 6)
    -1.732051
    """

    def fun(x):
        return float(np.log1p(x[0] ** 2) - x[1])

    def jac(x):
        return np.array([2.0 * x[0] / (1.0 + x[0] ** 2), -1.0])

    def hess(x):
        square = x[0] ** 2
        return np.array([[2.0 * (1.0 - square) / (1.0 + square) ** 2, 0.0], [0.0, 0.0]])

    def c(x):
        return np.array([(1.0 + x[0] ** 2) ** 2 + x[1] ** 2 - 4.0])

    def c_jac(x):
        return np.array([[4.0 * x[0] * (1.0 + x[0] ** 2), 2.0 * x[1]]])

    def c_hess(x, v):
        return v[0] * np.array([[4.0 + 12.0 * x[0] ** 2, 0.0], [0.0, 2.0]])

    return Problem("HS7", fun, jac, hess, [2.0, 2.0], constraints=_equality(c, c_jac, c_hess),
                   x_opt=[0.0, np.sqrt(3.0)], f_opt=-np.sqrt(3.0),
                   source="Hock & Schittkowski (1981), problem 7")


def hs28():
    r"""Hock-Schittkowski problem 28 (a convex quadratic with one linear equality).

    .. math::

        \min (x_1 + x_2)^2 + (x_2 + x_3)^2 \quad \text{s.t.} \quad x_1 + 2 x_2 + 3 x_3 - 1 = 0,

    from :math:`x_0 = (-4, 1, 1)`; :math:`x^* = (1/2, -1/2, 1/2)`, :math:`f^* = 0`.

    Returns
    -------
    Problem
        Objective, derivatives, start, known optimum.

    Examples
    --------
    >>> from numopt.problems import hs28
    >>> problem = hs28()
    >>> float(problem.fun(problem.x0))
    13.0
    """
    quadratic = np.array([[2.0, 2.0, 0.0], [2.0, 4.0, 2.0], [0.0, 2.0, 2.0]])
    normal = np.array([1.0, 2.0, 3.0])

    def fun(x):
        return float((x[0] + x[1]) ** 2 + (x[1] + x[2]) ** 2)

    def jac(x):
        return quadratic @ np.asarray(x, dtype=np.float64)

    def hess(x):
        return quadratic.copy()

    def c(x):
        return np.array([normal @ np.asarray(x, dtype=np.float64) - 1.0])

    def c_jac(x):
        return normal[None, :].copy()

    def c_hess(x, v):
        return np.zeros((3, 3))

    return Problem("HS28", fun, jac, hess, [-4.0, 1.0, 1.0],
                   constraints=_equality(c, c_jac, c_hess), x_opt=[0.5, -0.5, 0.5], f_opt=0.0,
                   source="Hock & Schittkowski (1981), problem 28")


#: name -> factory of every classic problem (``rosenbrock`` at its default ``n = 2``).
CLASSIC_PROBLEMS = {"ROSENBROCK": rosenbrock, "HS6": hs6, "HS7": hs7, "HS28": hs28}
