"""gn-newton against SciPy's methods on the user's own functions (frozen instance set).

The instances, the target and the protocol are frozen in ``benchmarks/gn_newton_instances.json``:

* ``logistic``: L2-regularised logistic regression ``f(x) = mean log(1 + exp(-y_i a_i^T x)) +
  reg/2 ||x||^2`` written as plain NumPy callables (``fun``, ``jac``, ``hess``, ``hessp``; not
  numopt's fused oracle) on scikit-learn's breast_cancer (standardised and raw), digits
  0-vs-rest and ``make_classification(20000, 200, random_state=0)``, ``reg = 1/n`` and
  ``1e-2``, ``x0 = 0``; once with ``hess`` and once with ``hessp`` only;
* ``s2mpj``: the unconstrained S2MPJ problems with ``10 <= n <= 100`` (as ``list_cutest``
  listed them when the file was frozen), from the problem's ``x0``, with ``hess``.

Every solver runs to ``||grad f||_2 <= target`` (1e-8): gn-newton with ``gtol = target``, each
SciPy method at the loosest of its own tolerances that reaches the target at the returned
``x`` (its outcome is kept beside the results file, so only the first round searches; every
child process first solves a small problem with each solver, untimed, so that no timed run is the
process's first solve). Then ``repeats`` rounds, in each one timed run per solver, one solver
after the other (so that all see the same background load); the time is the median over the
rounds; a run is stopped after ``cap_seconds``, a solver that misses the target fails the
instance, and a search that missed it is not run again (nor continued past a run that failed by
its own account: a tighter tolerance changes only the stopping test). Ties:
within ``tie`` (5%) of the best SciPy time. Single-threaded BLAS.

It is a sweep on dask.distributed (``benchmarks/sweep.py``): one task per (instance and
derivatives, round), every solver's search and timed run of the round one after the other in one
child process of a worker, killed and recorded as a failure past the whole search and run at
``cap`` each (plus 30 s); results are appended to ``--results`` (default
``benchmarks/results/gn_newton_compare.jsonl``), a rerun resumes from it, and the tables, the
records file ``--out`` and the profile are built from it. ``--scheduler ADDRESS`` uses an
existing Dask cluster, else a LocalCluster of ``--workers`` processes (default one per core);
``--workers 0`` runs in this process.

Usage::

    python benchmarks/compare_gn_newton.py --parts logistic --workers 2
    python benchmarks/compare_gn_newton.py --parts s2mpj --limit 20 --cap 10 --repeats 1
"""

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.optimize import minimize as scipy_minimize  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numopt  # noqa: E402

HERE = Path(__file__).resolve().parent
FROZEN = HERE / "gn_newton_instances.json"
#: The SciPy methods and the second-order information each takes ("hess" or "hessp" runs).
SCIPY = {"hess": ("trust-exact", "trust-ncg", "trust-krylov", "Newton-CG", "L-BFGS-B", "BFGS"),
         "hessp": ("trust-ncg", "trust-krylov", "Newton-CG", "L-BFGS-B", "BFGS")}
SECOND_ORDER = ("trust-exact", "trust-ncg", "trust-krylov", "Newton-CG")


class _Problem:
    """``fun``, ``jac``, ``hess``, ``hessp`` and ``x0`` of one instance."""

    def __init__(self, label, fun, jac, hess, hessp, x0):
        self.label, self.fun, self.jac, self.hess, self.hessp, self.x0 = \
            label, fun, jac, hess, hessp, x0


def _data(name, standardize):
    from sklearn import datasets

    if name == "breast_cancer":
        X, y = datasets.load_breast_cancer(return_X_y=True)
    elif name == "digits_0_vs_rest":
        X, labels = datasets.load_digits(return_X_y=True)
        y = (labels == 0).astype(float)
    elif name == "make_classification_20000x200":
        X, y = datasets.make_classification(20000, 200, random_state=0)
    else:
        raise ValueError(f"unknown data set {name!r}")
    if standardize:
        X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    return np.ascontiguousarray(X, dtype=float), np.where(y > 0, 1.0, -1.0)


