"""Softmax-type test problems: multinomial (softmax) regression and LogSumExp.

Both expose what the Hessian approximations of ``minimize(method="gn-newton")`` need:
``hess`` (exact), ``hessp``, ``hess_gauss_newton`` (weighted Gauss-Newton: the softmax Hessian
without its negative rank-one part), ``hess_fisher`` (empirical Fisher, softmax regression) and
``hess_subsampled`` (softmax regression).
"""

import numpy as np

__all__ = ["SoftmaxRegression", "LogSumExp"]


class SoftmaxRegression:
    r"""L2-regularised multinomial logistic (softmax) regression on CSR data.

    .. math::

        f(W) = \frac1n \sum_{i=1}^n \Bigl[\log \sum_{c} e^{a_i^\top w_c} - a_i^\top w_{c_i}\Bigr]
               + \frac{\mathrm{reg}}{2} \|W\|_F^2,

    with ``W`` of shape ``(n_features, n_classes)`` flattened in C order (the variable is
    ``W.ravel()``, entry ``j * n_classes + c``). The fused passes run on the chosen backend
    (numba by default, NumPy as reference).

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n_samples, n_features)
        Features (kept as CSR).
    labels : array_like of int, shape (n_samples,)
        Class of each row, in ``0..n_classes-1``.
    reg : float, optional
        Ridge weight, >= 0 (default 0).
    n_classes : int, optional
        Default ``labels.max() + 1``.
    backend : {"auto", "numba", "numpy"}, optional
        Kernel backend (default numba).

    Raises
    ------
    ValueError
        Shapes, non-finite data, labels out of range, ``reg < 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.problems.softmax import SoftmaxRegression
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> problem = SoftmaxRegression(X, [0, 1, 2], reg=0.1, backend="numpy")
    >>> bool(np.isclose(problem.fun(np.zeros(6)), np.log(3)))
    True
    """

    def __init__(self, X, labels, reg=0.0, *, n_classes=None, backend="auto"):
        from scipy import sparse

        from numopt._core.validation import check_array, check_int, check_scalar
        from numopt.backends import get_backend

        name = "SoftmaxRegression"
        if sparse.issparse(X):
            X = sparse.csr_matrix(X, dtype=np.float64)
        else:
            X = sparse.csr_matrix(check_array(X, "X", ndim=2, dtype=np.float64))
        X.sum_duplicates()
        X.sort_indices()
        if not np.isfinite(X.data).all():
            raise ValueError("`X` must contain only finite values.")
        labels = np.asarray(labels)
        if labels.shape != (X.shape[0],) or labels.dtype.kind not in "iu":
            raise ValueError(f"`labels` must be integers of shape ({X.shape[0]},); got dtype "
                             f"{labels.dtype} and shape {labels.shape}.")
        classes = int(labels.max()) + 1 if n_classes is None else \
            check_int(n_classes, "n_classes", name, low=2)
        if labels.min() < 0 or labels.max() >= classes:
            raise ValueError(f"`labels` must lie in 0..{classes - 1}; got range "
                             f"[{labels.min()}, {labels.max()}].")
        self.X, self.labels = X, labels.astype(np.int64)
        self.reg = check_scalar(reg, "reg", name, low=0, low_inclusive=True)
        self.n_samples, self.n_features = X.shape
        self.n_classes = classes
        self.n = self.n_features * classes
        self._csr = (X.indptr, X.indices, X.data)
        self._kernels = get_backend(backend)
        self._cache = (None, None)

    @property
    def x0(self):
        """The starting point 0."""
        return np.zeros(self.n)

    def _matrix(self, x):
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.n,):
            raise ValueError(f"`x` must have shape ({self.n},); got shape {x.shape}.")
        return np.ascontiguousarray(x.reshape(self.n_features, self.n_classes))

    def _evaluate(self, x):
        """``(f, G, P)`` at ``x``; the last point is cached, since fun, jac and the Hessians are
        asked at the same point one after another."""
        key, value = self._cache
        if key is None or not np.array_equal(key, x):
            value = self._kernels.softmax_fgp(*self._csr, self.labels, self._matrix(x), self.reg)
            self._cache = (np.array(x, dtype=np.float64), value)
        return value

    def fun(self, x):
        """Objective value."""
        return self._evaluate(x)[0]

    def jac(self, x):
        """Gradient, shape ``(n,)``."""
        return self._evaluate(x)[1].ravel()

    def fun_and_jac(self, x):
        """``(fun(x), jac(x))`` from one pass over the data (use with ``jac=True``)."""
        f, G, _ = self._evaluate(x)
        return f, G.ravel()

    def _block_gram(self, diag, outer, sign, rows=None):
        indptr, indices, data = self._csr
        if rows is not None:
            sub = self.X[rows]
            indptr, indices, data = sub.indptr, sub.indices, sub.data
        H = self._kernels.csr_block_gram(indptr, indices, data, np.ascontiguousarray(diag),
                                         np.ascontiguousarray(outer), float(sign),
                                         self.n_features)
        H[np.diag_indices_from(H)] += self.reg
        return H

    def hess(self, x):
        """Exact Hessian, dense ``(n, n)``."""
        probs = self._evaluate(x)[2]
        return self._block_gram(probs, probs, 1.0)

    def hess_gauss_newton(self, x):
        """Weighted Gauss-Newton ``(1/n) sum_i kron(a_i a_i^T, diag(p_i)) + reg I`` (an upper
        bound of the Hessian: the negative rank-one part is dropped)."""
        probs = self._evaluate(x)[2]
        return self._block_gram(probs, probs, 0.0)

    def _residuals(self, probs):
        residual = probs.copy()
        residual[np.arange(self.n_samples), self.labels] -= 1.0
        return residual

    def hess_fisher(self, x):
        """Empirical Fisher ``(1/n) sum_i grad l_i grad l_i^T + reg I``."""
        residual = self._residuals(self._evaluate(x)[2])
        return self._block_gram(np.zeros_like(residual), residual, -1.0)

    def hess_subsampled(self, x, fraction, rng):
        """Exact Hessian of the loss over ``ceil(fraction * n_samples)`` random rows."""
        probs = self._evaluate(x)[2]
        rows = _sample_rows(self.n_samples, fraction, rng)
        return self._block_gram(probs[rows], probs[rows], 1.0, rows)

    def hessp(self, x, v):
        """Hessian-vector product without forming the Hessian."""
        probs = self._evaluate(x)[2]
        V = self._matrix(v)
        scores = self.X @ V
        weighted = probs * (scores - (probs * scores).sum(axis=1, keepdims=True))
        return (self.X.T @ weighted / self.n_samples + self.reg * V).ravel()


