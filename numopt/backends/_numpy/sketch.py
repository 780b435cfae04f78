"""Sketch-and-project steps for a square linear system ``K z = b`` (reference implementation).

Every kernel updates ``z`` and the residual ``r = K z - b`` in place, one projection per entry of
its index/sketch argument, and is written against the namespace of its inputs (NumPy or CuPy) so the
CuPy backend reuses it. ``K`` is symmetric (a KKT matrix), so ``K^T S = K S``, and ``M = K K = K^2``
turns the residual update of a row projection into one row of ``M`` (``K K^T e_i = M e_i``).

Sparse matrices (SciPy CSR) are accepted by the Kaczmarz and Gaussian kernels through their rows
and products; the numba kernels have dedicated CSR variants.
"""

__all__ = ["kaczmarz_steps", "gaussian_steps", "block_steps", "range_kaczmarz_steps"]


def _row(matrix, i):
    row = matrix[i]
    return row.toarray().ravel() if hasattr(row, "toarray") else row


def kaczmarz_steps(K, M, row_norms2, z, r, rows):
    """Randomized Kaczmarz: for each ``i`` in ``rows`` project onto ``{z : K_i z = b_i}``.

    ``z <- z - (r_i / ||K_i||^2) K_i^T`` and ``r <- r - (r_i / ||K_i||^2) M_i``. Rows with zero norm
    are skipped (their equation reads ``0 = b_i``; nothing can be done there).
    """
    for i in rows.tolist():
        if row_norms2[i] > 0:
            step = r[i] / row_norms2[i]
            z -= step * _row(K, i)
            r -= step * _row(M, i)


def gaussian_steps(K, z, r, sketches):
    """Gaussian vector sketches: for each row ``s`` of ``sketches`` project along ``K s``.

    ``z <- z - (s^T r / ||K s||^2) K s`` and ``r <- r - (s^T r / ||K s||^2) K (K s)``.
    """
    for s in sketches:
        direction = K @ s
        norm2 = float(direction @ direction)
        if norm2 > 0:
            step = float(s @ r) / norm2
            z -= step * direction
            r -= step * (K @ direction)


def block_steps(K, M, z, r, blocks):
    """Row-block sketches: for each row ``I`` of ``blocks`` project onto ``{z : K_I z = b_I}``.

    ``y = (M_II + s I)^-1 r_I`` with ``s = 1e-12 trace(M_II)``, ``z <- z - K_I^T y``,
    ``r <- r - M_{:,I} y``. The tiny shift makes a rank-deficient block (repeated or dependent
    rows) harmless: its step is the minimum-norm one up to O(s).
    """
    import numpy as np

    from numopt._core.validation import array_namespace

    xp = array_namespace(z)
    for block in blocks:
        index = block.tolist()
        gram = M[index][:, index]
        gram = gram.toarray() if hasattr(gram, "toarray") else gram
        gram = xp.asarray(gram)
        shift = 1e-12 * float(xp.trace(gram)) + 1e-300
        y = xp.linalg.solve(gram + shift * xp.eye(len(index)), r[index])
        rows_K = K[index]
        rows_M = M[index]
        z -= np.asarray(rows_K.T @ y).ravel() if hasattr(rows_K, "toarray") else rows_K.T @ y
        r -= np.asarray(rows_M.T @ y).ravel() if hasattr(rows_M, "toarray") else rows_M.T @ y


def range_kaczmarz_steps(G, inverse, gram_diagonal, r2, multipliers, dx, rows):
    """Randomized Kaczmarz on the constraint rows in the ``D``-norm (range-space sketch).

    Solves ``[[D, G^T], [G, 0]] (dx, dlam) = (r1, r2)`` for a positive diagonal ``D`` with
    ``dx = D^-1 (r1 - G^T dlam)`` kept up to date: for each ``i`` in ``rows`` the projection onto
    ``{dx : G_i dx = r2_i}`` in the ``D``-norm, ``t = (G_i dx - r2_i) / (G_i D^-1 G_i^T)``,
    ``dlam_i += t``, ``dx -= t D^-1 G_i^T``. It is randomized coordinate descent on the Schur
    complement ``G D^-1 G^T dlam = G D^-1 r1 - r2``. ``G`` is a SciPy CSR matrix; ``inverse`` is
    ``1 / diag(D)``; rows with ``gram_diagonal[i] = 0`` are skipped.
    """
    data, indices, indptr = G.data, G.indices, G.indptr
    for i in rows.tolist():
        if gram_diagonal[i] > 0:
            columns = indices[indptr[i]:indptr[i + 1]]
            values = data[indptr[i]:indptr[i + 1]]
            step = (float(values @ dx[columns]) - r2[i]) / gram_diagonal[i]
            multipliers[i] += step
            dx[columns] -= step * inverse[columns] * values