def logistic_problem(data, standardize, reg):
    """The plain-callable L2 logistic regression of one frozen instance (written as a SciPy
    user would: each function recomputes the margins it needs)."""
    X, y = _data(data, standardize)
    n = X.shape[0]
    label = f"{data}{' (std)' if standardize else ''}, reg={reg if reg == '1/n' else f'{reg:g}'}"
    reg = 1.0 / n if reg == "1/n" else float(reg)

    def fun(x):
        return float(np.mean(np.logaddexp(0.0, -y * (X @ x))) + 0.5 * reg * (x @ x))

    def jac(x):
        # d/dz log(1 + exp(-y z)) = -y sigmoid(-y z)
        return X.T @ (-y * _sigmoid(-y * (X @ x))) / n + reg * x

    def weights(x):
        s = _sigmoid(X @ x)
        return s * (1.0 - s)

    def hess(x):
        return (X.T * weights(x)) @ X / n + reg * np.eye(X.shape[1])

    def hessp(x, p):
        return X.T @ (weights(x) * (X @ p)) / n + reg * p

    return _Problem(label, fun, jac, hess, hessp, np.zeros(X.shape[1]))


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free


class _Cap:
    """A callback raising StopIteration once ``seconds`` have passed (SciPy and numopt stop)."""

    def __init__(self, seconds):
        self.deadline = time.perf_counter() + seconds

    def __call__(self, *args, **kwargs):
        if time.perf_counter() > self.deadline:
            raise StopIteration


