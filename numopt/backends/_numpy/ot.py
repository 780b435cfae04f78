"""Dense O(nm) passes of entropic OT (reference implementation).

Convention (POT's): potentials ``f`` (n,), ``g`` (m,), cost ``C`` (n, m), temperature ``reg``;
the plan is ``P_ij = exp((f_i + g_j - C_ij) / reg)``.

The Sinkhorn-Newton solver works with an *absorbed kernel* ``K = exp((f0_i + g0_j - C_ij)/reg)``
(the plan at the last absorption point, entries <= 1) and positive scalings ``alpha``, ``beta``, so
that the current plan is ``diag(alpha) K diag(beta)``: most passes then need no ``exp`` per entry.
Every kernel below is written against the namespace of its inputs (NumPy or CuPy) and is the oracle
the numba kernels are tested against.
"""

import numpy as np

from numopt._core.validation import array_namespace

#: Octave bins of the sparsification histograms: bin k holds entries in [2^-(k+1), 2^-k) (times
#: the largest bin edge 1); the last bin also collects everything smaller (and exact zeros).
N_BINS = 64


def _scaled_exponent(f, g, C, reg):
    return (f[:, None] + g[None, :] - C) / reg


def _logsumexp(values, axis, xp):
    peak = values.max(axis=axis, keepdims=True)
    # A row of -inf (zero mass) must give -inf, not NaN.
    peak = xp.where(xp.isfinite(peak), peak, 0.0)
    with np.errstate(divide="ignore"):  # log(0) = -inf is the right answer for zero mass
        return (xp.log(xp.exp(values - peak).sum(axis=axis, keepdims=True)) + peak).squeeze(axis)


def logsumexp_rows(f, g, C, reg):
    """``out_i = log sum_j exp((f_i + g_j - C_ij) / reg)``, shape (n,)."""
    xp = array_namespace(C)
    return _logsumexp(_scaled_exponent(f, g, C, reg), 1, xp)


def logsumexp_cols(f, g, C, reg):
    """``out_j = log sum_i exp((f_i + g_j - C_ij) / reg)``, shape (m,)."""
    xp = array_namespace(C)
    return _logsumexp(_scaled_exponent(f, g, C, reg), 0, xp)


def absorb_kernel(u, v, C, reg, out):
    """Write ``out_ij = exp(u_i + v_j - C_ij / reg)`` (scaled potentials); return its row and
    column sums."""
    xp = array_namespace(C)
    xp.exp(u[:, None] + v[None, :] - C / reg, out=out)
    return out.sum(axis=1), out.sum(axis=0)


def scaled_marginals(K, alpha, beta):
    """Row and column sums of ``diag(alpha) K diag(beta)``."""
    row_sums = alpha * (K @ beta)
    col_sums = beta * (K.T @ alpha)
    return row_sums, col_sums


def sinkhorn_sweeps(K, a, b, alpha, beta, max_sweeps, tol, limit):
    """Up to ``max_sweeps`` Sinkhorn sweeps on ``diag(alpha) K diag(beta)``, in place.

    One sweep sets ``alpha = a / (K beta)`` then ``beta = b / (K^T alpha)``. Before each sweep the
    column marginal is exact, so ``sum_i |alpha_i (K beta)_i - a_i|`` is the L1 marginal error of
    the current plan; it is recorded in ``errors``. The loop stops after the sweep whose starting
    error is ``<= tol``, or as soon as a scaling leaves ``[exp(-limit), exp(limit)]`` or a sum
    vanishes (the caller then re-absorbs the scalings into ``K``).

    Returns
    -------
    errors : array, shape (min(n_done, 2),)
        The starting error of the first sweep and, when more than one ran, of the last one (all
        that the contraction factor needs; storing every sweep's error would allocate
        ``max_sweeps`` floats, gigabytes for a huge ``check_every``).
    n_done : int
        Sweeps performed.
    """
    xp = array_namespace(K)
    errors = xp.zeros(min(max_sweeps, 2), dtype=K.dtype)
    high, low = float(xp.exp(xp.asarray(limit))), float(xp.exp(xp.asarray(-limit)))
    n_done = 0
    for sweep in range(max_sweeps):
        row = K @ beta
        error = xp.abs(alpha * row - a).sum()
        errors[min(sweep, 1)] = error
        with np.errstate(divide="ignore", invalid="ignore"):  # a vanished sum: caught below
            alpha[...] = a / row
            beta[...] = b / (K.T @ alpha)
        n_done = sweep + 1
        if float(error) <= tol or not _scalings_in_range(alpha, beta, low, high, xp):
            break
    return errors[:n_done], n_done


def sinkhorn_sweeps_batch(K, A, B, alpha, beta, max_sweeps, tol, limit):
    """Up to ``max_sweeps`` Sinkhorn sweeps of k targets sharing the kernel ``K``, in place.

    Target ``t`` is the plan ``diag(alpha[:, t]) K diag(beta[:, t])`` with marginals ``A[:, t]``
    and ``B[:, t]``; one sweep is two matrix-matrix products, ``alpha = A / (K beta)`` then
    ``beta = B / (K^T alpha)``, so ``K`` is read twice per sweep for all k targets. The loop
    stops after the sweep whose starting errors are all ``<= tol``, or once a scaling leaves
    ``[exp(-limit), exp(limit)]`` or a sum vanishes.

    Returns
    -------
    errors : array, shape (min(n_done, 2), k)
        L1 row-marginal error of each target (the column marginals are exact then) before the
        first sweep and, when more than one ran, before the last one: all that the contraction
        factors need, without an array of ``max_sweeps`` rows (as :func:`sinkhorn_sweeps`).
    n_done : int
        Sweeps performed.
    """
    xp = array_namespace(K)
    errors = xp.zeros((min(max_sweeps, 2), alpha.shape[1]), dtype=K.dtype)
    high, low = float(xp.exp(xp.asarray(limit))), float(xp.exp(xp.asarray(-limit)))
    n_done = 0
    for sweep in range(max_sweeps):
        row = K @ beta
        error = xp.abs(alpha * row - A).sum(axis=0)
        errors[min(sweep, 1)] = error
        xp.divide(A, row, out=alpha)
        xp.divide(B, K.T @ alpha, out=beta)
        n_done = sweep + 1
        if float(error.max()) <= tol or not _scalings_in_range(alpha, beta, low, high, xp):
            break
    return errors[:n_done], n_done


