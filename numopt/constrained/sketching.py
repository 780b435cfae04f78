"""Inner solvers of the Newton-KKT system ``K z = b``: randomized sketch-and-project and direct.

Sketch-and-project (Gower & Richtarik 2015) updates an iterate by projecting it onto the solution
set of a sketched system ``S^T K z = S^T b``:

``z <- z - K^T S (S^T K K^T S)^+ S^T (K z - b)``.

Three sketch families are offered (``K`` is the symmetric KKT matrix, so ``K^T = K``):

``"kaczmarz"``
    ``S = e_i`` with ``i`` uniform on the rows (randomized Kaczmarz, coordinate sketch);
    O(row length) per step once ``M = K K`` is formed.
``"gaussian"``
    ``S ~ N(0, I)`` (a Gaussian vector sketch); two products with ``K`` per step.
``"block"``
    ``S = I_{:, B}`` for a random row block ``B`` of ``block_size`` rows drawn without replacement
    (row-block Kaczmarz); one small pseudo-inverse per step.

``"direct"`` factorises ``K`` (dense LU/LDL or sparse SuperLU) and is the reference.

The loops run in the backend's kernels (:mod:`numopt.backends._numba.sketch` by default) in chunks;
between chunks the residual is recomputed exactly (no drift of the incrementally updated residual)
and compared with the target.
"""

import warnings
from dataclasses import dataclass

import numpy as np

from numopt._core.validation import check_array, check_choice, check_int, check_scalar

__all__ = ["SKETCH_SOLVERS", "KKTSketcher", "RangeSpaceSketcher", "direct_solve",
           "range_space_solve", "sketch_solve"]

SKETCH_SOLVERS = ("kaczmarz", "gaussian", "block", "direct")


@dataclass
class SolveCounts:
    """Inner-solve counters of one run (sketch steps, direct solves, sketch-to-direct fallbacks),
    reported in exact-alm's result on both the equality and the active-set path."""

    n_sketch: int = 0
    n_direct: int = 0
    n_fallback: int = 0


def _is_sparse(matrix):
    return hasattr(matrix, "tocsr")


def _matvec(matrix, vector):
    return matrix @ vector


def direct_solve(K, b, xp=np):
    """Solve ``K z = b`` by a factorisation; raise ``numpy.linalg.LinAlgError`` if it fails.

    A singular or numerically singular ``K`` (relative residual above ``1e-8``) raises, so that the
    caller can regularise and retry instead of using a garbage direction.

    Parameters
    ----------
    K : array or scipy.sparse matrix, shape (N, N)
    b : array, shape (N,)
    xp : module
        Array namespace of dense ``K``.

    Returns
    -------
    array, shape (N,)

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.constrained.sketching import direct_solve
    >>> direct_solve(np.array([[2.0, 1.0], [1.0, 0.0]]), np.array([3.0, 1.0]))
    array([1., 1.])
    """
    with warnings.catch_warnings():
        # SciPy warns (LinAlgWarning / MatrixRankWarning) on (near-)singular systems; that case is
        # detected below from the residual and reported as LinAlgError, so the warning is noise.
        warnings.simplefilter("ignore")
        try:
            if _is_sparse(K):
                from scipy.sparse.linalg import splu

                z = splu(K.tocsc()).solve(np.asarray(b))
            elif xp is np:
                from scipy.linalg import solve

                z = solve(K, b, check_finite=False)
            else:
                z = xp.linalg.solve(K, b)
        except (RuntimeError, ValueError, np.linalg.LinAlgError) as exc:
            raise np.linalg.LinAlgError(f"direct solve of the KKT system failed: {exc}") from None
    scale = float(xp.linalg.norm(b)) or 1.0
    residual = float(xp.linalg.norm(_matvec(K, z) - b))
    if not np.isfinite(residual) or residual > 1e-8 * scale:
        raise np.linalg.LinAlgError(f"the KKT matrix is numerically singular (relative residual "
                                    f"{residual / scale:.1e})")
    return z


