"""Sketch-and-project steps for ``K z = b`` compiled with numba (dense and CSR variants).

Same contract as :mod:`numopt.backends._numpy.sketch`: ``z`` and ``r = K z - b`` are updated in
place; ``K`` is symmetric and ``M = K K``. The compiled kernels come in a dense and a CSR variant;
the dispatching functions at the bottom (``kaczmarz_steps``, ``gaussian_steps``, ``block_steps``,
plain Python) pick one from the type of ``K``, so the solver calls one name on every backend.
"""

import numpy as np

from numopt.backends._numba._jit import kernel


@kernel()
def kaczmarz_dense(K, M, row_norms2, z, r, rows):
    n = z.shape[0]
    for i in rows:
        if row_norms2[i] > 0.0:
            step = r[i] / row_norms2[i]
            for j in range(n):
                z[j] -= step * K[i, j]
                r[j] -= step * M[i, j]


@kernel()
def kaczmarz_csr(Kd, Ki, Kp, Md, Mi, Mp, row_norms2, z, r, rows):
    for i in rows:
        if row_norms2[i] > 0.0:
            step = r[i] / row_norms2[i]
            for k in range(Kp[i], Kp[i + 1]):
                z[Ki[k]] -= step * Kd[k]
            for k in range(Mp[i], Mp[i + 1]):
                r[Mi[k]] -= step * Md[k]


@kernel()
def gaussian_dense(K, z, r, sketches):
    n = z.shape[0]
    direction = np.empty(n)
    for t in range(sketches.shape[0]):
        s = sketches[t]
        norm2 = 0.0
        for i in range(n):
            acc = 0.0
            for j in range(n):
                acc += K[i, j] * s[j]
            direction[i] = acc
            norm2 += acc * acc
        if norm2 > 0.0:
            sr = 0.0
            for i in range(n):
                sr += s[i] * r[i]
            step = sr / norm2
            for i in range(n):
                z[i] -= step * direction[i]
            for i in range(n):
                acc = 0.0
                for j in range(n):
                    acc += K[i, j] * direction[j]
                r[i] -= step * acc


@kernel()
def gaussian_csr(Kd, Ki, Kp, z, r, sketches):
    n = z.shape[0]
    direction = np.empty(n)
    for t in range(sketches.shape[0]):
        s = sketches[t]
        norm2 = 0.0
        for i in range(n):
            acc = 0.0
            for k in range(Kp[i], Kp[i + 1]):
                acc += Kd[k] * s[Ki[k]]
            direction[i] = acc
            norm2 += acc * acc
        if norm2 > 0.0:
            sr = 0.0
            for i in range(n):
                sr += s[i] * r[i]
            step = sr / norm2
            for i in range(n):
                z[i] -= step * direction[i]
                acc = 0.0
                for k in range(Kp[i], Kp[i + 1]):
                    acc += Kd[k] * direction[Ki[k]]
                r[i] -= step * acc


@kernel()
def _solve_gram(gram, rhs):
    """``(gram + s I)^-1 rhs`` by Cholesky, ``s = 1e-12 trace(gram)`` (see the NumPy reference)."""
    p = rhs.shape[0]
    shift = 0.0
    for a in range(p):
        shift += gram[a, a]
    shift = 1e-12 * shift + 1e-300
    factor = np.zeros((p, p))
    for a in range(p):
        for c in range(a + 1):
            total = gram[a, c] + (shift if a == c else 0.0)
            for k in range(c):
                total -= factor[a, k] * factor[c, k]
            if a == c:
                factor[a, a] = np.sqrt(max(total, shift))
            else:
                factor[a, c] = total / factor[c, c]
    y = np.empty(p)
    for a in range(p):
        total = rhs[a]
        for k in range(a):
            total -= factor[a, k] * y[k]
        y[a] = total / factor[a, a]
    for a in range(p - 1, -1, -1):
        total = y[a]
        for k in range(a + 1, p):
            total -= factor[k, a] * y[k]
        y[a] = total / factor[a, a]
    return y


@kernel()
def block_dense(K, M, z, r, blocks):
    n = z.shape[0]
    p = blocks.shape[1]
    gram = np.empty((p, p))
    rhs = np.empty(p)
    for t in range(blocks.shape[0]):
        block = blocks[t]
        for a in range(p):
            rhs[a] = r[block[a]]
            for c in range(p):
                gram[a, c] = M[block[a], block[c]]
        y = _solve_gram(gram, rhs)
        for a in range(p):
            i = block[a]
            for j in range(n):
                z[j] -= y[a] * K[i, j]
                r[j] -= y[a] * M[i, j]


@kernel()
def block_csr(Kd, Ki, Kp, Md, Mi, Mp, z, r, blocks):
    n = z.shape[0]
    p = blocks.shape[1]
    gram = np.empty((p, p))
    rhs = np.empty(p)
    position = np.full(n, -1)
    for t in range(blocks.shape[0]):
        block = blocks[t]
        for a in range(p):
            position[block[a]] = a
        gram[:, :] = 0.0
        for a in range(p):
            rhs[a] = r[block[a]]
            for k in range(Mp[block[a]], Mp[block[a] + 1]):
                c = position[Mi[k]]
                if c >= 0:
                    gram[a, c] = Md[k]
        y = _solve_gram(gram, rhs)
        for a in range(p):
            i = block[a]
            position[i] = -1
            for k in range(Kp[i], Kp[i + 1]):
                z[Ki[k]] -= y[a] * Kd[k]
            for k in range(Mp[i], Mp[i + 1]):
                r[Mi[k]] -= y[a] * Md[k]


@kernel()
def range_kaczmarz_csr(Gd, Gi, Gp, inverse, gram_diagonal, r2, multipliers, dx, rows):
    for i in rows:
        if gram_diagonal[i] > 0.0:
            acc = -r2[i]
            for k in range(Gp[i], Gp[i + 1]):
                acc += Gd[k] * dx[Gi[k]]
            step = acc / gram_diagonal[i]
            multipliers[i] += step
            for k in range(Gp[i], Gp[i + 1]):
                dx[Gi[k]] -= step * inverse[Gi[k]] * Gd[k]


def _csr(matrix):
    return matrix.data, matrix.indices, matrix.indptr


def kaczmarz_steps(K, M, row_norms2, z, r, rows):
    """Randomized Kaczmarz steps (see the NumPy reference); dense or CSR ``K`` and ``M``."""
    if hasattr(K, "indptr"):
        kaczmarz_csr(*_csr(K), *_csr(M), row_norms2, z, r, rows)
    else:
        kaczmarz_dense(K, M, row_norms2, z, r, rows)


def gaussian_steps(K, z, r, sketches):
    """Gaussian vector sketch steps (see the NumPy reference); dense or CSR ``K``."""
    if hasattr(K, "indptr"):
        gaussian_csr(*_csr(K), z, r, sketches)
    else:
        gaussian_dense(K, z, r, sketches)


def block_steps(K, M, z, r, blocks):
    """Row-block sketch steps (see the NumPy reference); dense or CSR ``K`` and ``M``."""
    if hasattr(K, "indptr"):
        block_csr(*_csr(K), *_csr(M), z, r, blocks)
    else:
        block_dense(K, M, z, r, blocks)


def range_kaczmarz_steps(G, inverse, gram_diagonal, r2, multipliers, dx, rows):
    """Range-space Kaczmarz steps (see the NumPy reference); CSR ``G``."""
    range_kaczmarz_csr(*_csr(G), inverse, gram_diagonal, r2, multipliers, dx, rows)
