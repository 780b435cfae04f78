"""Dense O(nm) log-domain OT passes compiled with numba.

Each kernel streams ``C`` once per pass in row-major order; rows of up to ~10^4 entries stay in
cache between the max pass and the exp pass, so the row kernels read ``C`` from memory once.
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
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
            total += np.exp((f[i] + g[j] - C[i, j]) * inv_reg - peak)
        out[i] = np.log(total) + peak
    return out


@njit(cache=True, nogil=True)
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
            total[j] += np.exp((f[i] + g[j] - C[i, j]) * inv_reg - peak[j])
    out = np.empty(m, dtype=C.dtype)
    for j in range(m):
        out[j] = np.log(total[j]) + peak[j]
    return out


@njit(cache=True, nogil=True)
def plan_with_marginals(f, g, C, reg):
    n, m = C.shape
    inv_reg = 1.0 / reg
    plan = np.empty((n, m), dtype=C.dtype)
    row_sums = np.zeros(n, dtype=C.dtype)
    col_sums = np.zeros(m, dtype=C.dtype)
    for i in range(n):
        row_total = 0.0
        for j in range(m):
            value = np.exp((f[i] + g[j] - C[i, j]) * inv_reg)
            plan[i, j] = value
            row_total += value
            col_sums[j] += value
        row_sums[i] = row_total
    return plan, row_sums, col_sums
