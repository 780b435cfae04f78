"""Euclidean projections onto the feasible sets of LV-HBA: boxes, affine sets and polyhedra.

LV-HBA projects ``(x, y)`` onto the joint set ``C = {(x, y) in X x Y : g(x, y) <= 0, h(x, y) = 0}``
once per iteration, so the projection is the main cost of an iteration when the constraints are
many. Three exact projections are offered, each chosen by :func:`make_projection`:

- :class:`BoxProjection`: ``lower <= w <= upper``, a clip.
- :class:`AffineProjection`: ``E w = d`` (no box), the closed form
  ``w = p - E^T (E E^T)^+ (E p - d)``
  with ``E E^T`` factored once.
- :class:`SlackProjection`: ``A w <= b`` where every row owns a "slack" part (columns that
  appear in no other row, unbounded) and the other row columns are few and unbounded (the SVM's
  hinge rows ``-t_i (z_i^T w + b) - xi_i <= -1``). Given the shared columns the slacks are
  projected row by row in closed form, which leaves a strongly convex piecewise quadratic in the
  few shared columns, minimised exactly by a semismooth Newton method.
- :class:`PolyhedralProjection`: ``A w <= b``, ``E w = d`` and box rows together, by an exact
  active-set method on the dual (a Lawson--Hanson scheme for a strictly convex QP with sign
  constraints). The Gram matrix of the rows is formed once, the Cholesky factor of the active
  block is cached, and each call starts from the previous call's active set, so consecutive
  projections of nearby points (LV-HBA's case) usually cost one triangular solve pair and one
  matrix-vector product with the rows.

Every class is a callable ``project(point) -> point`` on the stacked vector ``w``.
"""

import numpy as np

from numopt._core.krylov import conjugate_gradients
from numopt.backends import array_namespace
from numopt.backends.linalg import cho_solve

__all__ = ["BoxProjection", "AffineProjection", "SlackProjection", "PolyhedralProjection",
           "make_projection", "slack_structure"]


class BoxProjection:
    """Projection onto the box ``lower <= w <= upper`` (entries may be infinite).

    Parameters
    ----------
    lower, upper : array, shape (N,)
        Bounds; ``-inf``/``inf`` mean unbounded.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.bilevel.projections import BoxProjection
    >>> BoxProjection(np.zeros(2), np.array([1.0, np.inf]))(np.array([-1.0, 5.0]))
    array([0., 5.])
    """

    def __init__(self, lower, upper):
        self.lower, self.upper = lower, upper

    def __call__(self, point):
        xp = np if isinstance(point, np.ndarray) else array_namespace(point)
        return xp.clip(point, self.lower, self.upper)


class AffineProjection:
    """Projection onto the affine set ``{w : E w = d}`` in closed form.

    ``E E^T`` is factored once (Cholesky; an eigen-decomposition pseudo-inverse when ``E`` has
    dependent rows), so each projection costs two products with ``E`` and a solve.

    Parameters
    ----------
    E : array, shape (q, N)
        Equality rows.
    d : array, shape (q,)
        Right-hand side; it must be consistent (``d`` in the range of ``E``).

    Raises
    ------
    ValueError
        When ``E w = d`` has no solution.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.bilevel.projections import AffineProjection
    >>> AffineProjection(np.ones((1, 3)), np.zeros(1))(np.array([1.0, 2.0, 3.0]))
    array([-1.,  0.,  1.])
    """

    def __init__(self, E, d):
        xp = array_namespace(E)
        self.E, self.d, self.xp = E, d, xp
        gram = E @ E.T
        eigenvalues, eigenvectors = xp.linalg.eigh(gram)
        # A pseudo-inverse through the eigen-decomposition handles dependent rows; the cut-off is
        # the usual rank tolerance of numpy.linalg.matrix_rank.
        cutoff = float(eigenvalues.max()) * max(gram.shape) * np.finfo(float).eps
        keep = eigenvalues > cutoff
        self._basis = eigenvectors[:, keep]
        self._inverse_eigenvalues = 1.0 / eigenvalues[keep]
        residual = self._residual_after_projection(d)
        if residual > 1e-8 * (1.0 + float(xp.linalg.norm(d))):
            raise ValueError(f"The equality constraints `E w = d` are inconsistent (no point "
                             f"satisfies them; residual {residual:.3g}).")

    def _residual_after_projection(self, d):
        # Projecting 0 gives the least-norm least-squares point; its residual is 0 iff consistent.
        w = -self.E.T @ self._apply_inverse_gram(-d)
        return float(self.xp.linalg.norm(self.E @ w - d))

    def _apply_inverse_gram(self, vector):
        return self._basis @ (self._inverse_eigenvalues * (self._basis.T @ vector))

    def __call__(self, point):
        return point - self.E.T @ self._apply_inverse_gram(self.E @ point - self.d)


