"""Logistic regression with constraints: random linear equalities and a unit norm, or a box or an
l1 budget (inequalities, :class:`InequalityLogistic`).

:class:`ConstrainedLogistic`:

``min_w (1/N) sum_i log(1 + exp(-y_i x_i^T w))  s.t.  A w = b,  ||w||^2 = 1``

with ``A`` (``n_linear x d``) and ``b`` drawn i.i.d. N(0, 1) (the setting of the constrained
logistic regression experiment of Hong et al., ICML 2023: 10 linear constraints, no intercept, no
regulariser, ``w0 = 1``). One deviation: when the affine set ``A w = b`` does not meet the unit
sphere (``||A^+ b|| >= 1``, possible for few features), ``b`` is scaled so that
``||A^+ b|| = 1/2`` and the problem is feasible; :attr:`ConstrainedLogistic.b_scaled` records it.
"""

import numpy as np

__all__ = ["ConstrainedLogistic", "InequalityLogistic"]


def _log1pexp(t):
    """``log(1 + exp(t))`` without overflow."""
    return np.logaddexp(0.0, t)


def _sigmoid(t):
    return 0.5 * (1.0 + np.tanh(0.5 * t))


class ConstrainedLogistic:
    """The constrained logistic regression problem on data ``(X, y)``.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (N, d)
        Features.
    y : array_like, shape (N,)
        Labels in {-1, +1} (any two distinct values are mapped to -1 and +1).
    n_linear : int
        Number of random linear equality constraints. Default 10.
    seed : int
        Seed of ``A`` and ``b``.

    Attributes
    ----------
    n, m : int
        Number of variables (d) and constraints (``n_linear + 1``).
    x0 : ndarray
        Starting point ``ones(d)``.
    multipliers0 : ndarray
        Starting multipliers ``ones(m)`` (the paper's choice).

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.problems.constrained_logistic import ConstrainedLogistic
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 20)); y = np.sign(rng.standard_normal(50))
    >>> problem = ConstrainedLogistic(X, y, seed=0)
    >>> problem.n, problem.m
    (20, 11)
    >>> round(problem.fun(np.zeros(20)), 6)  # log(2)
    0.693147
    """

    def __init__(self, X, y, n_linear=10, seed=0):
        from numopt._core.validation import check_array, check_int

        self.X = X.tocsr().astype(float) if hasattr(X, "tocsr") else check_array(X, "X", ndim=2)
        labels = check_array(y, "y", shape=(self.X.shape[0],))
        values = np.unique(labels)
        if values.size != 2:
            raise ValueError(f"`y` must hold exactly two classes; got {values.size}.")
        self.y = np.where(labels == values.max(), 1.0, -1.0)
        self.n_linear = check_int(n_linear, "n_linear", "ConstrainedLogistic", low=0)
        samples, self.n = self.X.shape
        if self.n_linear >= self.n:
            raise ValueError(f"`n_linear` must be smaller than the number of features "
                             f"{self.n}; got {self.n_linear}.")
        rng = np.random.default_rng(seed)
        self.A = rng.standard_normal((self.n_linear, self.n))
        self.b = rng.standard_normal(self.n_linear)
        self.b_scaled = False
        if self.n_linear:
            norm = np.linalg.norm(np.linalg.lstsq(self.A, self.b, rcond=None)[0])
            if norm >= 1.0:
                self.b *= 0.5 / norm
                self.b_scaled = True
        self.m = self.n_linear + 1
        self.x0 = np.ones(self.n)
        self.multipliers0 = np.ones(self.m)
        self._samples = samples

    @classmethod
    def from_libsvm(cls, name, **kwargs):
        """The problem on a LIBSVM data set loaded by :func:`numopt.datasets.load_libsvm`."""
        from numopt.datasets import load_libsvm

        X, y = load_libsvm(name)
        return cls(X, y, **kwargs)

    def _margins(self, w):
        return self.y * np.asarray(self.X @ w).ravel()

    def fun(self, w):
        """Average logistic loss."""
        return float(np.mean(_log1pexp(-self._margins(w))))

    def jac(self, w):
        """Gradient, shape (d,)."""
        weights = -self.y * _sigmoid(-self._margins(w)) / self._samples
        return np.asarray(self.X.T @ weights).ravel()

    def hess(self, w):
        """Hessian ``X^T diag(s (1 - s)) X / N``, dense (d, d)."""
        s = _sigmoid(self._margins(w))
        curvature = s * (1.0 - s) / self._samples
        if hasattr(self.X, "tocsr"):
            import scipy.sparse as sp

            return np.asarray((self.X.T @ sp.diags(curvature) @ self.X).toarray())
        return (self.X.T * curvature) @ self.X

    def constraint_fun(self, w):
        """``(A w - b, ||w||^2 - 1)``, shape (m,)."""
        return np.concatenate([self.A @ w - self.b, [w @ w - 1.0]])

    def constraint_jac(self, w):
        """Jacobian ``[A; 2 w^T]``, shape (m, d)."""
        return np.vstack([self.A, 2.0 * w[None, :]])

    def constraint_hess(self, w, v):
        """``sum_i v_i grad^2 c_i = 2 v_last I``."""
        return 2.0 * v[-1] * np.eye(self.n)

    def constraints(self):
        """The constraints as one :class:`scipy.optimize.NonlinearConstraint` (equalities)."""
        from scipy.optimize import NonlinearConstraint

        return NonlinearConstraint(self.constraint_fun, 0.0, 0.0, jac=self.constraint_jac,
                                   hess=self.constraint_hess)