def _sample_rows(n, fraction, rng):
    """Sorted indices of ``max(1, ceil(fraction n))`` distinct random rows."""
    count = max(1, int(np.ceil(fraction * n)))
    return np.sort(rng.choice(n, size=count, replace=False))


class LogSumExp:
    r"""``f(x) = mu log sum_i exp((a_i^T x - b_i) / mu) - <c, x>``, the paper's first example.

    Parameters
    ----------
    A : array_like, shape (m, d)
    b : array_like, shape (m,)
    mu : float
        Smoothing, > 0.
    c : array_like, shape (d,), optional
        Linear term (default 0). :meth:`random` sets ``c = A^T pi(0)`` so that ``x* = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.problems.softmax import LogSumExp
    >>> problem = LogSumExp.random(20, 5, seed=0)
    >>> bool(np.allclose(problem.jac(np.zeros(5)), 0.0))
    True
    """

    def __init__(self, A, b, mu=1.0, c=None):
        from numopt._core.validation import check_array, check_scalar

        self.A = check_array(A, "A", ndim=2, dtype=np.float64)
        self.b = check_array(b, "b", shape=(self.A.shape[0],), dtype=np.float64)
        self.mu = check_scalar(mu, "mu", "LogSumExp", low=0)
        self.n = self.A.shape[1]
        self.c = np.zeros(self.n) if c is None else check_array(c, "c", shape=(self.n,),
                                                                dtype=np.float64)

    @classmethod
    def random(cls, m, d, mu=1.0, seed=None):
        """Entries of ``A`` and ``b`` uniform on ``[-1, 1]``, shifted so that ``x* = 0``."""
        rng = np.random.default_rng(seed)
        A = rng.uniform(-1, 1, size=(m, d))
        b = rng.uniform(-1, 1, size=m)
        shifted = cls(A, b, mu)
        shifted.c = A.T @ shifted._weights(np.zeros(d))[1]
        return shifted

    def _weights(self, x):
        scores = (self.A @ x - self.b) / self.mu
        peak = scores.max()
        weights = np.exp(scores - peak)
        total = weights.sum()
        return self.mu * (np.log(total) + peak), weights / total

    def fun(self, x):
        """Objective value."""
        return float(self._weights(x)[0] - self.c @ x)

    def jac(self, x):
        """Gradient ``A^T pi - c``."""
        return self.A.T @ self._weights(x)[1] - self.c

    def hess_gauss_newton(self, x):
        """Weighted Gauss-Newton ``(1/mu) A^T diag(pi) A``."""
        pi = self._weights(x)[1]
        return self.A.T @ (pi[:, None] * self.A) / self.mu

    def hess(self, x):
        """Exact Hessian ``(1/mu) (A^T diag(pi) A - (A^T pi)(A^T pi)^T)``."""
        pi = self._weights(x)[1]
        mean = self.A.T @ pi
        return self.A.T @ (pi[:, None] * self.A) / self.mu - np.outer(mean, mean) / self.mu
