"""Krylov solvers shared by every numopt solver: one conjugate-gradient loop, one Lanczos process.

The Sinkhorn-Newton Schur complements, the preconditioned Hessian-free steps of gn-newton and the
bilevel projections' Gram systems call :func:`conjugate_gradients`, so they share one stopping rule
and one breakdown test. :class:`Lanczos` serves a family of shifted systems
``(A + lam I) x = b`` from one Krylov basis (gn-newton's gamma trials with ``hessp``). Arrays may
be NumPy or CuPy: both use only products, dots and axpys on them.
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CGResult", "conjugate_gradients", "safe_norm", "Lanczos", "ShiftedSolve"]


@dataclass
class CGResult:
    """Outcome of :func:`conjugate_gradients`.

    Attributes
    ----------
    x : array
        The last iterate (the solution when ``converged``).
    iterations : int
        Products with the matrix.
    converged : bool
        ``||b - A x||_2 <= tol`` held.
    breakdown : bool
        The curvature ``p^T A p`` along a search direction was not positive (``A`` is not
        positive definite there) or not finite, or the preconditioned residual norm ``r^T z``
        vanished or turned non-finite; ``x`` is the iterate before that direction.
    """

    x: Any
    iterations: int
    converged: bool
    breakdown: bool


def conjugate_gradients(matvec, rhs, tol, maxiter, *, x0=None, inverse_diagonal=None):
    """Preconditioned conjugate gradients for ``A x = rhs`` with ``A`` symmetric positive definite.

    Parameters
    ----------
    matvec : callable
        ``v -> A v``.
    rhs : array, shape (n,)
    tol : float
        The one stopping rule: stop as soon as the residual satisfies ``||rhs - A x||_2 <= tol``
        (an absolute bound; callers scale it, e.g. ``rtol * ||rhs||`` or a forcing term). It is
        tested before every product, so a start that already meets it costs no product.
    maxiter : int
        Largest number of products with ``A``.
    x0 : array, optional
        Starting point (zeros by default).
    inverse_diagonal : array, optional
        Jacobi preconditioner ``diag(A)^-1`` (entries > 0).

    Returns
    -------
    CGResult

    Notes
    -----
    The one breakdown test: a direction with curvature ``p^T A p <= 0`` (or NaN) ends the loop with
    ``breakdown=True``; CG's step would be meaningless there, and for a Newton system it proves that
    the matrix is not positive definite.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt._core.krylov import conjugate_gradients
    >>> A = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> out = conjugate_gradients(lambda v: A @ v, np.array([1.0, 2.0]), 1e-12, 10)
    >>> out.converged, out.iterations, bool(np.allclose(A @ out.x, [1.0, 2.0]))
    (True, 2, True)
    """
    # CG is linear in rhs: solving for rhs / scale keeps the squared norms below from
    # overflowing (or underflowing to zero) when rhs is near 1e+-160, as OT gradients of a
    # huge or tiny total mass are.
    scale = _magnitude(rhs)
    if scale == 0.0:
        return CGResult(rhs * 0.0, 0, True, False)
    rhs, tol = rhs / scale, tol / scale
    if x0 is None:
        x = rhs * 0.0
        residual = rhs.copy()
    else:
        x = x0 / scale
        residual = rhs - matvec(x)
    z = residual if inverse_diagonal is None else residual * inverse_diagonal
    direction = z.copy()
    rz = float(residual @ z)
    for iteration in range(maxiter + 1):
        if math.sqrt(float(residual @ residual)) <= tol:
            return CGResult(x * scale, iteration, True, False)
        if iteration == maxiter:
            break
        product = matvec(direction)
        curvature = float(direction @ product)
        if not (curvature > 0 and math.isfinite(curvature) and rz > 0):
            return CGResult(x * scale, iteration + 1, False, True)
        step = rz / curvature
        x = x + step * direction
        residual = residual - step * product
        z = residual if inverse_diagonal is None else residual * inverse_diagonal
        rz_next = float(residual @ z)
        direction = z + (rz_next / rz) * direction
        rz = rz_next
    return CGResult(x * scale, maxiter, False, False)


def _magnitude(vector):
    """Largest absolute entry of ``vector`` as a float (inf or NaN when it has one)."""
    return float(abs(vector).max()) if vector.shape[0] else 0.0


def safe_norm(vector):
    """Euclidean norm of a 1-D array that neither overflows nor underflows in its squares.

    ``numpy.linalg.norm`` squares the entries, so a vector of entries near 1e160 has norm inf
    and one near 1e-160 has norm 0; here the largest entry is factored out first.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt._core.krylov import safe_norm
    >>> round(safe_norm(np.array([3e200, 4e200])) / 1e200, 12)
    5.0
    >>> safe_norm(np.zeros(2))
    0.0
    """
    scale = _magnitude(vector)
    if not 0.0 < scale < math.inf:
        return scale
    return scale * math.sqrt(float((vector / scale) @ (vector / scale)))


@dataclass
class ShiftedSolve:
    """Outcome of :meth:`Lanczos.solve`.

    Attributes
    ----------
    x : array or None
        The Galerkin solution ``V_k (T_k + lam I)^{-1} ||b|| e_1`` in the current basis; None
        when ``T_k + lam I`` is not positive definite or when it was not asked for.
    residual : float
        ``||b - (A + lam I) x||_2`` (``inf`` when ``x`` is None).
    positive_definite : bool
        Whether ``T_k + lam I`` is positive definite.
    """

    x: Any
    residual: float
    positive_definite: bool


class Lanczos:
    """The Lanczos process of a symmetric ``A`` started at ``b``, shared by shifted solves.

    After ``k`` products, ``A V_k = V_k T_k + beta_k v_{k+1} e_k^T`` with ``V_k`` orthonormal
    (kept so by one full reorthogonalisation per step) and ``T_k`` tridiagonal. For any shift
    ``lam`` the Galerkin solution of ``(A + lam I) x = b`` in ``span(V_k)`` is
    ``x = V_k y`` with ``(T_k + lam I) y = ||b|| e_1``; its residual norm is
    ``beta_k |y_k|``, known without a product. In exact arithmetic ``x`` is the ``k``-th
    conjugate-gradient iterate of the shifted system, and CG breaks down on it (a direction of
    non-positive curvature) exactly when some ``T_j + lam I``, ``j <= k``, is not positive
    definite. One basis therefore serves every shift, where CG would restart for each.

    Parameters
    ----------
    matvec : callable
        ``v -> A v``.
    rhs : array, shape (n,)
        The start vector ``b`` (non-zero).

    Attributes
    ----------
    products : int
        Products with ``A`` so far.
    exhausted : bool
        ``beta_k`` vanished: ``span(V_k)`` is invariant under ``A`` and every solve is exact.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt._core.krylov import Lanczos
    >>> A = np.diag([1.0, 2.0, 3.0])
    >>> process = Lanczos(lambda v: A @ v, np.ones(3))
    >>> for _ in range(3):
    ...     process.extend()
    >>> out = process.solve(1.0)
    >>> bool(np.allclose((A + np.eye(3)) @ out.x, np.ones(3))), out.residual < 1e-12
    (True, True)
    """

    def __init__(self, matvec, rhs):
        from numopt._core.validation import array_namespace

        self.matvec = matvec
        self.norm = math.sqrt(float(rhs @ rhs))
        if not self.norm > 0 or not math.isfinite(self.norm):
            raise ValueError(f"Lanczos: the start vector must be finite and non-zero; got norm "
                             f"{self.norm}.")
        # The basis as rows of one array (capacity doubled when full): reorthogonalisation and
        # the solution are then two matrix-vector products instead of a loop over vectors.
        self._xp = array_namespace(rhs)
        self._rows = self._xp.empty((8, rhs.shape[0]), dtype=rhs.dtype)
        self._rows[0] = rhs / self.norm
        self.size = 1  # vectors in the basis
        self.alpha, self.beta = [], []
        self.products = 0
        self.exhausted = False

    @property
    def basis(self):
        """The Lanczos vectors ``v_1, ..., v_{k+1}`` as the rows of an array."""
        return self._rows[:self.size]

    def extend(self):
        """One more product: append ``alpha_k``, ``beta_k`` and ``v_{k+1}``."""
        vector = self._rows[self.size - 1]
        w = self.matvec(vector)
        self.products += 1
        alpha = float(vector @ w)
        w = w - alpha * vector
        if self.size > 1:
            w = w - self.beta[-1] * self._rows[self.size - 2]
        # Full reorthogonalisation keeps V_k orthonormal, so that T_k stays the projection of A
        # and the residual estimate stays true in floating point.
        w = w - self.basis.T @ (self.basis @ w)
        beta = math.sqrt(float(w @ w))
        self.alpha.append(alpha)
        self.beta.append(beta)
        if not math.isfinite(alpha) or not math.isfinite(beta):
            self.exhausted = True
            return
        # Below rounding of A's scale the Krylov space is invariant.
        if beta <= 1e-14 * max(abs(alpha), self.beta[-2] if len(self.beta) > 1 else 0.0, 1e-300):
            self.exhausted = True
            return
        if self.size == self._rows.shape[0]:
            grown = self._xp.empty((2 * self.size, self._rows.shape[1]), dtype=self._rows.dtype)
            grown[:self.size] = self._rows
            self._rows = grown
        self._rows[self.size] = w / beta
        self.size += 1

    def solve(self, shift, form=True):
        """The Galerkin solution of ``(A + shift I) x = b`` in the current basis.

        Parameters
        ----------
        shift : float
        form : bool
            Whether to form ``x = V_k y`` (an ``O(k n)`` product); without it only the residual
            and the definiteness are computed, e.g. to decide whether to extend the basis.

        Returns
        -------
        ShiftedSolve
        """
        from scipy.linalg.lapack import dpttrf, dpttrs

        k = len(self.alpha)
        if k == 0 or not all(map(math.isfinite, self.alpha + self.beta)):
            return ShiftedSolve(None, math.inf, False)
        diagonal = np.asarray(self.alpha) + shift
        off = np.asarray(self.beta[:-1])
        # ?pttrf: L D L^T of a symmetric tridiagonal matrix; info > 0 exactly when a leading
        # minor is not positive, i.e. CG on the shifted system would meet non-positive curvature.
        if k == 1:  # ?pttrf wants a non-empty off-diagonal
            if not diagonal[0] > 0:
                return ShiftedSolve(None, math.inf, False)
            y = np.array([self.norm / diagonal[0]])
        else:
            d_factor, e_factor, info = dpttrf(diagonal, off)
            if info != 0:
                return ShiftedSolve(None, math.inf, False)
            rhs = np.zeros((k, 1))
            rhs[0, 0] = self.norm
            y = dpttrs(d_factor, e_factor, rhs)[0][:, 0]
        x = self._rows[:k].T @ self._xp.asarray(y) if form else None
        residual = 0.0 if self.exhausted else self.beta[-1] * abs(float(y[-1]))
        return ShiftedSolve(x, residual, True)
