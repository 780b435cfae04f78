"""Dense O(nm) log-domain OT passes compiled with numba.

Each kernel streams ``C`` once per pass in row-major order; rows of up to ~10^4 entries stay in
cache between the max pass and the exp pass, so the row kernels read ``C`` from memory once.

Kernels are compiled by :func:`numopt.backends._numba._jit.kernel`, whose ``error_model="numpy"``
turns a division by a vanished sum (a weight near the smallest double, or ``C / reg`` beyond
float64's exponent range) into inf or NaN, as in the NumPy reference, which the solver reports as
an honest status.
"""


import numpy as np

from numopt.backends._numba._jit import kernel

# exp() of arguments below this underflows to a subnormal or zero; libm's slow path for them costs
# ~20x a normal exp, and small-reg problems are mostly such entries.
_UNDERFLOW = -708.0


@kernel()
def _exp_or_zero(x):
    return np.exp(x) if x > _UNDERFLOW else 0.0


@kernel()
def logsumexp_rows(f, g, C, reg):
    n, m = C.shape
    out = np.empty(n, dtype=C.dtype)
    inv_reg = 1.0 / reg
    for i in range(n):
        peak = -np.inf
        for j in range(m):
            value = (f[i] + g[j] - C[i, j]) * inv_reg
            if value > peak:
                peak = value
        if not np.isfinite(peak):
            out[i] = peak
            continue
        total = 0.0
        for j in range(m):
            total += _exp_or_zero((f[i] + g[j] - C[i, j]) * inv_reg - peak)
        out[i] = np.log(total) + peak
    return out


@kernel()
def logsumexp_cols(f, g, C, reg):
    n, m = C.shape
    inv_reg = 1.0 / reg
    peak = np.full(m, -np.inf)
    for i in range(n):
        for j in range(m):
            value = (f[i] + g[j] - C[i, j]) * inv_reg
            if value > peak[j]:
                peak[j] = value
    for j in range(m):
        if not np.isfinite(peak[j]):
            peak[j] = 0.0
    total = np.zeros(m)
    for i in range(n):
        for j in range(m):
            total[j] += _exp_or_zero((f[i] + g[j] - C[i, j]) * inv_reg - peak[j])
    out = np.empty(m, dtype=C.dtype)
    for j in range(m):
        out[j] = np.log(total[j]) + peak[j]
    return out


# --- kernels of the Sinkhorn-Newton solver -------------------------------------------------------
# fastmath lets LLVM vectorise the multiply-add reductions below (sums are re-associated, which
# changes them by a few ulps); it is kept off wherever inf/NaN must be detected.

N_BINS = 64
#: Float32 sums are used while the L1 error exceeds this many times their rounding (below).
COARSE_FACTOR = 10.0


@kernel()
def absorb_kernel(u, v, C, reg, out):
    n, m = C.shape
    inv_reg = 1.0 / reg
    row_sums = np.zeros(n)
    col_sums = np.zeros(m)
    for i in range(n):
        total = 0.0
        for j in range(m):
            value = _exp_or_zero(u[i] + v[j] - C[i, j] * inv_reg)
            out[i, j] = value
            total += value
            col_sums[j] += value
        row_sums[i] = total
    return row_sums, col_sums


@kernel(fastmath=True)
def scaled_marginals(K, alpha, beta):
    n, m = K.shape
    row_sums = np.empty(n)
    col_acc = np.zeros(m)
    for i in range(n):
        total = 0.0
        for j in range(m):
            total += K[i, j] * beta[j]
        row_sums[i] = alpha[i] * total
        weight = alpha[i]
        for j in range(m):
            col_acc[j] += K[i, j] * weight
    return row_sums, col_acc * beta


@kernel(fastmath=True)
def _sweep(K, a, b, alpha, beta, col_acc, beta_acc):
    """One fused Sinkhorn sweep: each row of K is read once for (K beta)_i and, while it is in
    cache, for its contribution to K^T alpha. Returns the starting L1 error of the row marginal.

    The O(nm) products and sums run in the precision of ``col_acc`` and ``beta_acc``: float32
    buffers with a float32 K take twice the SIMD lanes of float64 ones; the scalings and the
    error stay float64."""
    n, m = K.shape
    for j in range(m):
        beta_acc[j] = beta[j]
    col_acc[:] = 0.0
    error = 0.0
    zero = col_acc.dtype.type(0.0)
    for i in range(n):
        total = zero
        for j in range(m):
            total += K[i, j] * beta_acc[j]
        error += abs(alpha[i] * total - a[i])
        weight = a[i] / total
        alpha[i] = weight
        row_weight = col_acc.dtype.type(weight)
        for j in range(m):
            col_acc[j] += K[i, j] * row_weight
    for j in range(m):
        beta[j] = b[j] / col_acc[j]
    return error


@kernel()
def _in_range(values, low, high):
    for value in values:
        # written so that NaN fails the test too
        if not (low <= value <= high):
            return False
    return True


