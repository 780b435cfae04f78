"""Verified bounds in floating point: eigenvalues by Cholesky, spectral norms, Rayleigh quotients.

Every bound returned here holds for the exact real matrix whose entries are the given floats, with
every rounding error of the computation accounted for (IEEE double precision, rounding to
nearest). The one tool is the floating-point Cholesky test of Rump (2006): if Cholesky of the
symmetric float matrix ``B`` runs to completion, the computed factor satisfies
``R^T R = B + E`` with ``|E| <= gamma_{n+1} |R^T| |R|`` (Demmel 1989; Higham 2002, Theorem 10.3),
for any order of the inner products, hence also for LAPACK's blocked factorisation. As
``|| |R^T| |R| ||_2 <= ||R||_F^2 = trace(B + E) <= sum_i |b_ii| + gamma_{n+1} ||R||_F^2``,

    lambda_min(B) >= -||E||_2 >= -gamma_{n+1} / (1 - gamma_{n+1}) * sum_i |b_ii|.

Applied to ``B = fl(A - a I)`` (whose diagonal is rounded once more) this gives a verified lower
bound of ``lambda_min(A)`` a little below the shift ``a``; a term for gradual underflow, of the
form Rump adds, keeps the bound valid for tiny entries.

References
----------
S. M. Rump, "Verification of positive definiteness", BIT 46 (2006) 433-452.
J. W. Demmel, "On floating point errors in Cholesky", LAPACK Working Note 14, 1989.
N. J. Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., SIAM, 2002.
"""

import numpy as np

__all__ = ["gamma", "round_down", "round_up", "extreme_eigenvalues", "lambda_min_lower",
           "symmetric_enclosure",
           "symmetric_lower",
           "norm_upper", "rayleigh_upper", "norm_lower", "frobenius_upper"]

EPS = np.finfo(float).eps
UNIT = EPS / 2                 # unit roundoff u
SUBNORMAL = 2.0 ** -1074       # the smallest positive float (underflow granularity)
# Error bounds are sums of non-negative terms (fewer than 2^30): inflating them by 2^-20
# relative covers the rounding of their own evaluation (gamma_m < 2^-20 for m < 2^30).
INFLATE = 1.0 + 2.0 ** -20
# Below the Cholesky test's error bound the shift is doubled this often before giving up.
_MAX_SHIFTS = 60
# From this size on one eigenvalue is computed by a subset eigensolver, not a full spectrum.
_SUBSET_FROM = 64


def gamma(k):
    """``gamma_k = k u / (1 - k u)``, the relative error bound of ``k`` roundings (inflated).

    Examples
    --------
    >>> from numopt.games._verified import gamma
    >>> 1e-16 < gamma(1) < 1.2e-16
    True
    """
    return float(INFLATE * k * UNIT / (1.0 - k * UNIT))


def round_down(value, magnitude):
    """A float below ``value - 4 eps * magnitude`` (elementwise).

    When ``value`` is the computed result of at most three additions of terms whose absolute
    values sum to ``magnitude``, the result is below the exact result: rounded outward.

    Examples
    --------
    >>> from numopt.games._verified import round_down
    >>> round_down(1.0, 1.0) < 1.0
    True
    """
    result = np.nextafter(np.asarray(value) - 4 * EPS * np.asarray(magnitude), -np.inf)
    return float(result) if result.ndim == 0 else result


def round_up(value, magnitude):
    """The mirror image of :func:`round_down`: a float above ``value + 4 eps * magnitude``.

    Examples
    --------
    >>> from numopt.games._verified import round_up
    >>> round_up(1.0, 1.0) > 1.0
    True
    """
    result = np.nextafter(np.asarray(value) + 4 * EPS * np.asarray(magnitude), np.inf)
    return float(result) if result.ndim == 0 else result


def frobenius_upper(matrices):
    """Upper bounds of ``||A||_F`` over the last two axes (rounding included).

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.games._verified import frobenius_upper
    >>> bool(frobenius_upper(np.eye(4)) >= 2.0)
    True
    """
    squares = np.sum(np.square(np.asarray(matrices, dtype=float)), axis=(-2, -1))
    return np.sqrt(squares * INFLATE) * INFLATE


