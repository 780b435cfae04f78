"""L2-regularised logistic regression, the finite-sum test problem of the Newton-type solvers."""

import numpy as np

__all__ = ["LogisticRegression", "make_logistic"]

_NAME = "LogisticRegression"


class LogisticRegression:
    r"""Binary logistic regression with an optional ridge term, dense or sparse data.

    .. math::

        f(w) = \frac1n \sum_{i=1}^n \log\bigl(1 + e^{-y_i x_i^\top w}\bigr)
               + \frac{\mathrm{reg}}{2} \|w\|^2,

    with labels :math:`y_i \in \{-1, +1\}` and no intercept (append a column of ones to ``X``
    for one). With :math:`z_i = y_i x_i^\top w` and :math:`\sigma(t) = 1/(1+e^{-t})`,

    .. math::

        \nabla f(w) = -\frac1n X^\top \bigl(y \odot \sigma(-z)\bigr) + \mathrm{reg}\, w, \qquad
        \nabla^2 f(w) = \frac1n X^\top \mathrm{Diag}\bigl(\sigma(z)(1-\sigma(z))\bigr) X
                        + \mathrm{reg}\, I.

    The loss is evaluated as ``logaddexp(0, -z)`` and the sigmoid by ``scipy.special.expit``, so
    no margin overflows. scikit-learn's ``LogisticRegression(C=C, fit_intercept=False)``
    minimises the same function times :math:`nC` when :math:`C = 1/(n\,\mathrm{reg})`.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (n_samples, n_features)
        Features; sparse input is kept sparse (CSR), dense input is made C-contiguous float64.
    y : array_like, shape (n_samples,)
        Labels, each -1 or +1 (see :func:`numopt.datasets.load_libsvm`).
    reg : float, optional
        Ridge weight, >= 0. Default 0.
    name : str, optional
        A label for reports (keyword only).

    Attributes
    ----------
    n_samples, n_features : int
        Data dimensions; ``n = n_features`` is the number of variables.
    m : int
        Number of constraints, 0 (so the object reads like a :class:`Problem`).
    x0 : ndarray, shape (n_features,)
        The usual starting point, zero.
    name : str
        ``"logistic"`` or the data set name given to :func:`make_logistic`.

    Raises
    ------
    ValueError
        ``X`` not 2-D or non-finite, ``y`` of the wrong length or not in {-1, +1}, ``reg < 0``.
    TypeError
        Non-numeric ``X`` or ``y``, or a non-real ``reg``.

    See Also
    --------
    make_logistic : Build one from a LIBSVM data set.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.problems import LogisticRegression
    >>> X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -1.0]])
    >>> problem = LogisticRegression(X, [1, -1, 1], reg=0.1)
    >>> bool(np.isclose(problem.fun(np.zeros(2)), np.log(2)))
    True
    >>> problem.hess(np.zeros(2)).shape
    (2, 2)
    """

    m = 0
    constraints = None

    def __init__(self, X, y, reg=0.0, *, name="logistic"):
        import scipy.sparse

        from numopt._core.validation import check_array, check_scalar

        if scipy.sparse.issparse(X):
            if X.ndim != 2:
                raise ValueError(f"`X` must be a 2-D matrix; got shape {X.shape}.")
            X = scipy.sparse.csr_matrix(X, dtype=np.float64)
            if not np.isfinite(X.data).all():
                raise ValueError(f"`X` must contain only finite values; found "
                                 f"{int((~np.isfinite(X.data)).sum())} NaN or inf entries.")
        else:
            X = check_array(X, "X", ndim=2, dtype=np.float64)
        y = check_array(y, "y", shape=(X.shape[0],), dtype=np.float64)
        if not np.all(np.abs(y) == 1.0):
            raise ValueError(f"`y` must hold labels -1 or +1; found values "
                             f"{np.unique(y[np.abs(y) != 1.0])[:5].tolist()}.")
        self.X = X
        self.y = y
        self.reg = check_scalar(reg, "reg", _NAME, low=0.0, low_inclusive=True)
        self.n_samples, self.n_features = X.shape
        self.name = name
        self._cache_w = None
        self._cache_margins = None

    @property
    def n(self):
        """Number of variables (``n_features``)."""
        return self.n_features

    @property
    def x0(self):
        """The starting point 0 (a new array on every access)."""
        return np.zeros(self.n_features)

    def _margins(self, w):
        """``z = y * (X @ w)`` for a validated ``w``; the last one is cached because fun, jac and
        hess are usually asked at the same point one after another."""
        w = np.asarray(w, dtype=np.float64)
        if w.shape != (self.n_features,):
            raise ValueError(f"`w` must have shape ({self.n_features},); got shape {w.shape}.")
        if self._cache_w is None or not np.array_equal(w, self._cache_w):
            self._cache_margins = self.y * (self.X @ w)
            self._cache_w = w.copy()
        return w, self._cache_margins

    def fun(self, w):
        """Evaluate the objective :math:`f(w)`.

        Parameters
        ----------
        w : array_like, shape (n_features,)
            The weights.

        Returns
        -------
        float
            The objective value.
        """
        w, margins = self._margins(w)
        return float(np.mean(np.logaddexp(0.0, -margins)) + 0.5 * self.reg * (w @ w))

    def jac(self, w):
        """Evaluate the gradient :math:`\\nabla f(w)`.

        Parameters
        ----------
        w : array_like, shape (n_features,)
            The weights.

        Returns
        -------
        numpy.ndarray, shape (n_features,)
            The gradient.
        """
        w, margins = self._margins(w)
        return self._jac(w, margins)

    def _jac(self, w, margins):
        from scipy.special import expit

        return self.X.T @ (-self.y * expit(-margins)) / self.n_samples + self.reg * w

    def fun_and_jac(self, w):
        """Evaluate ``(fun(w), jac(w))`` from one product ``X @ w``.

        Parameters
        ----------
        w : array_like, shape (n_features,)
            The weights.

        Returns
        -------
        value : float
            The objective value.
        gradient : numpy.ndarray, shape (n_features,)
            The gradient.
        """
        w, margins = self._margins(w)
        value = float(np.mean(np.logaddexp(0.0, -margins)) + 0.5 * self.reg * (w @ w))
        return value, self._jac(w, margins)

    def sample_weights(self, w):
        r"""Return the Hessian weights :math:`\sigma(z_i)(1 - \sigma(z_i))`.

        ``hess(w) = X.T @ diag(weights) @ X / n_samples + reg * I``.

        Parameters
        ----------
        w : array_like, shape (n_features,)
            The weights.

        Returns
        -------
        numpy.ndarray, shape (n_samples,)
            The weights, in [0, 1/4].
        """
        from scipy.special import expit

        _, margins = self._margins(w)
        sigma = expit(margins)
        return sigma * (1.0 - sigma)

    def per_sample_grad_scale(self, w):
        r"""Return :math:`r_i = -y_i \sigma(-z_i)`, so that :math:`\nabla \ell_i(w) = r_i x_i`.

        The empirical Fisher matrix of the data term is
        ``X.T @ diag(r**2) @ X / n_samples``, and ``jac(w) = X.T @ r / n_samples + reg * w``.

        Parameters
        ----------
        w : array_like, shape (n_features,)
            The weights.

        Returns
        -------
        numpy.ndarray, shape (n_samples,)
            The scalars :math:`r_i`, in [-1, 1].
        """
        from scipy.special import expit

        _, margins = self._margins(w)
        return -self.y * expit(-margins)

    def hess(self, w):
        """Evaluate the dense Hessian.

        Parameters
        ----------
        w : array_like, shape (n_features,)
            The weights.

        Returns
        -------
        numpy.ndarray, shape (n_features, n_features)
            The Hessian.
        """
        weights = self.sample_weights(w)
        return self.weighted_gram(weights) + self.reg * np.eye(self.n_features)

    def weighted_gram(self, weights):
        """Compute the dense ``X.T @ diag(weights) @ X / n_samples``.

        With :meth:`sample_weights` it gives the data part of the Hessian; with the squares of
        :meth:`per_sample_grad_scale`, the empirical Fisher matrix.

        Parameters
        ----------
        weights : array_like, shape (n_samples,)
            One weight per sample.

        Returns
        -------
        numpy.ndarray, shape (n_features, n_features)
            The weighted Gram matrix.
        """
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (self.n_samples,):
            raise ValueError(f"`weights` must have shape ({self.n_samples},); got shape "
                             f"{weights.shape}.")
        if isinstance(self.X, np.ndarray):
            gram = self.X.T @ (weights[:, None] * self.X)
        else:
            import scipy.sparse

            gram = (self.X.T @ (scipy.sparse.diags(weights) @ self.X)).toarray()
        return np.asarray(gram) / self.n_samples

    def hessp(self, w, p):
        """Evaluate the Hessian-vector product :math:`\\nabla^2 f(w) p`.

        Parameters
        ----------
        w : array_like, shape (n_features,)
            The weights.
        p : array_like, shape (n_features,)
            The vector.

        Returns
        -------
        numpy.ndarray, shape (n_features,)
            The product.
        """
        weights = self.sample_weights(w)
        p = np.asarray(p, dtype=np.float64)
        if p.shape != (self.n_features,):
            raise ValueError(f"`p` must have shape ({self.n_features},); got shape {p.shape}.")
        return self.X.T @ (weights * (self.X @ p)) / self.n_samples + self.reg * p

    def minimize_kwargs(self):
        """Keyword arguments for ``scipy.optimize.minimize`` / ``numopt.minimize``.

        Returns
        -------
        dict
            ``fun``, ``x0``, ``jac``, ``hess``.
        """
        return {"fun": self.fun, "x0": self.x0, "jac": self.jac, "hess": self.hess}

    def __repr__(self):
        kind = "sparse" if not isinstance(self.X, np.ndarray) else "dense"
        return (f"LogisticRegression({self.name!r}, n_samples={self.n_samples}, "
                f"n_features={self.n_features}, reg={self.reg:g}, {kind})")


def make_logistic(name, reg=None, *, n_features=None):
    """A :class:`LogisticRegression` on a LIBSVM data set.

    Parameters
    ----------
    name : str or os.PathLike
        Data set name or path, as for :func:`numopt.datasets.load_libsvm`.
    reg : float, optional
        Ridge weight; default ``1 / n_samples``.
    n_features : int, optional
        Passed to :func:`numopt.datasets.load_libsvm`.

    Returns
    -------
    LogisticRegression
        The problem, named after ``name``.

    Examples
    --------
    >>> from numopt.problems import make_logistic
    >>> problem = make_logistic("a1a")
    >>> problem.n_samples, problem.n_features, problem.reg == 1 / 1605
    (1605, 119, True)
    """
    from numopt.datasets import load_libsvm

    X, y = load_libsvm(name, n_features=n_features)
    if reg is None:
        reg = 1.0 / X.shape[0]
    return LogisticRegression(X, y, reg, name=str(name))
