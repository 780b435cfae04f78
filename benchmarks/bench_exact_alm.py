"""Benchmark of minimize(method="exact-alm") against SciPy trust-constr, SLSQP and IPOPT.

Five parts:

a. ``cutest``: the paper's CUTEst equality set (41 problems in S2MPJ) to KKT 1e-6;
s. ``s2mpj``: the frozen robustness set ``exact_alm_equality_set.txt`` (every equality-only
   S2MPJ problem with n <= 100, feasibility problems included), exact-alm with its defaults
   against the peers (maxiter 5000, a time cap per run); with ``--write-results`` the tables and
   a performance profile go into RESULTS.md between its ``exact-alm s2mpj`` markers, headed by
   the command and the commit; ``--reuse SOLVERS --cache FILE`` takes those solvers' records
   from an earlier sweep's results file instead of running them;
b. ``logistic``: constrained logistic regression (10 random linear equalities + ``||w||^2 = 1``)
   on the LIBSVM sets with at least 20 features;
c. ``pde``: Poisson optimal control on an N x N grid, N = 16, 32, ... doubling while each solver
   finishes within the time limit; time and memory per inner solver and per peer.
r. ``sparse``: denoising under n/2 sparse random measurement constraints (``SparseRecovery``,
   8 non-zeros per row), n = 1000, 2000, ... doubling as in part c: the class where
   ``inner_solver="auto"`` (the ``exact-alm`` column) picks the range-space sketch, against
   ``alm-direct``, ``alm-range-kaczmarz`` and the peers.

Every run is checked on what it returns with one measure: the KKT residual
``||(grad f + J^T lambda_LS, c)||_2`` at the returned x with least-squares multipliers
``lambda_LS`` (so no solver is judged by its own multipliers). A peer with its own stopping rule is
run at the loosest setting of its tolerance ladder that meets the target; that setting is printed.
exact-alm runs with tol = 1e-6 on its own KKT residual (which bounds the LS one).

Single-threaded (the variables are set before NumPy is imported). Parts a, b and s are sweeps on
dask.distributed (``benchmarks/sweep.py``): one task per (problem, repeat) runs every solver on the
problem in one child process of a worker, which is killed past the run's hard limit (the whole
tolerance ladder at ``--run-limit`` each, plus 30 s) and the run recorded as a time-out; results
are appended to ``--results`` (default ``benchmarks/results/exact_alm_<part>.jsonl``), a rerun
resumes from it, and the tables are built from it. ``--scheduler ADDRESS`` uses an existing Dask
cluster, else a LocalCluster of ``--workers`` processes (default one per core). Part c runs each
(solver, N) in a fresh child process so that a solver that exceeds the limit can be stopped and
its peak memory (``ru_maxrss`` growth during the solve) measured alone. JIT compilation is
excluded by a warm-up solve (in every sweep child before its timed runs).

Usage::

    python benchmarks/bench_exact_alm.py --quick            # ~10 min on the 2-core dev machine
    python benchmarks/bench_exact_alm.py --part s2mpj --run-limit 60 --write-results
    python benchmarks/bench_exact_alm.py --part pde --limit 300
    python benchmarks/bench_exact_alm.py --part sparse --limit 300 --max-n 16000
    python benchmarks/bench_exact_alm.py --part cutest --scheduler tcp://head:8786
"""

import os

for _name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import math  # noqa: E402
import multiprocessing  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.sweep import add_arguments, sweep_options  # noqa: E402

TARGET = 1e-6
RUN_LIMIT = [120.0]  # seconds per solver run in parts a and b (set by --run-limit)
HERE = Path(__file__).resolve().parent
SET_FILE = HERE / "exact_alm_equality_set.txt"
MAXITER = 5000
ALM_VARIANTS = {
    "exact-alm": dict(),  # the defaults
    # the method before the robustness changes: block sketch, the official Hessian shift, no
    # multiplier reset, penalties that only grow
    "alm-paper": dict(inner_solver="block", hessian_shift="paper", multiplier_reset=0.0,
                      penalty_decrease=False),
    "alm-direct": dict(inner_solver="direct"),
    "alm-kaczmarz": dict(inner_solver="kaczmarz"),
    "alm-gaussian": dict(inner_solver="gaussian"),
    "alm-block": dict(inner_solver="block"),
    "alm-kaczmarz-rel": dict(inner_solver="kaczmarz", accuracy="relative"),
    "alm-range-kaczmarz": dict(inner_solver="range-kaczmarz", accuracy="relative"),
}
PEER_LADDERS = {
    "trust-constr": [1e-6, 1e-8, 1e-10],
    "SLSQP": [1e-8, 1e-10, 1e-12],
    "IPOPT": [1e-6, 1e-8, 1e-10],
}
LIBSVM_SETS = ["a1a", "a5a", "a9a", "w8a", "mushrooms", "german_scale", "ionosphere_scale",
               "sonar_scale", "splice", "phishing"]


