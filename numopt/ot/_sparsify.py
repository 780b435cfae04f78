"""Sparsification of the plan block of the Sinkhorn-Newton Hessian.

The Hessian of the scaled dual (see :mod:`numopt.ot.sinkhorn_newton`) is
``[[diag(P 1), P], [P^T, diag(P^T 1)]]``. Its diagonal blocks are kept exact; the plan block ``P``
is replaced by a sparse ``S`` that keeps every entry ``P_ij >= row_threshold_i`` or
``P_ij >= col_threshold_j``. Thresholds are chosen from per-row and per-column histograms of the
plan over octave bins ``[2^-(k+1), 2^-k)``, computed in one O(nm) pass without sorting:

``"mass"`` (default, after SSNS, Tang & Qiu 2024)
    Each row and each column drops at most ``delta`` of plan mass: the threshold of a column is the
    largest octave edge below which its entries sum to ``<= delta`` (likewise for rows). With
    ``E = P - S``, ``||E||_1 <= delta`` and ``||E||_inf <= delta``, hence the Hessian error obeys
    ``||H - H_S||_2 <= ||E||_2 <= sqrt(||E||_1 ||E||_inf) <= delta``. Rounding the cut to an octave
    edge keeps at most twice the entries an exact per-column sort would (never fewer).
``"topk"`` (SNS, Tang et al. 2024)
    A global threshold keeping at least ``density * n * m`` entries (rounded up to an octave edge).
``"row_topk"``
    Per-row thresholds keeping at least ``ceil(density * m)`` entries of every row.
"""

import math

from numopt.backends._numpy.ot import N_BINS

__all__ = ["SPARSIFY_RULES", "sparsify"]

SPARSIFY_RULES = ("mass", "topk", "row_topk")


def _bin_edges(xp, dtype):
    # edges[k] = 2^-k: bin k holds [edges[k+1], edges[k]).
    return xp.asarray([2.0 ** -k for k in range(N_BINS + 1)], dtype=dtype)


def _mass_thresholds(mass, count, delta, edges, xp):
    """Per line (row or column) threshold dropping at most ``delta`` mass, and how many entries
    it keeps."""
    # tail[:, k] = mass in bins k, k+1, ... (entries < 2^-k); tail[:, N_BINS] = 0.
    tail = xp.flip(xp.cumsum(xp.flip(mass, axis=1), axis=1), axis=1)
    tail = xp.concatenate([tail, xp.zeros((mass.shape[0], 1), dtype=mass.dtype)], axis=1)
    # smallest k with tail[k] <= delta: everything below edges[k] may go.
    first = xp.argmax(tail <= delta, axis=1)
    threshold = edges[first]
    # the last bin holds everything below 2^-(N_BINS-1); when even its mass is too much, keep
    # every non-zero entry.
    threshold = xp.where(first == N_BINS, 5e-324, threshold)
    kept_count = xp.cumsum(count, axis=1)
    kept_count = xp.concatenate([xp.zeros((count.shape[0], 1), dtype=count.dtype), kept_count],
                                axis=1)
    kept = xp.take_along_axis(kept_count, first[:, None], axis=1)[:, 0]
    return threshold, kept


def _count_threshold(count, target, edges, xp):
    """Per line threshold (octave edge) keeping at least ``target`` entries, and that count."""
    above = xp.cumsum(count, axis=1)  # above[:, k] = entries >= 2^-(k+1)
    first = xp.argmax(above >= target[:, None], axis=1)  # bins 0..first are kept
    enough = above[:, -1] >= target
    first = xp.where(enough, first, N_BINS - 1)
    kept = xp.take_along_axis(above, first[:, None], axis=1)[:, 0]
    threshold = xp.where(first == N_BINS - 1, 5e-324, edges[first + 1])
    return threshold, kept


def sparsify(backend, K, alpha, beta, rule, *, delta=None, density=None):
    """Sparse plan block of the Hessian at the plan ``diag(alpha) K diag(beta)``.

    Parameters
    ----------
    backend : Backend
        Supplies the ``sparsify_histograms`` and ``sparsify_select`` kernels.
    K, alpha, beta : arrays
        Absorbed kernel (n, m) and scalings.
    rule : {"mass", "topk", "row_topk"}
        See the module docstring.
    delta : float
        Mass dropped per row and per column (``"mass"``).
    density : float
        Fraction of the entries kept (``"topk"``, ``"row_topk"``).

    Returns
    -------
    indptr, indices, data : arrays
        The kept entries in CSR form.
    """
    xp = backend.xp
    n, m = K.shape
    row_mass, col_mass, row_count, col_count = backend.sparsify_histograms(K, alpha, beta)
    edges = _bin_edges(xp, K.dtype)
    if rule == "mass":
        row_threshold, row_kept = _mass_thresholds(row_mass, row_count, delta, edges, xp)
        col_threshold, col_kept = _mass_thresholds(col_mass, col_count, delta, edges, xp)
        capacity = int(row_kept.sum()) + int(col_kept.sum())
    elif rule == "topk":
        total = row_count.sum(axis=0)[None, :]
        target = xp.asarray([max(1, math.ceil(density * n * m))])
        threshold, kept = _count_threshold(total, target, edges, xp)
        row_threshold = xp.full(n, float(threshold[0]), dtype=K.dtype)
        col_threshold = xp.full(m, xp.inf, dtype=K.dtype)
        capacity = int(kept[0])
    else:  # "row_topk"
        target = xp.full(n, max(1, math.ceil(density * m)))
        row_threshold, kept = _count_threshold(row_count, target, edges, xp)
        col_threshold = xp.full(m, xp.inf, dtype=K.dtype)
        capacity = int(kept.sum())
    return backend.sparsify_select(K, alpha, beta, row_threshold, col_threshold, capacity)
