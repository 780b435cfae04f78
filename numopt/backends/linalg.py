"""Dense Cholesky factorisations and triangular solves for NumPy and CuPy arrays.

Solvers call these instead of choosing between ``scipy.linalg`` and ``cupyx.scipy.linalg``
themselves. On the host the triangular solve calls LAPACK's ``?trtrs`` directly: SciPy's
``solve_triangular`` runs the same routine after argument checks that cost more than the solve
itself at small sizes, and the solvers call it several times per iteration on arrays they have
already checked.
"""

import functools

import numpy as np

from numopt._core.validation import array_namespace

__all__ = ["cholesky", "solve_triangular", "cho_solve"]


def cholesky(matrix):
    """Lower Cholesky factor ``L`` with ``matrix = L L^T``.

    Parameters
    ----------
    matrix : array, shape (d, d)
        Symmetric positive definite (NumPy or CuPy).

    Returns
    -------
    array, shape (d, d)

    Raises
    ------
    numpy.linalg.LinAlgError
        ``matrix`` is not positive definite (NumPy input; CuPy returns NaNs instead, which the
        callers test with one reduction).

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.backends.linalg import cholesky
    >>> cholesky(np.array([[4.0, 2.0], [2.0, 2.0]]))
    array([[2., 0.],
           [1., 1.]])
    """
    return array_namespace(matrix).linalg.cholesky(matrix)


@functools.cache
def _trtrs(dtype):
    from scipy.linalg.lapack import get_lapack_funcs

    return get_lapack_funcs("trtrs", dtype=dtype)


def solve_triangular(factor, rhs, lower=True):
    """Solve ``factor @ x = rhs`` for a triangular ``factor`` (no argument checks).

    Parameters
    ----------
    factor : array, shape (d, d)
        Lower (``lower=True``) or upper triangular, non-singular, finite.
    rhs : array, shape (d,) or (d, k)
    lower : bool, default True

    Returns
    -------
    array, shape of ``rhs``

    Raises
    ------
    numpy.linalg.LinAlgError
        A zero on the diagonal of ``factor``.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.backends.linalg import solve_triangular
    >>> solve_triangular(np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([2.0, 3.0]))
    array([1., 2.])
    """
    xp = array_namespace(factor, rhs)
    if xp is not np:
        from cupyx.scipy.linalg import solve_triangular as device_solve

        return device_solve(factor, rhs, lower=lower)
    trtrs = _trtrs(np.result_type(factor, rhs))
    if factor.flags.f_contiguous:
        x, info = trtrs(factor, rhs, lower=lower, trans=0)
    else:  # LAPACK reads Fortran order: a C-ordered factor is the transposed system
        x, info = trtrs(factor.T, rhs, lower=not lower, trans=1)
    if info > 0:
        raise np.linalg.LinAlgError(f"singular triangular factor: zero pivot {info}")
    return x


def cho_solve(factor, rhs):
    """Solve ``L L^T x = rhs`` given the lower Cholesky factor ``L``.

    Parameters
    ----------
    factor : array, shape (d, d)
        Lower Cholesky factor, from :func:`cholesky`.
    rhs : array, shape (d,) or (d, k)

    Returns
    -------
    array, shape of ``rhs``

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.backends.linalg import cho_solve, cholesky
    >>> A = np.array([[4.0, 2.0], [2.0, 2.0]])
    >>> bool(np.allclose(A @ cho_solve(cholesky(A), np.array([1.0, 2.0])), [1.0, 2.0]))
    True
    """
    return solve_triangular(factor.T, solve_triangular(factor, rhs, lower=True), lower=False)
