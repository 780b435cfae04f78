"""Driver pieces shared by every solver loop: callbacks, history, the verbose table, the timer.

A solver builds one :class:`IterationMonitor` and calls :meth:`IterationMonitor.record` every
``check_every`` iterations; the monitor records the history, prints the verbose table, calls the
user's callback and reports whether the user asked to stop.
"""

import inspect
import sys
import time

import numpy as np

from numopt._core.result import OptimizeResult, Status, make_result
from numopt._core.validation import check_callable, check_int
from numopt._core.warnings import warn_not_converged

__all__ = ["wrap_callback", "History", "TablePrinter", "IterationMonitor", "Column"]


def wrap_callback(callback, solver="solver"):
    """Turn a user callback into ``stop = wrapped(intermediate_result)``.

    Two styles are accepted, as in :func:`scipy.optimize.minimize`: a callable whose only parameter
    is named ``intermediate_result`` receives an :class:`OptimizeResult`; any other callable
    receives ``intermediate_result.x`` (legacy ``callback(xk)``). Raising ``StopIteration`` makes
    the wrapper return True (the solver then stops with status 99); any other exception propagates
    unchanged.

    Parameters
    ----------
    callback : callable or None
        The user's callback.
    solver : str
        Solver name for error messages.

    Returns
    -------
    callable or None

    Examples
    --------
    >>> from numopt._core.iteration import wrap_callback
    >>> from numopt import OptimizeResult
    >>> def stop_early(intermediate_result):
    ...     if intermediate_result.nit >= 3:
    ...         raise StopIteration
    >>> wrapped = wrap_callback(stop_early)
    >>> wrapped(OptimizeResult(x=[0.0], nit=1)), wrapped(OptimizeResult(x=[0.0], nit=3))
    (False, True)
    """
    check_callable(callback, "callback", solver, optional=True)
    if callback is None:
        return None
    try:
        params = inspect.signature(callback).parameters
        new_style = set(params) == {"intermediate_result"}
    except (TypeError, ValueError):  # builtins without a signature
        new_style = False

    def wrapped(intermediate_result):
        try:
            if new_style:
                callback(intermediate_result=intermediate_result)
            else:
                callback(np.copy(intermediate_result.x))
        except StopIteration:
            return True
        return False

    return wrapped


class History:
    """Per-iteration record: ``record(**values)`` appends, ``as_dict()`` gives 1-D NumPy arrays.

    Examples
    --------
    >>> from numopt._core.iteration import History
    >>> h = History()
    >>> h.record(nit=0, fun=2.0)
    >>> h.record(nit=1, fun=1.0)
    >>> h.as_dict()["fun"]
    array([2., 1.])
    """

    def __init__(self):
        self._values = {}

    def record(self, **values):
        for key, value in values.items():
            self._values.setdefault(key, []).append(value)

    def as_dict(self):
        return {key: np.asarray(values) for key, values in self._values.items()}


class Column:
    """One column of the verbose table: a header, a width and a format for the value."""

    def __init__(self, name, fmt="{:>10.3e}", width=10):
        self.name, self.fmt, self.width = name, fmt, width


class TablePrinter:
    """The verbose table every solver prints: a header once, then one row per recorded iteration.

    Parameters
    ----------
    columns : list of Column
        What the solver shows (``nit`` and ``time`` are prepended automatically).
    stream : file-like, optional
        Where to print (default ``sys.stdout`` at print time).

    Examples
    --------
    >>> from numopt._core.iteration import TablePrinter, Column
    >>> p = TablePrinter([Column("fun")])
    >>> p.row(nit=0, time=0.0, fun=1.5)
      nit       time         fun
        0     0.0000   1.500e+00
    """

    def __init__(self, columns, stream=None):
        self.columns = [Column("nit", "{:>5d}", 5), Column("time", "{:>9.4f}", 9), *columns]
        self.stream = stream
        self._header_printed = False

    def _print(self, text):
        print(text, file=self.stream or sys.stdout)

    def row(self, **values):
        if not self._header_printed:
            self._print("  ".join(f"{c.name:>{c.width}}" for c in self.columns))
            self._header_printed = True
        cells = []
        for column in self.columns:
            value = values.get(column.name)
            cells.append(f"{'-':>{column.width}}" if value is None else column.fmt.format(value))
        self._print("  ".join(cells))


