"""Problem pieces of :func:`numopt.bilevel_minimize`: level functions, coupled constraints, bounds.

A bilevel problem is

.. math::

    \\min_{x \\in X,\\, y \\in Y} F(x, y) \\quad \\text{s.t.} \\quad
    y \\in \\arg\\min_{y' \\in Y} \\{ f(x, y') : g(x, y') \\le 0,\\ h(x, y') = 0 \\}

with ``X``, ``Y`` boxes and the coupled rows ``g``/``h`` given in SciPy's constraint types acting on
the stacked vector ``w = [x, y]``. This module turns what the user passes into the objects the
iteration needs:

- :class:`LevelFunction`: ``F`` or ``f`` from separate ``fun``, ``grad_x``, ``grad_y`` callables
  (a user may instead pass one callable returning ``(value, grad_x, grad_y)``);
- :class:`BilevelProblem`: a container holding the upper and lower level, constraints and bounds
  (what the test-problem zoo returns; ``bilevel_minimize(**problem.inputs())`` solves it);
- :class:`CoupledConstraints`: every constraint as rows ``G_i(x, y) <= 0`` or ``= 0`` with
  their Jacobians, plus the linear rows in matrix form for the exact projection.
"""

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from numopt._core.constraints import parse_constraints
from numopt._core.validation import check_callable, check_function_output

__all__ = ["LevelFunction", "BilevelProblem", "CoupledConstraints", "evaluate_level",
           "as_bounds"]


class LevelFunction:
    """One level's objective built from separate callables.

    Parameters
    ----------
    fun : callable
        ``fun(x, y) -> float``.
    grad_x, grad_y : callable
        ``grad_x(x, y) -> array (n,)`` and ``grad_y(x, y) -> array (m,)``: the partial gradients.

    Notes
    -----
    Calling the object returns ``(fun(x, y), grad_x(x, y), grad_y(x, y))``, the form
    :func:`numopt.bilevel_minimize` expects; a user may equally pass any callable returning that
    tuple (convenient when the three share work).

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.bilevel.problem import LevelFunction
    >>> f = LevelFunction(lambda x, y: 0.5 * np.sum((y - x) ** 2),
    ...                   lambda x, y: x - y, lambda x, y: y - x)
    >>> value, gx, gy = f(np.zeros(2), np.ones(2))
    >>> float(value), gy.tolist()
    (1.0, [1.0, 1.0])
    """

    def __init__(self, fun, grad_x, grad_y):
        for value, name in ((fun, "fun"), (grad_x, "grad_x"), (grad_y, "grad_y")):
            check_callable(value, name, "LevelFunction")
        self.fun, self.grad_x, self.grad_y = fun, grad_x, grad_y

    def __call__(self, x, y):
        return self.fun(x, y), self.grad_x(x, y), self.grad_y(x, y)


def evaluate_level(function, name, x, y, xp):
    """Call a level function and check its output: ``(value, grad_x, grad_y)`` of the right shapes.

    Non-finite values are returned as they are (the solver turns them into a status); a wrong
    shape or type raises with the function's name.
    """
    output = function(x, y)
    if not isinstance(output, tuple) or len(output) != 3:
        raise TypeError(f"`{name}` must return a tuple (value, grad_x, grad_y); got "
                        f"{type(output).__name__}"
                        f"{'' if not isinstance(output, tuple) else f' of length {len(output)}'}.")
    value = check_function_output(output[0], f"{name} value", (), xp)
    grad_x = check_function_output(output[1], f"{name} grad_x", x.shape, xp)
    grad_y = check_function_output(output[2], f"{name} grad_y", y.shape, xp)
    return value, grad_x, grad_y


def as_bounds(bounds, size, name, xp):
    """``(lower, upper)`` arrays of length ``size`` from None, a pair or `scipy.optimize.Bounds`.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.bilevel.problem import as_bounds
    >>> as_bounds((0.0, None), 2, "x_bounds", np)
    (array([0., 0.]), array([inf, inf]))
    """
    if bounds is None:
        return xp.full(size, -xp.inf), xp.full(size, xp.inf)
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):  # scipy.optimize.Bounds
        pair = (bounds.lb, bounds.ub)
    elif isinstance(bounds, (tuple, list)) and len(bounds) == 2:
        pair = bounds
    else:
        raise TypeError(f"`{name}` must be None, a pair (lower, upper) or scipy.optimize.Bounds; "
                        f"got {type(bounds).__name__}.")
    arrays = []
    for value, default in zip(pair, (-np.inf, np.inf), strict=True):
        array = xp.asarray(default if value is None else value, dtype=float)
        if array.ndim > 1 or (array.ndim == 1 and array.shape[0] != size):
            raise ValueError(f"`{name}` entries must be scalars or arrays of shape ({size},); got "
                             f"shape {array.shape}.")
        if bool(xp.isnan(array).any()):
            raise ValueError(f"`{name}` must not contain NaN.")
        arrays.append(xp.broadcast_to(array, (size,)).copy())
    lower, upper = arrays
    if bool((lower > upper).any()):
        raise ValueError(f"`{name}` must have lower <= upper everywhere.")
    return lower, upper