def _run(problem, solver, derivatives, tol, cap):
    """One run; returns the OptimizeResult."""
    second = {derivatives: getattr(problem, derivatives)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if solver == "gn-newton":
            return numopt.minimize(problem.fun, problem.x0.copy(), jac=problem.jac,
                                   method="gn-newton", callback=_Cap(cap),
                                   options={"gtol": tol, "maxiter": 100000, "warn": False},
                                   **second)
        options = {"maxiter": 100000}
        if solver == "Newton-CG":
            options["xtol"] = tol
        else:
            options["gtol"] = tol
        if solver == "L-BFGS-B":
            options.update(ftol=0.0, maxfun=100000)
        kwargs = second if solver in SECOND_ORDER else {}
        return scipy_minimize(problem.fun, problem.x0.copy(), jac=problem.jac, method=solver,
                              callback=_Cap(cap), options=options, **kwargs)


def _reached(problem, result, target):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        norm = float(np.linalg.norm(problem.jac(result.x)))
    return bool(np.isfinite(norm) and norm <= target), norm


def _warm_up(cap):
    """Every solver once with each kind of derivative on a small problem, untimed.

    A child whose tolerance searches were kept from an earlier round would otherwise time the
    process's first solve, with numba's cache loading and first-call set-up in it (gn-newton on
    breast_cancer (std), reg 1/n: 48 ms for the first call, 4 ms for the next).
    """
    scale = np.arange(1.0, 6.0)
    small = _Problem("warm-up", lambda x: float(scale @ (x ** 4 / 4 + x ** 2 / 2)),
                     lambda x: scale * (x ** 3 + x), lambda x: np.diag(scale * (3 * x ** 2 + 1)),
                     lambda x, p: scale * (3 * x ** 2 + 1) * p, np.ones(5))
    for derivatives, solvers in SCIPY.items():
        for solver in ("gn-newton", *solvers):
            _run(small, solver, derivatives, 1e-8, cap)


def compare_load(problem, cap, target, tolerances, memo=None):
    """Sweep task: ``(instance, derivatives)`` of the task name made by :func:`_instances`
    (``"logistic:data:std|raw:reg:derivatives"`` or ``"s2mpj:name:derivatives"``), after the
    warm-up of :func:`_warm_up`."""
    _warm_up(cap)
    part, *fields, derivatives = problem.split(":")
    if part == "logistic":
        data, scaling, reg = fields
        return logistic_problem(data, scaling == "std", reg if reg == "1/n" else float(reg)), \
            derivatives
    return _s2mpj_problem(fields[0]), derivatives


def compare_run(loaded, solver, cap, target, tolerances, memo=None):
    """Sweep task: one solver's tolerance search (the warm-up: gn-newton at ``target``, a SciPy
    method at the loosest of ``tolerances`` reaching it, a search that stops at a run over
    ``cap``), then one timed run at the chosen tolerance.

    With ``memo`` (a folder), the first round to finish a search stores its outcome there and
    later rounds of the same instance and solver skip the search; a search that did not reach the
    target is not run again (the runs are deterministic: a failure whatever the round), its
    record stands for every round."""
    problem, derivatives = loaded
    known = _recall(memo, problem.label, derivatives, solver, cap, target)
    if known is None:
        known = _search(problem, solver, derivatives, cap, target, tolerances)
        _remember(memo, problem.label, derivatives, solver, cap, target, known)
    if not known["record"]["reached"]:
        return known["record"]
    start = time.perf_counter()
    result = _run(problem, solver, derivatives, known["tol"], cap)
    return _record(problem, result, known["tol"], time.perf_counter() - start, target)


def _search(problem, solver, derivatives, cap, target, tolerances):
    """The loosest tolerance that reaches ``target``. The ladder stops at a run that failed by
    its own account (``success`` false: iteration limit, line search, precision loss): a
    tolerance enters only the stopping test, so a tighter one repeats the same failed run."""
    for tol in [target] if solver == "gn-newton" else tolerances:
        start = time.perf_counter()
        result = _run(problem, solver, derivatives, tol, cap)
        seconds = time.perf_counter() - start
        ok, _ = _reached(problem, result, target)
        if ok or seconds > cap or not result.get("success", True):
            break
    return {"tol": tol, "record": _record(problem, result, tol, seconds, target)}


def _record(problem, result, tol, seconds, target):
    ok, norm = _reached(problem, result, target)
    return {"instance": problem.label, "tol": tol, "seconds": seconds, "reached": ok,
            "grad_norm": norm, "nit": int(result.get("nit", -1)),
            "nfev": int(result.get("nfev", -1)), "njev": int(result.get("njev", -1)),
            "nhev": int(result.get("nhev", 0))}


def _memo_file(memo, *key):
    digest = hashlib.sha1(repr(key).encode()).hexdigest()[:16]
    return Path(memo) / f"{digest}.json"


def _recall(memo, *key):
    if memo is None or not _memo_file(memo, *key).exists():
        return None
    return json.loads(_memo_file(memo, *key).read_text())


def _remember(memo, *key_and_value):
    if memo is None:
        return
    *key, value = key_and_value
    path = _memo_file(memo, *key)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(value))
    partial.replace(path)  # atomic: a concurrent round reads the whole file or none


def measure(tasks, records, cap):
    """Records (one per solver and instance, in task order) from the sweep's ``records``: the
    median time over the repeats, the counts and the success of the last repeat; a run killed
    by the sweep's hard limit fails."""
    out = []
    for problem in dict.fromkeys(task.problem for task in tasks):
        own = sorted((record for record in records.values() if record["problem"] == problem),
                     key=lambda record: record["repeat"])
        if not own or own[-1]["status"] != "ok":
            why = own[-1].get("error", own[-1]["status"]) if own else "not run"
            print(f"{problem}: not measured ({why})", file=sys.stderr)
            continue
        derivatives = problem.rsplit(":", 1)[1]
        label = next((run["instance"] for record in own for run in record["runs"]
                      if "instance" in run), problem)  # the task name if every run was killed
        for solver in next(task.solvers for task in tasks if task.problem == problem):
            runs = [run for record in own for run in record["runs"] if run["solver"] == solver]
            last = runs[-1] if runs[-1]["status"] == "ok" else \
                {"tol": None, "seconds": np.inf, "reached": False, "grad_norm": np.nan,
                 "nit": -1, "nfev": -1, "njev": -1, "nhev": 0}
            seconds = statistics.median(run["seconds"] if run["status"] == "ok" else np.inf
                                        for run in runs)
            out.append({"instance": label, "derivatives": derivatives, "solver": solver,
                        "tol": last["tol"], "seconds": seconds,
                        "solved": last["reached"] and seconds <= cap,
                        "grad_norm": last["grad_norm"],
                        **{count: last[count] for count in ("nit", "nfev", "njev", "nhev")}})
    return out


