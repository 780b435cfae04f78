"""User functions of an equality-constrained problem, checked, counted and stacked.

:class:`EqualityProblem` turns SciPy's ``fun``/``jac``/``hess``/``hessp`` and ``constraints``
(``NonlinearConstraint``, ``LinearConstraint`` or ``{"type": "eq", ...}`` dicts) into the pieces
the exact augmented Lagrangian needs: ``f``, ``grad f``, the stacked constraint values ``c`` and
Jacobian ``G`` (dense or CSR), and the Hessian of the Lagrangian
``W = grad^2 f + sum_i lambda_i grad^2 c_i`` (dense or CSR).

Derivatives follow SciPy's ``trust-constr`` conventions: a constraint ``jac`` may be a callable or
a finite-difference scheme (``"2-point"``, ``"3-point"``, ``"cs"``); a ``hess`` (objective or
constraint) may be a callable, a finite-difference scheme or a
:class:`scipy.optimize.HessianUpdateStrategy` (``BFGS()``, ``SR1()``), updated after every
accepted step. A missing second derivative (``None``) is replaced by forward differences of the
first one.
"""

import numpy as np
from scipy.optimize import HessianUpdateStrategy, LinearConstraint, NonlinearConstraint
from scipy.optimize._numdiff import approx_derivative

from numopt._core.constraints import parse_constraints as _parse_records
from numopt._core.validation import check_array, check_callable, check_function_output

__all__ = ["EqualityProblem", "parse_constraints"]

SOLVER = "minimize(method='exact-alm')"
FD_METHODS = ("2-point", "3-point", "cs")


def _second_derivative(value, name):
    """Check a ``hess``: callable, a scheme of :data:`FD_METHODS`, a HessianUpdateStrategy or
    None; returned unchanged."""
    if isinstance(value, type) and issubclass(value, HessianUpdateStrategy):
        raise TypeError(f"`{name}` of {SOLVER} must be an instance of a HessianUpdateStrategy "
                        f"such as {value.__name__}(); got the type {value.__name__}.")
    if value is None or callable(value) or isinstance(value, HessianUpdateStrategy):
        return value
    if isinstance(value, str):
        if value in FD_METHODS:
            return value
        raise ValueError(f"`{name}` of {SOLVER} must be a callable, one of "
                         f"{', '.join(map(repr, FD_METHODS))}, a HessianUpdateStrategy (BFGS(), "
                         f"SR1()) or None; got {value!r}.")
    raise TypeError(f"`{name}` of {SOLVER} must be a callable, one of "
                    f"{', '.join(map(repr, FD_METHODS))}, a HessianUpdateStrategy (BFGS(), SR1()) "
                    f"or None; got {type(value).__name__}.")


def _differenced_jacobian(fun, method):
    def jac(x):
        return approx_derivative(lambda point: np.atleast_1d(fun(point)).ravel(),
                                 x, method=method)
    return jac


