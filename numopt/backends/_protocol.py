"""The kernel interface every backend implements, declared once.

A backend's kernel table is a module (``numopt.backends._numpy``, ``_numba``, ``_cupy``) whose
functions satisfy :class:`Kernels` (PEP 544 lets a module implement a protocol: the methods below
are declared with ``self``, the module's functions without). The numpy table is the reference the
others are tested against; ``tests/test_backends.py`` checks every table against this declaration.
"""

from typing import Protocol

__all__ = ["Kernels", "KERNEL_NAMES"]


class Kernels(Protocol):
    """Named kernels of a backend (arrays are C-contiguous, float64 or float32)."""

    # ---- entropic optimal transport (numopt.ot) ----------------------------------------------
    def logsumexp_rows(self, f, g, C, reg):
        """``out_i = log sum_j exp((f_i + g_j - C_ij) / reg)``, shape (n,)."""

    def logsumexp_cols(self, f, g, C, reg):
        """``out_j = log sum_i exp((f_i + g_j - C_ij) / reg)``, shape (m,)."""

    def absorb_kernel(self, u, v, C, reg, out):
        """Write ``out_ij = exp(u_i + v_j - C_ij / reg)``; return its row and column sums."""

    def scaled_marginals(self, K, alpha, beta):
        """Row and column sums of ``diag(alpha) K diag(beta)``."""

    def sinkhorn_sweeps(self, K, a, b, alpha, beta, max_sweeps, tol, limit):
        """Up to ``max_sweeps`` Sinkhorn sweeps in place; ``(errors, sweeps done)`` where
        ``errors`` holds the starting L1 error of the first and of the last sweep."""

    def sinkhorn_sweeps_batch(self, K, A, B, alpha, beta, max_sweeps, tol, limit):
        """Sinkhorn sweeps of k targets sharing ``K`` (columns of ``alpha``, ``beta``), in place;
        ``(errors (max_sweeps, k), sweeps done)``."""

    def sparsify_histograms(self, K, alpha, beta):
        """Mass and count of the plan's entries per octave bin, per row and per column."""

    def sparsify_select(self, K, alpha, beta, row_threshold, col_threshold, capacity):
        """CSR arrays of the plan's entries above the row or column threshold."""

    def plan_cost(self, K, alpha, beta, C):
        """``<C, diag(alpha) K diag(beta)>``."""

    def schur_matvec(self, indptr, indices, data, row_diag, col_diag, x, transpose):
        """Schur complement of the sparsified dual Hessian times ``x``."""

    # ---- randomized sketching of KKT systems (numopt.constrained) -------------------------------
    def kaczmarz_steps(self, K, M, row_norms2, z, r, rows):
        """Randomized Kaczmarz steps on ``K z = b`` (dense or CSR ``K``, ``M = K K``)."""

    def gaussian_steps(self, K, z, r, sketches):
        """Gaussian vector sketch steps (dense or CSR ``K``)."""

    def block_steps(self, K, M, z, r, blocks):
        """Row-block sketch steps (dense or CSR ``K`` and ``M``)."""

    def range_kaczmarz_steps(self, G, inverse, gram_diagonal, r2, multipliers, dx, rows):
        """Kaczmarz steps on the constraint rows of a KKT system with a diagonal ``B``, in the
        ``B``-norm (CSR ``G``; randomized coordinate descent on ``G B^-1 G^T``)."""

    # ---- fused data-fitting oracles over CSR data (numopt.problems) ----------------------------
    def logistic_fgw(self, indptr, indices, data, y, x, lam):
        """Objective, gradient and Hessian row weights of L2-regularised logistic regression."""

    def csr_weighted_gram(self, indptr, indices, data, w, d):
        """``X^T diag(w) X`` as a dense (d, d) array."""

    def csr_weighted_hessp(self, indptr, indices, data, w, v):
        """``X^T (w * (X v))``, shape (d,)."""

    def softmax_fgp(self, indptr, indices, data, labels, W, lam):
        """Objective, gradient and class probabilities of softmax regression."""

    def csr_block_gram(self, indptr, indices, data, diag, outer, sign, d):
        """The softmax Hessian ``(1/n) sum_i kron(a_i a_i^T, diag - sign outer outer^T)``."""


#: The kernel names, in declaration order.
KERNEL_NAMES = tuple(name for name in vars(Kernels) if not name.startswith("_"))
