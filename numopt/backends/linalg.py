"""Dense Cholesky factorisations and triangular solves for NumPy and CuPy arrays.

Solvers call these instead of choosing between ``scipy.linalg`` and ``cupyx.scipy.linalg``
themselves. On the host every function calls LAPACK directly (``?potrf``, ``?trtrs``,
``?potrs``): SciPy's and NumPy's wrappers run the same routines after argument checks and
copies that cost more than the factorisation itself at small sizes, and the solvers call them
several times per iteration on arrays they have already checked. On a GPU they call CuPy.
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
    xp = array_namespace(matrix)
    if xp is not np or matrix.shape[0] == 0:  # LAPACK's wrappers refuse empty arrays
        return xp.linalg.cholesky(matrix)
    # LAPACK reads the lower triangle only (the solvers pass symmetric matrices); `clean`
    # zeroes the upper one so that the factor is the triangular matrix L itself.
    factor, info = _lapack("potrf", matrix.dtype)(matrix, lower=1, clean=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"matrix is not positive definite (leading minor {info})")
    return factor


@functools.cache
def _lapack(name, dtype):
    from scipy.linalg.lapack import get_lapack_funcs

    return get_lapack_funcs(name, dtype=dtype)


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
    if factor.shape[0] == 0:  # LAPACK rejects the empty system (and prints a message)
        return xp.zeros(rhs.shape, dtype=xp.result_type(factor, rhs))
    if xp is not np:
        from cupyx.scipy.linalg import solve_triangular as device_solve

        return device_solve(factor, rhs, lower=lower)
    trtrs = _lapack("trtrs", np.result_type(factor, rhs))
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
    if array_namespace(factor, rhs) is not np or factor.shape[0] == 0:
        return solve_triangular(factor.T, solve_triangular(factor, rhs, lower=True), lower=False)
    # One ?potrs call (two triangular solves inside LAPACK); it wants a Fortran-ordered factor,
    # which is what cholesky returns; the transpose of a C-ordered one is the upper factor.
    potrs = _lapack("potrs", np.result_type(factor, rhs))
    if factor.flags.f_contiguous:
        x, info = potrs(factor, rhs, lower=1)
    else:
        x, info = potrs(factor.T, rhs, lower=0)
    if info != 0:
        raise ValueError(f"cho_solve: LAPACK ?potrs rejected argument {-info}")
    return x