def have_ipopt():
    try:
        import cyipopt  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------- problem adapter
class Bench:
    """A benchmark problem: fun/jac/hess, constraint c/J/H (J dense or sparse), x0, lambda0."""

    def __init__(self, name, fun, jac, hess, cfun, cjac, chess, x0, multipliers0=None):
        self.name, self.fun, self.jac, self.hess = name, fun, jac, hess
        self.cfun, self.cjac, self.chess = cfun, cjac, chess
        self.x0 = np.array(x0, dtype=float)
        self.multipliers0 = multipliers0
        self.m = np.size(cfun(self.x0))
        self.target = TARGET
        self.iterative_multipliers = False  # LSQR instead of a sparse LU of J J^T in kkt()

    def constraint(self, dense=False):
        from scipy.optimize import NonlinearConstraint

        if dense:
            def dense_jac(x):
                J = self.cjac(x)
                return J.toarray() if hasattr(J, "toarray") else J

            def dense_hess(x, v):
                H = self.chess(x, v)
                return H.toarray() if hasattr(H, "toarray") else H

            def dense_obj_hess(x):
                H = self.hess(x)
                return H.toarray() if hasattr(H, "toarray") else H
            return NonlinearConstraint(self.cfun, 0.0, 0.0, jac=dense_jac, hess=dense_hess), \
                dense_obj_hess
        return NonlinearConstraint(self.cfun, 0.0, 0.0, jac=self.cjac, hess=self.chess), self.hess

    def kkt(self, x):
        """KKT residual at x with least-squares multipliers (the common accuracy measure)."""
        g, c, J = self.jac(x), self.cfun(x), self.cjac(x)
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(c))):
            return np.inf
        if hasattr(J, "tocsr") and self.iterative_multipliers:
            from scipy.sparse.linalg import lsqr

            # J well conditioned, J J^T with catastrophic fill (sparse random rows)
            multipliers = lsqr(J.T, -g, atol=1e-15, btol=1e-15, iter_lim=100_000)[0]
        elif hasattr(J, "tocsr"):
            from scipy.sparse.linalg import splu

            # normal equations J J^T lambda = -J g (J has full row rank in the sparse problems)
            multipliers = splu((J @ J.T).tocsc(), permc_spec="MMD_AT_PLUS_A").solve(-(J @ g))
        else:
            multipliers = np.linalg.lstsq(J.T, -g, rcond=None)[0]
        return float(np.linalg.norm(np.concatenate([g + J.T @ multipliers, c])))


def cutest_problem(name):
    from numopt.problems.cutest import load_cutest

    problem = load_cutest(name)
    con = problem.constraints
    return Bench(name, problem.fun, problem.jac, problem.hess, con.fun, con.jac, con.hess,
                 problem.x0)


def logistic_problem(name):
    from numopt.problems.constrained_logistic import ConstrainedLogistic

    p = ConstrainedLogistic.from_libsvm(name)
    bench = Bench(name, p.fun, p.jac, p.hess, p.constraint_fun, p.constraint_jac,
                  p.constraint_hess, p.x0, p.multipliers0)
    bench.info = f"d={p.n}, N={p.X.shape[0]}" + (", b scaled" if p.b_scaled else "")
    return bench


def pde_problem(N, target=None):
    from numopt.problems.poisson_control import PoissonControl

    p = PoissonControl(N)
    bench = Bench(f"poisson-{N}", p.fun, p.jac, p.hess, p.constraint_fun, p.constraint_jac,
                  p.constraint_hess, p.x0)
    # Relative target: the gradient scales like N and the constraint rows like 1/h^2, so the
    # exact KKT solution itself has an absolute residual near 1e-6 from N = 256 on. At x0 = 0,
    # c(x0) = 0 and the KKT residual with zero multipliers is ||grad f(x0)||.
    bench.target = TARGET * np.linalg.norm(p.jac(p.x0)) if target is None else target
    return bench


