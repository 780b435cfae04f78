"""The problem type shared by the classic, CUTEst (S2MPJ) and user-built test problems."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Problem"]


@dataclass(frozen=True, eq=False)
class Problem:
    """A smooth test problem ``min f(x)`` or ``min f(x) s.t. c(x) = 0`` with exact derivatives.

    Parameters
    ----------
    name : str
        Short name, e.g. ``"HS28"``.
    fun : callable
        ``fun(x) -> float``, the objective.
    jac : callable
        ``jac(x) -> ndarray, shape (n,)``, its gradient.
    hess : callable
        ``hess(x) -> ndarray, shape (n, n)``, its Hessian.
    x0 : ndarray, shape (n,)
        The standard starting point (stored read-only; copy it before changing it).
    hessp : callable, optional
        ``hessp(x, p) -> ndarray, shape (n,)``, the Hessian times a vector; defaults to
        ``hess(x) @ p``.
    constraints : scipy.optimize.NonlinearConstraint, optional
        Equality constraints ``c(x) = 0`` as ``NonlinearConstraint(c, 0, 0, jac=J, hess=H)``:
        ``J(x)`` is the ``(m, n)`` Jacobian and ``H(x, v)`` is ``sum_i v_i hess c_i(x)``, shape
        ``(n, n)``, SciPy's convention. ``None`` for an unconstrained problem.
    x_opt : ndarray, shape (n,), optional
        A known minimiser, when one is known.
    f_opt : float, optional
        The known optimal value, when one is known.
    source : str
        Where the problem and its optimum come from (literature reference or "S2MPJ").

    Attributes
    ----------
    n : int
        Number of variables.
    m : int
        Number of equality constraints (0 when unconstrained).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import minimize
    >>> from numopt.problems import hs28
    >>> problem = hs28()
    >>> problem.n, problem.m, problem.f_opt
    (3, 1, 0.0)
    >>> result = minimize(**problem.minimize_kwargs(), method="trust-constr", tol=1e-10)
    >>> bool(np.allclose(result.x, problem.x_opt, atol=1e-6))
    True
    """

    name: str
    fun: Callable
    jac: Callable
    hess: Callable
    x0: np.ndarray
    hessp: Callable | None = None
    constraints: Any = None
    x_opt: np.ndarray | None = None
    f_opt: float | None = None
    source: str = ""
    m: int = field(init=False)

    def __post_init__(self):
        x0 = np.array(self.x0, dtype=np.float64)
        x0.setflags(write=False)
        object.__setattr__(self, "x0", x0)
        if self.x_opt is not None:
            x_opt = np.array(self.x_opt, dtype=np.float64)
            x_opt.setflags(write=False)
            object.__setattr__(self, "x_opt", x_opt)
        if self.f_opt is not None:
            object.__setattr__(self, "f_opt", float(self.f_opt))
        if self.hessp is None:
            object.__setattr__(self, "hessp", self._hessp_from_hess)
        m = 0 if self.constraints is None else int(np.size(self.constraints.fun(x0)))
        object.__setattr__(self, "m", m)

    def _hessp_from_hess(self, x, p):
        return self.hess(x) @ np.asarray(p, dtype=np.float64)

    @property
    def n(self):
        """Number of variables."""
        return self.x0.size

    def minimize_kwargs(self):
        """Keyword arguments for ``scipy.optimize.minimize`` / ``numopt.minimize``.

        Returns
        -------
        dict
            ``fun``, ``x0`` (a writable copy), ``jac``, ``hess`` and, for a constrained problem,
            ``constraints``.

        Examples
        --------
        >>> from numopt.problems import rosenbrock
        >>> sorted(rosenbrock(2).minimize_kwargs())
        ['fun', 'hess', 'jac', 'x0']
        """
        kwargs = {"fun": self.fun, "x0": self.x0.copy(), "jac": self.jac, "hess": self.hess}
        if self.constraints is not None:
            kwargs["constraints"] = self.constraints
        return kwargs

    def __repr__(self):
        return f"Problem({self.name!r}, n={self.n}, m={self.m}, f_opt={self.f_opt!r})"