def summarise(records, tie):
    """Markdown lines: per instance gn-newton against the best SciPy method, then totals."""
    lines = ["| instance | derivatives | gn-newton [s] | best SciPy [s] | best SciPy | ratio "
             "gn/best | verdict | gn nfev/nit | failed |", "|---|---|---|---|---|---|---|---|---|"]
    keys = sorted({(r["instance"], r["derivatives"]) for r in records},
                  key=lambda key: [r["instance"] for r in records].index(key[0]))
    verdicts, ratios = [], []
    for instance, derivatives in keys:
        rows = [r for r in records if (r["instance"], r["derivatives"]) == (instance, derivatives)]
        gn = next(r for r in rows if r["solver"] == "gn-newton")
        peers = [r for r in rows if r["solver"] != "gn-newton" and r["solved"]]
        best = min(peers, key=lambda r: r["seconds"], default=None)
        ratio = gn["seconds"] / best["seconds"] if best and gn["solved"] else np.nan
        if not gn["solved"]:
            verdict = "gn fails" if best else "all fail"
        elif best is None:
            verdict = "win (SciPy fails)"
        else:
            verdict = "win" if ratio < 1 - tie else "tie" if ratio <= 1 + tie else "loss"
        verdicts.append(verdict)
        ratios.append(ratio)
        failed = ", ".join(r["solver"] for r in rows if not r["solved"]) or "-"
        lines.append(f"| {instance} | {derivatives} | {gn['seconds']:.3g} | "
                     f"{best['seconds'] if best else float('nan'):.3g} | "
                     f"{best['solver'] if best else '-'} | {ratio:.2f} | {verdict} | "
                     f"{gn['nfev']}/{gn['nit']} | {failed} |")
    good = sum(v.startswith(("win", "tie")) for v in verdicts)
    finite = [r for r in ratios if np.isfinite(r)]
    lines += ["", f"gn-newton faster or tied: {good} of {len(verdicts)} "
              f"({good / max(len(verdicts), 1):.0%}); worst ratio gn/best SciPy: "
              f"{max(finite, default=float('nan')):.2f}.", "", "| solver | failures |",
              "|---|---|"]
    for solver in dict.fromkeys(r["solver"] for r in records):
        own = [r for r in records if r["solver"] == solver]
        lines.append(f"| {solver} | {sum(not r['solved'] for r in own)} of {len(own)} |")
    products = {s: sum(r["nhev"] for r in records if r["solver"] == s and r["derivatives"] ==
                       "hessp") for s in ("gn-newton", "trust-ncg")}
    if any(r["derivatives"] == "hessp" for r in records):
        lines += ["", f"Hessian-vector products, hessp runs, in total: gn-newton "
                  f"{products['gn-newton']}, trust-ncg {products['trust-ncg']}."]
    return lines


