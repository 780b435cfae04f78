"""Krylov solvers shared by every numopt solver: one conjugate-gradient loop.

The Sinkhorn-Newton Schur complements, gn-newton's Hessian-free steps and the bilevel projections'
Gram systems all call :func:`conjugate_gradients`, so they share one stopping rule and one
breakdown test. Arrays may be NumPy or CuPy: the loop uses only products, dots and axpys.
"""

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["CGResult", "conjugate_gradients", "safe_norm"]


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