def _with_callable_derivatives(constraints):
    """The constraints with each ``NonlinearConstraint``'s string ``jac`` made a differencing
    callable and its ``hess`` taken out; returns ``(constraints, hess of each entry)``.

    The shared parser accepts callable Jacobians only and drops a non-callable ``hess``, so the
    SciPy spellings it does not know are resolved here, before it runs.
    """
    if isinstance(constraints, (dict, NonlinearConstraint, LinearConstraint)):
        constraints = [constraints]
    if not isinstance(constraints, (list, tuple)):
        return constraints, []  # None or not a constraint: the shared parser decides
    prepared, hessians = [], []
    for index, item in enumerate(constraints):
        if not isinstance(item, NonlinearConstraint):
            prepared.append(item)
            hessians.append(None)
            continue
        label = f"constraints[{index}]"
        jac = item.jac
        if isinstance(jac, str) or jac is None:
            if jac not in FD_METHODS:
                raise (ValueError if isinstance(jac, str) else TypeError)(
                    f"`{label}.jac` of {SOLVER} must be a callable or one of "
                    f"{', '.join(map(repr, FD_METHODS))}; got {jac!r}.")
            jac = _differenced_jacobian(item.fun, jac)
        hess = _second_derivative(item.hess, f"{label}.hess")
        if isinstance(item.jac, str) and isinstance(hess, str):
            # differences of differences lose half the digits twice (SciPy refuses it too)
            raise ValueError(f"`{label}.hess` cannot be {hess!r} when `{label}.jac` is "
                             f"{item.jac!r}; use a HessianUpdateStrategy (BFGS(), SR1()) or None.")
        prepared.append(NonlinearConstraint(item.fun, item.lb, item.ub, jac=jac,
                                            hess=hess if callable(hess) else None))
        hessians.append(hess)
    return prepared, hessians


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

    def __init__(self, record, n, hess=None):
        if record.kind == "linear":
            A = record.A
            self.fun, self.jac = (lambda x: A @ x), (lambda x: A)
            hess = lambda x, v: np.zeros((n, n))  # noqa: E731
        else:
            self.fun, self.jac = record.fun, record.jac
            hess = record.hess if hess is None else hess
        if isinstance(hess, HessianUpdateStrategy):
            hess.initialize(n, "hess")
        # callable, a scheme of FD_METHODS, a HessianUpdateStrategy or None (forward differences)
        self.hess = hess
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
        An object that is not a SciPy constraint, a non-callable ``fun``, a ``jac`` that is
        neither callable nor a finite-difference scheme, or a ``hess`` of another type.
    """
    constraints, hessians = _with_callable_derivatives(constraints)
    records = _parse_records(constraints, n)
    for record in records:
        if not (np.all(np.isfinite(record.lb)) and np.all(record.is_equality)):
            raise ValueError(f"{SOLVER} supports only equality constraints (lb == ub, finite); "
                             f"{record.label} has lb != ub. Reformulate inequalities with slack "
                             f"variables or use method='trust-constr'.")
    if not records:
        raise ValueError(f"{SOLVER} needs at least one equality constraint; for unconstrained "
                         f"problems use a method such as 'trust-exact' or 'gn-newton'.")
    hessians = hessians or [None] * len(records)
    return [_Block(record, n, hess) for record, hess in zip(records, hessians, strict=True)]


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
        self.hess = _second_derivative(hess, "hess")
        if isinstance(self.hess, HessianUpdateStrategy):
            self.hess.initialize(n, "hess")
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
    def _objective_hessian(self, x):
        """``grad^2 f(x)`` from ``hess``, ``hessp`` or differences of the gradient."""
        n = self.n
        if callable(self.hess):
            return _as_matrix(self.hess(x, *self.args), "hess", (n, n))
        if isinstance(self.hess, HessianUpdateStrategy):
            return self.hess.get_matrix()
        if isinstance(self.hess, str):
            differenced = approx_derivative(self._raw_gradient, x, method=self.hess,
                                            f0=self.gradient(x))
            return 0.5 * (differenced + differenced.T)
        if self.hessp is not None:
            identity = np.eye(n)
            return np.column_stack([check_function_output(self.hessp(x, identity[:, j],
                                                                     *self.args), "hessp", (n,))
                                    for j in range(n)])
        return _forward_difference(self.gradient, x)

    def _raw_gradient(self, x):
        """``grad f(x)`` for differencing: counted, not cast to float (complex steps)."""
        self.njev += 1
        if self.jac is True:
            self.nfev += 1
            return np.asarray(self.fun(x, *self.args)[1])
        return np.asarray(self.jac(x, *self.args))

    def lagrangian_hessian(self, x, multipliers):
        """``W = grad^2 f(x) + sum_i lambda_i grad^2 c_i(x)``, shape (n, n), dense or CSR."""
        import scipy.sparse as sp

        self.nhev += 1
        n = self.n
        parts = [self._objective_hessian(x)]
        missing = []
        self.constr_nhev += 1
        for item, weights in zip(self.constraints, self._blocks(multipliers), strict=True):
            if callable(item.hess):
                parts.append(_as_matrix(item.hess(x, weights), f"{item.name} hess", (n, n)))
            elif isinstance(item.hess, HessianUpdateStrategy):
                parts.append(item.hess.get_matrix())
            elif isinstance(item.hess, str):
                differenced = approx_derivative(
                    _weighted_jacobian([(item.jac, item.size, weights)], n), x, method=item.hess)
                parts.append(0.5 * (differenced + differenced.T))
            else:
                missing.append((item.jac, item.size, weights))
        if missing:
            parts.append(_forward_difference(_weighted_jacobian(missing, n), x))
        if any(hasattr(part, "tocsr") for part in parts):
            total = sp.csr_matrix((n, n))
            for part in parts:
                total = total + sp.csr_matrix(part)
            return total.tocsr()
        return np.sum(parts, axis=0)

    def accepted(self, old, new):
        """Update the quasi-Newton Hessians after the step from point ``old`` to ``new``.

        Each point has ``x``, ``g`` (gradient), ``G`` (stacked Jacobian) and ``multipliers``. As
        in SciPy, a constraint's approximation of ``sum_i v_i grad^2 c_i`` is updated with
        ``J(x_new)^T v - J(x_old)^T v`` at the new multipliers ``v``.
        """
        step = new.x - old.x
        if isinstance(self.hess, HessianUpdateStrategy):
            self.hess.update(step, new.g - old.g)
        offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        for index, (item, weights) in enumerate(zip(self.constraints,
                                                     self._blocks(new.multipliers),
                                                     strict=True)):
            if isinstance(item.hess, HessianUpdateStrategy):
                rows = slice(offsets[index], offsets[index + 1])
                change = np.asarray(new.G[rows].T @ weights - old.G[rows].T @ weights).ravel()
                item.hess.update(step, change)

    @property
    def quasi_newton(self):
        """Whether a Hessian (objective or constraint) is a HessianUpdateStrategy."""
        return isinstance(self.hess, HessianUpdateStrategy) or any(
            isinstance(item.hess, HessianUpdateStrategy) for item in self.constraints)

    def _blocks(self, stacked):
        return np.split(np.asarray(stacked), np.cumsum(self.sizes)[:-1])

    def split_multipliers(self, multipliers):
        """The stacked multipliers as a list, one array per constraint (trust-constr's ``v``)."""
        return list(self._blocks(multipliers))

    @staticmethod
    def finite(*values):
        return all(_finite(value) if not np.isscalar(value) else np.isfinite(value)
                   for value in values)


def check_x0(x0):
    """``x0`` as a finite 1-D float64 array."""
    return check_array(x0, "x0", ndim=1, dtype=np.float64)


def _forward_difference(derivative, x):
    """Columns ``(d(x + h e_j) - d(x)) / h`` of the Jacobian of ``derivative``, symmetrised."""
    base = derivative(x)
    columns = np.empty((x.size, x.size))
    for j in range(x.size):
        step = np.sqrt(np.finfo(float).eps) * max(1.0, abs(x[j]))
        shifted = np.array(x, dtype=float)
        shifted[j] += step
        columns[:, j] = (derivative(shifted) - base) / step
    return 0.5 * (columns + columns.T)


def _weighted_jacobian(terms, n):
    """``x -> sum_i J_i(x)^T w_i`` over ``terms = [(jac_i, rows_i, w_i), ...]``, complex-safe (the
    values are not cast to float, so ``"cs"`` differences work)."""
    def weighted_gradient(point):
        total = 0.0
        for jac, rows, weights in terms:
            J = jac(point)
            if not (hasattr(J, "tocsr") or hasattr(J, "matvec")):
                J = np.reshape(J, (rows, n))
            total = total + np.asarray(J.T @ weights).ravel()
        return total
    return weighted_gradient


def minimal_shift(smallest, kkt, options):
    """The shift ``t`` that lifts a reduced Hessian with least eigenvalue ``smallest`` to at
    least ``max(reduced_hessian_tol, min(xi_b, kkt))``: a Levenberg-Marquardt floor that
    vanishes with the KKT residual ``kkt``, used by the equality and the active-set path when
    ``smallest`` is below ``reduced_hessian_tol`` (see ``hessian_shift`` in ``exact_alm``)."""
    return max(options.reduced_hessian_tol, min(options.xi_b, kkt)) - min(smallest, 0.0)
