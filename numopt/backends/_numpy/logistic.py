"""Logistic and softmax regression passes over a CSR data matrix (reference implementation).

The data matrix ``X`` (n, d) is given by its CSR arrays ``indptr`` (n + 1,), ``indices`` (nnz,)
(sorted within each row) and ``data`` (nnz,). Objectives are averaged over the n rows:

* logistic: ``f(x) = (1/n) sum_i log(1 + exp(-y_i <a_i, x>)) + (lam/2) ||x||^2``, ``y_i = +-1``;
* softmax: ``f(W) = (1/n) sum_i [logsumexp(a_i W) - (a_i W)_{c_i}] + (lam/2) ||W||_F^2`` with
  ``W`` of shape (d, K) and class labels ``c_i`` in ``0..K-1``.

The functions are written against the namespace of their inputs (NumPy or CuPy) with scatter-adds
(``bincount``), so they are the oracle for the numba kernels and the CuPy backend reuses them.
"""

from numopt._core.validation import array_namespace

__all__ = ["logistic_fgw", "csr_weighted_gram", "csr_weighted_hessp", "softmax_fgp",
           "csr_block_gram"]


def _row_ids(indptr, xp):
    n = indptr.shape[0] - 1
    return xp.repeat(xp.arange(n), xp.diff(indptr))


def _csr_matvec(indptr, indices, data, v, xp):
    rows = _row_ids(indptr, xp)
    return xp.bincount(rows, weights=data * v[indices], minlength=indptr.shape[0] - 1)


def _csr_rmatvec(indptr, indices, data, r, d, xp):
    rows = _row_ids(indptr, xp)
    return xp.bincount(indices, weights=data * r[rows], minlength=d)


def _to_dense(indptr, indices, data, d, xp):
    dense = xp.zeros((indptr.shape[0] - 1, d))
    dense[_row_ids(indptr, xp), indices] = data
    return dense


def logistic_terms(margins, y, xp):
    """Per-row loss, derivative and curvature of ``log(1 + exp(-y z))`` at ``z = margins``.

    Returns ``(loss, dloss, curvature)``: ``loss_i = log(1 + exp(-t_i))`` with ``t_i = y_i z_i``,
    ``dloss_i = d loss_i / d z_i = -y_i sigma(-t_i)`` and ``curvature_i = sigma(t_i) sigma(-t_i)``;
    computed without overflow for any sign of ``t``.
    """
    t = y * margins
    # Everything from e = exp(-|t|) <= 1: no overflow, no cancellation for large |t|.
    e = xp.exp(-xp.abs(t))
    loss = xp.maximum(-t, 0.0) + xp.log1p(e)
    sig_neg = xp.where(t > 0, e / (1.0 + e), 1.0 / (1.0 + e))  # sigma(-t)
    return loss, -y * sig_neg, e / (1.0 + e) ** 2


def logistic_fgw(indptr, indices, data, y, x, lam):
    """Objective, gradient and Hessian row weights of L2-regularised logistic regression.

    Returns ``(f, g, w)`` with ``H = X^T diag(w) X + lam I`` (``w`` already divided by n).
    """
    xp = array_namespace(data)
    n = indptr.shape[0] - 1
    loss, dloss, curvature = logistic_terms(_csr_matvec(indptr, indices, data, x, xp), y, xp)
    f = float(loss.sum()) / n + 0.5 * lam * float(x @ x)
    g = _csr_rmatvec(indptr, indices, data, dloss / n, x.shape[0], xp) + lam * x
    return f, g, curvature / n


def csr_weighted_gram(indptr, indices, data, w, d):
    """``X^T diag(w) X`` as a dense (d, d) array."""
    xp = array_namespace(data)
    dense = _to_dense(indptr, indices, data, d, xp)
    return dense.T @ (w[:, None] * dense)


def csr_weighted_hessp(indptr, indices, data, w, v):
    """``X^T (w * (X v))``, shape (d,)."""
    xp = array_namespace(data)
    return _csr_rmatvec(indptr, indices, data, w * _csr_matvec(indptr, indices, data, v, xp),
                        v.shape[0], xp)


def softmax_fgp(indptr, indices, data, labels, W, lam):
    """Objective, gradient (d, K) and class probabilities (n, K) of softmax regression."""
    xp = array_namespace(data)
    n = indptr.shape[0] - 1
    d, classes = W.shape
    scores = _to_dense(indptr, indices, data, d, xp) @ W
    peak = scores.max(axis=1, keepdims=True)
    shifted = xp.exp(scores - peak)
    total = shifted.sum(axis=1, keepdims=True)
    probs = shifted / total
    log_norm = xp.log(total[:, 0]) + peak[:, 0]
    rows = xp.arange(n)
    f = float((log_norm - scores[rows, labels]).sum()) / n + 0.5 * lam * float((W * W).sum())
    residual = probs.copy()
    residual[rows, labels] -= 1.0
    G = _to_dense(indptr, indices, data, d, xp).T @ residual / n + lam * W
    return f, G, probs


def csr_block_gram(indptr, indices, data, diag, outer, sign, d):
    """``(1/n) sum_i kron(a_i a_i^T, diag(diag_i) - sign * outer_i outer_i^T)``, dense (dK, dK).

    Rows and columns are indexed ``j * K + c`` (feature j, class c), the C order of ``W.ravel()``.
    With ``diag = outer = P`` (class probabilities) and ``sign = 1`` it is the softmax Hessian;
    ``sign = 0`` drops the rank-one part (weighted Gauss-Newton); ``diag = 0``, ``outer = P - Y``,
    ``sign = -1`` gives the empirical Fisher matrix.
    """
    xp = array_namespace(data)
    n, classes = diag.shape
    dense = _to_dense(indptr, indices, data, d, xp)
    H = xp.zeros((d, classes, d, classes))
    for c in range(classes):
        for e in range(classes):
            weights = -sign * outer[:, c] * outer[:, e]
            if c == e:
                weights = weights + diag[:, c]
            H[:, c, :, e] = dense.T @ ((weights / n)[:, None] * dense)
    return H.reshape(d * classes, d * classes)
