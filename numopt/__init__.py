"""numopt: second-order and structure-exploiting solvers with a SciPy-style API.

Public entry points
-------------------
minimize          SciPy's ``minimize`` plus numopt methods (``"gn-newton"``, ``"exact-alm"``).
sinkhorn_newton   Sinkhorn-Newton-Sparse for entropic optimal transport.
bilevel_minimize  LV-HBA for bilevel problems with coupled lower-level constraints.
certify_nash      Small-Gain Nash contraction certificates for differentiable games.
gradient_play     Certified gradient play towards a Nash equilibrium.
OptimizeResult    The result type (a subclass of :class:`scipy.optimize.OptimizeResult`).
show_options      Documentation of the options of every solver.
set_backend       Context manager choosing the array backend ("numpy", "numba", "cupy").
NumoptWarning     Base class of numopt's warnings (a scipy.optimize.OptimizeWarning).
ConvergenceWarning  A solver stopped before its convergence test held.

``import numopt`` is kept cheap: every public name is resolved on first access, so neither SciPy's
optimize package nor numba nor CuPy is imported until a solver needs it.
"""

from importlib import import_module

__version__ = "0.1.0"

# name -> module that defines it; resolved lazily by __getattr__ (PEP 562) to keep import fast.
_PUBLIC = {
    "minimize": "numopt._minimize",
    "show_options": "numopt._core.registry",
    "OptimizeResult": "numopt._core.result",
    "set_backend": "numopt.backends",
    "sinkhorn_newton": "numopt.ot.sinkhorn_newton",
    "bilevel_minimize": "numopt.bilevel.lv_hba",
    "certify_nash": "numopt.games.certify",
    "gradient_play": "numopt.games.play",
    "NumoptWarning": "numopt._core.warnings",
    "ConvergenceWarning": "numopt._core.warnings",
}

__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name):
    try:
        module = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'numopt' has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