def sparse_problem(n, target=None):
    """Denoising under n/2 sparse random measurements (8 non-zeros per row): the class where
    ``inner_solver="auto"`` sketches (the factorisation of ``J J^T`` fills in)."""
    from numopt.problems.sparse_recovery import SparseRecovery

    p = SparseRecovery(n, n // 2, k=8, seed=0)
    bench = Bench(f"sparse-recovery-{n}", p.fun, p.jac, p.hess, p.constraint_fun,
                  p.constraint_jac, p.constraint_hess, p.x0)
    bench.iterative_multipliers = True
    bench.target = TARGET if target is None else target
    return bench


SCALING_PROBLEMS = {"pde": pde_problem, "sparse": sparse_problem}


# --------------------------------------------------------------------------- solvers
def run_alm(bench, options, time_limit=None):
    from numopt import minimize

    constraint, hess = bench.constraint()
    opts = dict(seed=0, warn=False, maxiter=MAXITER, **options)
    if bench.multipliers0 is not None:
        opts["multipliers0"] = bench.multipliers0
    opts["time_limit"] = RUN_LIMIT[0] if time_limit is None else time_limit
    res = minimize(bench.fun, bench.x0, jac=bench.jac, hess=hess, constraints=constraint,
                   method="exact-alm", tol=bench.target, options=opts)
    return res.x, res.nit, f"sketch={res.n_sketch} fallback={res.n_fallback}"


def run_scipy(bench, method, tol):
    from scipy.optimize import minimize

    sparse_ok = method == "trust-constr"
    constraint, hess = bench.constraint(dense=not sparse_ok)
    deadline = time.perf_counter() + RUN_LIMIT[0]

    def stop_at_deadline(intermediate_result):
        # SciPy has no time limit: stop a peer that runs past the per-run limit.
        if time.perf_counter() > deadline:
            raise StopIteration

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "trust-constr":
            res = minimize(bench.fun, bench.x0, jac=bench.jac, hess=hess,
                           constraints=constraint, method=method, callback=stop_at_deadline,
                           options={"gtol": tol, "xtol": 1e-14, "maxiter": MAXITER})
        else:
            res = minimize(bench.fun, bench.x0, jac=bench.jac, constraints=constraint,
                           method=method, callback=stop_at_deadline,
                           options={"ftol": tol, "maxiter": MAXITER})
    return res.x, res.nit, ""


def run_ipopt(bench, tol):
    """IPOPT through cyipopt's low-level interface with sparse Jacobian/Hessian structures."""
    import cyipopt
    import scipy.sparse as sp

    n, m = bench.x0.size, bench.m
    J0 = bench.cjac(bench.x0)
    if hasattr(J0, "tocsr"):  # sparse: its stored pattern (the same at every x here)
        J0 = sp.coo_matrix(J0)
        J0.sum_duplicates()
        j_rows, j_cols = J0.row, J0.col
    else:  # dense: every entry (an entry that is zero at x0 need not be zero elsewhere)
        j_rows, j_cols = (index.ravel() for index in np.indices((m, n)))
    pattern = sp.coo_matrix(abs(sp.csr_matrix(bench.hess(bench.x0)))
                            + abs(sp.csr_matrix(bench.chess(bench.x0, np.ones(m)))))
    if not hasattr(bench.hess(bench.x0), "tocsr"):
        pattern = sp.coo_matrix(np.ones((n, n)))  # dense problems: the full lower triangle
    lower = pattern.row >= pattern.col
    h_rows, h_cols = pattern.row[lower], pattern.col[lower]

    def values(matrix, rows, cols):
        if hasattr(matrix, "tocsr"):
            return np.asarray(matrix.tocsr()[rows, cols]).ravel()
        return np.asarray(matrix)[rows, cols]

    class Wrapped:
        def objective(self, x):
            return bench.fun(x)

        def gradient(self, x):
            return bench.jac(x)

        def constraints(self, x):
            return bench.cfun(x)

        def jacobian(self, x):
            return values(bench.cjac(x), j_rows, j_cols)

        def jacobianstructure(self):
            return j_rows, j_cols

        def hessian(self, x, multipliers, obj_factor):
            H = sp.csr_matrix(bench.hess(x)) * obj_factor + sp.csr_matrix(
                bench.chess(x, multipliers))
            return values(H, h_rows, h_cols)

        def hessianstructure(self):
            return h_rows, h_cols

        def intermediate(self, alg_mod, iter_count, *args):
            iterations[0] = iter_count
            # returning False stops IPOPT (user stop): the per-run time limit
            return time.perf_counter() <= deadline

    deadline = time.perf_counter() + RUN_LIMIT[0]
    iterations = [-1]
    problem = cyipopt.Problem(n=n, m=m, problem_obj=Wrapped(), lb=None, ub=None,
                              cl=np.zeros(m), cu=np.zeros(m))
    problem.add_option("tol", tol)
    problem.add_option("print_level", 0)
    problem.add_option("max_iter", MAXITER)
    problem.add_option("sb", "yes")
    problem.add_option("max_cpu_time", float(RUN_LIMIT[0]))
    x, info = problem.solve(bench.x0)
    return x, iterations[0], ""


def solve(bench, solver, setting):
    """Run one solver (exact-alm variant or peer at tolerance ``setting``); time it.

    The process's peak resident memory right after the solver returns (before the accuracy check,
    which factorises J J^T itself) is stored in ``bench.peak_rss_kb``.
    """
    import resource

    start = time.perf_counter()
    if solver in ALM_VARIANTS:
        x, nit, note = run_alm(bench, ALM_VARIANTS[solver], setting)
    elif solver == "IPOPT":
        x, nit, note = run_ipopt(bench, setting)
    else:
        x, nit, note = run_scipy(bench, solver, setting)
    elapsed = time.perf_counter() - start
    bench.peak_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return elapsed, nit, bench.kkt(x), note


def best_run(bench, solver, repeats, time_limit=None):
    """Loosest setting meeting the target; min time over ``repeats`` runs of it."""
    ladder = [time_limit] if solver in ALM_VARIANTS else PEER_LADDERS[solver]
    record = None
    for setting in ladder:
        try:
            elapsed, nit, kkt, note = solve(bench, solver, setting)
        except Exception as exc:  # a peer crashing on a problem counts as a failure
            record = dict(time=np.nan, nit=-1, kkt=np.inf, setting=setting,
                          note=f"error: {type(exc).__name__}")
            continue
        record = dict(time=elapsed, nit=nit, kkt=kkt, setting=setting, note=note)
        if elapsed >= RUN_LIMIT[0]:
            break  # stopped by the time cap: a tighter tolerance cannot help
        if kkt <= bench.target:
            for _ in range(repeats - 1):
                record["time"] = min(record["time"], solve(bench, solver, setting)[0])
            break
    record["solved"] = record["kkt"] <= bench.target
    record["target"] = bench.target
    return record


def solvers_to_run(include_variants=True):
    names = [name for name in ALM_VARIANTS if name not in ("exact-alm", "alm-paper")] \
        if include_variants else \
        ["alm-direct", "alm-kaczmarz"]
    names += ["trust-constr", "SLSQP"]
    if have_ipopt():
        names.append("IPOPT")
    else:
        print("NOTE: cyipopt is not installed: IPOPT column skipped (see benchmarks/README.md).")
    return names


def warm_up(solvers):
    """Compile (or load from numba's cache) the CSR and the dense kernels before timing."""
    from numopt.problems import hs7

    problem = hs7()
    con = problem.constraints
    dense = Bench("HS7", problem.fun, problem.jac, problem.hess, con.fun, con.jac, con.hess,
                  problem.x0)
    for bench in (pde_problem(4), dense):
        for solver in solvers:
            best_run(bench, solver, 1)
    # the range-space kernel, which "auto" (the exact-alm column) uses only on large systems
    best_run(pde_problem(4), "alm-range-kaczmarz", 1)


def geomean(values):
    values = [v for v in values if np.isfinite(v) and v > 0]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else np.nan


# --------------------------------------------------------------------------- parts a and b
PROBLEM_LOADERS = {"cutest": cutest_problem, "logistic": logistic_problem,
                   "s2mpj": cutest_problem}


def sweep_load(name, kind, solvers, run_limit):
    """Sweep task: warm the solvers up (JIT), then load problem ``name`` of part ``kind``."""
    RUN_LIMIT[0] = run_limit
    warm_up(solvers)
    return PROBLEM_LOADERS[kind](name)


def sweep_run(bench, solver, kind, solvers, run_limit):
    """Sweep task: :func:`best_run` of one solver (the other options serve :func:`sweep_load`)."""
    return best_run(bench, solver, 1)


def _best_of_repeats(runs, limit):
    """The fastest solved run over the repeats, else the first (a killed run: a failure)."""
    runs = [run if run["status"] == "ok" else
            dict(time=np.nan, nit=-1, kkt=np.inf, setting=None, solved=False,
                 note=f"{run['status']} (> {limit:.0f} s)" if run["status"] == "timeout"
                 else run.get("error", run["status"])) for run in runs]
    solved = [run for run in runs if run["solved"]]
    return min(solved, key=lambda run: run["time"]) if solved else runs[0]


def _sweep_records(kind, names, solvers, repeats, sweep):
    """One sweep task per (problem, repeat) through benchmarks/sweep.py, every solver of the
    comparison in one child; ``{solver: {problem: record}}`` from the results file (a rerun
    resumes), the fastest solved run over the repeats."""
    from benchmarks.sweep import Task, run_sweep, runs_by_solver

    # Hard limit of one best_run: its whole tolerance ladder, each run capped by --run-limit.
    limit = max(map(len, PEER_LADDERS.values())) * RUN_LIMIT[0] + 30.0
    options = {"kind": kind, "solvers": list(solvers), "run_limit": RUN_LIMIT[0]}
    tasks = [Task("benchmarks.bench_exact_alm:sweep_load", "benchmarks.bench_exact_alm:sweep_run",
                  name, tuple(solvers), repeat, limit=limit, options=options)
             for name in names for repeat in range(repeats)]

    def streamed(record):
        if record["status"] != "ok":
            print(f"  {record['problem']}: cannot load ({record.get('error', '')})", flush=True)
            return
        row = [f"{run['solver']}={'ok' if run.get('solved') else 'FAIL'} "
               f"{run.get('time', np.nan):.3f}s it={run.get('nit', -1)}"
               for run in record["runs"]]
        print(f"  {record['problem']:18s} #{record['repeat']} " + " | ".join(row), flush=True)

    sweep = dict(sweep)
    path = sweep.pop("results", None) or HERE / "results" / f"exact_alm_{kind}.jsonl"
    by_solver = runs_by_solver(run_sweep(tasks, path, on_result=streamed, **sweep))
    records = {solver: {} for solver in solvers}
    for (name, solver), runs in by_solver.items():
        records[solver][name] = _best_of_repeats(runs, limit)
    return records


def run_set(title, kind, names, solvers, repeats, lines, sweep):
    """Part a or b: the sweep's records, then the table of geometric means."""
    records = _sweep_records(kind, names, solvers, repeats, sweep)
    names = sorted(set().union(*[set(r) for r in records.values()]))
    common = [n for n in names if all(records[s].get(n, {}).get("solved") for s in solvers)]
    lines.append(f"\n### {title}\n")
    lines.append(f"{len(names)} problems; geometric means over the {len(common)} solved by every "
                 f"solver; ratio = solver's geometric-mean time / alm-direct's.\n")
    lines.append("| solver | solved | geo-mean time [s] (common) | ratio | geo-mean time [s] "
                 "(own solved) | mean nit |")
    lines.append("|---|---|---|---|---|---|")
    base = geomean([records["alm-direct"][n]["time"] for n in common]) if common else np.nan
    for solver in solvers:
        solved = [n for n in names if records[solver].get(n, {}).get("solved")]
        gm_common = geomean([records[solver][n]["time"] for n in common])
        gm_own = geomean([records[solver][n]["time"] for n in solved])
        nits = [records[solver][n]["nit"] for n in solved]
        lines.append(f"| {solver} | {len(solved)}/{len(names)} | {gm_common:.4f} | "
                     f"{gm_common / base:.2f} | {gm_own:.4f} | "
                     f"{np.mean(nits) if nits else float('nan'):.1f} |")
    failures = {s: [n for n in names if not records[s].get(n, {}).get("solved")] for s in solvers}
    lines.append("\nUnsolved: " + "; ".join(f"{s}: {', '.join(f) or '-'}"
                                            for s, f in failures.items()))
    settings = {s: sorted({str(records[s][n]["setting"]) for n in records[s]}) for s in solvers
                if s not in ALM_VARIANTS}
    lines.append("\nPeer tolerance settings used (loosest meeting KKT 1e-6 per problem): "
                 + "; ".join(f"{s}: {', '.join(v)}" for s, v in settings.items()))
    return records, names


def performance_profile(records, names, solvers, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = np.array([[records[s][n]["time"] if records[s].get(n, {}).get("solved") else np.inf
                       for s in solvers] for n in names])
    best = np.min(times, axis=1, keepdims=True)
    ratios = times / best
    taus = np.logspace(0, 3, 200)
    fig, ax = plt.subplots(figsize=(6, 4))
    for j, solver in enumerate(solvers):
        ax.step(taus, [(ratios[:, j] <= tau).mean() for tau in taus], where="post",
                label=solver)
    ax.set_xscale("log")
    ax.set_xlabel("time ratio to the best solver (tau)")
    ax.set_ylabel("fraction of problems solved within tau")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --------------------------------------------------------------------------- part s
def read_set(path=SET_FILE):
    """The frozen problem names (first column; ``#`` lines are the file's header)."""
    return [line.split()[0] for line in Path(path).read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def run_s2mpj(solvers, names, sweep, reuse=(), cache=None):
    """``{solver: {problem: record}}``: one sweep task per problem (one run of each solver).

    Solvers in ``reuse`` are not run: their records are read from ``cache``, the results file of
    an earlier sweep (peers do not change while exact-alm is tuned).
    """
    from benchmarks.sweep import load_results, runs_by_solver

    fresh = [solver for solver in solvers if solver not in reuse]
    records = _sweep_records("s2mpj", names, fresh, 1, sweep) if fresh else {}
    if reuse:
        limit = max(map(len, PEER_LADDERS.values())) * RUN_LIMIT[0] + 30.0
        for (name, solver), runs in runs_by_solver(load_results(cache)).items():
            if solver in reuse and name in names:
                records.setdefault(solver, {})[name] = _best_of_repeats(runs, limit)
    return {solver: records.get(solver, {}) for solver in solvers}


def _ratio_summary(records, names, solver, reference):
    """Geometric means over the problems both solve; the problems > 10x slower than reference
    (both under 0.05 s excepted)."""
    both = [n for n in names if records[solver].get(n, {}).get("solved")
            and records[reference].get(n, {}).get("solved")]
    ours = geomean([records[solver][n]["time"] for n in both])
    theirs = geomean([records[reference][n]["time"] for n in both])
    slow = sorted((records[solver][n]["time"] / records[reference][n]["time"], n) for n in both
                  if records[solver][n]["time"] > 10 * records[reference][n]["time"]
                  and max(records[solver][n]["time"], records[reference][n]["time"]) >= 0.05)
    return both, ours, theirs, slow


def s2mpj_tables(records, names, solvers, limit):
    """Markdown: summary per solver against trust-constr, failures, and the outliers."""
    lines = [f"{len(names)} problems (`benchmarks/exact_alm_equality_set.txt`); one run each, "
             f"cap {limit:g} s per run, maxiter {MAXITER}; solved = KKT residual with "
             f"least-squares multipliers <= 1e-6 at the returned x.\n",
             "| solver | solved | common with trust-constr | geo-mean time [s] | trust-constr's "
             "[s] | ratio | > 10x trust-constr | mean nit (own solved) |",
             "|---|---|---|---|---|---|---|---|"]
    for solver in solvers:
        solved = [n for n in names if records[solver].get(n, {}).get("solved")]
        both, ours, theirs, slow = _ratio_summary(records, names, solver, "trust-constr")
        nits = [records[solver][n]["nit"] for n in solved]
        lines.append(f"| {solver} | {len(solved)}/{len(names)} | {len(both)} | {ours:.4f} | "
                     f"{theirs:.4f} | {ours / theirs:.2f} | {len(slow)} | "
                     f"{np.mean(nits) if nits else float('nan'):.1f} |")
    lines.append("\nUnsolved: " + "; ".join(
        f"**{s}** ({sum(not records[s].get(n, {}).get('solved') for n in names)}): "
        + ", ".join(n for n in names if not records[s].get(n, {}).get("solved"))
        for s in solvers))
    for solver in solvers:
        slow = _ratio_summary(records, names, solver, "trust-constr")[3]
        if slow and solver != "trust-constr":
            lines.append(f"\n{solver} > 10x trust-constr: " + ", ".join(
                f"{n} ({ratio:.0f}x)" for ratio, n in reversed(slow)))
    return lines


def write_csv(records, names, solvers, path):
    with open(path, "w") as handle:
        handle.write("problem," + ",".join(f"{s} solved,{s} time,{s} nit,{s} kkt"
                                           for s in solvers) + "\n")
        for name in names:
            cells = []
            for solver in solvers:
                r = records[solver].get(name, dict(solved=False, time=np.nan, nit=-1,
                                                   kkt=np.inf))
                cells.append(f"{int(bool(r['solved']))},{r['time']:.4f},{r['nit']},"
                             f"{r['kkt']:.2e}")
            handle.write(f"{name}," + ",".join(cells) + "\n")


def commit_label():
    import subprocess

    def git(*words):
        return subprocess.run(["git", *words], cwd=HERE.parent, capture_output=True,
                              text=True).stdout.strip()
    dirty = git("status", "--porcelain", "numopt", "benchmarks/bench_exact_alm.py")
    return git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if dirty else "")


def write_results(block, marker="exact-alm s2mpj"):
    """Replace the text between RESULTS.md's ``<!-- marker: begin/end -->`` lines by ``block``."""
    path = HERE / "RESULTS.md"
    text = path.read_text()
    begin, end = f"<!-- {marker}: begin -->", f"<!-- {marker}: end -->"
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    path.write_text(f"{head}{begin}\n{block}\n{end}{tail}")


# --------------------------------------------------------------------------- part c
def _scaling_child(part, solver, N, limit, target, queue):
    import resource

    warm_up([solver])
    bench = SCALING_PROBLEMS[part](N, target)
    RUN_LIMIT[0] = limit
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    record = best_run(bench, solver, 1, time_limit=limit)
    record["mem_mb"] = (bench.peak_rss_kb - before) / 1024.0
    if record["setting"] is not None and solver not in ALM_VARIANTS:
        record["note"] += f" tol={record['setting']:g}"
    queue.put(record)


def run_pde(solvers, sizes, limit, lines, plot_path):
    """Part c: the Poisson control problem, time and memory against N."""
    results = run_scaling("pde", solvers, sizes, limit)
    lines.append("\n### c. Poisson control, N x N grid (n = 2N^2, m = N^2)\n")
    lines.append(f"Time [s] / peak memory growth [MB] (ru_maxrss increase during the solve) per "
                 f"solver; target: KKT residual <= 1e-6 x its value at x0 (relative, see the "
                 f"script); a solver stops doubling N after its first run that misses the target "
                 f"or the {limit:.0f} s limit.\n")
    scaling_table(results, solvers, sizes, limit, "N", lines)
    scaling_plot(results, solvers, limit, "grid size N (n = 2 N^2 variables)",
                 "Poisson control: time vs N", plot_path)
    return results


def run_sparse(solvers, sizes, limit, lines, plot_path):
    """Part r: sparse random measurement constraints, time and memory against n."""
    results = run_scaling("sparse", solvers, sizes, limit)
    lines.append("\n### r. Sparse random constraints (SparseRecovery, m = n/2, 8 non-zeros per "
                 "row)\n")
    lines.append(f"Time [s] / peak memory growth [MB] per solver; target: KKT residual <= 1e-6 "
                 f"(least-squares multipliers by LSQR); a solver stops doubling n after its first "
                 f"run that misses the target or the {limit:.0f} s limit.\n")
    scaling_table(results, solvers, sizes, limit, "n", lines)
    scaling_plot(results, solvers, limit, "variables n (m = n/2 constraints)",
                 "Sparse random constraints: time vs n", plot_path)
    return results


def run_scaling(part, solvers, sizes, limit):
    """Each (solver, size) of ``part`` in a fresh child process; ``{solver: {size: record}}``."""
    context = multiprocessing.get_context("fork")
    results = {solver: {} for solver in solvers}
    targets = {}
    for solver in solvers:
        for N in sizes:
            if N not in targets:
                targets[N] = SCALING_PROBLEMS[part](N).target
            queue = context.Queue()
            child = context.Process(target=_scaling_child, args=(part, solver, N, limit,
                                                                  targets[N], queue))
            child.start()
            child.join(limit + 60)
            if child.is_alive():
                child.terminate()
                child.join()
                results[solver][N] = dict(time=np.inf, nit=-1, kkt=np.inf, mem_mb=np.nan,
                                          note=f"> {limit:.0f} s", solved=False)
            else:
                results[solver][N] = queue.get() if not queue.empty() else dict(
                    time=np.inf, nit=-1, kkt=np.inf, mem_mb=np.nan, solved=False,
                    note=f"crashed (exit {child.exitcode}, e.g. out of memory)")
            record = results[solver][N]
            ok = record["solved"] and record["time"] <= limit
            print(f"  {solver:16s} N={N:4d} {'ok' if ok else 'FAIL'} {record['time']:.3f}s "
                  f"mem={record['mem_mb']:.1f}MB kkt={record['kkt']:.1e} {record['note']}",
                  flush=True)
            if not ok:
                break
    return results


def scaling_table(results, solvers, sizes, limit, label, lines):
    """Markdown rows ``time / memory`` per solver and size (or why it failed)."""
    lines.append("| solver | " + " | ".join(f"{label}={N}" for N in sizes) + " |")
    lines.append("|---|" + "---|" * len(sizes))
    for solver in solvers:
        cells = []
        for N in sizes:
            record = results[solver].get(N)
            if record is None:
                cells.append("-")
            elif record.get("solved") and record["time"] <= limit:
                cells.append(f"{record['time']:.3f} / {record['mem_mb']:.0f}")
            else:
                reason = record["note"] if not np.isfinite(record["time"]) else \
                    (f"> {limit:.0f} s, " if record["time"] >= limit else "") + \
                    f"kkt {record['kkt']:.1e}"
                cells.append(f"FAIL ({reason})")
        lines.append(f"| {solver} | " + " | ".join(cells) + " |")


def scaling_plot(results, solvers, limit, xlabel, title, plot_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for solver in solvers:
        points = [(N, r["time"]) for N, r in results[solver].items()
                  if r.get("solved") and r["time"] <= limit]
        if points:
            ax.loglog(*zip(*points, strict=True), marker="o", label=solver)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("time [s]")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(plot_path, dpi=120)
    plt.close(fig)


def run_part_s2mpj(args, command, lines, sweep):
    solvers = ["exact-alm", "alm-paper", "trust-constr", "SLSQP"] + \
        (["IPOPT"] if have_ipopt() else [])
    if args.solvers:
        solvers = [s for s in solvers if s in args.solvers.split(",")]
    names = args.problems.split(",") if args.problems else read_set()
    reuse = set(args.reuse.split(",")) & set(solvers) if args.reuse else set()
    if reuse and not (args.cache and Path(args.cache).exists()):
        raise ValueError(f"--reuse {args.reuse}: expected --cache naming an earlier results file "
                         f"of part s2mpj, got {args.cache!r}")
    print("s. frozen S2MPJ equality set")
    records = run_s2mpj(solvers, names, sweep, reuse, args.cache)
    table = s2mpj_tables(records, names, solvers, RUN_LIMIT[0])
    write_csv(records, names, solvers, HERE / "exact_alm_s2mpj.csv")
    performance_profile(records, names, solvers, HERE / "plots" / "exact_alm_s2mpj.png",
                        "S2MPJ equality set (n <= 100), KKT 1e-6")
    block = [f"Command: `{command}`; commit {commit_label()}; "
             f"{'IPOPT' if have_ipopt() else 'no IPOPT (cyipopt not installed)'}. Per-problem "
             f"figures: `benchmarks/exact_alm_s2mpj.csv`; performance profile: "
             f"`plots/exact_alm_s2mpj.png`.\n", *table]
    lines.extend(["", "### s. Frozen S2MPJ equality set", *block])
    if args.write_results:
        write_results("\n".join(block))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="1 repeat, no a9a/w8a, PDE limit 60 s")
    parser.add_argument("--part", choices=["cutest", "s2mpj", "logistic", "pde", "sparse", "all"],
                        default="all")
    parser.add_argument("--problems", default=None,
                        help="comma-separated subset of the frozen set (part s2mpj)")
    parser.add_argument("--reuse", default="",
                        help="part s2mpj: comma-separated solvers whose records are read from "
                             "--cache instead of run (e.g. trust-constr,SLSQP)")
    parser.add_argument("--cache", default=None,
                        help="part s2mpj: results file (JSON lines) of an earlier sweep of the "
                             "part, read for the --reuse solvers")
    parser.add_argument("--write-results", action="store_true",
                        help="part s2mpj: write the tables into RESULTS.md")
    parser.add_argument("--limit", type=float, default=None,
                        help="PDE time limit per run in seconds (default 300, quick 60)")
    parser.add_argument("--max-n", type=int, default=1024,
                        help="largest PDE grid N (part sparse: largest n)")
    parser.add_argument("--tag", default="", help="suffix of the PDE plot's file name")
    parser.add_argument("--sets", default=None,
                        help="comma-separated LIBSVM sets for the logistic part (default: all)")
    parser.add_argument("--solvers", default=None,
                        help="comma-separated subset of the solvers (default: all)")
    parser.add_argument("--run-limit", type=float, default=120.0,
                        help="time limit per solver run in parts a and b (seconds)")
    parser.add_argument("--out", default=str(HERE / "exact_alm_results.md"))
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.results and args.part == "all":
        parser.error("--results names one part's file: use it with --part cutest, logistic or "
                     "s2mpj")
    sweep = {**sweep_options(args), "results": args.results}
    repeats = 1 if args.quick else 3
    RUN_LIMIT[0] = args.run_limit
    limit = args.limit or (60.0 if args.quick else 300.0)
    command = "python benchmarks/bench_exact_alm.py " + " ".join(argv or sys.argv[1:])
    lines = [f"Command: `{command}`; machine: 2-core dev machine, shared; single-threaded; "
             f"KKT target {TARGET:g} measured with least-squares multipliers."]
    (HERE / "plots").mkdir(exist_ok=True)
    if args.part in ("cutest", "all"):
        from numopt.problems.cutest import ALM_PAPER_PROBLEMS

        solvers = solvers_to_run()
        print("a. CUTEst paper set")
        records, names = run_set("a. CUTEst equality set of the paper (S2MPJ)", "cutest",
                                 ALM_PAPER_PROBLEMS, solvers, repeats, lines, sweep)
        performance_profile(records, names, solvers, HERE / "plots" / "exact_alm_cutest.png",
                            "CUTEst equality set, KKT 1e-6")
    if args.part in ("s2mpj", "all"):
        run_part_s2mpj(args, command, lines, sweep)
    if args.part in ("logistic", "all"):
        solvers = solvers_to_run()
        sets = [s for s in LIBSVM_SETS if not (args.quick and s in ("a9a", "w8a"))]
        if args.sets:
            sets = args.sets.split(",")
        print("b. constrained logistic regression")
        run_set("b. Constrained logistic regression (LIBSVM)", "logistic", sets, solvers,
                repeats, lines, sweep)
        if args.quick and not args.sets:
            lines.append("\n(--quick: a9a and w8a not run.)")
    if args.part in ("pde", "sparse", "all"):
        # "exact-alm" is the default inner_solver="auto"
        solvers = ["exact-alm", *solvers_to_run(include_variants=True)]
        if args.solvers:
            solvers = [s for s in solvers if s in args.solvers.split(",")]
    if args.part in ("pde", "all"):
        sizes = [N for N in (16, 32, 64, 128, 256, 512, 1024) if N <= args.max_n]
        print("c. Poisson control")
        run_pde(solvers, sizes, limit, lines,
                HERE / "plots" / f"exact_alm_pde_scaling{args.tag}.png")
    if args.part in ("sparse", "all"):
        sizes = [n for n in (1000, 2000, 4000, 8000, 16000, 32000) if n <= args.max_n]
        print("r. sparse random constraints")
        run_sparse(solvers, sizes, limit, lines,
                   HERE / "plots" / f"exact_alm_sparse_scaling{args.tag}.png")
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