class CoupledConstraints:
    """The lower level's coupled constraints as rows ``G_i(x, y) <= 0`` (or ``= 0``).

    Accepted (all act on the stacked vector ``w = [x, y]`` of length ``n + m``, as SciPy's
    constraints act on one vector):

    - `scipy.optimize.LinearConstraint` ``lb <= A w <= ub``;
    - `scipy.optimize.NonlinearConstraint` ``lb <= fun(w) <= ub`` with a callable ``jac(w)``
      returning the dense ``(k, n + m)`` Jacobian;
    - SciPy dicts ``{"type": "eq" | "ineq", "fun": fun, "jac": jac}`` (``"ineq"`` means
      ``fun(w) >= 0``, as in SciPy).

    Each two-sided row becomes up to two one-sided rows; ``lb == ub`` rows are equalities.

    Parameters
    ----------
    constraints : constraint or sequence of constraints
    x0, y0 : array
        The starting point: it fixes ``n`` and ``m``, and nonlinear constraints are probed there
        once to learn their number of rows.
    xp : module
        Array namespace.

    Attributes
    ----------
    size : int
        Number of rows ``l``.
    is_equality : array of bool, shape (l,)
    linear : bool
        True when every row is linear; then ``matrix``/``rhs`` hold ``G(w) = matrix @ w - rhs``.

    Raises
    ------
    TypeError, ValueError
        As :func:`numopt._core.constraints.parse_constraints` (the parser exact-alm shares);
        a ``ValueError`` also when a nonlinear ``fun`` returns more than a 1-D array.
    """

    def __init__(self, constraints, x0, y0, xp):
        n, m = x0.shape[0], y0.shape[0]
        self.n, self.m, self.xp = n, m, xp
        self._w0 = xp.concatenate([x0, y0])
        linear_rows, linear_rhs, linear_eq = [], [], []
        self._nonlinear = []  # (fun, jac, signs, (source, offsets, count), is_eq, label) each
        for record in parse_constraints(constraints, n + m, acts_on="w = [x, y]"):
            if record.kind == "linear":
                matrix = self._matrix(record.A, record.label)
                lb, ub = xp.asarray(record.lb), xp.asarray(record.ub)
                for rows, rhs, eq in self._one_sided(matrix, lb, ub):
                    linear_rows.append(rows), linear_rhs.append(rhs), linear_eq.append(eq)
            else:
                self._add_nonlinear(record)
        self._stack_linear(linear_rows, linear_rhs, linear_eq)
        self.linear = not self._nonlinear
        self.size = self.matrix.shape[0] + sum(len(item[2]) for item in self._nonlinear)
        self.is_equality = xp.concatenate(
            [self._linear_eq] + [item[4] for item in self._nonlinear])

    def _stack_linear(self, linear_rows, linear_rhs, linear_eq):
        """``matrix``/``rhs`` of all linear rows (sparse only when every block is sparse)."""
        from scipy import sparse

        xp = self.xp
        if any(sparse.issparse(rows) for rows in linear_rows):
            self.matrix = sparse.vstack([sparse.csr_matrix(rows) for rows in linear_rows]).tocsr()
            if self._nonlinear:  # mixed with dense nonlinear rows: one dense Jacobian
                self.matrix = self.matrix.toarray()
        else:
            self.matrix = (xp.concatenate(linear_rows, axis=0) if linear_rows
                           else xp.zeros((0, self.n + self.m)))
        # The linear rows' Jacobian blocks are constant: split them once.
        self._linear_jx, self._linear_jy = self.matrix[:, :self.n], self.matrix[:, self.n:]
        self.rhs = xp.concatenate(linear_rhs) if linear_rhs else xp.zeros(0)
        self._linear_eq = (xp.concatenate(linear_eq) if linear_eq
                           else xp.zeros(0, dtype=bool))

    def _matrix(self, matrix, label):
        """A parsed (checked) ``A`` in this namespace; SciPy sparse stays sparse on NumPy only."""
        from scipy import sparse

        if sparse.issparse(matrix):  # kept sparse (NumPy only): products cost O(nnz)
            if self.xp is not np:
                raise TypeError(f"`{label}.A` is a SciPy sparse matrix; the CuPy backend needs a "
                                f"dense (CuPy) matrix.")
            return matrix
        return self.xp.asarray(matrix)

    def _one_sided(self, matrix, lb, ub):
        """Split ``lb <= M w <= ub`` into ``(rows, rhs, is_eq)`` blocks with ``rows @ w - rhs``."""
        xp = self.xp
        eq = lb == ub
        upper = xp.isfinite(ub) & ~eq
        lower = xp.isfinite(lb) & ~eq
        return [(matrix[eq], lb[eq], xp.ones(int(eq.sum()), dtype=bool)),
                (matrix[upper], ub[upper], xp.zeros(int(upper.sum()), dtype=bool)),
                (-matrix[lower], -lb[lower], xp.zeros(int(lower.sum()), dtype=bool))]

    def _add_nonlinear(self, record):
        xp = self.xp
        label = record.label
        # The row count is known only after one evaluation, at the starting point.
        probe = xp.asarray(record.fun(self._w0), dtype=float)
        if probe.ndim > 1:
            raise ValueError(f"`{label}.fun` must return a 1-D array; got shape {probe.shape}.")
        count = max(probe.size, 1)
        lb_array, ub_array = (xp.asarray(side) for side in record.sides(count))
        eq = lb_array == ub_array
        upper = xp.isfinite(ub_array) & ~eq
        lower = xp.isfinite(lb_array) & ~eq
        # Row r of the output is sign * fun(w)[source] - sign * offset.
        source = xp.concatenate([xp.flatnonzero(eq), xp.flatnonzero(upper),
                                 xp.flatnonzero(lower)])
        signs = xp.concatenate([xp.ones(int(eq.sum())), xp.ones(int(upper.sum())),
                                -xp.ones(int(lower.sum()))])
        offsets = xp.concatenate([lb_array[eq], ub_array[upper], lb_array[lower]])
        is_eq = xp.concatenate([xp.ones(int(eq.sum()), dtype=bool),
                                xp.zeros(int(upper.sum() + lower.sum()), dtype=bool)])
        self._nonlinear.append((record.fun, record.jac, signs, (source, offsets, count), is_eq,
                                label))

    def evaluate(self, x, y):
        """``(G, J_x, J_y)``: the rows' values ``G(x, y)`` (shape (l,)) and their Jacobians.

        The Jacobians are SciPy sparse matrices when every row is linear and was given sparse.
        """
        xp = self.xp
        w = xp.concatenate([x, y])
        if self.linear:
            return self.matrix @ w - self.rhs, self._linear_jx, self._linear_jy
        values = [self.matrix @ w - self.rhs]
        jacobians = [self.matrix]
        for fun, jac, signs, (source, offsets, count), _, label in self._nonlinear:
            raw = check_function_output(fun(w), f"{label}.fun", (count,), xp)
            raw_jacobian = check_function_output(jac(w), f"{label}.jac",
                                                 (count, self.n + self.m), xp)
            values.append(signs * (raw[source] - offsets))
            jacobians.append(signs[:, None] * raw_jacobian[source])
        values = xp.concatenate(values)
        jacobian = xp.concatenate(jacobians, axis=0)
        return values, jacobian[:, :self.n], jacobian[:, self.n:]