def range_space_solve(diagonal, G, b, regularization=0.0):
    """Solve ``[[D, G^T], [G, -rho I]] z = b`` for a positive diagonal ``D`` (Schur complement).

    With ``b = (r1, r2)``: ``(G D^-1 G^T + rho I) dlam = G D^-1 r1 - r2`` and
    ``dx = D^-1 (r1 - G^T dlam)``. The m x m Schur complement is sparse and symmetric positive
    (semi)definite; it is factorised by SuperLU with a minimum-degree ordering of ``S + S^T``, which
    on grid problems (PDE-constrained control) fills far less than the LU of the indefinite
    (n + m) x (n + m) KKT matrix. Raises ``numpy.linalg.LinAlgError`` like :func:`direct_solve`.

    Parameters
    ----------
    diagonal : ndarray, shape (n,)
        Positive diagonal of ``D``.
    G : scipy.sparse matrix, shape (m, n)
    b : ndarray, shape (n + m,)
    regularization : float
        ``rho >= 0``.

    Returns
    -------
    ndarray, shape (n + m,)

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from numopt.constrained.sketching import range_space_solve
    >>> z = range_space_solve(np.array([2.0, 1.0]), sp.csr_matrix([[1.0, 1.0]]),
    ...                       np.array([0.0, 0.0, 3.0]))
    >>> np.round(z, 6)  # x = (1, 2), lambda = -2
    array([ 1.,  2., -2.])
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu

    n = diagonal.size
    G = sp.csr_matrix(G)
    inverse = 1.0 / diagonal
    schur = (G @ sp.diags(inverse) @ G.T).tocsc()
    if regularization:
        schur = (schur + regularization * sp.identity(G.shape[0], format="csc")).tocsc()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # singular S is detected from the residual below
        try:
            # S is symmetric positive (semi)definite: diagonal pivots in symmetric mode are stable
            # and keep the symmetric ordering's low fill.
            factor = splu(schur, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                          options={"SymmetricMode": True})
        except RuntimeError as exc:
            raise np.linalg.LinAlgError(f"range-space solve failed: {exc}") from None

    def apply(rhs):
        multipliers = factor.solve(G @ (inverse * rhs[:n]) - rhs[n:])
        return np.concatenate([inverse * (rhs[:n] - G.T @ multipliers), multipliers])

    def residual_of(z):
        return np.concatenate([diagonal * z[:n] + G.T @ z[n:],
                               G @ z[:n] - regularization * z[n:]]) - b

    # S = G D^-1 G^T squares the conditioning of G; a few steps of iterative refinement on the
    # full KKT system recover the accuracy of a KKT factorisation at the cost of extra solves.
    scale = float(np.linalg.norm(b)) or 1.0
    z = apply(b)
    residual = residual_of(z)
    for _ in range(3):
        if not np.all(np.isfinite(residual)) or np.linalg.norm(residual) <= 1e-12 * scale:
            break
        z = z - apply(residual)
        residual = residual_of(z)
    if not np.all(np.isfinite(residual)) or np.linalg.norm(residual) > 1e-8 * scale:
        raise np.linalg.LinAlgError("the KKT matrix is numerically singular (range-space solve)")
    return z


class KKTSketcher:
    """A sketch-and-project solver bound to one matrix ``K``; keeps its state across calls.

    The exact augmented Lagrangian re-solves the same system with a tighter target after a penalty
    increase; this object keeps ``M = K K`` and the row norms, so only the first call pays for them.

    Parameters
    ----------
    K : array or scipy.sparse matrix, shape (N, N)
        Symmetric system matrix.
    method : {"kaczmarz", "gaussian", "block"}
    backend : Backend
        Supplies ``kaczmarz_steps``, ``gaussian_steps``, ``block_steps`` and the namespace.
    rng : numpy.random.Generator
        Source of the row indices and Gaussian sketches (drawn on the host, so every backend sees
        the same sequence).
    block_size : int
        Rows per block for ``"block"`` (clipped to N).
    give_up_early : bool
        Stop before the budget is spent when the observed convergence rate shows that the target
        is out of reach (see :meth:`_hopeless`).
    """

    def __init__(self, K, method, backend, rng, block_size=8, give_up_early=False):
        self.give_up_early = give_up_early
        self.K = K.tocsr() if _is_sparse(K) else K
        self.method = method
        self.backend = backend
        self.rng = rng
        self.size = K.shape[0]
        self.block_size = min(block_size, self.size)
        self.M = None
        self.row_norms2 = None
        if method in ("kaczmarz", "block"):
            # M = K K^T = K^2 turns the residual update of a row projection into one row of M.
            if _is_sparse(self.K):
                self.M = (self.K @ self.K).tocsr()
                self.row_norms2 = np.asarray(self.M.diagonal(), dtype=float)
            else:
                self.M = backend.xp.ascontiguousarray(self.K @ self.K)
                self.row_norms2 = backend.xp.ascontiguousarray(backend.xp.diagonal(self.M))

    def _chunk(self, steps):
        if self.method == "kaczmarz":
            rows = self.rng.integers(0, self.size, size=steps)
            self.backend.kaczmarz_steps(self.K, self.M, self.row_norms2, self.z, self.r, rows)
        elif self.method == "gaussian":
            sketches = self.backend.asarray(self.rng.standard_normal((steps, self.size)))
            self.backend.gaussian_steps(self.K, self.z, self.r, sketches)
        else:
            blocks = self._blocks(steps)
            self.backend.block_steps(self.K, self.M, self.z, self.r, blocks)

    def _blocks(self, steps):
        """``steps`` random row blocks, shape (steps, block_size).

        Small systems: distinct rows (a random permutation per block). Large systems: rows drawn
        with replacement, vectorised; a repeated row only makes that block's Gram matrix
        singular, which the kernels' shifted solve handles.
        """
        if self.size <= 256:
            order = self.rng.permuted(np.tile(np.arange(self.size), (steps, 1)), axis=1)
            return np.ascontiguousarray(order[:, :self.block_size])
        return self.rng.integers(0, self.size, size=(steps, self.block_size))

    def solve(self, b, z, target, max_steps):
        """Run sketch steps from ``z`` until ``||K z - b|| <= target`` or ``max_steps`` steps.

        Parameters
        ----------
        b : array, shape (N,)
        z : array, shape (N,)
            Starting point (not modified).
        target : float
            Residual norm to reach.
        max_steps : int
            Budget of sketch steps for this call.

        Returns
        -------
        z : array, shape (N,)
        residual : float
            ``||K z - b||_2`` recomputed exactly.
        steps : int
            Sketch steps taken.
        """
        residual = self._begin(b, z)
        chunk = self._chunk_size()
        steps = chunks = 0
        start = residual
        while residual > target and steps < max_steps:
            count = min(chunk, max_steps - steps)
            self._chunk(count)
            steps += count
            chunks += 1
            residual = self._resynchronise(b)
            if not np.isfinite(residual) or (self.give_up_early and self._hopeless(
                    start, residual, target, steps, max_steps, chunks)):
                break
        return self._iterate(), residual, steps

    def _begin(self, b, z):
        """Start from a copy of ``z``; the residual norm there."""
        self.z = self.backend.xp.array(z, dtype=float, copy=True)
        return self._resynchronise(b)

    def _resynchronise(self, b):
        """Recompute ``r = K z - b`` exactly (no drift of the incremental updates); its norm."""
        self.r = _matvec(self.K, self.z) - b
        return float(self.backend.xp.linalg.norm(self.r))

    def _iterate(self):
        return self.z

    def _chunk_size(self):
        """Steps between two exact residual checks: about one pass over the rows (a check costs
        one product with ``K``, the order of one Kaczmarz pass)."""
        if self.method == "gaussian":
            return max(4, min(self.size, 256))
        return max(16, min(self.size if self.method == "kaczmarz" else
                           max(1, self.size // self.block_size), 4096))

    @staticmethod
    def _hopeless(start, residual, target, steps, max_steps, chunks):
        """True when the observed linear rate cannot reach ``target`` within the budget.

        Sketch-and-project converges linearly in expectation; after 8 chunks the average rate so
        far is extrapolated, and if even twice the remaining budget would not suffice (or the
        residual has not decreased at all) the caller is better served by a direct solve now than
        by burning the budget.
        """
        if chunks < 8 or residual <= target:
            return False
        if residual >= start:
            return True
        rate = np.log(residual / start) / steps
        return np.log(target / residual) / rate > 2.0 * (max_steps - steps)


class RangeSpaceSketcher(KKTSketcher):
    """Randomized Kaczmarz on the constraint rows of ``[[D, G^T], [G, 0]] z = b`` in the ``D``-norm.

    For a positive diagonal ``D`` the first block row is kept exact, ``dx = D^-1 (r1 - G^T dlam)``,
    and each step projects ``dx`` onto one constraint row ``{G_i dx = r2_i}`` in the ``D``-norm
    (sketch-and-project of Gower & Richtarik 2015 with the weight ``D``), which is randomized
    coordinate descent on the Schur complement ``G D^-1 G^T dlam = G D^-1 r1 - r2``. A step costs
    O(nnz(G_i)), no ``K K`` is formed, and the rate depends on the conditioning of
    ``G D^-1 G^T`` (that of ``K``, squared, governs the Kaczmarz sketch of ``K``). The residual
    ``||K z - b||`` is ``||G dx - r2||``. Host (NumPy/numba) arrays only.

    Parameters
    ----------
    diagonal : ndarray, shape (n,)
        Positive diagonal of ``D``.
    G : array or scipy.sparse matrix, shape (m, n)
    backend : Backend
        Supplies ``range_kaczmarz_steps``.
    rng : numpy.random.Generator
    give_up_early : bool
        As for :class:`KKTSketcher`.
    """

    def __init__(self, diagonal, G, backend, rng, give_up_early=False):
        import scipy.sparse as sp

        self.G = sp.csr_matrix(G, dtype=float)
        self.inverse = 1.0 / np.asarray(diagonal, dtype=float)
        self.gram_diagonal = np.asarray(self.G.multiply(self.G) @ self.inverse).ravel()
        self.method, self.backend, self.rng = "range-kaczmarz", backend, rng
        self.give_up_early = give_up_early
        self.size = self.G.shape[0]

    def _begin(self, b, z):
        n = self.inverse.size
        self.r1, self.r2 = np.asarray(b[:n], dtype=float), np.ascontiguousarray(b[n:], dtype=float)
        self.multipliers = np.array(z[n:], dtype=float, copy=True)
        return self._resynchronise(b)

    def _resynchronise(self, b):
        self.dx = self.inverse * (self.r1 - self.G.T @ self.multipliers)
        return float(np.linalg.norm(self.G @ self.dx - self.r2))

    def _iterate(self):
        return np.concatenate([self.dx, self.multipliers])

    def _chunk_size(self):
        return max(16, min(self.size, 4096))

    def _chunk(self, steps):
        rows = self.rng.integers(0, self.size, size=steps)
        self.backend.range_kaczmarz_steps(self.G, self.inverse, self.gram_diagonal, self.r2,
                                          self.multipliers, self.dx, rows)


def sketch_solve(K, b, *, method="kaczmarz", rtol=1e-8, max_steps=100_000, block_size=8,
                 seed=None, backend="auto"):
    """Solve a consistent square system ``K z = b`` by randomized sketch-and-project.

    This is the inner solver of :func:`numopt.constrained.exact_alm._minimize_exact_alm`, exposed
    for direct use and testing. ``K`` must be symmetric (as a KKT matrix is).

    Parameters
    ----------
    K : array_like or scipy.sparse matrix, shape (N, N)
        Symmetric matrix.
    b : array_like, shape (N,)
        Right-hand side.
    method : {"kaczmarz", "gaussian", "block", "direct"}
        Sketch family (see the module docstring); ``"direct"`` factorises ``K``.
    rtol : float
        Stop when ``||K z - b|| <= rtol * ||b||``.
    max_steps : int
        Budget of sketch steps.
    block_size : int
        Rows per block for ``method="block"``.
    seed : int or numpy.random.Generator, optional
        Randomness of the sketches.
    backend : {"auto", "numpy", "numba", "cupy"}
        Where the sketch loops run.

    Returns
    -------
    z : ndarray, shape (N,)
        The approximate solution.
    info : dict
        ``residual`` (``||K z - b||``), ``steps`` (sketch steps taken), ``converged`` (bool).

    Raises
    ------
    ValueError
        Non-square or non-symmetric ``K``, mismatched ``b``, NaN/inf, bad options.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.constrained.sketching import sketch_solve
    >>> K = np.array([[4.0, 1.0, 1.0], [1.0, 3.0, 0.0], [1.0, 0.0, 0.0]])
    >>> z, info = sketch_solve(K, np.array([6.0, 4.0, 1.0]), method="kaczmarz", seed=0)
    >>> bool(info["converged"]), np.round(z, 6)
    (True, array([1., 1., 1.]))
    """
    from numopt.backends import get_backend

    solver = "sketch_solve"
    method = check_choice(method, "method", solver, SKETCH_SOLVERS)
    rtol = check_scalar(rtol, "rtol", solver, low=0)
    max_steps = check_int(max_steps, "max_steps", solver, low=1)
    block_size = check_int(block_size, "block_size", solver, low=1)
    chosen = get_backend(backend, K, b)
    xp = chosen.xp
    if _is_sparse(K):
        if K.shape[0] != K.shape[1] or not np.all(np.isfinite(K.data)):
            raise ValueError(f"`K` must be a square matrix of finite values; got shape {K.shape}.")
        K = K.tocsr().astype(float)
        asymmetry = abs(K - K.T).max() if K.nnz else 0.0
        scale = abs(K).max() if K.nnz else 1.0
    else:
        K = check_array(K, "K", ndim=2, xp=xp, dtype=np.float64)
        if K.shape[0] != K.shape[1]:
            raise ValueError(f"`K` must be square; got shape {K.shape}.")
        asymmetry = float(xp.abs(K - K.T).max())
        scale = float(xp.abs(K).max())
    if asymmetry > 1e-12 * max(scale, 1.0):
        raise ValueError(f"`K` must be symmetric; found max|K - K^T| = {asymmetry:.3g}.")
    b = check_array(b, "b", shape=(K.shape[0],), xp=xp, dtype=np.float64)
    rng = np.random.default_rng(seed)
    target = rtol * float(xp.linalg.norm(b))
    if method == "direct":
        z = direct_solve(K, b, xp)
        residual, steps = float(xp.linalg.norm(_matvec(K, z) - b)), 0
    else:
        sketcher = KKTSketcher(K, method, chosen, rng, block_size)
        z, residual, steps = sketcher.solve(b, xp.zeros_like(b), target, max_steps)
    return chosen.to_numpy(z), {"residual": residual, "steps": steps,
                                "converged": bool(residual <= target)}
