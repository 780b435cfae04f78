"""Solvers for the regularized Newton system ``(H + lam B) s = g`` of gradient-normalized Newton.

Each model is built once per Hessian (once per outer iteration, or less often with a lazy
Hessian) and then answers ``solve(g, lam)`` for the several ``lam`` of the gamma search:

* :class:`CholeskyModel`: dense ``H``; one Cholesky factorisation per trial (``d^3/3``), the
  cheapest choice when a fresh Hessian is used for one or two trials;
* :class:`EigenModel`: dense ``H``; one (generalised) eigendecomposition ``H V = B V diag(mu)``
  per Hessian, after which every trial is ``O(d^2)``: ``s = V (mu + lam)^{-1} V^T g``. Pays off
  when the same Hessian serves several trials or several iterations (lazy Hessian);
* :class:`SparseModel`: sparse ``H``; a sparse LU factorisation per trial;
* :class:`LanczosModel`: ``H`` known only through products (``hessp`` or a ``LinearOperator``)
  with the identity metric: one Lanczos process per Hessian serves every trial (the ``k``-th
  CG iterate of each shifted system from one Krylov basis), a forcing term tied to ``||g||``;
* :class:`CGModel`: the same with a Jacobi preconditioner or a metric ``B != I``, which change
  the Krylov space with ``lam``: preconditioned conjugate gradients per trial;
* :class:`RankOneModel`: ``H = c u u^T`` (the Fisher term of ``(1/p)||u(x)||^p``); the
  Sherman-Morrison formula solves each trial in ``O(d)`` (``O(d^2)`` with a metric ``B``);
* :class:`AbsoluteHessianModel`: dense ``H`` with the local metric ``B = |H|`` (the default,
  ``metric="auto"``): ``B = H`` when ``H`` is positive definite (one Cholesky factorisation, then
  ``s = H^{-1} g / (1 + lam)`` with ``H^{-1} g`` solved once for all trials), else
  ``B = V |mu| V^T`` from one eigendecomposition.

``solve`` returns ``None`` when ``H + lam B`` is not positive definite (failed factorisation or
negative curvature met by CG): the gamma search counts that as a failed trial and increases
``lam``, instead of applying a stale step as the reference code does.
"""

import numpy as np

from numopt._core.krylov import Lanczos, conjugate_gradients
from numopt._core.validation import all_finite
from numopt.backends import array_namespace
from numopt.backends.linalg import cho_solve, cholesky, solve_triangular

__all__ = ["CholeskyModel", "EigenModel", "SparseModel", "CGModel", "LanczosModel",
           "RankOneModel", "AbsoluteHessianModel", "Metric"]


class Metric:
    """The metric ``B`` (symmetric positive definite, default identity) and its dual norm.

    Parameters
    ----------
    B : array, shape (d, d), or None
        ``None`` means ``B = I`` and every operation is free.
    """

    def __init__(self, B=None):
        self.B = B
        self.identity = B is None
        if not self.identity:
            xp = array_namespace(B)
            try:
                self._chol = cholesky(B)
            except np.linalg.LinAlgError:
                self._chol = xp.full(B.shape, xp.nan)
            if not all_finite(self._chol):
                raise ValueError("`metric` must be symmetric positive definite; its Cholesky "
                                 "factorisation failed.")

    def inverse(self, g):
        """``B^{-1} g``."""
        if self.identity:
            return g
        return cho_solve(self._chol, g)

    def dual_norm(self, g):
        """``||g||_* = <g, B^{-1} g>^{1/2}``."""
        return float(g @ self.inverse(g)) ** 0.5

    def matvec(self, v):
        """``B v``."""
        return v if self.identity else self.B @ v

    def shifted(self, H, lam):
        """``H + lam B`` for a dense ``H`` (a new array)."""
        if self.identity:
            xp = array_namespace(H)
            return H + lam * xp.eye(H.shape[0], dtype=H.dtype)
        return H + lam * self.B


class CholeskyModel:
    """Dense ``H``: a Cholesky factorisation of ``H + lam B`` per trial."""

    factorizations_per_trial = 1

    def __init__(self, H, metric):
        self.H, self.metric = H, metric
        self._xp = array_namespace(H)

    def solve(self, g, lam):
        xp = self._xp
        try:
            lower = cholesky(self.metric.shifted(self.H, lam))
        except np.linalg.LinAlgError:
            return None
        if not all_finite(xp.diagonal(lower)):  # CuPy returns NaN instead of raising
            return None
        return cho_solve(lower, g)


