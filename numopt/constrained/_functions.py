"""User functions of an equality-constrained problem, checked, counted and stacked.

:class:`EqualityProblem` turns SciPy's ``fun``/``jac``/``hess``/``hessp`` and ``constraints``
(``NonlinearConstraint``, ``LinearConstraint`` or ``{"type": "eq", ...}`` dicts) into the pieces
the exact augmented Lagrangian needs: ``f``, ``grad f``, the stacked constraint values ``c`` and
Jacobian ``G`` (dense or CSR), and the Hessian of the Lagrangian
``W = grad^2 f + sum_i lambda_i grad^2 c_i`` (dense or CSR). Missing second derivatives are
replaced by forward differences of the first ones.
"""

import numpy as np

from numopt._core.constraints import parse_constraints as _parse_records
from numopt._core.validation import check_array, check_callable, check_function_output

__all__ = ["EqualityProblem", "parse_constraints"]

SOLVER = "minimize(method='exact-alm')"


def _as_matrix(value, name, shape):
    """A user matrix (ndarray, sparse or LinearOperator) as a float ndarray or CSR of ``shape``."""
    if hasattr(value, "tocsr"):
        matrix = value.tocsr().astype(float)
    elif hasattr(value, "matmat") and not isinstance(value, np.ndarray):
        matrix = np.asarray(value.matmat(np.eye(shape[1])), dtype=float)
    else:
        matrix = check_function_output(value, name, shape if np.ndim(value) == 2 else (shape[1],))
        matrix = matrix.reshape(shape)
    if matrix.shape != tuple(shape):
        raise ValueError(f"`{name}` must return a matrix of shape {tuple(shape)}; got shape "
                         f"{matrix.shape}.")
    return matrix


def _finite(matrix):
    data = matrix.data if hasattr(matrix, "tocsr") else matrix
    return bool(np.isfinite(data).all())


class _Block:
    """One equality block ``fun(x) - target = 0`` with its Jacobian and (optional) Hessian.

    Built from a parsed :class:`numopt._core.constraints.Constraint`; ``size`` is learnt at the
    first evaluation of ``fun``.
    """

    def __init__(self, record, n):
        if record.kind == "linear":
            A = record.A
            self.fun, self.jac = (lambda x: A @ x), (lambda x: A)
            self.hess = lambda x, v: np.zeros((n, n))
        else:
            self.fun, self.jac, self.hess = record.fun, record.jac, record.hess
        self.record, self.name, self.size, self.target = record, record.label, None, record.lb

    def check_size(self, size):
        """Fix the number of rows at the first evaluation; the bounds must fit it."""
        self.target = self.record.sides(size)[0]
        self.size = size


def parse_constraints(constraints, n):
    """SciPy constraints as a list of :class:`_Block` (equalities only).

    Raises
    ------
    ValueError
        An inequality (``lb < ub`` or a dict of type ``"ineq"``), or no constraint at all; and
        what :func:`numopt._core.constraints.parse_constraints` raises.
    TypeError
        An object that is not a SciPy constraint, or a non-callable ``fun`` or ``jac``.
    """
    records = _parse_records(constraints, n)
    for record in records:
        if not (np.all(np.isfinite(record.lb)) and np.all(record.is_equality)):
            raise ValueError(f"{SOLVER} supports only equality constraints (lb == ub, finite); "
                             f"{record.label} has lb != ub. Reformulate inequalities with slack "
                             f"variables or use method='trust-constr'.")
    if not records:
        raise ValueError(f"{SOLVER} needs at least one equality constraint; for unconstrained "
                         f"problems use a method such as 'trust-exact' or 'gn-newton'.")
    return [_Block(record, n) for record in records]