class PolyhedralProjection:
    """Exact projection onto ``{w : A w <= b, E w = d, lower <= w <= upper}``.

    The projection ``min 1/2 ||w - p||^2`` has the dual ``min_u 1/2 u^T G u - u^T (K p - r)`` over
    the multipliers ``u`` of the rows ``K = [E; A; box rows]`` (``r`` their right-hand sides,
    ``G = K K^T``), with ``u >= 0`` on inequality rows and ``u`` free on equality rows; the
    projection is ``w = p - K^T u``. The dual is solved exactly by a Lawson--Hanson active-set
    method: solve the equations of the active (passive) set, step back to stay sign-feasible when
    an entry turns negative, add the most violated inactive row, repeat. It ends in finitely many
    steps; the KKT conditions are checked on return.

    Parameters
    ----------
    A : array, shape (p, N) or None
        Inequality rows ``A w <= b``.
    b : array, shape (p,) or None
    E : array, shape (q, N) or None
        Equality rows ``E w = d``.
    d : array, shape (q,) or None
    lower, upper : array, shape (N,) or None
        Box bounds (``-inf``/``inf`` entries are dropped).
    tol : float
        Relative tolerance of the dual optimality and of the final feasibility check.

    Attributes
    ----------
    multipliers : array
        The dual vector ``u`` of the last call, in the row order ``[E; A; box rows]``.
    n_active_set_steps : int
        Active-set steps of the last call (0 when the warm start was already optimal).

    Raises
    ------
    ValueError
        When the set is empty (detected as a projection that stays infeasible).

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.bilevel.projections import PolyhedralProjection
    >>> project = PolyhedralProjection(A=np.array([[1.0, 1.0]]), b=np.array([1.0]),
    ...                                lower=np.zeros(2), upper=np.full(2, np.inf))
    >>> np.round(project(np.array([2.0, -1.0])), 10) + 0.0
    array([1., 0.])
    """

    def __init__(self, A=None, b=None, E=None, d=None, lower=None, upper=None, tol=1e-10):
        from scipy import sparse as scipy_sparse

        rows, rhs, free = [], [], []
        template = next(a for a in (A, E, lower) if a is not None)
        is_sparse = any(scipy_sparse.issparse(matrix) for matrix in (A, E))
        xp = np if is_sparse else array_namespace(template)
        size = (A if A is not None else E).shape[1] if (A is not None or E is not None) \
            else lower.shape[0]
        identity = scipy_sparse.identity(size, format="csr") if is_sparse else xp.eye(size)
        if E is not None and E.shape[0]:
            rows.append(E), rhs.append(d), free.append(xp.ones(E.shape[0], dtype=bool))
        if A is not None and A.shape[0]:
            rows.append(A), rhs.append(b), free.append(xp.zeros(A.shape[0], dtype=bool))
        for bound, sign in ((upper, 1.0), (lower, -1.0)):
            if bound is None:
                continue
            finite = xp.isfinite(bound)
            if bool(finite.any()):
                rows.append(sign * identity[finite]), rhs.append(sign * bound[finite])
                free.append(xp.zeros(int(finite.sum()), dtype=bool))
        if not rows:
            raise ValueError("PolyhedralProjection needs at least one constraint row.")
        self.xp = xp
        # Sparse rows (a scipy.sparse LinearConstraint, e.g. one hinge row per sample) stay
        # sparse: products with K cost O(nnz); only the Gram matrix is dense.
        self.K = (scipy_sparse.vstack([scipy_sparse.csr_matrix(row) for row in rows]).tocsr()
                  if is_sparse else xp.concatenate(rows, axis=0))
        self.r = xp.concatenate(rhs)
        self.free = xp.concatenate(free)
        gram = self.K @ self.K.T
        self.gram = gram.toarray() if is_sparse else gram
        # A ridge of relative size 1e-12 makes the dual strictly convex when active rows are
        # linearly dependent (more active rows than dimensions, duplicated rows), which the
        # Lawson--Hanson iteration needs to terminate. It relaxes row i by ridge * u_i, far
        # below `tol` for bounded multipliers.
        ridge = 1e-12 * float(xp.diagonal(self.gram).max())
        self.gram = self.gram + ridge * xp.eye(self.gram.shape[0])
        self.tol = tol
        self._row_scale = xp.sqrt(xp.diagonal(self.gram)) + 1e-300
        # Warm start: the active (passive) set of the last call; equality rows are always in it.
        self._passive = self.free.copy()
        self._block_key, self._block, self._factor = None, None, None
        self.multipliers = xp.zeros(self.K.shape[0])
        self.n_active_set_steps = 0

    def _solve_passive(self, passive, rhs, guess):
        """Solve ``G[P, P] u_P = rhs[P]``.

        Large blocks are first tried by conjugate gradients from ``guess`` (the multipliers of
        the previous step): Gram matrices of the form identity + low rank, such as the SVM's
        hinge rows, are solved exactly in about rank + 1 iterations. Otherwise (or when CG has
        not converged in 30 iterations) a Cholesky factor of the block is computed and cached
        for as long as the active set does not change.
        """
        xp = self.xp
        index = xp.flatnonzero(passive)
        key = bytes(np.asarray(passive.get() if hasattr(passive, "get") else passive))
        if key != self._block_key:
            self._block = self.gram[index[:, None], index[None, :]]
            self._block_key, self._factor = key, None
        target = rhs[index]
        if self._factor is None and index.shape[0] > 64:
            block = self._block
            solve = conjugate_gradients(lambda v: block @ v, target,
                                        1e-13 * float(xp.linalg.norm(target)), 30,
                                        x0=guess[index])
            if solve.converged:
                return index, solve.x
        if self._factor is None:
            self._factor = xp.linalg.cholesky(self._block)
        return index, cho_solve(self._factor, target)

    def __call__(self, point):
        xp = self.xp
        q = self.K @ point - self.r
        scale = self.tol * (1.0 + float(xp.abs(q).max()))
        passive = self._passive.copy()
        u = xp.zeros(self.K.shape[0])
        steps = 0
        max_steps = 3 * self.K.shape[0] + 10
        # Warm start: drop rows whose multiplier comes out negative until the set is sign-feasible.
        while True:
            index, u_passive = self._solve_passive(passive, q, self.multipliers)
            negative = (u_passive < 0) & ~self.free[index]
            if not bool(negative.any()):
                break
            passive[index[negative]] = False
            steps += 1
        u[:] = 0.0
        u[index] = u_passive
        while steps < max_steps:
            gradient = q - self.gram @ u  # minus the dual gradient; > 0 means "row wants in"
            gradient = xp.where(passive, -xp.inf, gradient / self._row_scale)
            entering = int(xp.argmax(gradient))
            if float(gradient[entering]) <= scale:
                break
            passive[entering] = True
            steps += 1
            while steps < max_steps:
                index, u_passive = self._solve_passive(passive, q, u)
                negative = (u_passive <= 0) & ~self.free[index]
                if not bool(negative.any()):
                    u[:] = 0.0
                    u[index] = u_passive
                    break
                # Lawson--Hanson step back: move from the sign-feasible u towards the new solution
                # until the first passive multiplier reaches zero, then drop those at zero.
                current = u[index]
                ratios = current[negative] / (current[negative] - u_passive[negative])
                step = float(ratios.min())
                u[index] = current + step * (u_passive - current)
                leaving = (u[index] <= 1e-300) & ~self.free[index]
                passive[index[leaving]] = False
                u[index[leaving]] = 0.0
                steps += 1
        self._passive = passive
        self.multipliers = u
        self.n_active_set_steps = steps
        projected = point - self.K.T @ u
        violation = self.K @ projected - self.r
        violation = xp.where(self.free, xp.abs(violation), xp.maximum(violation, 0.0))
        worst = float((violation / self._row_scale).max())
        if worst > 1e-6 * (1.0 + float(xp.abs(projected).max())):
            raise ValueError(f"The linear constraints define an empty set: the projection stays "
                             f"infeasible (largest row violation {worst:.3g}).")
        return projected