@dataclass
class BilevelProblem:
    """A bilevel problem in the form :func:`numopt.bilevel_minimize` takes, plus what is known.

    Attributes
    ----------
    upper, lower : callable
        ``(x, y) -> (value, grad_x, grad_y)`` for ``F`` and ``f``.
    x0, y0 : array
        Starting point.
    constraints : constraint or sequence
        Coupled lower-level constraints on ``w = [x, y]`` (SciPy types).
    x_bounds, y_bounds : pair or None
        Boxes ``X`` and ``Y``.
    project : callable or None
        ``project(x, y) -> (x, y)`` onto ``C`` for nonlinear constraints.
    name : str
        Short description.
    solution : dict
        Known answers (``x``, ``y``, ``fun``, ``multipliers``...) where there are any.
    extra : dict
        Problem-specific data (the data split of the SVM problem, ...).

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.bilevel.problem import BilevelProblem
    >>> problem = BilevelProblem(
    ...     upper=lambda x, y: (0.5 * ((y - 1) ** 2).sum(), np.zeros(1), y - 1),
    ...     lower=lambda x, y: (0.5 * ((y - x) ** 2).sum(), x - y, y - x),
    ...     x0=np.zeros(1), y0=np.zeros(1))
    >>> from numopt import bilevel_minimize
    >>> res = bilevel_minimize(**problem.inputs(), tol=1e-8)
    >>> np.round(res.x, 4)
    array([1.])
    """

    upper: Any
    lower: Any
    x0: Any
    y0: Any
    constraints: Any = ()
    x_bounds: Any = None
    y_bounds: Any = None
    project: Any = None
    name: str = ""
    solution: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def inputs(self):
        """The arguments of :func:`numopt.bilevel_minimize` for this problem, as a dict.

        ``bilevel_minimize(**problem.inputs(), tol=1e-8)`` solves it; entries may be replaced
        (``{**problem.inputs(), "x0": start}``).
        """
        return {"upper": self.upper, "lower": self.lower, "x0": self.x0, "y0": self.y0,
                "constraints": self.constraints, "x_bounds": self.x_bounds,
                "y_bounds": self.y_bounds, "project": self.project}
