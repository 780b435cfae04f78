"""A problem with bounds, equalities and inequalities as ``c(x) = 0``, ``h(x) <= 0`` (counted).

Every SciPy constraint record ``lb <= s(x) <= ub`` (see :mod:`numopt._core.constraints`) and the
``bounds`` (a linear block ``x_j`` on the coordinates with a finite bound) are stacked into one
function ``s(x)`` with Jacobian ``J(x)``. Rows with ``lb == ub`` give equalities
``c = s_E - lb_E``; a finite ``ub`` of a row with ``lb < ub`` gives ``s_U - ub_U <= 0`` and a
finite ``lb`` gives ``lb_L - s_L <= 0``. Multipliers ``lambda`` (equalities) and ``mu >= 0``
(inequalities) are folded back into one weight per row of ``s``,
``v = lambda (on E) + mu_U (on U) - mu_L (on L)``, so that ``grad_x L = grad f + J^T v``: the
sign convention of the result (``v >= 0`` at an active upper side, ``v <= 0`` at an active lower
side).
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import HessianUpdateStrategy
from scipy.optimize._numdiff import approx_derivative

from numopt._core.constraints import parse_constraints
from numopt._core.validation import check_callable, check_function_output
from numopt.constrained._functions import (
    _forward_difference,
    _second_derivative,
    _weighted_jacobian,
    _with_callable_derivatives,
)

__all__ = ["InequalityProblem", "has_inequalities", "parse_bounds"]

SOLVER = "minimize(method='exact-alm')"


def has_inequalities(constraints, n):
    """True when a constraint has a row with ``lb < ub`` (what the equality path rejects).

    Examples
    --------
    >>> from scipy.optimize import LinearConstraint
    >>> from numopt.constrained._inequality import has_inequalities
    >>> has_inequalities(LinearConstraint([[1.0, 1.0]], 0.0, 1.0), 2)
    True
    """
    # SciPy's derivative spellings ("2-point" Jacobians, BFGS() Hessians) resolved first, as the
    # equality path does, so that a constraint it accepts is not rejected here
    records = parse_constraints(_with_callable_derivatives(constraints)[0], n)
    return any(not np.all(record.is_equality) for record in records)


def parse_bounds(bounds, n):
    """``bounds`` (SciPy ``Bounds`` or ``n`` pairs, None meaning no bound) as ``(lb, ub)``.

    Examples
    --------
    >>> from numopt.constrained._inequality import parse_bounds
    >>> parse_bounds([(0, None), (None, 2)], 2)
    (array([  0., -inf]), array([inf,  2.]))
    """
    from scipy.optimize import Bounds

    if isinstance(bounds, Bounds):
        pairs = (bounds.lb, bounds.ub)
    else:
        try:
            rows = [(-np.inf if low is None else low, np.inf if high is None else high)
                    for low, high in bounds]
        except (TypeError, ValueError):
            raise TypeError(f"`bounds` must be a scipy.optimize.Bounds or a sequence of {n} "
                            f"(min, max) pairs; got {type(bounds).__name__}.") from None
        if len(rows) != n:
            raise ValueError(f"`bounds` must have {n} (min, max) pairs, one per variable; got "
                             f"{len(rows)}.")
        pairs = tuple(np.array([row[side] for row in rows], dtype=float) for side in (0, 1))
    try:
        lower, upper = (np.broadcast_to(np.asarray(side, dtype=float), (n,)).copy()
                        for side in pairs)
    except ValueError:
        raise ValueError(f"`bounds` must give one lower and one upper bound per variable ({n}); "
                         f"got shapes {np.shape(pairs[0])} and {np.shape(pairs[1])}.") from None
    if np.isnan(lower).any() or np.isnan(upper).any() or (lower > upper).any():
        raise ValueError("`bounds` must have lb <= ub for every variable, without NaN.")
    return lower, upper


@dataclass(frozen=True)
class _Block:
    """One record's rows inside the stacked ``s(x)``: ``rows = slice(start, start + size)``;
    ``hess`` is the record's callable ``hess(x, v)``, a finite-difference scheme or None."""

    record: object
    start: int
    size: int
    hess: object = None

    @property
    def rows(self):
        return slice(self.start, self.start + self.size)


@dataclass
class Evaluation:
    """``f``, ``grad f``, ``c``, ``G``, ``h``, ``H`` at one ``x`` (``G``, ``H`` dense), and the
    stacked ``s(x)``, ``J(x)`` they come from."""

    f: float
    g: np.ndarray
    c: np.ndarray
    G: np.ndarray
    h: np.ndarray
    H: np.ndarray
    s: np.ndarray
    J: np.ndarray

    def finite(self):
        return bool(np.isfinite(self.f) and all(np.isfinite(part).all() for part in
                                                (self.g, self.c, self.G, self.h, self.H)))