class EqualityProblem:
    """``min f(x) s.t. c(x) = 0`` from SciPy-style arguments, with evaluation counters.

    Parameters
    ----------
    fun, jac, hess, hessp, args :
        As in :func:`scipy.optimize.minimize` (``jac=True``: ``fun`` returns ``(f, grad)``).
    constraints :
        SciPy equality constraints (see :func:`parse_constraints`).
    n : int
        Number of variables.
    """

    def __init__(self, fun, jac, hess, hessp, args, constraints, n):
        check_callable(fun, "fun", SOLVER)
        if jac is None or not (jac is True or callable(jac)):
            raise ValueError(f"{SOLVER} needs the gradient: pass `jac` as a callable or jac=True "
                             f"(fun returns (f, grad)); got jac={jac!r}.")
        check_callable(hessp, "hessp", SOLVER, optional=True)
        self.fun, self.jac, self.args, self.n = fun, jac, tuple(args), n
        self.hess = hess if callable(hess) else None
        self.hessp = hessp
        self.constraints = parse_constraints(constraints, n)
        self.nfev = self.njev = self.nhev = 0
        self.constr_nfev = self.constr_njev = self.constr_nhev = 0
        self._cached_x = None
        self._cached_grad = None

    # first order ---------------------------------------------------------------------------
    def objective(self, x):
        """``f(x)`` as a float (NaN/inf are returned, the solver decides)."""
        self.nfev += 1
        value = self.fun(x, *self.args)
        if self.jac is True:
            value, grad = value
            self.njev += 1
            self._cached_x = np.copy(x)
            self._cached_grad = check_function_output(grad, "jac", (self.n,))
        return float(check_function_output(value, "fun", ()))

    def gradient(self, x):
        """``grad f(x)``, shape (n,)."""
        if self.jac is True:
            if self._cached_x is None or not np.array_equal(self._cached_x, x):
                self.objective(x)
            return self._cached_grad
        self.njev += 1
        return check_function_output(self.jac(x, *self.args), "jac", (self.n,))

    def constraint_values(self, x):
        """Stacked ``c(x)``, shape (m,)."""
        self.constr_nfev += 1
        blocks = []
        for item in self.constraints:
            value = np.atleast_1d(check_function_output(item.fun(x), f"{item.name} fun",
                                                        None)).ravel()
            if item.size is None:
                item.check_size(value.size)
            value = check_function_output(value, f"{item.name} fun", (item.size,))
            blocks.append(value - item.target)
        return np.concatenate(blocks)

    @property
    def sizes(self):
        return [item.size for item in self.constraints]

    def jacobian(self, x):
        """Stacked constraint Jacobian ``G(x)``, shape (m, n), dense or CSR."""
        import scipy.sparse as sp

        self.constr_njev += 1
        blocks = [_as_matrix(item.jac(x), f"{item.name} jac", (item.size, self.n))
                  for item in self.constraints]
        if any(hasattr(block, "tocsr") for block in blocks):
            return sp.vstack([sp.csr_matrix(block) for block in blocks], format="csr")
        return np.vstack(blocks)

    # second order --------------------------------------------------------------------------
    def _forward_difference(self, derivative, x):
        """Columns ``(d(x + h e_j) - d(x)) / h`` of the Jacobian of ``derivative``, symmetrised."""
        base = derivative(x)
        columns = np.empty((self.n, self.n))
        for j in range(self.n):
            step = np.sqrt(np.finfo(float).eps) * max(1.0, abs(x[j]))
            shifted = np.array(x, dtype=float)
            shifted[j] += step
            columns[:, j] = (derivative(shifted) - base) / step
        return 0.5 * (columns + columns.T)

    def lagrangian_hessian(self, x, multipliers):
        """``W = grad^2 f(x) + sum_i lambda_i grad^2 c_i(x)``, shape (n, n), dense or CSR."""
        import scipy.sparse as sp

        self.nhev += 1
        n = self.n
        if self.hess is not None:
            parts = [_as_matrix(self.hess(x, *self.args), "hess", (n, n))]
        elif self.hessp is not None:
            identity = np.eye(n)
            parts = [np.column_stack([check_function_output(self.hessp(x, identity[:, j],
                                                                       *self.args), "hessp", (n,))
                                      for j in range(n)])]
        else:
            parts = [self._forward_difference(self.gradient, x)]
        offset = 0
        missing = []
        self.constr_nhev += 1
        for item in self.constraints:
            weights = multipliers[offset:offset + item.size]
            if item.hess is not None:
                parts.append(_as_matrix(item.hess(x, weights), f"{item.name} hess", (n, n)))
            else:
                missing.append((item, weights))
            offset += item.size
        if missing:
            def weighted_gradient(point):
                return sum(np.asarray(_as_matrix(item.jac(point), f"{item.name} jac",
                                                 (item.size, n)).T @ weights).ravel()
                           for item, weights in missing)
            parts.append(self._forward_difference(weighted_gradient, x))
        if any(hasattr(part, "tocsr") for part in parts):
            total = sp.csr_matrix((n, n))
            for part in parts:
                total = total + sp.csr_matrix(part)
            return total.tocsr()
        return np.sum(parts, axis=0)

    def split_multipliers(self, multipliers):
        """The stacked multipliers as a list, one array per constraint (trust-constr's ``v``)."""
        return list(np.split(np.asarray(multipliers), np.cumsum(self.sizes)[:-1]))

    @staticmethod
    def finite(*values):
        return all(_finite(value) if not np.isscalar(value) else np.isfinite(value)
                   for value in values)


def check_x0(x0):
    """``x0`` as a finite 1-D float64 array."""
    return check_array(x0, "x0", ndim=1, dtype=np.float64)