class SlackProjection:
    r"""Exact projection onto ``{w : A w <= b, lower <= w <= upper}`` for rows with private slacks.

    The columns of ``A`` are split into ``shared`` ones (used by several rows, unbounded),
    ``private`` ones (each used by exactly one row, unbounded; every row has at least one) and the
    rest (in no row; only the box acts on them, a clip). Write ``A w = S u + D v`` with ``u`` the
    shared and ``v`` the private part; the rows of ``D`` have disjoint supports. For fixed ``u``
    the projection of ``v`` splits into one half-space projection per row, in closed form, and
    what is left is

    .. math::

        \min_u \tfrac12 \|u - u_0\|^2 + \tfrac12 \sum_i
        \frac{\max(0,\ S_i u + D_i v_0 - b_i)^2}{\|D_i\|^2},

    strongly convex and piecewise quadratic in the few shared columns. It is minimised by
    semismooth Newton (generalised Hessian ``I + S_A^T diag(1/||D_i||^2) S_A`` on the violated
    rows ``A``, Armijo backtracking), which ends exactly once the violated set is identified; then
    ``v = v_0 - D^T m`` with the row multipliers ``m_i = max(0, S_i u + D_i v_0 - b_i) /
    ||D_i||^2``. A call costs a few products with ``S`` (rows x shared columns) and a
    ``shared x shared`` solve, against an active-set method over all rows for
    :class:`PolyhedralProjection`, to which it falls back if Newton has not converged.

    Parameters
    ----------
    A : array or sparse matrix, shape (p, N)
        Inequality rows.
    b : array, shape (p,)
    lower, upper : array, shape (N,)
        Box bounds; they must be infinite on every column that appears in a row.
    shared, private : array of int
        Column indices (see :func:`slack_structure`).
    tol : float
        Relative tolerance on the gradient of the reduced problem.

    Attributes
    ----------
    multipliers : array, shape (p,)
        The row multipliers of the last call.
    n_newton_steps : int
        Newton steps of the last call.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.bilevel.projections import SlackProjection
    >>> A = np.array([[-1.0, -1.0, 0.0], [-1.0, 0.0, -1.0]])   # u + v_i >= 1
    >>> project = SlackProjection(A, -np.ones(2), np.full(3, -np.inf), np.full(3, np.inf),
    ...                           shared=[0], private=[1, 2])
    >>> np.round(project(np.zeros(3)), 10) + 0.0
    array([0.66666667, 0.33333333, 0.33333333])
    """

    def __init__(self, A, b, lower, upper, shared, private, tol=1e-12):
        from scipy import sparse as scipy_sparse

        xp = np if scipy_sparse.issparse(A) else array_namespace(b)
        self.xp, self.tol = xp, tol
        self.A, self.b, self.lower, self.upper = A, b, lower, upper
        size = A.shape[1]
        self.shared = xp.asarray(np.asarray(shared, dtype=np.intp))
        self.private = xp.asarray(np.asarray(private, dtype=np.intp))
        in_rows = np.zeros(size, dtype=bool)
        in_rows[np.asarray(shared, dtype=np.intp)] = True
        in_rows[np.asarray(private, dtype=np.intp)] = True
        self.outside = xp.asarray(np.flatnonzero(~in_rows))
        if scipy_sparse.issparse(A):
            A = A.tocsc()
            self.S = A[:, np.asarray(shared, dtype=np.intp)].toarray()
            self.D = A[:, np.asarray(private, dtype=np.intp)].tocsr()
            self.row_norms = np.asarray(self.D.multiply(self.D).sum(axis=1)).ravel()
        else:
            self.S = A[:, self.shared]
            self.D = A[:, self.private]
            self.row_norms = xp.sum(self.D ** 2, axis=1)
        self.D_transposed = self.D.T.tocsr() if scipy_sparse.issparse(self.D) else self.D.T
        self.multipliers = xp.zeros(A.shape[0])
        self.n_newton_steps = 0
        self._fallback = None

    def _reduced(self, u, u0, offset):
        """Value, row violations ``max(0, r)`` and multipliers of the reduced problem at ``u``."""
        xp = self.xp
        violation = xp.maximum(self.S @ u + offset, 0.0)
        value = 0.5 * float(xp.sum((u - u0) ** 2) + xp.sum(violation ** 2 / self.row_norms))
        return value, violation, violation / self.row_norms

    def __call__(self, point):
        xp = self.xp
        u0, v0 = point[self.shared], point[self.private]
        offset = self.D @ v0 - self.b
        u = u0.copy()
        value, violation, multipliers = self._reduced(u, u0, offset)
        converged, steps = u.shape[0] == 0, 0
        identity = xp.eye(u.shape[0])
        while not converged and steps < 50:
            gradient = (u - u0) + self.S.T @ multipliers
            scale = 1.0 + float(xp.abs(u0).max()) + float(xp.abs(self.S.T @ multipliers).max())
            if float(xp.abs(gradient).max()) <= self.tol * scale:
                converged = True
                break
            weights = xp.where(violation > 0, 1.0 / self.row_norms, 0.0)
            hessian = identity + self.S.T @ (self.S * weights[:, None])
            direction = xp.linalg.solve(hessian, -gradient)
            slope = float(gradient @ direction)
            length = 1.0
            for _ in range(40):  # Armijo backtracking: the generalised Newton step may overshoot
                candidate = u + length * direction
                trial = self._reduced(candidate, u0, offset)
                if trial[0] <= value + 1e-4 * length * slope:
                    break
                length *= 0.5
            u, (value, violation, multipliers) = candidate, trial
            steps += 1
        self.n_newton_steps = steps
        if not converged:  # not seen in practice; the active-set method is exact and general
            if self._fallback is None:
                self._fallback = PolyhedralProjection(A=self.A, b=self.b, lower=self.lower,
                                                      upper=self.upper)
            return self._fallback(point)
        projected = xp.clip(point, self.lower, self.upper)
        projected[self.shared] = u
        projected[self.private] = v0 - self.D_transposed @ multipliers
        self.multipliers = multipliers
        return projected


