"""SciPy constraint objects as checked records: the one parser of every constrained solver.

:func:`parse_constraints` turns what a user passes as ``constraints`` (a
`scipy.optimize.NonlinearConstraint`, a `scipy.optimize.LinearConstraint`, a SciPy dict
``{"type": "eq" | "ineq", "fun": ..., "jac": ..., "args": ...}``, or a sequence of them) into a
list of :class:`Constraint` records ``lb <= c(v) <= ub``. Each solver builds its own evaluation
structures from the records; the checks, and so the error raised for a given mistake, are the same
for all of them:

- ``TypeError``: an object that is not a constraint, a non-callable ``fun`` or ``jac``;
- ``ValueError``: a dict ``type`` other than ``"eq"``/``"ineq"``, a matrix of the wrong shape or
  with non-finite entries, NaN bounds, bounds of incompatible shapes, ``lb > ub``.

Every message names the offending entry as ``constraints[i]`` (its position in the sequence).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Constraint", "parse_constraints"]


@dataclass(frozen=True, eq=False)
class Constraint:
    """One user constraint ``lb <= c(v) <= ub``, checked.

    Attributes
    ----------
    kind : {"linear", "nonlinear"}
        ``"linear"``: ``c(v) = A @ v``; ``"nonlinear"``: ``c(v) = fun(v)``.
    label : str
        How messages name it: ``"constraints[i]"``.
    lb, ub : ndarray, shape (k,) or (1,)
        Bounds, finite or infinite, ``lb <= ub``. For a linear constraint ``k`` is the number of
        rows of ``A``; for a nonlinear one the bounds are as given (length 1 broadcasts) since the
        number of rows is known only once ``fun`` has been evaluated (see :meth:`sides`).
    is_equality : ndarray of bool
        ``lb == ub`` row by row (same shape as ``lb``).
    fun, jac : callable or None
        ``fun(v) -> (k,)`` and ``jac(v) -> (k, n)`` of a nonlinear constraint (a dict's ``args``
        already bound); None for a linear one.
    hess : callable or None
        ``hess(v, weights) -> (n, n)`` of a `NonlinearConstraint` that has a callable one.
    A : ndarray or scipy.sparse.csr_matrix or None
        The float matrix of a linear constraint, shape ``(k, n)``.
    """

    kind: str
    label: str
    lb: np.ndarray
    ub: np.ndarray
    is_equality: np.ndarray
    fun: Callable | None = None
    jac: Callable | None = None
    hess: Callable | None = None
    A: Any = None

    def sides(self, count):
        """``(lb, ub)`` broadcast to ``count`` rows (a ``ValueError`` if they do not fit)."""
        return _broadcast_bounds(self.lb, self.ub, count, self.label)


def _describe(value):
    return repr(value) if isinstance(value, str) or value is None else type(value).__name__


def _check_fun(value, name):
    if not callable(value):
        raise TypeError(f"`{name}` must be callable; got {_describe(value)}.")
    return value


def _check_jac(value, name):
    if not callable(value):
        raise TypeError(f"`{name}` must be a callable returning the Jacobian; got "
                        f"{_describe(value)} (constraint Jacobians are not approximated by "
                        f"differences).")
    return value


def _broadcast_bounds(lb, ub, count, label):
    """``lb``/``ub`` as float arrays broadcast together (and to ``count`` rows when given)."""
    arrays = []
    for value, name in ((lb, "lb"), (ub, "ub")):
        array = np.atleast_1d(np.asarray(value, dtype=float))
        if array.ndim > 1:
            raise ValueError(f"`{label}.{name}` must be a scalar or a 1-D array; got shape "
                             f"{array.shape}.")
        if np.isnan(array).any():
            raise ValueError(f"`{label}.{name}` must not contain NaN.")
        arrays.append(array)
    shape = (count,) if count is not None else None
    try:
        if shape is None:
            lower, upper = np.broadcast_arrays(*arrays)
        else:
            lower, upper = (np.broadcast_to(array, shape) for array in arrays)
    except ValueError:
        expected = f"length {count} (or 1)" if count is not None else "matching lengths"
        raise ValueError(f"`{label}.lb` and `{label}.ub` must have {expected}; got shapes "
                         f"{arrays[0].shape} and {arrays[1].shape}.") from None
    if (lower > upper).any():
        raise ValueError(f"`{label}` must have lb <= ub in every row.")
    return lower.copy(), upper.copy()


def _matrix(A, n, label, acts_on):
    """A LinearConstraint's ``A`` as a finite float ndarray or CSR matrix with ``n`` columns."""
    from scipy import sparse

    if sparse.issparse(A):
        matrix = sparse.csr_matrix(A, dtype=float)
        values = matrix.data
    else:
        matrix = np.atleast_2d(np.asarray(A, dtype=float))
        values = matrix
    if matrix.ndim != 2 or matrix.shape[1] != n:
        raise ValueError(f"`{label}.A` must have shape (k, {n}) (it acts on {acts_on}); got "
                         f"shape {matrix.shape}.")
    if not np.isfinite(values).all():
        raise ValueError(f"`{label}.A` must contain only finite values.")
    return matrix


