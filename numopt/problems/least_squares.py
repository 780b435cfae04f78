r"""Nonlinear least squares in the power form ``f(x) = (1/p) ||u(x)||^p`` (the paper's examples).

With ``J`` the Jacobian of the residual ``u`` and ``r = ||u||``:

.. math::

    \nabla f = r^{p-2} J^\top u, \qquad
    \nabla^2 f = r^{p-2}\Bigl(J^\top J + \sum_i u_i \nabla^2 u_i\Bigr)
                 + (p-2)\, r^{p-4} (J^\top u)(J^\top u)^\top.

The approximations of ``minimize(method="gn-newton")``: ``hess_gauss_newton`` drops
``sum_i u_i nabla^2 u_i`` (the "inexact Hessian" of the paper); ``hess_fisher`` keeps only the
rank-one Fisher term, returned unformed so the solver uses Sherman-Morrison.
"""

import numpy as np

__all__ = ["LeastSquares", "linear_power", "rosenbrock_residuals", "chebyshev_rosenbrock"]


class LeastSquares:
    """``f(x) = (1/p) ||u(x)||^p`` with exact derivatives.

    Parameters
    ----------
    residual : callable
        ``u(x) -> array (m,)``.
    jacobian : callable
        ``J(x) -> array (m, d)``.
    p : float
        Power, >= 2 (default 2).
    residual_hess : callable, optional
        ``(x, v) -> sum_i v_i nabla^2 u_i(x)``, shape ``(d, d)``; None for a linear residual.
    x0 : array_like, shape (d,)
        Starting point.
    name : str
        Label.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.problems.least_squares import rosenbrock_residuals
    >>> problem = rosenbrock_residuals(p=2)
    >>> problem.fun(np.ones(2)), problem.jac(np.ones(2))
    (0.0, array([0., 0.]))
    """

    def __init__(self, residual, jacobian, p=2.0, residual_hess=None, *, x0, name="least_squares"):
        from numopt._core.validation import check_array, check_scalar

        self.residual, self.jacobian, self.residual_hess = residual, jacobian, residual_hess
        self.p = check_scalar(p, "p", "LeastSquares", low=2, low_inclusive=True)
        self.x0 = check_array(x0, "x0", ndim=1, dtype=np.float64)
        self.n = self.x0.shape[0]
        self.name = name

    def _parts(self, x):
        u = np.asarray(self.residual(x), dtype=np.float64)
        return u, float(np.linalg.norm(u))

    def fun(self, x):
        """``(1/p) ||u(x)||^p``."""
        return self._parts(x)[1] ** self.p / self.p

    def jac(self, x):
        """``||u||^{p-2} J^T u``."""
        u, norm = self._parts(x)
        return norm ** (self.p - 2) * (self.jacobian(x).T @ u)

    def _rank_one_coef(self, norm):
        # (p - 2) r^{p-4} -> 0 as r -> 0 whenever p > 2 once multiplied by (J^T u)(J^T u)^T.
        return 0.0 if self.p == 2 or norm == 0 else (self.p - 2) * norm ** (self.p - 4)

    def hess_gauss_newton(self, x):
        """``r^{p-2} J^T J + (p-2) r^{p-4} (J^T u)(J^T u)^T`` (drops the residual curvature)."""
        u, norm = self._parts(x)
        J = self.jacobian(x)
        Jtu = J.T @ u
        return norm ** (self.p - 2) * (J.T @ J) + self._rank_one_coef(norm) * np.outer(Jtu, Jtu)

    def hess(self, x):
        """Exact Hessian."""
        H = self.hess_gauss_newton(x)
        if self.residual_hess is not None:
            u, norm = self._parts(x)
            H = H + norm ** (self.p - 2) * self.residual_hess(x, u)
        return H

    def hess_fisher(self, x):
        """The rank-one Fisher term ``((p-2)/||u||^p) grad f grad f^T``, as a
        :class:`~numopt.unconstrained.hessian_approx.RankOne` (solved by Sherman-Morrison)."""
        from numopt.unconstrained.hessian_approx import RankOne

        u, norm = self._parts(x)
        return RankOne(self._rank_one_coef(norm), self.jacobian(x).T @ u)


def linear_power(A, b, p=4.0, x0=None):
    """``(1/p) ||A x - b||^p`` (the paper's "nonlinear equations with a linear operator").

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.problems.least_squares import linear_power
    >>> problem = linear_power(np.eye(2), np.ones(2), p=4)
    >>> round(problem.fun(np.zeros(2)), 12)
    1.0
    """
    A = np.asarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    x0 = np.ones(A.shape[1]) if x0 is None else x0
    return LeastSquares(lambda x: A @ x - b, lambda x: A, p, x0=x0, name=f"linear_p{p:g}")


def rosenbrock_residuals(p=5.0, x0=(-2.0, 2.0)):
    """Rosenbrock as equations, ``u = (1 - x1, 10 (x2 - x1^2))``; minimum 0 at ``(1, 1)``.

    Examples
    --------
    >>> from numopt.problems.least_squares import rosenbrock_residuals
    >>> rosenbrock_residuals().n
    2
    """
    def residual(x):
        return np.array([1.0 - x[0], 10.0 * (x[1] - x[0] ** 2)])

    def jacobian(x):
        return np.array([[-1.0, 0.0], [-20.0 * x[0], 10.0]])

    def residual_hess(x, v):
        return np.array([[-20.0 * v[1], 0.0], [0.0, 0.0]])

    return LeastSquares(residual, jacobian, p, residual_hess, x0=x0, name=f"rosenbrock_p{p:g}")


def chebyshev_rosenbrock(n, p=4.0, x0=None, seed=0):
    """Nesterov-Chebyshev-Rosenbrock: ``u_1 = (1 - x_1)/2``, ``u_i = x_i - 2 x_{i-1}^2 + 1``.

    The minimum 0 is at ``x = 1``. The default start is uniform on ``[0, 1]`` (seeded).

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.problems.least_squares import chebyshev_rosenbrock
    >>> chebyshev_rosenbrock(5).fun(np.ones(5))
    0.0
    """
    if x0 is None:
        x0 = np.random.default_rng(seed).uniform(0.0, 1.0, size=n)

    def residual(x):
        return np.concatenate(([0.5 * (1.0 - x[0])], x[1:] - 2.0 * x[:-1] ** 2 + 1.0))

    def jacobian(x):
        J = np.eye(n)
        J[0, 0] = -0.5
        J[np.arange(1, n), np.arange(n - 1)] = -4.0 * x[:-1]
        return J

    def residual_hess(x, v):
        # d^2 u_i / dx_{i-1}^2 = -4 for i >= 2: a diagonal contraction.
        return np.diag(np.concatenate((-4.0 * v[1:], [0.0])))

    return LeastSquares(residual, jacobian, p, residual_hess, x0=x0, name=f"chebyshev_n{n}_p{p:g}")