class InequalityProblem:
    """``min f(x) s.t. c(x) = 0, h(x) <= 0`` from SciPy-style arguments, with counters.

    Parameters
    ----------
    fun, jac, hess, hessp, args :
        As in :func:`scipy.optimize.minimize` (``jac=True``: ``fun`` returns ``(f, grad)``);
        ``hess`` a callable, a finite-difference scheme of ``jac``, a HessianUpdateStrategy
        (forward differences are used instead) or None.
    bounds : scipy.optimize.Bounds, sequence of pairs or None
    constraints :
        SciPy constraints (equalities and inequalities), with the derivative spellings of the
        equality path (a ``"2-point"``/``"3-point"``/``"cs"`` Jacobian, a callable or
        finite-difference ``hess`` or None); a quasi-Newton ``hess`` (``BFGS()``, SciPy's
        default, or ``SR1()``) is replaced by forward differences, as is the objective's.
    x0 : ndarray, shape (n,)
        Used once to learn the number of rows of each nonlinear constraint.
    """

    def __init__(self, fun, jac, hess, hessp, args, bounds, constraints, x0):
        from scipy.optimize import LinearConstraint

        check_callable(fun, "fun", SOLVER)
        if jac is None or not (jac is True or callable(jac)):
            raise ValueError(f"{SOLVER} needs the gradient: pass `jac` as a callable or jac=True "
                             f"(fun returns (f, grad)); got jac={jac!r}.")
        check_callable(hessp, "hessp", SOLVER, optional=True)
        n = x0.size
        self.fun, self.jac, self.args, self.n = fun, jac, tuple(args), n
        self.hess = _without_quasi_newton(_second_derivative(hess, "hess"))
        self.hessp = hessp
        prepared, hessians = _with_callable_derivatives(constraints)
        records = parse_constraints(prepared, n)
        hessians = [record.hess if record.hess is not None else _without_quasi_newton(hessian)
                    for record, hessian in zip(records, hessians or [None] * len(records),
                                               strict=True)]
        self.n_user = len(records)
        self.bound_columns = None
        if bounds is not None:
            lower, upper = parse_bounds(bounds, n)
            columns = np.flatnonzero(np.isfinite(lower) | np.isfinite(upper))
            self.bound_columns = columns
            if columns.size:
                records += parse_constraints(LinearConstraint(np.eye(n)[columns], lower[columns],
                                                              upper[columns]), n)
                hessians.append(None)
        self.nfev = self.njev = self.nhev = 0
        self.constr_nfev = self.constr_njev = self.constr_nhev = 0
        self._cache = (None, None)
        self._layout(records, hessians, x0)

    def _layout(self, records, hessians, x0):
        """Row counts of the records and the index sets ``E``, ``U``, ``L`` of the stacked rows."""
        blocks, start, lows, highs = [], 0, [], []
        for record, hessian in zip(records, hessians, strict=True):
            size = record.A.shape[0] if record.kind == "linear" else np.atleast_1d(
                check_function_output(record.fun(x0), f"{record.label} fun", None)).size
            low, high = record.sides(size)
            blocks.append(_Block(record, start, size, hessian))
            lows.append(low)
            highs.append(high)
            start += size
        self.blocks = blocks
        self.lb = np.concatenate(lows) if lows else np.empty(0)
        self.ub = np.concatenate(highs) if highs else np.empty(0)
        two_sided = self.lb < self.ub
        self.E = np.flatnonzero(~two_sided)
        self.U = np.flatnonzero(two_sided & np.isfinite(self.ub))
        self.L = np.flatnonzero(two_sided & np.isfinite(self.lb))
        if not np.all(np.isfinite(self.lb[self.E])):
            raise ValueError(f"{SOLVER}: a constraint row with lb == ub must be finite; got "
                             f"lb = ub = {self.lb[self.E][~np.isfinite(self.lb[self.E])][0]}.")

    @property
    def sizes(self):
        """``(m_equality, m_inequality)``."""
        return self.E.size, self.U.size + self.L.size

    # functions -------------------------------------------------------------------------------
    def _objective(self, x):
        self.nfev += 1
        value = self.fun(x, *self.args)
        if self.jac is True:
            value, grad = value
            self.njev += 1
            self._cache = (np.copy(x), check_function_output(grad, "jac", (self.n,)))
        return float(check_function_output(value, "fun", ()))

    def _gradient(self, x):
        if self.jac is True:
            if self._cache[0] is None or not np.array_equal(self._cache[0], x):
                self._objective(x)
            return self._cache[1]
        self.njev += 1
        return check_function_output(self.jac(x, *self.args), "jac", (self.n,))

    def _stacked(self, x):
        """``s(x)`` and ``J(x)`` (dense) of all records."""
        self.constr_nfev += 1
        self.constr_njev += 1
        values, rows = [], []
        for block in self.blocks:
            record = block.record
            if record.kind == "linear":
                values.append(np.asarray(record.A @ x, dtype=float).ravel())
                rows.append(_dense(record.A))
                continue
            values.append(check_function_output(np.atleast_1d(record.fun(x)),
                                                f"{record.label} fun", (block.size,)))
            rows.append(check_function_output(_dense(record.jac(x)), f"{record.label} jac",
                                              None).reshape(block.size, self.n))
        if not values:
            return np.empty(0), np.empty((0, self.n))
        return np.concatenate(values), np.vstack(rows)

    def evaluate(self, x):
        """Everything first order at ``x`` as an :class:`Evaluation`."""
        f = self._objective(x)
        g = self._gradient(x)
        s, J = self._stacked(x)
        c = s[self.E] - self.lb[self.E]
        h = np.concatenate([s[self.U] - self.ub[self.U], self.lb[self.L] - s[self.L]])
        H = np.vstack([J[self.U], -J[self.L]])
        return Evaluation(f, g, c, J[self.E], h, H, s, J)

    def row_weights(self, multipliers, inequality):
        """``v`` on the stacked rows from ``lambda`` (equalities) and ``mu`` (inequalities)."""
        v = np.zeros(self.lb.size)
        v[self.E] += multipliers
        v[self.U] += inequality[:self.U.size]
        v[self.L] -= inequality[self.U.size:]
        return v

    # second order ----------------------------------------------------------------------------
    def lagrangian_hessian(self, x, v):
        """``grad^2 f + sum_i v_i grad^2 s_i`` (dense), forward differences where not given.

        Blocks whose weights are all zero (inactive inequalities) cost nothing.
        """
        self.nhev += 1
        self.constr_nhev += 1
        total = self._objective_hessian(x)
        missing = []
        for block in self.blocks:
            record, weights = block.record, v[block.rows]
            if record.kind == "linear" or not np.any(weights):
                continue
            if callable(block.hess):
                total = total + _dense(block.hess(x, weights)).reshape(self.n, self.n)
            elif isinstance(block.hess, str):
                differenced = approx_derivative(
                    _weighted_jacobian([(record.jac, block.size, weights)], self.n), x,
                    method=block.hess)
                total = total + 0.5 * (differenced + differenced.T)
            else:
                missing.append((record.jac, block.size, weights))
        if missing:
            total = total + _forward_difference(_weighted_jacobian(missing, self.n), x)
        return total

    def _objective_hessian(self, x):
        """``grad^2 f(x)`` (dense) from ``hess`` (callable or scheme), ``hessp`` or differences."""
        n = self.n
        if callable(self.hess):
            return _dense(self.hess(x, *self.args)).reshape(n, n).astype(float)
        if isinstance(self.hess, str):
            differenced = approx_derivative(self._raw_gradient, x, method=self.hess,
                                            f0=self._gradient(x))
            return 0.5 * (differenced + differenced.T)
        if self.hessp is not None:
            return np.column_stack([check_function_output(self.hessp(x, column, *self.args),
                                                          "hessp", (n,)) for column in np.eye(n)])
        return _forward_difference(self._gradient, x)

    def _raw_gradient(self, x):
        """``grad f(x)`` for differencing: counted, not cast to float (complex steps)."""
        self.njev += 1
        if self.jac is True:
            self.nfev += 1
            return np.asarray(self.fun(x, *self.args)[1])
        return np.asarray(self.jac(x, *self.args))

    def split(self, v):
        """``v`` per user constraint (a list) and the bound multipliers (shape (n,) or None)."""
        if self.bound_columns is None:
            return self.per_constraint(v), None
        bound = np.zeros(self.n)
        if self.bound_columns.size:
            bound[self.bound_columns] = v[self.blocks[-1].rows]
        return self.per_constraint(v), bound

    def per_constraint(self, stacked):
        """Rows of a stacked array (``s``, ``J`` or ``v``) as a list, one per user constraint."""
        return [stacked[block.rows] for block in self.blocks[:self.n_user]]


def _without_quasi_newton(hessian):
    """A ``HessianUpdateStrategy`` (SciPy's default ``hess`` of a ``NonlinearConstraint``) as
    None: forward differences of the first derivative. The active-set step and the merit's
    gradient need the Lagrangian's Hessian at every point (with a quasi-Newton ``W`` the merit
    gradient is not exact and the line search fails, as measured on the equality path)."""
    return None if isinstance(hessian, HessianUpdateStrategy) else hessian


def _dense(matrix):
    """A user matrix (ndarray, sparse or LinearOperator) as a float ndarray."""
    if hasattr(matrix, "toarray"):
        return matrix.toarray()
    if hasattr(matrix, "matmat") and not isinstance(matrix, np.ndarray):
        return np.asarray(matrix.matmat(np.eye(matrix.shape[1])), dtype=float)
    return np.asarray(matrix, dtype=float)