def _record(item, n, label, acts_on):
    from scipy.optimize import LinearConstraint, NonlinearConstraint

    if isinstance(item, LinearConstraint):
        A = _matrix(item.A, n, label, acts_on)
        lb, ub = _broadcast_bounds(item.lb, item.ub, A.shape[0], label)
        return Constraint("linear", label, lb, ub, lb == ub, A=A)
    if isinstance(item, NonlinearConstraint):
        fun = _check_fun(item.fun, f"{label}.fun")
        jac = _check_jac(item.jac, f"{label}.jac")
        lb, ub = _broadcast_bounds(item.lb, item.ub, None, label)
        hess = item.hess if callable(item.hess) else None
        return Constraint("nonlinear", label, lb, ub, lb == ub, fun=fun, jac=jac, hess=hess)
    if isinstance(item, dict):
        kind = item.get("type")
        if kind not in ("eq", "ineq"):
            raise ValueError(f"`{label}['type']` must be 'eq' or 'ineq'; got {kind!r}.")
        fun = _check_fun(item.get("fun"), f"{label}['fun']")
        jac = _check_jac(item.get("jac"), f"{label}['jac']")
        extra = tuple(item.get("args", ()))
        # SciPy's "ineq" means fun(v) >= 0.
        lb, ub = np.zeros(1), (np.zeros(1) if kind == "eq" else np.full(1, np.inf))
        return Constraint("nonlinear", label, lb, ub, lb == ub,
                          fun=lambda v: fun(v, *extra), jac=lambda v: jac(v, *extra))
    raise TypeError(f"`{label}` must be a LinearConstraint, NonlinearConstraint or dict; got "
                    f"{type(item).__name__}.")


def parse_constraints(constraints, n, *, acts_on="x"):
    """Check SciPy-style constraints and return them as :class:`Constraint` records.

    Parameters
    ----------
    constraints : constraint, sequence of constraints or None
        `scipy.optimize.LinearConstraint`, `scipy.optimize.NonlinearConstraint` (with a callable
        ``jac``) or dicts ``{"type": "eq" | "ineq", "fun": fun, "jac": jac, "args": args}``.
    n : int
        Length of the vector the constraints act on (the columns of a linear ``A``).
    acts_on : str
        How messages describe that vector (``"x"``, ``"w = [x, y]"``).

    Returns
    -------
    list of Constraint
        In the order given; empty for None or an empty sequence.

    Raises
    ------
    TypeError
        An entry that is not a constraint, or a ``fun``/``jac`` that is not callable.
    ValueError
        A dict ``type`` other than ``"eq"``/``"ineq"``, a mis-shaped or non-finite ``A``, NaN
        bounds, bounds of incompatible shapes, or ``lb > ub``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import LinearConstraint
    >>> from numopt._core.constraints import parse_constraints
    >>> rows = parse_constraints([LinearConstraint([[1.0, 1.0]], 1.0, 1.0),
    ...                           {"type": "ineq", "fun": lambda x: x, "jac": np.eye}], 2)
    >>> [(row.kind, row.label, row.is_equality.tolist()) for row in rows]
    [('linear', 'constraints[0]', [True]), ('nonlinear', 'constraints[1]', [False])]
    >>> parse_constraints({"type": "eq", "fun": lambda x: x}, 2)
    Traceback (most recent call last):
    ...
    TypeError: `constraints[0]['jac']` must be a callable returning the Jacobian; got None \
(constraint Jacobians are not approximated by differences).
    """
    from scipy.optimize import LinearConstraint, NonlinearConstraint

    if constraints is None:
        return []
    if isinstance(constraints, (dict, LinearConstraint, NonlinearConstraint)):
        constraints = [constraints]
    if not isinstance(constraints, (list, tuple)):
        raise TypeError(f"`constraints` must be a LinearConstraint, NonlinearConstraint, dict or "
                        f"a list of them; got {type(constraints).__name__}.")
    return [_record(item, n, f"constraints[{index}]", acts_on)
            for index, item in enumerate(constraints)]