def extreme_eigenvalues(stack, largest=False):
    """Floating-point estimates of the smallest (or largest) eigenvalue of each symmetric matrix
    of a stack: one batched call for small matrices, LAPACK's subset driver for large ones."""
    n = stack.shape[-1]
    if n <= _SUBSET_FROM or len(stack) == 0:
        values = np.linalg.eigvalsh(stack) if len(stack) else np.zeros((0, n))
        return values[:, -1] if largest else values[:, 0]
    from scipy.linalg import LinAlgError, eigh

    index = n - 1 if largest else 0
    estimates = np.empty(len(stack))
    for k, matrix in enumerate(stack):
        try:
            estimates[k] = eigh(matrix, eigvals_only=True, subset_by_index=[index, index],
                                driver="evr", check_finite=False)[0]
        except LinAlgError:
            # LAPACK's MRRR (dstemr) can fail on clustered spectra; the full solver does not.
            estimates[k] = np.linalg.eigvalsh(matrix)[index]
    return estimates


def _cholesky_succeeds(stack):
    """Boolean per matrix of a stack: did floating-point Cholesky run to completion?"""
    try:
        np.linalg.cholesky(stack)
        return np.ones(len(stack), dtype=bool)
    except np.linalg.LinAlgError:
        ok = np.zeros(len(stack), dtype=bool)
        for index, matrix in enumerate(stack):
            try:
                np.linalg.cholesky(matrix)
                ok[index] = True
            except np.linalg.LinAlgError:
                pass
        return ok


def _bound_after_cholesky(shifted_diagonal, shifts, n):
    """``lambda_min(A) >= a - ||E|| - (rounding of the diagonal) - (underflow)`` for the factored
    ``B = fl(A - a I)`` (module docstring); ``shifted_diagonal`` is ``diag(B)``."""
    absolute = np.abs(shifted_diagonal)
    cholesky_error = gamma(n + 1) / (1.0 - gamma(n + 1)) * absolute.sum(axis=-1) * INFLATE
    # fl(a_ii - a) = (a_ii - a)(1 + d), |d| <= u: the exact diagonal differs by <= u/(1-u)|b_ii|.
    diagonal_error = UNIT / (1.0 - UNIT) * absolute.max(axis=-1) * INFLATE
    underflow = 8.0 * (n + 2) * (2 * n + absolute.max(axis=-1)) * SUBNORMAL
    errors = cholesky_error + diagonal_error + underflow
    return round_down(shifts - errors, np.abs(shifts) + errors)


def lambda_min_lower(matrices, estimates=None):
    """Verified lower bounds of ``lambda_min`` of exactly symmetric float matrices.

    Parameters
    ----------
    matrices : array_like, shape (..., n, n)
        Symmetric matrices (only the lower triangle is read, as by Cholesky).
    estimates : array_like, shape (...), optional
        Approximations of the smallest eigenvalues (default: ``numpy.linalg.eigvalsh``).

    Returns
    -------
    ndarray, shape (...)
        ``b`` with ``lambda_min(A) >= b`` proven; about ``n^2 eps max|a_ii - lambda|`` below the
        estimate. ``-inf`` only where no shift made Cholesky succeed. All-zero matrices give 0.

    Notes
    -----
    The shift ``a = estimate - delta`` starts at twice the Cholesky error bound and doubles until
    Cholesky of ``fl(A - a I)`` succeeds; each success proves the bound of the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.games._verified import lambda_min_lower
    >>> bound = lambda_min_lower(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> bool(1.0 - 1e-14 < bound <= 1.0)
    True
    """
    matrices = np.asarray(matrices, dtype=float)
    batch_shape, n = matrices.shape[:-2], matrices.shape[-1]
    stack = matrices.reshape(-1, n, n)
    if estimates is None:
        estimates = extreme_eigenvalues(stack)
    estimates = np.asarray(estimates, dtype=float).reshape(-1)
    bounds = np.full(len(stack), -np.inf)
    zero = ~np.any(stack, axis=(-2, -1))
    bounds[zero] = 0.0
    diagonal = np.diagonal(stack, axis1=-2, axis2=-1)
    scale = np.abs(stack).max(axis=(-2, -1))
    # Twice the Cholesky error bound, plus a floor above the underflow term so that doubling
    # the shift makes progress even for subnormal entries.
    shift = (2 * gamma(n + 1) / (1.0 - gamma(n + 1)) * np.abs(diagonal - estimates[:, None])
             .sum(axis=-1) + 2 * n * EPS * scale + 64.0 * (n + 2) ** 2 * SUBNORMAL)
    pending = np.flatnonzero(~zero)
    diagonal_index = np.arange(n)
    for _ in range(_MAX_SHIFTS):
        if pending.size == 0:
            break
        shifts = estimates[pending] - shift[pending]
        shifted = stack[pending]                       # a copy (fancy indexing)
        shifted[:, diagonal_index, diagonal_index] -= shifts[:, None]
        ok = _cholesky_succeeds(shifted)
        done = pending[ok]
        bounds[done] = _bound_after_cholesky(
            np.diagonal(shifted[ok], axis1=-2, axis2=-1), shifts[ok], n)
        pending = pending[~ok]
        shift[pending] *= 2.0
    return bounds.reshape(batch_shape)