def slack_structure(A, lower, upper, max_shared=64):
    """The ``(shared, private)`` column split of :class:`SlackProjection`, or None.

    None when a row column is bounded, a row has no private column, or more than
    ``max_shared`` columns are shared (the reduced Newton system is dense).

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.bilevel.projections import slack_structure
    >>> A = np.array([[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 1.0, 0.0]])
    >>> shared, private = slack_structure(A, np.full(4, -np.inf), np.full(4, np.inf))
    >>> shared.tolist(), private.tolist()
    ([0], [1, 2])
    """
    from scipy import sparse as scipy_sparse

    def host(array):
        return np.asarray(array.get() if hasattr(array, "get") else array)

    pattern = (A != 0)
    if scipy_sparse.issparse(pattern):
        pattern = pattern.tocsc()
        counts = np.asarray(pattern.sum(axis=0)).ravel()
    else:
        pattern = host(pattern)
        counts = pattern.sum(axis=0)
    in_rows = counts > 0
    bounded = np.isfinite(host(lower)) | np.isfinite(host(upper))
    if bool((bounded & in_rows).any()):
        return None
    shared, private = np.flatnonzero(counts > 1), np.flatnonzero(counts == 1)
    if shared.size > max_shared or private.size == 0:
        return None
    owners = np.asarray(pattern[:, private].sum(axis=1)).ravel()
    if bool((owners == 0).any()):
        return None
    return shared, private