def _scalings_in_range(alpha, beta, low, high, xp):
    """False when a scaling is outside [low, high] or not finite (a vanished sum)."""
    lo = min(float(alpha.min()), float(beta.min()))
    hi = max(float(alpha.max()), float(beta.max()))
    return bool(xp.isfinite(xp.asarray(hi))) and low <= lo and hi <= high


def _octave_bin(values, xp):
    """Bin index of each entry: ``floor(-log2(x))`` clipped to ``[0, N_BINS - 1]``."""
    with_mass = values > 0
    safe = xp.where(with_mass, values, 1.0)
    _, exponent = xp.frexp(safe)  # safe = mantissa * 2**exponent, mantissa in [0.5, 1)
    bins = xp.clip(-exponent, 0, N_BINS - 1)
    return xp.where(with_mass, bins, N_BINS - 1)


def sparsify_histograms(K, alpha, beta):
    """Mass and count of the plan's entries per octave bin, for every row and every column.

    Returns
    -------
    row_mass : array, shape (n, N_BINS)
    col_mass : array, shape (m, N_BINS)
    row_count, col_count : int64 arrays of the same shapes
    """
    xp = array_namespace(K)
    n, m = K.shape
    plan = alpha[:, None] * K * beta[None, :]
    bins = _octave_bin(plan, xp)
    rows = xp.broadcast_to(xp.arange(n)[:, None], (n, m))
    cols = xp.broadcast_to(xp.arange(m)[None, :], (n, m))
    row_mass = xp.zeros((n, N_BINS), dtype=K.dtype)
    col_mass = xp.zeros((m, N_BINS), dtype=K.dtype)
    row_count = xp.zeros((n, N_BINS), dtype=xp.int64)
    col_count = xp.zeros((m, N_BINS), dtype=xp.int64)
    flat_row = (rows * N_BINS + bins).ravel()
    flat_col = (cols * N_BINS + bins).ravel()
    row_mass.ravel()[...] = xp.bincount(flat_row, plan.ravel(), minlength=n * N_BINS)
    col_mass.ravel()[...] = xp.bincount(flat_col, plan.ravel(), minlength=m * N_BINS)
    row_count.ravel()[...] = xp.bincount(flat_row, minlength=n * N_BINS)
    col_count.ravel()[...] = xp.bincount(flat_col, minlength=m * N_BINS)
    return row_mass, col_mass, row_count, col_count


def sparsify_select(K, alpha, beta, row_threshold, col_threshold, capacity):
    """The entries of ``P = diag(alpha) K diag(beta)`` with ``P_ij >= row_threshold_i`` or
    ``P_ij >= col_threshold_j``, in CSR form (row-major order).

    ``capacity`` is an upper bound on their number (the solver derives it from the histograms);
    the reference ignores it.

    Returns
    -------
    indptr : int64 array, shape (n + 1,)
    indices : int64 array
    data : array
    """
    xp = array_namespace(K)
    plan = alpha[:, None] * K * beta[None, :]
    keep = (plan >= row_threshold[:, None]) | (plan >= col_threshold[None, :])
    rows, cols = xp.nonzero(keep)
    indptr = xp.zeros(K.shape[0] + 1, dtype=xp.int64)
    indptr[1:] = xp.cumsum(keep.sum(axis=1))
    return indptr, cols.astype(xp.int64), plan[rows, cols]


def plan_cost(K, alpha, beta, C):
    """``<C, diag(alpha) K diag(beta)>``."""
    return (alpha[:, None] * K * beta[None, :] * C).sum()


def _csr_rows(indptr, nnz, xp):
    """Row index of each stored entry of a CSR matrix."""
    return xp.searchsorted(indptr, xp.arange(nnz), side="right") - 1


def schur_matvec(indptr, indices, data, row_diag, col_diag, x, transpose):
    """Schur complement of ``H = [[diag(row_diag), S], [S^T, diag(col_diag)]]`` times ``x``.

    ``S`` (n, m) is given in CSR form. With ``transpose=False`` the row block is eliminated:
    ``col_diag * x - S^T ((S x) / row_diag)`` (``x`` of length m); with ``transpose=True`` the
    column block is: ``row_diag * x - S ((S^T x) / col_diag)`` (``x`` of length n).
    """
    xp = array_namespace(data)
    n, m = row_diag.shape[0], col_diag.shape[0]
    rows = _csr_rows(indptr, data.shape[0], xp)
    if transpose:
        inner = xp.bincount(indices, data * x[rows], minlength=m) / col_diag
        return row_diag * x - xp.bincount(rows, data * inner[indices], minlength=n)
    inner = xp.bincount(rows, data * x[indices], minlength=n) / row_diag
    return col_diag * x - xp.bincount(indices, data * inner[rows], minlength=m)