@kernel()
def sinkhorn_sweeps(K, a, b, alpha, beta, max_sweeps, tol, limit):
    m = K.shape[1]
    errors = np.zeros(min(max_sweeps, 2))
    col_acc, beta_acc = np.empty(m), np.empty(m)
    # A float32 K sweeps with float32 sums while the error is far above what they resolve
    # (their rounding, about sqrt(m) float32 epsilons of the mass), then with float64 sums.
    coarse_acc, coarse_beta = np.empty(m, K.dtype), np.empty(m, K.dtype)
    coarse_until = COARSE_FACTOR * np.sqrt(m) * 2.0 ** -23 * a.sum() if K.itemsize == 4 else np.inf
    high, low = np.exp(limit), np.exp(-limit)
    n_done, error = 0, np.inf
    for sweep in range(max_sweeps):
        if error > coarse_until:
            error = _sweep(K, a, b, alpha, beta, coarse_acc, coarse_beta)
        else:
            error = _sweep(K, a, b, alpha, beta, col_acc, beta_acc)
        errors[min(sweep, 1)] = error
        n_done = sweep + 1
        if error <= tol or not (_in_range(alpha, low, high) and _in_range(beta, low, high)):
            break
    return errors[:n_done], n_done


@kernel()
def sparsify_histograms(K, alpha, beta):
    n, m = K.shape
    last = N_BINS - 1
    row_mass = np.zeros((n, N_BINS))
    row_count = np.zeros((n, N_BINS), dtype=np.int64)
    # bin-major column histograms: along a row j advances by one and the bin changes slowly, so
    # the scattered updates walk memory almost sequentially
    col_mass = np.zeros((N_BINS, m))
    col_count = np.zeros((N_BINS, m), dtype=np.int64)
    col_total = np.zeros(m)
    values = np.empty(m)
    bits = values.view(np.int64)
    for i in range(n):
        weight = alpha[i]
        row_total = 0.0
        for j in range(m):
            values[j] = weight * K[i, j] * beta[j]
            row_total += values[j]
            col_total[j] += values[j]
        for j in range(m):
            # octave bin = -(frexp exponent) = 1022 - biased IEEE exponent
            k = max(1022 - (bits[j] >> 52), 0)
            if k >= last:
                continue  # the last bin is filled below from the totals (most entries at small reg)
            row_mass[i, k] += values[j]
            row_count[i, k] += 1
            col_mass[k, j] += values[j]
            col_count[k, j] += 1
        row_mass[i, last] = max(row_total - row_mass[i, :last].sum(), 0.0)
        row_count[i, last] = m - row_count[i, :last].sum()
    col_mass_out = np.ascontiguousarray(col_mass.T)
    col_count_out = np.ascontiguousarray(col_count.T)
    for j in range(m):
        col_mass_out[j, last] = max(col_total[j] - col_mass_out[j, :last].sum(), 0.0)
        col_count_out[j, last] = n - col_count_out[j, :last].sum()
    return row_mass, col_mass_out, row_count, col_count_out


@kernel()
def sparsify_select(K, alpha, beta, row_threshold, col_threshold, capacity):
    n, m = K.shape
    indptr = np.zeros(n + 1, dtype=np.int64)
    indices = np.empty(capacity, dtype=np.int64)
    data = np.empty(capacity)
    nnz = 0
    for i in range(n):
        weight = alpha[i]
        cut = row_threshold[i]
        for j in range(m):
            value = weight * K[i, j] * beta[j]
            if value >= cut or value >= col_threshold[j]:
                indices[nnz] = j
                data[nnz] = value
                nnz += 1
        indptr[i + 1] = nnz
    return indptr, indices[:nnz].copy(), data[:nnz].copy()


@kernel(fastmath=True)
def plan_cost(K, alpha, beta, C):
    n, m = K.shape
    total = 0.0
    for i in range(n):
        row_total = 0.0
        for j in range(m):
            row_total += K[i, j] * beta[j] * C[i, j]
        total += alpha[i] * row_total
    return total


@kernel()
def schur_matvec(indptr, indices, data, row_diag, col_diag, x, transpose):
    n, m = row_diag.shape[0], col_diag.shape[0]
    if transpose:
        inner = np.zeros(m)
        for i in range(n):
            for k in range(indptr[i], indptr[i + 1]):
                inner[indices[k]] += data[k] * x[i]
        inner /= col_diag
        out = row_diag * x
        for i in range(n):
            total = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                total += data[k] * inner[indices[k]]
            out[i] -= total
        return out
    # one pass: each row's product with x is finished before it is scattered back
    out = col_diag * x
    for i in range(n):
        total = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            total += data[k] * x[indices[k]]
        total /= row_diag[i]
        for k in range(indptr[i], indptr[i + 1]):
            out[indices[k]] -= data[k] * total
    return out