def make_projection(A=None, b=None, E=None, d=None, lower=None, upper=None):
    """The cheapest exact projection for the given rows and bounds.

    Parameters
    ----------
    A, b : array or None
        Inequality rows ``A w <= b``.
    E, d : array or None
        Equality rows ``E w = d``.
    lower, upper : array, shape (N,)
        Box bounds (``-inf``/``inf`` for none).

    Returns
    -------
    callable
        :class:`BoxProjection` (no rows), :class:`AffineProjection` (equality rows only, no finite
        bound), :class:`SlackProjection` (inequality rows with private slacks, see
        :func:`slack_structure`) or :class:`PolyhedralProjection` (everything else).

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.bilevel.projections import make_projection
    >>> inf = np.full(2, np.inf)
    >>> type(make_projection(E=np.ones((1, 2)), d=np.zeros(1), lower=-inf, upper=inf)).__name__
    'AffineProjection'
    """
    has_rows = (A is not None and A.shape[0] > 0, E is not None and E.shape[0] > 0)
    xp = array_namespace(lower)
    boxed = bool(xp.isfinite(lower).any() or xp.isfinite(upper).any())
    if not any(has_rows):
        return BoxProjection(lower, upper)
    if has_rows == (False, True) and not boxed:
        return AffineProjection(E, d)
    if has_rows == (True, False):
        structure = slack_structure(A, lower, upper)
        if structure is not None:
            return SlackProjection(A, b, lower, upper, *structure)
    return PolyhedralProjection(A if has_rows[0] else None, b if has_rows[0] else None,
                                E if has_rows[1] else None, d if has_rows[1] else None,
                                lower, upper)
