"""Warning classes of numopt and the helpers that emit them with one wording."""

import warnings

from scipy.optimize import OptimizeWarning

__all__ = ["NumoptWarning", "ConvergenceWarning", "warn_unknown_options", "warn_not_converged"]


class NumoptWarning(OptimizeWarning):
    """Base class of every warning numopt emits (a :class:`scipy.optimize.OptimizeWarning`)."""


class ConvergenceWarning(NumoptWarning):
    """A solver stopped before meeting its convergence test.

    The message always says which option to change (``maxiter``, ``tol``, ...).
    """


def warn_unknown_options(solver, unknown_options, stacklevel=3):
    """Warn (``OptimizeWarning``) that ``unknown_options`` are ignored by ``solver``.

    SciPy does the same for its methods; the names are sorted so the message is reproducible.
    """
    if unknown_options:
        names = ", ".join(sorted(map(str, unknown_options)))
        warnings.warn(f"Unknown solver options for {solver}: {names}", OptimizeWarning,
                      stacklevel=stacklevel)


def warn_not_converged(result, solver, hint, warn=True, stacklevel=3):
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
    stacklevel : int
        Passed to :func:`warnings.warn`.
    """
    if warn and not result.success:
        warnings.warn(f"{solver} did not converge: {result.message} To fix: {hint}.",
                      ConvergenceWarning, stacklevel=stacklevel)