class EigenModel:
    """Dense ``H``: one eigendecomposition, then ``O(d^2)`` per trial.

    With ``B = L L^T`` the generalised problem is reduced to the symmetric ``L^{-1} H L^{-T}``.
    """

    factorizations_per_trial = 0

    def __init__(self, H, metric):
        xp = array_namespace(H)
        self.metric = metric
        if metric.identity:
            self.values, self.vectors = xp.linalg.eigh(H)
        else:
            solve = solve_triangular
            half = solve(metric._chol, H, lower=True)
            reduced = solve(metric._chol, half.T, lower=True)
            self.values, vectors = xp.linalg.eigh(0.5 * (reduced + reduced.T))
            # Back to B-orthonormal eigenvectors of the pencil (H, B): V = L^{-T} W.
            self.vectors = solve(metric._chol.T, vectors, lower=False)
        self.finite = all_finite(self.values)
        # Eigenvalues below this are treated as zero: a shift smaller than the rounding of the
        # decomposition cannot make the system reliably positive definite.
        self._noise = 10 * np.finfo(float).eps * H.shape[0] * float(abs(self.values).max()) \
            if self.finite else np.inf

    def solve(self, g, lam):
        if not self.finite or float(self.values[0]) + lam <= self._noise:
            return None
        return self.vectors @ ((self.vectors.T @ g) / (self.values + lam))


class SparseModel:
    """Sparse ``H`` (SciPy): a sparse LU factorisation of ``H + lam B`` per trial.

    LU does not certify positive definiteness, so a step is rejected (``None``) unless it has
    positive curvature ``<s, (H + lam B) s> = <s, g> > 0``, which is what the descent needs.
    """

    factorizations_per_trial = 1

    def __init__(self, H, metric):
        from scipy import sparse

        self.H = sparse.csc_matrix(H)
        self.metric = metric
        self._shift = sparse.identity(H.shape[0], format="csc") if metric.identity \
            else sparse.csc_matrix(metric.B)

    def solve(self, g, lam):
        from scipy.sparse.linalg import splu

        try:
            step = splu(self.H + lam * self._shift).solve(g)
        except RuntimeError:  # "Factor is exactly singular"
            return None
        if not (all_finite(step) and float(step @ g) > 0):
            return None
        return step


class CGModel:
    """``H`` through products: preconditioned CG on ``(H + lam B) s = g``.

    Parameters
    ----------
    matvec : callable
        ``v -> H v``.
    metric : Metric
    diagonal : array or None
        ``diag(H)``, used for a Jacobi preconditioner ``diag(H) + lam diag(B)`` when given.
    forcing : float
        CG stops when ``||r|| <= eta ||g||`` with ``eta = min(forcing, sqrt(||g||))``: loose far
        from a solution, tight (superlinear convergence) near it.
    maxiter : int
        Largest number of CG iterations per trial.
    """

    factorizations_per_trial = 0

    def __init__(self, matvec, metric, diagonal=None, forcing=0.5, maxiter=200):
        self.matvec, self.metric, self.diagonal = matvec, metric, diagonal
        self.forcing, self.maxiter = forcing, maxiter
        self.products = 0

    def solve(self, g, lam):
        xp = array_namespace(g)
        g_norm = float(xp.linalg.norm(g))
        tolerance = min(self.forcing, g_norm ** 0.5) * g_norm
        if self.diagonal is None:
            precondition = None
        else:
            metric_diag = 1.0 if self.metric.identity else xp.diagonal(self.metric.B)
            inverse_diag = 1.0 / (self.diagonal + lam * metric_diag)
            precondition = inverse_diag if all_finite(inverse_diag) and \
                bool((inverse_diag > 0).all()) else None
        metric_matvec = self.metric.matvec

        def matvec(direction):
            return self.matvec(direction) + lam * metric_matvec(direction)

        solve = conjugate_gradients(matvec, g, tolerance, self.maxiter,
                                    inverse_diagonal=precondition)
        self.products += solve.iterations
        if solve.breakdown:  # negative curvature or NaN: H + lam B is not positive definite
            return None
        step = solve.x
        # An inexact solution is fine (forcing term), a non-descent or non-finite one is not.
        if not (all_finite(step) and float(step @ g) > 0):
            return None
        return step


