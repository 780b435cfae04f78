"""The result type and the one table of termination statuses shared by every numopt solver."""

from enum import IntEnum

import numpy as np
from scipy.optimize import OptimizeResult as _ScipyOptimizeResult

__all__ = ["OptimizeResult", "Status", "make_result"]


class Status(IntEnum):
    """Termination status of a numopt solver.

    ``0`` means converged; a positive value means the run stopped without converging; a negative
    value means it failed. Each member carries its message (``Status.MAXITER.message``).
    """

    CONVERGED = 0
    MAXITER = 1
    STALLED = 2
    INNER_BUDGET = 3
    TIME_LIMIT = 4
    CALLBACK = 99
    NONFINITE = -1
    LINALG = -2
    INFEASIBLE = -3
    NOT_CERTIFIED = -4

    @property
    def message(self):
        return _MESSAGES[self]


_MESSAGES = {
    Status.CONVERGED: "Optimization terminated successfully.",
    Status.MAXITER: "Maximum number of iterations has been exceeded.",
    Status.STALLED: "No further progress could be made (the step or line search stalled).",
    Status.INNER_BUDGET: "The inner solver's iteration budget was exhausted.",
    Status.TIME_LIMIT: "The time limit was reached.",
    Status.CALLBACK: "`callback` raised `StopIteration`.",
    Status.NONFINITE: ("Non-finite values (NaN or inf) were met; the last finite iterate is "
                       "returned."),
    Status.LINALG: "A linear algebra operation failed (singular or indefinite system).",
    Status.INFEASIBLE: "The problem or its starting point is infeasible.",
    Status.NOT_CERTIFIED: "No certificate could be established.",
}


class OptimizeResult(_ScipyOptimizeResult):
    """Result of a numopt solver: a :class:`scipy.optimize.OptimizeResult` with a few extra keys.

    Besides SciPy's keys (``x``, ``fun``, ``success``, ``status``, ``message``, ``nit``, ``nfev``,
    ...) every numopt result has ``backend`` (the name of the array backend used), ``time``
    (wall-clock seconds of the solve) and ``history`` (a dict of 1-D NumPy arrays recorded during
    the run, at least ``nit`` and ``time``).

    Examples
    --------
    >>> from numopt import OptimizeResult
    >>> from scipy.optimize import OptimizeResult as ScipyResult
    >>> res = OptimizeResult(x=[1.0], fun=0.0, success=True)
    >>> isinstance(res, ScipyResult)
    True
    >>> res.fun
    0.0

    The repr is SciPy's, with the history summarised by its keys and length (the arrays stay in
    ``res.history``):

    >>> import numpy as np
    >>> res = OptimizeResult(x=np.array([1.0, 2.0]), fun=0.5, success=True,
    ...                      history={"nit": np.arange(3), "fun": np.array([2.0, 1.0, 0.5])})
    >>> print(res)
     success: True
         fun: 0.5
           x: [ 1.000e+00  2.000e+00]
     history: 3 records of nit, fun
    """

    def __repr__(self):
        history = self.get("history")
        if not isinstance(history, dict):
            return super().__repr__()
        # SciPy's printer recurses into dict values: a history of k arrays would take dozens of
        # lines. A plain copy of the result with a one-line summary in its place prints compactly.
        shown = _ScipyOptimizeResult(self)
        shown["history"] = _history_summary(history)
        return repr(shown)


def _history_summary(history):
    """``"<length> records of <keys>"``, or the records per key when the lengths differ."""
    lengths = {key: np.size(values) for key, values in history.items()}
    if not lengths:
        return "empty"
    if len(set(lengths.values())) == 1:
        return f"{next(iter(lengths.values()))} records of {', '.join(map(str, lengths))}"
    return "records per key: " + ", ".join(f"{key} {length}" for key, length in lengths.items())


def make_result(status, *, backend, time, history, message=None, **fields):
    """Build an :class:`OptimizeResult` with ``success``/``status``/``message`` from ``status``.

    Parameters
    ----------
    status : Status or int
        Termination status.
    backend : str
        Name of the backend that ran the solve.
    time : float
        Wall-clock seconds.
    history : dict of array_like
        Recorded per-iteration values; converted to 1-D NumPy arrays.
    message : str, optional
        Replaces the status's default message when given (a solver may say more).
    **fields
        Any other result keys (``x``, ``fun``, ``nit``, ...).

    Returns
    -------
    OptimizeResult
    """
    status = Status(status)
    history = {key: np.asarray(values).ravel() for key, values in history.items()}
    return OptimizeResult(success=status == Status.CONVERGED, status=int(status),
                          message=message or status.message, backend=backend, time=float(time),
                          history=history, **fields)