class InequalityLogistic:
    """Logistic regression with inequality constraints: a box, or an l1 budget by split variables.

    ``kind="box"``: ``min_w loss(w)  s.t.  -radius <= w_j <= radius`` (``bounds``).

    ``kind="l1"``: ``min_w loss(w)  s.t.  ||w||_1 <= radius``, written smoothly with
    ``w = u - v``: ``min_{u, v} loss(u - v)  s.t.  u, v >= 0,  sum(u) + sum(v) <= radius``
    (``bounds`` and one ``LinearConstraint``); :meth:`weights` maps ``(u, v)`` back to ``w``.

    ``loss`` is the average logistic loss of :class:`ConstrainedLogistic` (no intercept, no
    regulariser); the constraints keep the minimiser finite on separable data.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (N, d)
    y : array_like, shape (N,)
        Two classes.
    kind : {"box", "l1"}
    radius : float
        Half-width of the box or l1 budget. Default 1.

    Attributes
    ----------
    n : int
        Number of variables (``d`` for the box, ``2 d`` for the l1 budget).
    x0 : ndarray
        Starting point (zeros: feasible).
    bounds : scipy.optimize.Bounds
    constraints : list
        Empty for the box; the budget row for ``"l1"``.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt import minimize
    >>> from numopt.problems.constrained_logistic import InequalityLogistic
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 5)); y = np.sign(X @ np.ones(5))  # separable
    >>> problem = InequalityLogistic(X, y, kind="l1", radius=2.0)
    >>> res = minimize(problem.fun, problem.x0, jac=problem.jac, hess=problem.hess,
    ...                bounds=problem.bounds, constraints=problem.constraints,
    ...                method="exact-alm", options={"seed": 0})
    >>> bool(res.success), round(float(np.abs(problem.weights(res.x)).sum()), 6)
    (True, 2.0)
    """

    def __init__(self, X, y, kind="box", radius=1.0):
        from scipy.optimize import Bounds, LinearConstraint

        from numopt._core.validation import check_choice, check_scalar

        self.loss = ConstrainedLogistic(X, y, n_linear=0)
        self.kind = check_choice(kind, "kind", "InequalityLogistic", ("box", "l1"))
        self.radius = check_scalar(radius, "radius", "InequalityLogistic", low=0)
        d = self.loss.n
        if self.kind == "box":
            self.n, self.constraints = d, []
            self.bounds = Bounds(-self.radius, self.radius)
        else:
            self.n = 2 * d
            self.bounds = Bounds(0.0, np.inf)
            self.constraints = [LinearConstraint(np.ones((1, 2 * d)), -np.inf, self.radius)]
        self.x0 = np.zeros(self.n)

    @classmethod
    def from_libsvm(cls, name, **kwargs):
        """The problem on a LIBSVM data set loaded by :func:`numopt.datasets.load_libsvm`."""
        from numopt.datasets import load_libsvm

        X, y = load_libsvm(name)
        return cls(X, y, **kwargs)

    def weights(self, x):
        """The weights ``w`` of a point of the problem (``u - v`` for ``"l1"``)."""
        if self.kind == "box":
            return x
        d = self.loss.n
        return x[:d] - x[d:]

    def fun(self, x):
        return self.loss.fun(self.weights(x))

    def jac(self, x):
        gradient = self.loss.jac(self.weights(x))
        return gradient if self.kind == "box" else np.concatenate([gradient, -gradient])

    def hess(self, x):
        hessian = self.loss.hess(self.weights(x))
        return hessian if self.kind == "box" else np.block([[hessian, -hessian],
                                                            [-hessian, hessian]])
