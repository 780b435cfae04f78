"""Newton systems of the sparsified, gauge-fixed, shifted Sinkhorn Hessian.

The system is ``[[D_r, S], [S^T, D_c]] (d_r, d_c) = -(g_r, g_c)`` with positive diagonals
``D_r = P 1 + shift``, ``D_c = P^T 1 + shift`` and the sparse plan block ``S`` (n, m). The last
variable of the smaller side is fixed (``d_c[-1] = 0`` when ``m <= n``), which removes the constant
null direction ``(1, -1)`` of the unshifted Hessian. Eliminating the row block leaves the Schur complement on the columns,

    (D_c - S^T D_r^{-1} S) d_c = -g_c + S^T (g_r / D_r),    d_r = -(g_r + S d_c) / D_r,

which is symmetric positive definite (``D_r >= S 1`` entrywise, so the full matrix is diagonally
dominant and the shift makes it definite). When ``m > n`` the roles of rows and columns are
swapped so that the Schur complement is always the smaller side.

Two solvers:

``"direct"`` (default)
    Forms the Schur complement as a sparse matrix and factorises it with SuperLU
    (``scipy.sparse.linalg.splu``, ``cupyx.scipy.sparse.linalg.splu`` on the GPU). Near
    convergence ``S`` has a few entries per row, the complement is very sparse and its
    factorisation costs far less than one dense pass, while its condition number (that of a graph
    Laplacian of the plan's support) makes CG slow.
``"cg"``
    Conjugate gradients on the Schur complement with a Jacobi preconditioner, matrix-free through
    the sparse products (no fill-in), stopped at relative residual ``cg_rtol`` or ``cg_maxiter``.
"""

__all__ = ["LINEAR_SOLVERS", "newton_direction"]

LINEAR_SOLVERS = ("direct", "cg")


def _sparse_modules(backend):
    if backend.name == "cupy":
        import cupyx.scipy.sparse as sparse
        import cupyx.scipy.sparse.linalg as linalg
    else:
        import scipy.sparse as sparse
        import scipy.sparse.linalg as linalg
    return sparse, linalg


def _cg(matvec, rhs, diag, rtol, maxiter, xp):
    """Jacobi-preconditioned conjugate gradients from zero; returns (x, iterations)."""
    x = xp.zeros_like(rhs)
    residual = rhs.copy()
    z = residual / diag
    direction = z.copy()
    rz = float(residual @ z)
    target = rtol * float(xp.linalg.norm(rhs))
    for iteration in range(1, maxiter + 1):
        product = matvec(direction)
        step = rz / float(direction @ product)
        x += step * direction
        residual -= step * product
        if float(xp.linalg.norm(residual)) <= target:
            return x, iteration
        z = residual / diag
        rz_next = float(residual @ z)
        direction = z + (rz_next / rz) * direction
        rz = rz_next
    return x, maxiter


def newton_direction(backend, indptr, indices, data, shape, row_diag, col_diag, grad_row,
                     grad_col, *, method="direct", cg_rtol=1e-10, cg_maxiter=1000):
    """Solve the gauge-fixed Newton system; see the module docstring.

    Parameters
    ----------
    backend : Backend
        Array namespace of the inputs.
    indptr, indices, data : arrays
        CSR form of the sparse plan block ``S``.
    shape : tuple of int
        ``(n, m)``.
    row_diag, col_diag : arrays
        ``D_r`` (n,) and ``D_c`` (m,), positive.
    grad_row, grad_col : arrays
        Gradient blocks ``g_r`` (n,) and ``g_c`` (m,).
    method : {"direct", "cg"}
        Linear solver.
    cg_rtol, cg_maxiter : float, int
        CG stopping rule.

    Returns
    -------
    d_row, d_col : arrays
        The direction; ``d_col[-1] == 0``.
    inner_iterations : int
        CG iterations (0 for the direct solver).
    """
    xp = backend.xp
    sparse, linalg = _sparse_modules(backend)
    block = sparse.csr_matrix((data, indices, indptr), shape=shape)
    # the transpose as a CSC view: its products need no conversion
    block_t = block.T
    if shape[1] > shape[0]:
        # Eliminate the larger side: same system with the roles of rows and columns swapped.
        # (the gauge then fixes the last row variable instead: any one variable will do).
        d_col, d_row, inner = _schur_solve(block_t, block, col_diag, row_diag, grad_col,
                                           grad_row, method, cg_rtol, cg_maxiter, sparse, linalg,
                                           xp)
        return d_row, d_col, inner
    return _schur_solve(block, block_t, row_diag, col_diag, grad_row, grad_col, method, cg_rtol,
                        cg_maxiter, sparse, linalg, xp)


def _schur_solve(block, block_t, row_diag, col_diag, grad_row, grad_col, method, cg_rtol,
                 cg_maxiter, sparse, linalg, xp):
    m = block.shape[1]
    rhs = -grad_col + block_t @ (grad_row / row_diag)
    rhs = rhs[:-1]
    d_col = xp.zeros(m, dtype=row_diag.dtype)
    if method == "direct":
        scaled = sparse.diags(1.0 / row_diag) @ block
        schur = sparse.diags(col_diag) - block_t @ scaled
        schur = schur.tocsc()[:-1, :-1]
        d_col[:-1] = linalg.splu(schur, permc_spec="MMD_AT_PLUS_A").solve(rhs)
        inner = 0
    else:
        # diag(S^T D_r^-1 S)_j = sum_i S_ij^2 / D_r,i
        diag = col_diag - block.power(2).T @ (1.0 / row_diag)
        diag = diag[:-1]
        padded = xp.zeros(m, dtype=row_diag.dtype)

        def matvec(x):
            padded[:-1] = x
            return (col_diag * padded - block_t @ ((block @ padded) / row_diag))[:-1]

        d_col[:-1], inner = _cg(matvec, rhs, diag, cg_rtol, cg_maxiter, xp)
    d_row = -(grad_row + block @ d_col) / row_diag
    return d_row, d_col, inner