def profile_plot(records, path, title):
    """Performance profile (time) of every solver over the instances in ``records``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(dict.fromkeys((r["instance"], r["derivatives"]) for r in records))
    solvers = list(dict.fromkeys(r["solver"] for r in records))
    table = np.full((len(solvers), len(keys)), np.inf)
    for r in records:
        if r["solved"]:
            table[solvers.index(r["solver"]), keys.index((r["instance"], r["derivatives"]))] = \
                r["seconds"]
    best = table.min(axis=0)
    keep = np.isfinite(best)
    taus = np.logspace(0, 2, 200)
    fig, ax = plt.subplots(figsize=(6, 4))
    for solver, row in zip(solvers, table[:, keep] / best[keep], strict=True):
        ax.step(taus, [(row <= tau).sum() / len(keys) for tau in taus], where="post",
                label=solver, lw=2 if solver == "gn-newton" else 1)
    ax.set_xscale("log")
    ax.set_xlabel("time ratio to the fastest solver (tau)")
    ax.set_ylabel("share of instances solved within tau")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    path.parent.mkdir(exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _instances(frozen, parts, limit):
    """``(task name, derivatives)`` pairs of the selected parts, in frozen order."""
    pairs = []
    if "logistic" in parts:
        specs = frozen["logistic"]["instances"]
        for spec in specs[:limit] if limit else specs:
            for derivatives in frozen["logistic"]["derivatives"]:
                scaling = "std" if spec["standardize"] else "raw"
                pairs.append((f"logistic:{spec['data']}:{scaling}:{spec['reg']}:{derivatives}",
                              derivatives))
    if "s2mpj" in parts:
        names = frozen["s2mpj"]["names"][:limit] if limit else frozen["s2mpj"]["names"]
        for name in names:
            pairs.append((f"s2mpj:{name}:hess", "hess"))
    return pairs


def _s2mpj_problem(name):
    from numopt.problems.cutest import load_cutest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        problem = load_cutest(name)
    return _Problem(f"{name} (n={problem.n})", problem.fun, problem.jac, problem.hess,
                    problem.hessp, problem.x0)


def main(argv=None):
    from benchmarks.sweep import Task, add_arguments, run_sweep, sweep_options

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", nargs="+", default=["logistic", "s2mpj"],
                        choices=["logistic", "s2mpj"])
    parser.add_argument("--limit", type=int, default=0, help="first N instances of each part only")
    parser.add_argument("--cap", type=float, default=None, help="seconds per run (frozen: 60)")
    parser.add_argument("--repeats", type=int, default=None, help="rounds (frozen: 3)")
    parser.add_argument("--out", default=str(HERE / "plots" / "gn_newton_compare.jsonl"))
    add_arguments(parser)
    args = parser.parse_args(argv)
    frozen = json.loads(FROZEN.read_text())
    cap = args.cap or frozen["cap_seconds"]
    repeats = args.repeats or frozen["repeats"]
    print(f"# {' '.join(sys.argv)}\n")
    path = args.results or HERE / "results" / "gn_newton_compare.jsonl"
    options = {"cap": cap, "target": frozen["target"], "tolerances": frozen["scipy_tolerances"],
               "memo": str(Path(path).with_suffix(".tolerances"))}
    # Hard limit of one solver: its tolerance search and the timed run, each stopped by the
    # cap callback between iterations; the kill is for a run that does not return between them.
    limit = (len(frozen["scipy_tolerances"]) + 1) * cap + 30.0
    tasks = [Task("benchmarks.compare_gn_newton:compare_load",
                  "benchmarks.compare_gn_newton:compare_run", name,
                  ("gn-newton", *SCIPY[derivatives]), repeat, limit=limit, options=options)
             for name, derivatives in _instances(frozen, args.parts, args.limit)
             for repeat in range(repeats)]
    records = measure(tasks, run_sweep(tasks, path, **sweep_options(args)), cap)
    Path(args.out).parent.mkdir(exist_ok=True)
    Path(args.out).write_text("".join(json.dumps(r) + "\n" for r in records))
    print("\n".join(summarise(records, frozen["tie"])))
    plot = Path(args.out).with_suffix(".png")
    profile_plot(records, plot, f"gn-newton vs SciPy ({', '.join(args.parts)}), "
                 f"||g|| <= {frozen['target']:g}")
    print(f"\nPerformance profile: `{plot}`.")


if __name__ == "__main__":
    main()
