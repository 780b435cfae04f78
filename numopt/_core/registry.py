"""The one registry of numopt solvers: single source of truth for dispatch, docs, demo and tests.

Each :class:`SolverSpec` names the public entry point that runs it (``"minimize"`` for the
methods of :func:`numopt.minimize`, else the standalone function), the function whose docstring
documents its options, and an example factory returning an :class:`Example`: a small real problem
with an independent reference and a peer. The contract tests, ``python -m numopt demo``,
:func:`show_options`, the benchmarks and the API docs all iterate over :data:`REGISTRY`.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from numopt._core.options import options_text

__all__ = ["SolverSpec", "Example", "REGISTRY", "minimize_methods", "show_options", "resolve"]


def resolve(path):
    """Import ``"package.module:attribute"`` and return the attribute."""
    module, _, attribute = path.partition(":")
    return getattr(import_module(module), attribute)


@dataclass(frozen=True)
class SolverSpec:
    """One numopt solver.

    Attributes
    ----------
    name : str
        Registry key: the ``method`` string for ``minimize`` methods, else the function name.
    entry : str
        Public function that runs it: ``"minimize"`` or the standalone function's name.
    implementation : str
        ``"module:function"`` whose docstring documents the options.
    example : str
        ``"module:function"`` returning an :class:`Example`.
    summary : str
        One line for tables and docs.
    hostile : str
        ``"module:function"`` returning the
        :class:`~numopt._examples.hostile.HostileInputs` the hostile-input contract suite
        attacks; empty for a solver that has none yet (the suite then fails for it).
    """

    name: str
    entry: str
    implementation: str
    example: str
    summary: str
    hostile: str = ""

    def load(self):
        """The implementation function."""
        return resolve(self.implementation)

    def make_example(self):
        """A fresh :class:`Example` for this solver."""
        return resolve(self.example)()

    def make_hostile(self):
        """A fresh :class:`~numopt._examples.hostile.HostileInputs` for this solver."""
        return resolve(self.hostile)()


@dataclass
class Example:
    """A small real problem for one solver, with an independent reference and a peer.

    Attributes
    ----------
    problem : str
        What the problem is (shown in the demo table).
    solve : callable
        ``solve(callback=None, **options) -> OptimizeResult``; options go to the solver.
    accuracy : callable
        ``accuracy(result) -> float``: the error against the independent reference.
    accuracy_label : str
        What ``accuracy`` measures, e.g. ``"||grad||"`` or ``"rel. err vs POT"``.
    tolerance : float
        ``accuracy(result) <= tolerance`` is the pass mark used by the demo and the contract test.
    peer : str
        Name of the peer solver.
    solve_peer : callable
        ``solve_peer() -> (nit, accuracy)`` runs the peer on the same problem (timed by the caller).
    bad_inputs : dict
        ``{description: thunk}``; each thunk calls the solver with one bad input and must raise
        ``ValueError`` or ``TypeError``.
    """

    problem: str
    solve: Callable[..., Any]
    accuracy: Callable[[Any], float]
    accuracy_label: str
    tolerance: float
    peer: str
    solve_peer: Callable[[], tuple]
    bad_inputs: dict = field(default_factory=dict)


# Each solver issue adds its entry here (and nowhere else).
REGISTRY = {spec.name: spec for spec in (
    SolverSpec(name="gn-newton", entry="minimize",
               implementation="numopt.unconstrained.gn_newton:_minimize_gn_newton",
               example="numopt._examples.unconstrained:make_example",
               summary="Gradient-normalized regularized Newton: (H + lambda B)^{-1} g steps with "
                       "lambda = ||g|| / gamma and an adaptive gamma search; exact, Hessian-free "
                       "(CG), Fisher, Gauss-Newton, subsampled and lazy Hessians.",
               hostile="numopt._examples.hostile:gn_newton"),
    SolverSpec(name="sinkhorn_newton", entry="sinkhorn_newton",
               implementation="numopt.ot.sinkhorn_newton:sinkhorn_newton",
               example="numopt._examples.ot:make_example",
               summary="Sinkhorn-Newton-Sparse: entropic OT by Sinkhorn warm-up and sparse Newton "
                       "steps",
               hostile="numopt._examples.hostile:sinkhorn_newton"),
    SolverSpec(name="bilevel_minimize", entry="bilevel_minimize",
               implementation="numopt.bilevel.lv_hba:bilevel_minimize",
               example="numopt._examples.bilevel:make_example",
               summary="LV-HBA: single-loop Hessian-free bilevel solver for convex lower levels "
                       "with coupled constraints",
               hostile="numopt._examples.hostile:bilevel_minimize"),
    SolverSpec(name="certify_nash", entry="certify_nash",
               implementation="numopt.games.certify:certify_nash",
               example="numopt._examples.games:make_certify_example",
               summary="Small-Gain Nash contraction certificate (block weights, rate, safe steps)",
               hostile="numopt._examples.hostile:certify_nash"),
    SolverSpec(name="gradient_play", entry="gradient_play",
               implementation="numopt.games.play:gradient_play",
               example="numopt._examples.games:make_gradient_play_example",
               summary="Certified (projected) Euler / RK4 gradient play to a Nash equilibrium",
               hostile="numopt._examples.hostile:gradient_play"),
    SolverSpec(name="exact-alm", entry="minimize",
               implementation="numopt.constrained.exact_alm:_minimize_exact_alm",
               example="numopt._examples.constrained:make_example",
               summary="Exact augmented Lagrangian with randomized sketching of the Newton-KKT "
                       "system (equality constraints)",
               hostile="numopt._examples.hostile:exact_alm"),
)}


def minimize_methods():
    """Names of the numopt methods of :func:`numopt.minimize`."""
    return [name for name, spec in REGISTRY.items() if spec.entry == "minimize"]


def show_options(solver=None, method=None, disp=True):
    """Show the documentation of the options of numopt's solvers, like SciPy's ``show_options``.

    Parameters
    ----------
    solver : str, optional
        ``"minimize"`` or a standalone solver (``"sinkhorn_newton"``, ``"bilevel_minimize"``,
        ``"certify_nash"``, ``"gradient_play"``). Default: all of them.
    method : str, optional
        For ``solver="minimize"``: a numopt method (``"gn-newton"``, ``"exact-alm"``) or any SciPy
        method, whose options SciPy documents. Default: all numopt methods.
    disp : bool
        Print the text (and return None) when true, else return it.

    Returns
    -------
    str or None
        The documentation when ``disp`` is false.

    Examples
    --------
    >>> from numopt import show_options
    >>> text = show_options("minimize", "BFGS", disp=False)
    >>> "gtol" in text
    True
    """
    for value, label in ((solver, "solver"), (method, "method")):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"The '{label}' parameter of show_options must be a str or None. "
                            f"Got {value!r} ({type(value).__name__}) instead.")
    if solver is not None and solver.lower() == "minimize" and method is not None \
            and method.lower() not in minimize_methods():
        from scipy.optimize import show_options as scipy_show_options

        return scipy_show_options("minimize", method, disp)
    specs = list(REGISTRY.values())
    if solver is not None:
        specs = [spec for spec in specs if spec.entry == solver.lower() or spec.name == solver]
        if method is not None:
            specs = [spec for spec in specs if spec.name == method.lower()]
        if not specs:
            known = ", ".join(sorted({"minimize", *(s.entry for s in REGISTRY.values())}))
            asked = f"{solver!r}" + (f" / method {method!r}" if method else "")
            raise ValueError(f"Unknown solver {asked}; known entry points: {known}.")
    parts = []
    for spec in specs:
        title = f"{spec.entry}" + (f" (method={spec.name!r})" if spec.entry == "minimize" else "")
        parts.append(f"{title}\n{'=' * len(title)}\n{options_text(spec.load())}\n")
    text = "\n".join(parts)
    if disp:
        print(text)
        return None
    return text
