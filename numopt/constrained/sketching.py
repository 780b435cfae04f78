"""Inner solvers of the Newton-KKT system ``K z = b``: randomized sketch-and-project and direct.

Sketch-and-project (Gower & Richtarik 2015) updates an iterate by projecting it onto the solution set
of a sketched system ``S^T K z = S^T b``:

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

import numpy as np

from numopt._core.validation import check_array, check_choice, check_int, check_scalar

__all__ = ["SKETCH_SOLVERS", "KKTSketcher", "direct_solve", "sketch_solve"]

SKETCH_SOLVERS = ("kaczmarz", "gaussian", "block", "direct")


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
            blocks = np.stack([self.rng.choice(self.size, self.block_size, replace=False)
                               for _ in range(steps)])
            self.backend.block_steps(self.K, self.M, self.z, self.r, blocks)

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
        xp = self.backend.xp
        self.z = xp.array(z, dtype=float, copy=True)
        self.r = _matvec(self.K, self.z) - b
        residual = float(xp.linalg.norm(self.r))
        # Check (and resynchronise r exactly) about once per pass over the rows: the check costs one
        # product with K, the same order as one pass of Kaczmarz.
        chunk = max(16, min(self.size if self.method == "kaczmarz" else
                            max(1, self.size // self.block_size), 4096))
        if self.method == "gaussian":
            chunk = max(4, min(self.size, 256))
        steps = chunks = 0
        start = residual
        while residual > target and steps < max_steps:
            count = min(chunk, max_steps - steps)
            self._chunk(count)
            steps += count
            chunks += 1
            self.r = _matvec(self.K, self.z) - b
            residual = float(xp.linalg.norm(self.r))
            if not np.isfinite(residual) or (self.give_up_early and self._hopeless(
                    start, residual, target, steps, max_steps, chunks)):
                break
        return self.z, residual, steps

    @staticmethod
    def _hopeless(start, residual, target, steps, max_steps, chunks):
        """True when the observed linear rate cannot reach ``target`` within the budget.

        Sketch-and-project converges linearly in expectation; after 8 chunks the average rate so
        far is extrapolated, and if even twice the remaining budget would not suffice (or the
        residual has not decreased at all) the caller is better served by a direct solve now than
        by burning the budget.
        """
        if chunks < 8:
            return False
        if residual >= start:
            return True
        rate = np.log(residual / start) / steps
        return np.log(target / residual) / rate > 2.0 * (max_steps - steps)