class LanczosModel:
    """``H`` through products, ``B = I``: one Lanczos process per Hessian for all trials.

    The process is started at the first ``g`` and extended until the Galerkin solution of
    ``(H + lam I) s = g`` meets ``||r|| <= min(forcing, sqrt(||g||)) ||g||`` (the stopping rule
    of :class:`CGModel`); a later trial with a larger ``lam`` reuses the basis and extends it
    only if its own residual is not yet small enough, so an iteration costs the products of its
    hardest trial instead of their sum. ``T_k + lam I`` not positive definite (CG would meet
    non-positive curvature) is a failed trial.

    Parameters
    ----------
    matvec : callable
        ``v -> H v``.
    metric : Metric
        The identity.
    forcing : float
    maxiter : int
        Largest number of products per Hessian (all trials together).
    """

    factorizations_per_trial = 0

    def __init__(self, matvec, metric, forcing=0.5, maxiter=200):
        self.matvec, self.metric = matvec, metric
        self.forcing, self.maxiter = forcing, maxiter
        self._process, self._rhs, self._spent = None, None, 0

    @property
    def products(self):
        """Products with ``H`` so far."""
        return self._spent + (self._process.products if self._process is not None else 0)

    def solve(self, g, lam):
        if g is not self._rhs:  # a new right-hand side (a reused Hessian): a new process
            self._spent = self.products
            self._process, self._rhs = Lanczos(self.matvec, g), g
        process = self._process
        tolerance = min(self.forcing, process.norm ** 0.5) * process.norm
        while True:
            out = process.solve(lam, form=False) if process.alpha else None
            if out is not None and (not out.positive_definite or out.residual <= tolerance):
                break
            if process.exhausted or process.products >= self.maxiter:
                break
            process.extend()
        if out is None or not out.positive_definite:
            return None
        step = process.solve(lam).x
        return step if all_finite(step) else None


class RankOneModel:
    """``H = c u u^T`` (``c >= 0``): Sherman-Morrison, no factorisation.

    ``(lam B + c u u^T)^{-1} g
    = (B^{-1} g - c B^{-1}u <u, B^{-1} g> / (lam + c <u, B^{-1} u>)) / lam``.
    """

    factorizations_per_trial = 0

    def __init__(self, coef, vector, metric):
        self.coef, self.vector, self.metric = coef, vector, metric
        self._inverse_u = metric.inverse(vector)
        self._u_norm = float(vector @ self._inverse_u)

    def solve(self, g, lam):
        if lam <= 0:
            return None
        inverse_g = self.metric.inverse(g)
        scale = self.coef * float(self.vector @ inverse_g) / (lam + self.coef * self._u_norm)
        return (inverse_g - scale * self._inverse_u) / lam


class AbsoluteHessianModel:
    """Dense ``H`` with the local metric ``B = |H|``; it is its own :class:`Metric`.

    ``|H| = V |mu| V^T`` (absolute eigenvalues, floored at ``floor * max|mu|`` so that ``B`` is
    positive definite) makes the method invariant to a linear change of variables: the step,
    the acceptance test's dual norm ``<g, B^{-1} g>^{1/2}`` and gamma (a bound on ``||s||_B``)
    no longer depend on how the variables are scaled, which is what badly scaled and
    curved-valley problems need (see the CUTEst robustness figures in the docs). With
    ``H`` positive definite, ``B = H`` and one Cholesky factorisation serves every trial:
    ``(H + lam H)^{-1} g = H^{-1} g / (1 + lam)``. Otherwise the pencil ``(H, |H|)`` has the
    eigenvalues ``mu_i / |mu_i|`` and ``H + lam |H|`` is positive definite only for ``lam > 1``
    on a negative-curvature direction; a smaller ``lam`` is a failed trial (gamma halved).

    Parameters
    ----------
    H : array, shape (d, d)
        Symmetric, finite.
    floor : float
        Relative floor of ``|mu|`` (default 1e-8).
    """

    factorizations_per_trial = 0
    identity = False

    def __init__(self, H, floor=1e-8):
        xp = array_namespace(H)
        self.metric = self
        self._chol = None
        self._last = (None, None)  # (g, B^{-1} g): the gradient of the iterate, reused by trials
        try:
            lower = cholesky(H)
        except np.linalg.LinAlgError:
            lower = None
        if lower is not None and all_finite(xp.diagonal(lower)):  # CuPy: NaN, no exception
            self._chol = lower
            return
        self.values, self.vectors = xp.linalg.eigh(H)
        scale = xp.abs(self.values)
        top = float(scale.max())
        # H = 0 (a linear function): B = I.
        self.scale = xp.maximum(scale, floor * top) if top > 0 else xp.ones_like(scale)
        self._ratio_min = float((self.values / self.scale).min())

    def inverse(self, g):
        """``B^{-1} g``, kept for the last ``g``: every trial of an iteration solves with the
        gradient of its iterate, whose dual norm needed the same solve."""
        if g is self._last[0]:
            return self._last[1]
        if self._chol is not None:
            inverse = cho_solve(self._chol, g)
        else:
            inverse = self.vectors @ ((self.vectors.T @ g) / self.scale)
        self._last = (g, inverse)
        return inverse

    def dual_norm(self, g):
        """``||g||_* = <g, B^{-1} g>^{1/2}``."""
        return max(float(g @ self.inverse(g)), 0.0) ** 0.5

    def solve(self, g, lam):
        if self._chol is not None:
            return self.inverse(g) / (1 + lam)
        # Pencil eigenvalues lie in [-1, 1]: below this margin the shifted system is singular
        # to rounding.
        if self._ratio_min + lam <= 1e-12:
            return None
        return self.vectors @ ((self.vectors.T @ g) / (self.values + lam * self.scale))
