"""The registry example of ``minimize(method="exact-alm")``: a Rayleigh quotient on the sphere.

``min_x x^T A x  s.t.  ||x||^2 = 1`` with ``A`` the 1-D Dirichlet Laplacian ``tridiag(-1, 2, -1)``
of size 12. The minimum is the smallest eigenvalue, known in closed form,
``2 - 2 cos(pi / (n + 1))``, which is the independent reference. The peer is SciPy's
``trust-constr`` on the same functions.
"""

import numpy as np

from numopt._core.registry import Example

__all__ = ["make_example", "laplacian_quadratic"]

SIZE = 12


def laplacian_quadratic(size):
    """``(A, fun, jac, hess)`` of ``x^T A x`` with ``A = tridiag(-1, 2, -1)`` of ``size``."""
    A = 2.0 * np.eye(size) - np.eye(size, k=1) - np.eye(size, k=-1)

    def fun(x):
        return float(x @ A @ x)

    def jac(x):
        return 2.0 * A @ x

    def hess(x):
        return 2.0 * A

    return A, fun, jac, hess


def make_example():
    """The Rayleigh-quotient example (see the module docstring)."""
    from scipy.optimize import NonlinearConstraint
    from scipy.optimize import minimize as scipy_minimize

    from numopt._minimize import minimize

    A, fun, jac, hess = laplacian_quadratic(SIZE)
    smallest = 2.0 - 2.0 * np.cos(np.pi / (SIZE + 1))
    x0 = np.linspace(1.0, 2.0, SIZE) / np.linalg.norm(np.linspace(1.0, 2.0, SIZE))

    sphere = NonlinearConstraint(lambda x: x @ x, 1.0, 1.0, jac=lambda x: 2.0 * x[None, :],
                                 hess=lambda x, v: 2.0 * v[0] * np.eye(SIZE))

    def solve(callback=None, **options):
        options.setdefault("seed", 0)
        return minimize(fun, x0, jac=jac, hess=hess, constraints=sphere, method="exact-alm",
                        callback=callback, options=options)

    def accuracy(result):
        return abs(result.fun - smallest) + abs(float(result.x @ result.x) - 1.0)

    def solve_peer():
        peer = scipy_minimize(fun, x0, jac=jac, hess=hess, constraints=sphere,
                              method="trust-constr", options={"gtol": 1e-8, "xtol": 1e-12})
        return peer.nit, accuracy(peer)

    bad_inputs = {
        "NaN in x0": lambda: minimize(
            fun, np.full(SIZE, np.nan), jac=jac, hess=hess, constraints=sphere,
            method="exact-alm"),
        "inequality constraint with lb > ub": lambda: minimize(
            fun, x0, jac=jac, hess=hess, method="exact-alm",
            constraints=NonlinearConstraint(lambda x: x @ x, 1.0, 0.0, jac=lambda x: 2 * x[None])),
        "bounds of the wrong length": lambda: minimize(
            fun, x0, jac=jac, hess=hess, constraints=sphere, bounds=[(0, 1)] * (SIZE - 1),
            method="exact-alm"),
        "x0 of wrong dimension": lambda: minimize(fun, np.ones((2, SIZE)), jac=jac, hess=hess,
                                                  constraints=sphere, method="exact-alm"),
        "unknown inner_solver": lambda: solve(inner_solver="lu"),
        "missing jac": lambda: minimize(fun, x0, constraints=sphere, method="exact-alm"),
    }
    return Example(problem=f"min x^T A x on the unit sphere (1-D Laplacian, n={SIZE})",
                   solve=solve, accuracy=accuracy, accuracy_label="|f - lambda_min| + |c|",
                   tolerance=1e-8, peer="scipy trust-constr", solve_peer=solve_peer,
                   bad_inputs=bad_inputs)
