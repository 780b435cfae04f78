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
``x`` (that search is the warm-up). Then ``repeats`` interleaved rounds (one run of every solver
per round, so that all see the same background load); the time is the median; a run is
stopped after ``cap_seconds`` and a solver that misses the target fails the instance. Ties:
within ``tie`` (5%) of the best SciPy time. Single-threaded BLAS.

Usage::

    python benchmarks/compare_gn_newton.py --parts logistic
    python benchmarks/compare_gn_newton.py --parts s2mpj --limit 20 --cap 10 --repeats 1
"""

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
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


def measure(problem, derivatives, frozen, cap, repeats):
    """Records (one per solver) for one instance: tolerance, median time, counts, success."""
    target = frozen["target"]
    solvers = ["gn-newton", *SCIPY[derivatives]]
    chosen = {}
    for solver in solvers:
        tolerances = [target] if solver == "gn-newton" else frozen["scipy_tolerances"]
        for tol in tolerances:
            start = time.perf_counter()
            result = _run(problem, solver, derivatives, tol, cap)
            seconds = time.perf_counter() - start
            ok, _ = _reached(problem, result, target)
            chosen[solver] = (tol, ok)
            if ok or seconds > cap:
                break
    times = {solver: [] for solver in solvers}
    last = {}
    for _ in range(repeats):
        for solver in solvers:
            start = time.perf_counter()
            last[solver] = _run(problem, solver, derivatives, chosen[solver][0], cap)
            times[solver].append(time.perf_counter() - start)
    records = []
    for solver in solvers:
        result, seconds = last[solver], statistics.median(times[solver])
        ok, norm = _reached(problem, result, target)
        records.append({"instance": problem.label, "derivatives": derivatives, "solver": solver,
                        "tol": chosen[solver][0], "seconds": seconds,
                        "solved": ok and seconds <= cap, "grad_norm": norm,
                        "nit": int(result.get("nit", -1)), "nfev": int(result.get("nfev", -1)),
                        "njev": int(result.get("njev", -1)), "nhev": int(result.get("nhev", 0))})
    return records


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
    """``(problem factory, derivatives)`` pairs of the selected parts, in frozen order."""
    pairs = []
    if "logistic" in parts:
        for spec in frozen["logistic"]["instances"]:
            for derivatives in frozen["logistic"]["derivatives"]:
                pairs.append((lambda spec=spec: logistic_problem(**spec), derivatives))
    if "s2mpj" in parts:
        names = frozen["s2mpj"]["names"][:limit] if limit else frozen["s2mpj"]["names"]
        for name in names:
            pairs.append((lambda name=name: _s2mpj_problem(name), "hess"))
    return pairs


def _s2mpj_problem(name):
    from numopt.problems.cutest import load_cutest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        problem = load_cutest(name)
    return _Problem(f"{name} (n={problem.n})", problem.fun, problem.jac, problem.hess,
                    problem.hessp, problem.x0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", nargs="+", default=["logistic", "s2mpj"],
                        choices=["logistic", "s2mpj"])
    parser.add_argument("--limit", type=int, default=0, help="first N S2MPJ problems only")
    parser.add_argument("--cap", type=float, default=None, help="seconds per run (frozen: 60)")
    parser.add_argument("--repeats", type=int, default=None, help="rounds (frozen: 3)")
    parser.add_argument("--out", default=str(HERE / "plots" / "gn_newton_compare.jsonl"))
    args = parser.parse_args(argv)
    frozen = json.loads(FROZEN.read_text())
    cap = args.cap or frozen["cap_seconds"]
    repeats = args.repeats or frozen["repeats"]
    print(f"# {' '.join(sys.argv)}\n")
    records = []
    for make, derivatives in _instances(frozen, args.parts, args.limit):
        problem = make()
        print(f"{problem.label} [{derivatives}]", file=sys.stderr, flush=True)
        records += measure(problem, derivatives, frozen, cap, repeats)
        Path(args.out).parent.mkdir(exist_ok=True)
        Path(args.out).write_text("".join(json.dumps(r) + "\n" for r in records))
    print("\n".join(summarise(records, frozen["tie"])))
    plot = Path(args.out).with_suffix(".png")
    profile_plot(records, plot, f"gn-newton vs SciPy ({', '.join(args.parts)}), "
                 f"||g|| <= {frozen['target']:g}")
    print(f"\nPerformance profile: `{plot}`.")


if __name__ == "__main__":
    main()