def symmetric_enclosure(matrices, roundings=0):
    """Verified lower bounds and floating-point estimates of ``lambda_min((A + A^T) / 2)``.

    ``A`` is the exact matrix whose float entries carry at most ``roundings`` roundings each.
    The symmetric part is formed in floating point (one more rounding per entry); the exact one
    differs from it by at most ``gamma_{roundings+1} ||S||_F`` in the 2-norm (Weyl), which is
    subtracted from the Cholesky bound of the float matrix.

    Returns
    -------
    lower, estimate : ndarray, shape (...)
        The proven bound and the computed eigenvalue (their difference is the error bound).

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.games._verified import symmetric_enclosure
    >>> lower, estimate = symmetric_enclosure(np.array([[1.0, 10.0], [0.05, 1.0]]))
    >>> bool(-4.025 - 1e-13 < lower <= -4.025), round(float(estimate), 12)
    (True, -4.025)
    """
    matrices = np.asarray(matrices, dtype=float)
    symmetric = (matrices + np.swapaxes(matrices, -1, -2)) / 2
    n = symmetric.shape[-1]
    estimates = extreme_eigenvalues(symmetric.reshape(-1, n, n)).reshape(symmetric.shape[:-2])
    forming = gamma(roundings + 1) / (1.0 - gamma(roundings + 1)) * frobenius_upper(symmetric)
    lower = lambda_min_lower(symmetric, estimates)
    return round_down(lower - forming, np.abs(lower) + forming), estimates


def symmetric_lower(matrices, roundings=0):
    """The verified lower bounds of :func:`symmetric_enclosure` alone.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.games._verified import symmetric_lower
    >>> bound = symmetric_lower(np.array([[1.0, 10.0], [0.05, 1.0]]))
    >>> bool(-4.025 - 1e-13 < bound <= -4.025)
    True
    """
    return symmetric_enclosure(matrices, roundings)[0]


