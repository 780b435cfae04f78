"""Fused logistic / softmax regression passes over a CSR matrix, compiled with numba.

Same conventions and signatures as :mod:`numopt.backends._numpy.logistic`. The point of fusing:
one read of each CSR row gives the margin, the loss, the gradient scatter and the Hessian weight
(the row is still in cache for the scatter), so ``f``, ``g`` and the Hessian weights of one point
cost a single pass over ``X``. The weighted Gram matrix is built row by row from outer products
of the row's non-zeros (``sum_i nnz_i^2 / 2`` multiply-adds), far cheaper than a sparse-sparse
product ``X^T diag(w) X`` when rows are short, as in LIBSVM data.
"""

import numpy as np

from numopt.backends._numba._jit import kernel


@kernel()
def logistic_fgw(indptr, indices, data, y, x, lam):
    n = indptr.shape[0] - 1
    d = x.shape[0]
    g = np.zeros(d)
    w = np.empty(n)
    inv_n = 1.0 / n
    total = 0.0
    for i in range(n):
        start, end = indptr[i], indptr[i + 1]
        z = 0.0
        for p in range(start, end):
            z += data[p] * x[indices[p]]
        t = y[i] * z
        # sigma(-t) and log(1 + exp(-t)) without overflow for either sign of t.
        if t > 0.0:
            e = np.exp(-t)
            loss = np.log1p(e)
            sig_neg = e / (1.0 + e)
        else:
            e = np.exp(t)
            loss = -t + np.log1p(e)
            sig_neg = 1.0 / (1.0 + e)
        total += loss
        w[i] = e / ((1.0 + e) * (1.0 + e)) * inv_n  # sigma(t) sigma(-t), no cancellation
        coef = -y[i] * sig_neg * inv_n
        for p in range(start, end):
            g[indices[p]] += coef * data[p]
    sq = 0.0
    for j in range(d):
        sq += x[j] * x[j]
        g[j] += lam * x[j]
    return total * inv_n + 0.5 * lam * sq, g, w


@kernel()
def csr_weighted_gram(indptr, indices, data, w, d):
    H = np.zeros((d, d))
    n = indptr.shape[0] - 1
    for i in range(n):
        start, end = indptr[i], indptr[i + 1]
        wi = w[i]
        for p in range(start, end):
            row = H[indices[p]]
            scaled = wi * data[p]
            # Sorted indices: indices[q] >= indices[p] for q >= p, so this fills the upper part.
            for q in range(p, end):
                row[indices[q]] += scaled * data[q]
    for j in range(d):
        for k in range(j + 1, d):
            H[k, j] = H[j, k]
    return H


@kernel()
def csr_weighted_hessp(indptr, indices, data, w, v):
    out = np.zeros(v.shape[0])
    n = indptr.shape[0] - 1
    for i in range(n):
        start, end = indptr[i], indptr[i + 1]
        z = 0.0
        for p in range(start, end):
            z += data[p] * v[indices[p]]
        z *= w[i]
        for p in range(start, end):
            out[indices[p]] += z * data[p]
    return out


@kernel()
def softmax_fgp(indptr, indices, data, labels, W, lam):
    n = indptr.shape[0] - 1
    d, classes = W.shape
    G = np.zeros((d, classes))
    probs = np.empty((n, classes))
    scores = np.empty(classes)
    inv_n = 1.0 / n
    total = 0.0
    for i in range(n):
        start, end = indptr[i], indptr[i + 1]
        scores[:] = 0.0
        for p in range(start, end):
            value = data[p]
            row = W[indices[p]]
            for c in range(classes):
                scores[c] += value * row[c]
        peak = scores.max()
        norm = 0.0
        for c in range(classes):
            probs[i, c] = np.exp(scores[c] - peak)
            norm += probs[i, c]
        for c in range(classes):
            probs[i, c] /= norm
        total += np.log(norm) + peak - scores[labels[i]]
        for p in range(start, end):
            value = data[p] * inv_n
            row = G[indices[p]]
            for c in range(classes):
                row[c] += value * probs[i, c]
            row[labels[i]] -= value
    sq = 0.0
    for j in range(d):
        for c in range(classes):
            sq += W[j, c] * W[j, c]
            G[j, c] += lam * W[j, c]
    return total * inv_n + 0.5 * lam * sq, G, probs


@kernel()
def csr_block_gram(indptr, indices, data, diag, outer, sign, d):
    n, classes = diag.shape
    H = np.zeros((d * classes, d * classes))
    block = np.empty((classes, classes))
    inv_n = 1.0 / n
    for i in range(n):
        start, end = indptr[i], indptr[i + 1]
        for c in range(classes):
            for e in range(classes):
                block[c, e] = -sign * outer[i, c] * outer[i, e] * inv_n
            block[c, c] += diag[i, c] * inv_n
        # Upper block triangle only (sorted indices), mirrored below.
        for p in range(start, end):
            base_j = indices[p] * classes
            for q in range(p, end):
                base_k = indices[q] * classes
                value = data[p] * data[q]
                for c in range(classes):
                    for e in range(classes):
                        H[base_j + c, base_k + e] += value * block[c, e]
    for j in range(d):
        for k in range(j + 1, d):
            for c in range(classes):
                for e in range(classes):
                    H[k * classes + e, j * classes + c] = H[j * classes + c, k * classes + e]
    return H
