"""Newton systems of the sparsified, gauge-fixed, shifted Sinkhorn Hessian.

The system is ``[[D_r, S], [S^T, D_c]] (d_r, d_c) = -(g_r, g_c)`` with positive diagonals
``D_r = P 1 + shift``, ``D_c = P^T 1 + shift`` and the sparse plan block ``S`` (n, m). The last
variable of the smaller side is fixed (``d_c[-1] = 0`` when ``m <= n``), which removes the constant
null direction ``(1, -1)`` of the unshifted Hessian. Eliminating the row block leaves the Schur
complement on the columns,

    (D_c - S^T D_r^{-1} S) d_c = -g_c + S^T (g_r / D_r),    d_r = -(g_r + S d_c) / D_r,

which is symmetric positive definite (``D_r >= S 1`` entrywise, so the full matrix is diagonally
dominant and the shift makes it definite). When ``m > n`` the roles of rows and columns are
swapped so that the Schur complement is always the smaller side.

Two solvers:

``"direct"``
    Forms the Schur complement as a sparse matrix and factorises it with SuperLU
    (``scipy.sparse.linalg.splu``, ``cupyx.scipy.sparse.linalg.splu`` on the GPU). Near
    convergence ``S`` has a few entries per row and the complement is sparse, but early steps
    keep more entries and the fill-in of the factors grows fast.
``"cg"`` (default)
    Conjugate gradients on the Schur complement with a Jacobi preconditioner, matrix-free through
    the backend's fused ``schur_matvec`` kernel (no fill-in), stopped at relative residual
    ``cg_rtol`` or ``cg_maxiter``. Measured on the benchmark problems (n = 1000, reg = 1e-2 and
    1e-3 of max(C)) it is 2-10x faster than the direct solver, whose fill-in dominates.
"""

from numopt._core.krylov import conjugate_gradients, safe_norm

__all__ = ["LINEAR_SOLVERS", "newton_direction"]

LINEAR_SOLVERS = ("direct", "cg")


def newton_direction(backend, indptr, indices, data, shape, row_diag, col_diag, grad_row,
                     grad_col, *, method="cg", cg_rtol=1e-10, cg_maxiter=1000):
    """Solve the gauge-fixed Newton system; see the module docstring.

    Parameters
    ----------
    backend : Backend
        Array namespace of the inputs; supplies the ``schur_matvec`` kernel.
    indptr, indices, data : arrays
        CSR form of the sparse plan block ``S``.
    shape : tuple of int
        ``(n, m)``.
    row_diag, col_diag : arrays
        ``D_r`` (n,) and ``D_c`` (m,), positive.
    grad_row, grad_col : arrays
        Gradient blocks ``g_r`` (n,) and ``g_c`` (m,).
    method : {"cg", "direct"}
        Linear solver.
    cg_rtol, cg_maxiter : float, int
        CG stopping rule.

    Returns
    -------
    d_row, d_col : arrays
        The direction; the last entry of the smaller side is zero.
    inner_iterations : int
        CG iterations (0 for the direct solver).
    """
    xp = backend.xp
    sparse, linalg = backend.sparse_modules()
    block = sparse.csr_matrix((data, indices, indptr), shape=shape)
    # Eliminate the larger side (``transpose``: the Schur complement lives on the rows).
    transpose = shape[1] > shape[0]
    if transpose:
        outer_diag, inner_diag, outer_grad, inner_grad = row_diag, col_diag, grad_row, grad_col
        product, product_t = block.T, block  # S^T and its transpose, as sparse operators
    else:
        outer_diag, inner_diag, outer_grad, inner_grad = col_diag, row_diag, grad_col, grad_row
        product, product_t = block, block.T
    size = outer_diag.shape[0]
    rhs = (-outer_grad + product_t @ (inner_grad / inner_diag))[:-1]
    outer = xp.zeros(size, dtype=row_diag.dtype)
    if method == "direct":
        schur = sparse.diags(outer_diag) - product_t @ sparse.diags(1.0 / inner_diag) @ product
        outer[:-1] = linalg.splu(schur.tocsc()[:-1, :-1], permc_spec="MMD_AT_PLUS_A").solve(rhs)
        inner_iterations = 0
    else:
        # Jacobi preconditioner: diag(S^T D^-1 S)_j = sum_i (S_ij / sqrt(D_i))^2 (S_ij^2 alone
        # overflows for a total mass near 1e160)
        scaled = sparse.diags(1.0 / xp.sqrt(inner_diag)) @ product
        diag = (outer_diag - scaled.power(2).T @ xp.ones(inner_diag.shape[0]))[:-1]
        padded = xp.zeros(size, dtype=row_diag.dtype)
        row_part, col_part = (outer_diag, inner_diag) if transpose else (inner_diag, outer_diag)

        def matvec(x):
            padded[:-1] = x
            return backend.schur_matvec(indptr, indices, data, row_part, col_part, padded,
                                        transpose)[:-1]

        solve = conjugate_gradients(matvec, rhs, cg_rtol * safe_norm(rhs),
                                    cg_maxiter, inverse_diagonal=1.0 / diag)
        outer[:-1], inner_iterations = solve.x, solve.iterations
    inner = -(inner_grad + product @ outer) / inner_diag
    if transpose:
        return outer, inner, inner_iterations
    return inner, outer, inner_iterations