def norm_upper(matrices, estimates=None):
    """Verified upper bounds of ``||A||_2`` (largest singular value) over the last two axes.

    ``||A||_2^2 = lambda_max(A^T A)`` (the smaller Gram matrix). The float Gram matrix ``G``
    satisfies ``|G - A^T A| <= gamma_k |A|^T |A|`` entrywise (``k`` products per entry), so
    ``||G - A^T A||_2 <= gamma_k ||A||_F^2``; ``lambda_max(G)`` is bounded by the Cholesky test
    of ``-G``. The bound is about ``k rank(A) u`` relative above ``||A||_2``.

    Parameters
    ----------
    matrices : array_like, shape (..., m, n)
    estimates : array_like, shape (...), optional
        Approximate largest singular values (default: from the Gram matrix).

    Returns
    -------
    ndarray, shape (...)

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.games._verified import norm_upper
    >>> bound = norm_upper(np.array([[3.0, 0.0], [4.0, 0.0]]))
    >>> bool(5.0 <= bound < 5.0 + 1e-13)
    True
    """
    matrices = np.asarray(matrices, dtype=float)
    batch_shape, (m, n) = matrices.shape[:-2], matrices.shape[-2:]
    # Scale each matrix by a power of two to a largest entry in [1/2, 1): the Gram matrix then
    # neither overflows nor underflows (entries below 2^-1074 of the largest one are rounded,
    # by at most one subnormal each, which the underflow term covers).
    largest = np.abs(matrices.reshape(-1, m * n)).max(axis=1, initial=0.0)
    exponents = np.frexp(largest)[1]
    stack = np.ldexp(matrices.reshape(-1, m, n), -exponents[:, None, None])
    transpose = np.swapaxes(stack, -1, -2)
    gram = transpose @ stack if m >= n else stack @ transpose
    if estimates is None:
        squares = extreme_eigenvalues(gram, largest=True)
    else:
        squares = np.square(np.ldexp(np.asarray(estimates, dtype=float).reshape(-1), -exponents))
    inner = max(m, n)
    forming = (gamma(inner) / (1 - gamma(inner)) * frobenius_upper(stack) ** 2 * INFLATE
               + 4.0 * inner * (inner + 2) * min(m, n) * SUBNORMAL)
    upper = -lambda_min_lower(-gram, -squares) + forming
    roots = np.sqrt(np.maximum(upper * (1 + EPS), 0.0))
    bounds = np.nextafter(np.ldexp(round_up(roots, roots), exponents), np.inf)
    return np.where(largest == 0, 0.0, bounds).reshape(batch_shape)      # ||0|| = 0 exactly


def rayleigh_upper(symmetric, vector, relative_error=0.0):
    """Verified upper bound of ``lambda_min(S) <= v^T S v / v^T v`` for the exact symmetric ``S``
    with ``|S - symmetric| <= relative_error * |symmetric|`` entrywise.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.games._verified import rayleigh_upper
    >>> bound = rayleigh_upper(np.array([[2.0, 1.0], [1.0, 2.0]]), np.array([1.0, -1.0]))
    >>> bool(1.0 <= bound < 1.0 + 1e-14)
    True
    """
    symmetric, vector = np.asarray(symmetric, dtype=float), np.asarray(vector, dtype=float)
    n = len(vector)
    numerator = float(vector @ (symmetric @ vector))
    absolute = float(np.abs(vector) @ (np.abs(symmetric) @ np.abs(vector))) * INFLATE
    # x^T A x in floating point errs by at most gamma_{2n+2} |x|^T |A| |x| (Higham 2002, 3.5).
    numerator_up = round_up(numerator + (gamma(2 * n + 2) + relative_error) * absolute,
                            abs(numerator) + absolute)
    denominator = float(vector @ vector)
    low, high = denominator * (1 - gamma(n + 1)), denominator * (1 + gamma(n + 1))
    quotient = numerator_up / (low if numerator_up >= 0 else high)
    return round_up(quotient, abs(quotient))


def norm_lower(matrix, vector):
    """Verified lower bound of ``||A||_2 >= ||A v|| / ||v||`` (0 when rounding hides it).

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.games._verified import norm_lower
    >>> bound = norm_lower(np.array([[3.0, 0.0], [4.0, 0.0]]), np.array([1.0, 0.0]))
    >>> bool(5.0 - 1e-13 < bound <= 5.0)
    True
    """
    matrix, vector = np.asarray(matrix, dtype=float), np.asarray(vector, dtype=float)
    m, n = matrix.shape
    image = matrix @ vector
    # |fl(A v) - A v| <= gamma_n |A| |v| entrywise; the 2-norms then err by gamma_{m+2}.
    error = gamma(n) * (np.abs(matrix) @ np.abs(vector)) * INFLATE
    image_low = float(np.linalg.norm(image)) * (1 - gamma(m + 2))
    error_high = float(np.linalg.norm(error)) * (1 + gamma(m + 2))
    vector_high = float(np.linalg.norm(vector)) * (1 + gamma(n + 2))
    if vector_high == 0 or image_low <= error_high:
        return 0.0
    quotient = (image_low - error_high) / vector_high
    return max(0.0, round_down(quotient, image_low / vector_high + error_high / vector_high))
