"""Denoising under sparse random measurement constraints (an equality-constrained sparse problem).

``min_x sum_i 1/2 (x_i - a_i)^2 + mu log cosh(x_i)  s.t.  A x = y``

The m x n measurement matrix ``A`` has ``k`` non-zeros per row at uniformly random columns with
values ``N(0, 1/k)`` (rows of unit expected norm: a sparse random, or LDPC-like, measurement
matrix, as in sparse recovery with sparse measurement matrices). The measurements ``y = A x_true``
of a sparse signal ``x_true`` are kept exactly, while ``x`` is pulled towards a noisy copy ``a`` of
``x_true`` and shrunk towards zero by the smooth ``log cosh`` penalty. The objective's Hessian is
the diagonal ``1 + mu sech^2(x)`` (between 1 and ``1 + mu``); the constraints are linear.

Such a pattern has no small separators (the graph of ``A A^T`` is an expander), so a sparse
factorisation of ``A A^T`` fills in almost completely, while ``A`` itself is well conditioned
for ``m / n <= 1/2``.
"""

import numpy as np

__all__ = ["SparseRecovery"]


class SparseRecovery:
    """Denoising with ``m`` sparse random linear measurements kept exactly.

    Parameters
    ----------
    n : int
        Number of variables.
    m : int
        Number of measurements (equality constraints), ``1 <= m <= n``.
    k : int
        Non-zeros per row of ``A`` (``k <= n``). Default 8.
    mu : float
        Weight of the ``log cosh`` shrinkage. Default 1.
    seed : int
        Seed of ``A``, ``x_true`` (10% non-zeros) and the noise of ``a`` (standard deviation 0.1).

    Attributes
    ----------
    A : scipy.sparse.csr_matrix, shape (m, n)
    y : ndarray, shape (m,)
    a : ndarray, shape (n,)
    x0 : ndarray, shape (n,)
        Starting point (zeros).

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.problems.sparse_recovery import SparseRecovery
    >>> problem = SparseRecovery(40, 10, k=4, seed=0)
    >>> problem.A.shape, problem.A.nnz
    ((10, 40), 40)
    >>> bool(np.allclose(problem.constraint_fun(problem.x_true), 0.0))
    True
    """

    def __init__(self, n, m, k=8, mu=1.0, seed=0):
        import scipy.sparse as sp

        from numopt._core.validation import check_int, check_scalar

        self.n = check_int(n, "n", "SparseRecovery", low=1)
        self.m = check_int(m, "m", "SparseRecovery", low=1)
        self.k = check_int(k, "k", "SparseRecovery", low=1)
        if self.m > self.n or self.k > self.n:
            raise ValueError(f"SparseRecovery needs `m` <= `n` and `k` <= `n`; got n={self.n}, "
                             f"m={self.m}, k={self.k}.")
        self.mu = check_scalar(mu, "mu", "SparseRecovery", low=0, low_inclusive=True)
        rng = np.random.default_rng(seed)
        columns = np.argsort(rng.random((self.m, self.n)), axis=1)[:, :self.k] \
            if self.m * self.n <= 4_000_000 else \
            np.stack([rng.choice(self.n, self.k, replace=False) for _ in range(self.m)])
        values = rng.standard_normal((self.m, self.k)) / np.sqrt(self.k)
        self.A = sp.csr_matrix((values.ravel(), (np.repeat(np.arange(self.m), self.k),
                                                 columns.ravel())), shape=(self.m, self.n))
        self.x_true = np.where(rng.random(self.n) < 0.1, rng.standard_normal(self.n), 0.0)
        self.y = self.A @ self.x_true
        self.a = self.x_true + 0.1 * rng.standard_normal(self.n)
        self.x0 = np.zeros(self.n)

    def fun(self, x):
        """Objective value."""
        return float(0.5 * (x - self.a) @ (x - self.a)
                     + self.mu * np.sum(np.logaddexp(x, -x) - np.log(2.0)))

    def jac(self, x):
        """Objective gradient, shape (n,)."""
        return x - self.a + self.mu * np.tanh(x)

    def hess(self, x):
        """Objective Hessian ``diag(1 + mu sech^2 x)`` (sparse)."""
        import scipy.sparse as sp

        return sp.diags(1.0 + self.mu / np.cosh(x) ** 2, format="csr")

    def constraint_fun(self, x):
        """``A x - y``, shape (m,)."""
        return self.A @ x - self.y

    def constraint_jac(self, x):
        """Constraint Jacobian ``A`` (CSR), shape (m, n)."""
        return self.A

    def constraint_hess(self, x, v):
        """Constraint Hessian (zero: the constraints are linear)."""
        import scipy.sparse as sp

        return sp.csr_matrix((self.n, self.n))

    def constraints(self):
        """The equality constraint as a :class:`scipy.optimize.NonlinearConstraint`."""
        from scipy.optimize import NonlinearConstraint

        return NonlinearConstraint(self.constraint_fun, 0.0, 0.0, jac=self.constraint_jac,
                                   hess=self.constraint_hess)
