"""Distributed optimal control of the Poisson equation on the unit-square grid (a sparse QP).

``min_{w, z} 1/2 ||w - w_true||^2 + alpha/2 ||z||^2  s.t.  Delta_h w + z = 0``

on an N x N interior grid of ``[-1, 1]^2`` (mesh ``h = 2 / (N + 1)``, zero Dirichlet boundary),
with the 5-point Laplacian ``Delta_h``, state ``w`` and control ``z`` (each N^2 values), ``alpha =
0.1`` and ``w_true(i, j) = sin(4 + 0.1 (i - (N+1)/2) / sqrt(15)) + cos(3 + 0.1 (j - (N+1)/2) /
sqrt(15))`` (the setting of the PDE experiment of Hong et al., ICML 2023). There are n = 2 N^2
variables and m = N^2 linear equality constraints; the Jacobian has 6 N^2 non-zeros.
"""

import numpy as np

__all__ = ["PoissonControl"]


class PoissonControl:
    """The Poisson optimal-control QP on an ``N x N`` grid.

    Parameters
    ----------
    N : int
        Interior grid points per side (N >= 2).
    alpha : float
        Weight of the control cost. Default 0.1.

    Attributes
    ----------
    n, m : int
        Number of variables (2 N^2) and of constraints (N^2).
    x0 : ndarray, shape (n,)
        Starting point (zeros).
    laplacian : scipy.sparse.csr_matrix, shape (N^2, N^2)
        The 5-point ``Delta_h`` with zero Dirichlet boundary.

    Examples
    --------
    >>> from numopt.problems.poisson_control import PoissonControl
    >>> problem = PoissonControl(4)
    >>> problem.n, problem.m
    (32, 16)
    >>> x, multipliers = problem.solution()
    >>> float(abs(problem.constraint_fun(x)).max()) < 1e-10
    True
    """

    def __init__(self, N, alpha=0.1):
        import scipy.sparse as sp

        from numopt._core.validation import check_int, check_scalar

        self.N = check_int(N, "N", "PoissonControl", low=2)
        self.alpha = check_scalar(alpha, "alpha", "PoissonControl", low=0)
        h = 2.0 / (self.N + 1)
        second = sp.diags([np.ones(self.N - 1), -2.0 * np.ones(self.N), np.ones(self.N - 1)],
                          [-1, 0, 1]) / h ** 2
        identity = sp.identity(self.N)
        self.laplacian = (sp.kron(identity, second) + sp.kron(second, identity)).tocsr()
        index = np.arange(1, self.N + 1) - (self.N + 1) / 2
        shift = 0.1 / np.sqrt(15.0)
        self.w_true = (np.sin(4 + shift * index)[:, None]
                       + np.cos(3 + shift * index)[None, :]).ravel()
        self.m = self.N ** 2
        self.n = 2 * self.m
        self.x0 = np.zeros(self.n)
        self._jacobian = sp.hstack([self.laplacian, sp.identity(self.m)], format="csr")
        self._hessian = sp.diags(np.concatenate([np.ones(self.m), self.alpha * np.ones(self.m)]),
                                 format="csr")

    def fun(self, x):
        """Objective value."""
        w, z = x[:self.m], x[self.m:]
        return 0.5 * float((w - self.w_true) @ (w - self.w_true) + self.alpha * (z @ z))

    def jac(self, x):
        """Objective gradient, shape (n,)."""
        w, z = x[:self.m], x[self.m:]
        return np.concatenate([w - self.w_true, self.alpha * z])

    def hess(self, x):
        """Objective Hessian (sparse diagonal)."""
        return self._hessian

    def constraint_fun(self, x):
        """``Delta_h w + z``, shape (m,)."""
        return self._jacobian @ x

    def constraint_jac(self, x):
        """Constraint Jacobian ``[Delta_h, I]`` (CSR), shape (m, n)."""
        return self._jacobian

    def constraint_hess(self, x, v):
        """Constraint Hessian (zero: the constraints are linear)."""
        import scipy.sparse as sp

        return sp.csr_matrix((self.n, self.n))

    def constraints(self, sparse=True):
        """The equality constraint as a :class:`scipy.optimize.NonlinearConstraint`.

        ``sparse=False`` returns a dense Jacobian (for solvers that need one, e.g. SLSQP).
        """
        from scipy.optimize import NonlinearConstraint

        if sparse:
            return NonlinearConstraint(self.constraint_fun, 0.0, 0.0, jac=self.constraint_jac,
                                       hess=self.constraint_hess)
        dense = self._jacobian.toarray()
        return NonlinearConstraint(self.constraint_fun, 0.0, 0.0, jac=lambda x: dense,
                                   hess=lambda x, v: np.zeros((self.n, self.n)))

    def solution(self):
        """The exact solution ``(x, multipliers)`` from one sparse solve of the KKT system."""
        import scipy.sparse as sp
        from scipy.sparse.linalg import spsolve

        K = sp.bmat([[self._hessian, self._jacobian.T], [self._jacobian, None]], format="csc")
        rhs = np.concatenate([np.concatenate([self.w_true, np.zeros(self.m)]), np.zeros(self.m)])
        solution = spsolve(K, rhs)
        return solution[:self.n], solution[self.n:]