class IterationMonitor:
    """History, verbose printing, callback and timing for one solver run.

    Parameters
    ----------
    solver : str
        Solver name, used in messages and the final report.
    columns : list of Column
        The solver's verbose columns; each must also be a key passed to :meth:`record`.
    callback : callable or None
        The user's callback (see :func:`wrap_callback`).
    verbose : int
        0 silent, 1 final report, 2 a table row per record, 3 more detail (solver-defined).
    check_every : int
        How often (in iterations) the solver records; stored for the solver's use.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt._core.iteration import IterationMonitor, Column
    >>> monitor = IterationMonitor("demo", [Column("fun")], callback=None, verbose=0)
    >>> monitor.record(0, x=np.zeros(2), fun=1.0)
    False
    >>> sorted(monitor.history())
    ['fun', 'nit', 'time']
    """

    def __init__(self, solver, columns, *, callback=None, verbose=0, check_every=1):
        self.solver = solver
        self.verbose = check_int(verbose, "verbose", solver, low=0)
        self.check_every = check_int(check_every, "check_every", solver, low=1)
        self._callback = wrap_callback(callback, solver)
        self._history = History()
        self._printer = TablePrinter(columns) if self.verbose >= 2 else None
        self._start = time.perf_counter()

    def elapsed(self):
        """Seconds since the monitor was created."""
        return time.perf_counter() - self._start

    def due(self, nit):
        """True on iterations where the solver should record (every ``check_every``)."""
        return nit % self.check_every == 0

    def record(self, nit, x=None, **values):
        """Record iteration ``nit``; return True when the callback asked to stop.

        ``values`` are scalars (host floats); ``x`` is only handed to the callback.
        """
        elapsed = self.elapsed()
        values = {key: None if value is None else float(value) for key, value in values.items()}
        self._history.record(nit=nit, time=elapsed, **{
            key: np.nan if value is None else value for key, value in values.items()})
        if self._printer is not None:
            self._printer.row(nit=nit, time=elapsed, **values)
        if self._callback is None:
            return False
        # a copy, as SciPy passes: a callback that edits its argument cannot move the iterate
        x = x.copy() if hasattr(x, "copy") else x
        return self._callback(OptimizeResult(x=x, nit=nit, time=elapsed, **values))

    def history(self):
        """The recorded history as a dict of 1-D NumPy arrays."""
        return self._history.as_dict()

    def report(self, result):
        """Print the final report when ``verbose >= 1``."""
        if self.verbose >= 1:
            fun = result.get("fun")
            fun_text = f", fun = {float(fun):.10g}" if fun is not None else ""
            print(f"{self.solver}: {result.message} (status {result.status}, nit = "
                  f"{result.get('nit')}{fun_text}, {result.time:.3f} s, backend "
                  f"{result.backend})")

    def finish(self, status, *, backend, hints, warn=True, message=None, **fields):
        """The end of every run: build the result, print the final report, warn if unconverged.

        Parameters
        ----------
        status : Status
            How the run ended.
        backend : str
            The backend whose kernels ran.
        hints : dict
            ``{Status: what to change}`` for the statuses the solver can end with; the entry
            under ``None`` serves any other unsuccessful status.
        warn : bool
            The user's ``warn`` option.
        message : str, optional
            Replaces the status's default message.
        **fields
            The solver's result keys (``x``, ``fun``, ``nit``, ...).

        Returns
        -------
        OptimizeResult
            With ``time`` and ``history`` from this monitor.

        Notes
        -----
        A stop requested through the callback (status 99) is the user's decision and is never
        warned about.
        """
        result = make_result(status, backend=backend, time=self.elapsed(),
                             history=self.history(), message=message, **fields)
        self.report(result)
        if result.status != Status.CALLBACK:
            hint = hints.get(Status(result.status), hints.get(None))
            if hint is not None:
                warn_not_converged(result, self.solver, hint, warn)
        return result
