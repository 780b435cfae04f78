"""Warning classes of numopt and the helpers that emit them with one wording.

Every warning numopt emits points at the user's line: :func:`emit` walks the stack out of the
numopt package before handing the level to :func:`warnings.warn`, so a warning raised deep inside
a solver called through :func:`numopt.minimize` or :mod:`numopt.ot` is reported where the user
called numopt, whatever the depth of the call.
"""

import sys
import warnings
from pathlib import Path

from scipy.optimize import OptimizeWarning

__all__ = ["NumoptWarning", "ConvergenceWarning", "emit", "warn_unknown_options",
           "warn_not_converged"]

_PACKAGE = str(Path(__file__).resolve().parents[1])


class NumoptWarning(OptimizeWarning):
    """Base class of every warning numopt emits (a :class:`scipy.optimize.OptimizeWarning`).

    Examples
    --------
    >>> import warnings
    >>> import numopt
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", numopt.NumoptWarning)  # silences every numopt warning
    """


class ConvergenceWarning(NumoptWarning):
    """A solver stopped before meeting its convergence test.

    The message always says which option to change (``maxiter``, ``tol``, ...). Pass
    ``warn=False`` to a solver, or filter this class, to silence it.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> import numopt
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     res = numopt.sinkhorn_newton(np.ones(3) / 3, np.ones(3) / 3, np.eye(3), 0.1,
    ...                                  maxiter=1)
    >>> caught[0].category is numopt.ConvergenceWarning
    True
    """


def _user_stacklevel():
    """``stacklevel`` for a :func:`warnings.warn` called by :func:`emit`: the first frame outside
    the numopt package (the user's code, or a peer library's that called numopt)."""
    frame, level = sys._getframe(2), 2  # emit's caller is stacklevel 2
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def emit(message, category):
    """``warnings.warn(message, category)`` reported at the user's line.

    Examples
    --------
    >>> import warnings
    >>> from numopt._core.warnings import NumoptWarning, emit
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     emit("something to say", NumoptWarning)
    >>> caught[0].message.args[0]
    'something to say'
    """
    warnings.warn(message, category, stacklevel=_user_stacklevel())


def warn_unknown_options(solver, unknown_options):
    """Warn (``OptimizeWarning``) that ``unknown_options`` are ignored by ``solver``.

    SciPy does the same for its methods; the names are sorted so the message is reproducible.

    Examples
    --------
    >>> import warnings
    >>> from numopt._core.warnings import warn_unknown_options
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_unknown_options("gn-newton", {"gtoll": 1e-8})
    >>> str(caught[0].message)
    'Unknown solver options for gn-newton: gtoll'
    """
    if unknown_options:
        names = ", ".join(sorted(map(str, unknown_options)))
        emit(f"Unknown solver options for {solver}: {names}", OptimizeWarning)


def warn_not_converged(result, solver, hint, warn=True):
    """Emit a :class:`ConvergenceWarning` for an unsuccessful ``result``.

    Parameters
    ----------
    result : OptimizeResult
        The result; nothing is emitted when ``result.success`` is true or ``warn`` is false.
    solver : str
        Name of the solver, used in the message.
    hint : str
        What to change, e.g. ``"increase maxiter (now 100) or loosen tol"``.
    warn : bool
        The user's ``warn`` option.

    Examples
    --------
    >>> from numopt import OptimizeResult
    >>> from numopt._core.warnings import warn_not_converged
    >>> warn_not_converged(OptimizeResult(success=True), "demo", "nothing")  # silent on success
    """
    if warn and not result.success:
        emit(f"{solver} did not converge: {result.message} To fix: {hint}.", ConvergenceWarning)
