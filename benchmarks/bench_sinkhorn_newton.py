"""Benchmark: numopt.sinkhorn_newton vs POT and regot on entropic OT, to one accuracy target.

Every solver must return a plan whose L1 marginal error ``||P1 - a||_1 + ||P^T 1 - b||_1`` is at
most ``TARGET = 1e-8`` (checked on the returned plan). Peers stop on their own criteria, so each is
run at its loosest tolerance (tried 1e-8, 1e-9, ...) meeting the target; the setting is printed.
ot.emd (exact LP, no entropy) is timed as the unregularised reference. Single-threaded, one
process, warm-up excluded (numba compiles on the first call, which is measured separately by
``--cold``); each timing is the minimum over ``--repeat`` interleaved runs.

Usage::

    python benchmarks/bench_sinkhorn_newton.py --quick          # ~10 minutes on 2 cores
    python benchmarks/bench_sinkhorn_newton.py                  # all sizes (hours)
    python benchmarks/bench_sinkhorn_newton.py --cold           # first-call latency only
    python benchmarks/bench_sinkhorn_newton.py --batched --sizes 1000 --regs 1e-2 1e-3
    python benchmarks/bench_sinkhorn_newton.py --float32 --sizes 3000 --regs 1e-2

``--batched``: k = ``--targets`` targets sharing M (POT's ``b`` of shape (m, k)), every target
to the same TARGET (errors recomputed in float64 from the returned potentials). ``--float32``:
time to L1 error 1e-5 on the returned plan, float64 against float32 inputs.
"""

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import shlex  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET = 1e-8
TOLERANCES = (1e-8, 1e-9, 1e-10, 1e-11)


# ---------------------------------------------------------------------------------------------
# problems
def points(n, seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((n, 2))
    C = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    return np.full(n, 1 / n), np.full(n, 1 / n), C


def assignment(n, seed=0):
    rng = np.random.default_rng(seed)
    return np.full(n, 1 / n), np.full(n, 1 / n), rng.random((n, n))


def gaussians(n):
    t = np.linspace(0, 1, n)
    a = np.exp(-(t - 0.2) ** 2 / 0.005) + 0.5 * np.exp(-(t - 0.6) ** 2 / 0.01)
    b = np.exp(-(t - 0.4) ** 2 / 0.01) + 0.8 * np.exp(-(t - 0.8) ** 2 / 0.003)
    return a / a.sum(), b / b.sum(), (t[:, None] - t[None, :]) ** 2


def _normalised_cost(x, y, metric):
    from scipy.spatial.distance import cdist

    C = cdist(x, y, "cityblock") if metric == "L1" else cdist(x, y, "sqeuclidean")
    return C / C.max()


def mnist_pairs(count, seed=0):
    """``count`` test-set image pairs drawn with a fixed seed, built as SSNS builds its problems:
    each image divided by its sum and mixed with 1% uniform (``(1 - eps/8) p + eps / (8n)``)."""
    from numopt.datasets import load_mnist

    images, _ = load_mnist("test")
    rng = np.random.default_rng(seed)
    index = rng.choice(len(images), size=2 * count, replace=False)
    grid = np.array([(r, c) for r in range(28) for c in range(28)], dtype=float)
    eps, n = 0.01, 784

    def weights(image):
        p = image.reshape(-1).astype(float)
        p /= p.sum()
        return (1 - eps / 8) * p + eps / (8 * n)

    pairs = []
    for k in range(count):
        p, q = images[index[2 * k]], images[index[2 * k + 1]]
        pairs.append((f"pair{k}", weights(p), weights(q), grid))
    return pairs


def problems(args):
    """(family, name, a, b, C) for the configured run; C is normalised where the issue says."""
    out = []
    for n in args.sizes:
        out.append(("points", f"n={n}", *points(n)))
        out.append(("assignment", f"n={n}", *assignment(n)))
        out.append(("gaussians", f"n={n}", *gaussians(n)))
    if args.mnist:
        try:
            for name, a, b, grid in mnist_pairs(args.mnist):
                for metric in ("L1", "L2^2"):
                    out.append((f"mnist-{metric}", name, a, b, _normalised_cost(grid, grid,
                                                                               metric)))
        except FileNotFoundError as exc:
            print(f"skipping MNIST: {exc}")
    if args.imagenet:
        try:
            from numopt.datasets import load_ssns_features

            for dim in args.imagenet:
                clouds = load_ssns_features(dim)
                x, y = clouds[0].astype(float), clouds[2].astype(float)
                n, m = len(x), len(y)
                for metric in ("L1", "L2^2"):
                    out.append((f"imagenet{dim}-{metric}", "1 vs 3", np.full(n, 1 / n),
                                np.full(m, 1 / m), _normalised_cost(x, y, metric)))
        except FileNotFoundError as exc:
            print(f"skipping ImageNet features: {exc}")
    return out


# ---------------------------------------------------------------------------------------------
# solvers: each takes (a, b, C, reg, tol, budget_s) and returns (plan, iterations, history)
def _error(plan, a, b):
    return float(np.abs(plan.sum(1) - a).sum() + np.abs(plan.sum(0) - b).sum())


def run_numopt(a, b, C, reg, tol, budget):
    from numopt import sinkhorn_newton

    res = sinkhorn_newton(a, b, C, reg, tol=tol, maxiter=10 ** 6, warn=False)
    hist = (res.history["time"], res.history["marginal_error"])
    return res.plan, f"{res.nit} ({res.n_newton} N)", hist


def _pot(method):
    def run(a, b, C, reg, tol, budget):
        import ot

        # cap the iterations so that one run fits the time budget (probe 20 iterations first)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ot.sinkhorn(a, b, C, reg, method=method, numItermax=20, stopThr=0.0)
            per_iter = (time.perf_counter() - start) / 20
            cap = int(max(100, min(10 ** 6, budget / max(per_iter, 1e-7))))
            plan, log = ot.sinkhorn(a, b, C, reg, method=method, numItermax=cap, stopThr=tol,
                                    log=True)
        errs = np.asarray(log.get("err", [np.nan]), dtype=float)
        return plan, int(log.get("niter", cap)), (None, errs)
    return run


def _regot(name):
    def run(a, b, C, reg, tol, budget):
        import regot

        method = getattr(regot, name)
        Cf = np.asfortranarray(C)
        start = time.perf_counter()
        method(Cf, a, b, reg, tol=0.0, max_iter=3)
        per_iter = (time.perf_counter() - start) / 3
        cap = int(max(10, min(10 ** 6, budget / max(per_iter, 1e-7))))
        res = method(Cf, a, b, reg, tol=tol, max_iter=cap)
        hist = (np.asarray(res.run_times) / 1000.0, np.asarray(res.mar_errs))
        return res.plan, int(res.niter), hist
    return run


def _ott(anderson):
    """ott-jax's log-sum-exp Sinkhorn in float64 on the CPU (optionally Anderson-accelerated);
    its stopping error is the L1 error of the column marginal, checked every 10 iterations. The
    jit compilation is excluded from the time (returned as the 4th item)."""
    def run(a, b, C, reg, tol, budget):
        import jax

        jax.config.update("jax_enable_x64", True)
        from ott.geometry import geometry
        from ott.problems.linear import linear_problem
        from ott.solvers.linear import acceleration, sinkhorn

        solver = sinkhorn.Sinkhorn(
            threshold=tol, max_iterations=20000, lse_mode=True, norm_error=1,
            anderson=acceleration.AndersonAcceleration(memory=5) if anderson else None)

        def solve(a, b, C):
            out = solver(linear_problem.LinearProblem(
                geometry.Geometry(cost_matrix=C, epsilon=reg), a, b))
            return out.matrix, out.n_iters, out.errors

        start = time.perf_counter()
        compiled = jax.jit(solve).lower(a, b, C).compile()
        compile_time = time.perf_counter() - start
        plan, nit, errors = compiled(a, b, C)
        plan = np.asarray(jax.block_until_ready(plan))
        errors = np.asarray(errors)
        return plan, int(nit), (None, errors[errors >= 0]), compile_time
    return run


def run_emd(a, b, C, reg, tol, budget):
    import ot

    plan = ot.emd(a, b, C, numItermax=10 ** 8)
    return plan, "-", None


SOLVERS = {
    "numopt": run_numopt,
    "POT sinkhorn_log": _pot("sinkhorn_log"),
    "POT sinkhorn": _pot("sinkhorn"),
    "POT sinkhorn_stabilized": _pot("sinkhorn_stabilized"),
    "ott-jax": _ott(anderson=False),
    "ott-jax anderson": _ott(anderson=True),
    "regot ssns": _regot("sinkhorn_ssns"),
    "regot sparse_newton": _regot("sinkhorn_sparse_newton"),
    "regot newton": _regot("sinkhorn_newton"),
    "regot splr": _regot("sinkhorn_splr"),
    "regot bcd": _regot("sinkhorn_bcd"),
    "regot lbfgs_dual": _regot("sinkhorn_lbfgs_dual"),
    "regot apdagd": _regot("sinkhorn_apdagd"),
    "ot.emd": run_emd,
}


def timed(solver, a, b, C, reg, tol, budget):
    tracemalloc.start()
    start = time.perf_counter()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            plan, nit, hist, *excluded = solver(a, b, C, reg, tol, budget)
        except RuntimeError as exc:  # regot raises when its line search fails
            print(f"      failed: {exc}")
            plan, nit, hist, excluded = None, "failed", None, []
    elapsed = time.perf_counter() - start - sum(excluded)  # ott-jax's jit compilation
    peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    if hist is not None and hist[0] is None:
        # POT logs its error every 10 iterations without times: spread them over the run. An
        # empty log (POT stopping at iteration 0 on an underflowed kernel) has no curve.
        count = len(hist[1])
        hist = (np.linspace(elapsed / count, elapsed, count), hist[1]) if count else None
    ok = plan is not None and np.isfinite(plan).all()
    error = _error(plan, a, b) if ok else np.inf
    return elapsed, nit, error, peak, hist


def calibrate(name, a, b, C, reg, budget):
    """The loosest tolerance meeting TARGET; returns (tol, time, nit, error, peak, hist)."""
    if name == "ot.emd":
        return (None, *timed(SOLVERS[name], a, b, C, reg, None, budget))
    last = None
    for tol in TOLERANCES:
        last = (tol, *timed(SOLVERS[name], a, b, C, reg, tol, budget))
        if last[3] <= TARGET:
            return last
        if last[1] > 0.8 * budget or last[2] == "failed":
            break  # at its time budget (or failed): a tighter tol will not help
    return last


def fmt_time(seconds):
    return f"{seconds:.3g}"


def bench(args):
    solvers = [s for s in SOLVERS if s in args.solvers] if args.solvers else list(SOLVERS)
    rows, curves = [], {}
    # warm-up: numba compiles on the first call (measured by --cold, excluded here)
    run_numopt(*gaussians(50), 1e-3, 1e-8, 10)
    if any(solver.startswith("ott-jax") for solver in solvers):
        SOLVERS["ott-jax"](*gaussians(50), 1e-2, 1e-8, 10)  # imports and initialises jax
    for family, name, a, b, C in problems(args):
        for reg_factor in args.regs:
            reg = reg_factor * C.max()
            label = f"{family} {name} reg={reg_factor:g}"
            print(f"== {label}", flush=True)
            results = {}
            for solver in solvers:
                results[solver] = list(calibrate(solver, a, b, C, reg, args.budget))
                tol, elapsed, nit, error, peak, _ = results[solver]
                print(f"   {solver:26s} tol={tol} time={elapsed:.3f}s nit={nit} "
                      f"err={error:.1e}", flush=True)
            for _ in range(args.repeat - 1):  # interleaved repeats of the calibrated settings
                for solver in solvers:
                    tol, elapsed, *_ = results[solver]
                    if results[solver][3] <= TARGET or solver == "ot.emd":
                        again = timed(SOLVERS[solver], a, b, C, reg, tol, args.budget)
                        results[solver][1] = min(elapsed, again[0])
            if args.plot_config == label:
                curves = {s: r[5] for s, r in results.items()}
            rows.append((label, results))
    return rows, curves, solvers


def table(rows, solvers):
    """Markdown: time (s) per solver, ratio = peer / numopt, '—' when the target was missed."""
    peers = [s for s in solvers if s != "numopt"]
    lines = ["| problem | numopt s (nit) | " + " | ".join(peers) + " |",
             "|---|---|" + "---|" * len(peers)]
    for label, results in rows:
        ours = results["numopt"]
        cells = [f"{fmt_time(ours[1])} ({ours[2]}){'' if ours[3] <= TARGET else ' MISSED'}"]
        for peer in peers:
            tol, elapsed, nit, error, peak, _ = results[peer]
            if peer != "ot.emd" and not error <= TARGET:
                cells.append(f"missed ({error:.0e} in {fmt_time(elapsed)} s)")
                continue
            ratio = elapsed / ours[1]
            setting = "" if tol is None else f", tol {tol:g}"
            cells.append(f"{fmt_time(elapsed)} s ×{ratio:.1f} ({nit}{setting})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def memory_table(rows, solvers):
    lines = ["| problem | " + " | ".join(solvers) + " |", "|---|" + "---|" * len(solvers)]
    for label, results in rows:
        lines.append(f"| {label} | " + " | ".join(f"{results[s][4]:.0f}" for s in solvers) + " |")
    return "\n".join(lines)


def plot(curves, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for solver, hist in curves.items():
        if hist is None or hist[0] is None or len(hist[1]) == 0:
            continue
        times, errors = hist
        ax.semilogy(times, np.maximum(errors, 1e-16), label=solver)
    ax.axhline(TARGET, color="k", lw=0.5, ls="--")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("marginal error (numopt: L1; regot: L2 of its reduced gradient)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# ---------------------------------------------------------------------------------------------
# k targets sharing M (POT's b of shape (m, k)); float32 inputs
def batch_problem(n=1000, k=32, seed=0):
    """Uniform source, k random targets (weights in [0.5, 1.5], normalised) on n points."""
    a, _, C = points(n, seed)
    B = np.random.default_rng(seed + 1).random((n, k)) + 0.5
    return a, B / B.sum(axis=0), C


def _batch_error(F, G, a, B, C, reg):
    """Largest L1 marginal error over the targets of the plans the potentials (n, k), (m, k)
    define (``P = exp((f + g - C) / reg)``), in float64."""
    errors = [_error(np.exp((F[:, t, None] + G[None, :, t] - C) / reg), a, B[:, t])
              for t in range(B.shape[1])]
    return max(errors) if np.isfinite(errors).all() else np.inf


def _numopt_batch(a, B, C, reg, tol):
    from numopt.ot import sinkhorn_newton_batch

    results = sinkhorn_newton_batch(a, B, C, reg, tol=tol, maxiter=10 ** 6, plans=False,
                                    warn=False)
    newton = sum(res.n_newton for res in results)
    return ([res.potentials[0] for res in results], [res.potentials[1] for res in results],
            f"{max(res.nit for res in results)} ({newton} N)")


def _numopt_singles(a, B, C, reg, tol):
    from numopt import sinkhorn_newton

    results = [sinkhorn_newton(a, B[:, t], C, reg, tol=tol, maxiter=10 ** 6, warn=False)
               for t in range(B.shape[1])]
    return ([res.potentials[0] for res in results], [res.potentials[1] for res in results],
            str(max(res.nit for res in results)))


def _pot_batch(method):
    def run(a, B, C, reg, tol):
        import ot

        _, log = ot.sinkhorn2(a, B, C, reg, method=method, stopThr=tol, numItermax=100000,
                              log=True)
        log_u = log["log_u"] if "log_u" in log else np.log(log["u"])
        log_v = log["log_v"] if "log_v" in log else np.log(log["v"])
        return reg * log_u, reg * log_v, str(log.get("niter", "?"))
    return run


BATCH_SOLVERS = {"numopt batch": _numopt_batch, "numopt single calls": _numopt_singles,
                 "POT sinkhorn": _pot_batch("sinkhorn"),
                 "POT sinkhorn_log": _pot_batch("sinkhorn_log")}


def _timed_batch(solver, a, B, C, reg, tol):
    start = time.perf_counter()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        F, G, nit = solver(a, B, C, reg, tol)
    elapsed = time.perf_counter() - start
    with np.errstate(all="ignore"):
        error = _batch_error(np.column_stack(F) if isinstance(F, list) else F,
                             np.column_stack(G) if isinstance(G, list) else G, a, B, C, reg)
    return elapsed, nit, error


def batch_table(args):
    """Time to L1 error TARGET on every target; peers calibrated as in the main table."""
    a, B, C = batch_problem(args.sizes[0], args.targets)
    solvers = {name: solver for name, solver in BATCH_SOLVERS.items()
               if not args.solvers or name in args.solvers}
    lines = ["| reg / max C | " + " | ".join(solvers) + " |", "|---" * (len(solvers) + 1) + "|"]
    for reg_factor in args.regs:
        reg, settings = reg_factor * C.max(), {}
        for name, solver in solvers.items():
            for tol in TOLERANCES:
                settings[name] = (tol, *_timed_batch(solver, a, B, C, reg, tol))
                print(f"   {reg_factor:g} {name:24s} tol={tol} time={settings[name][1]:.3f}s "
                      f"nit={settings[name][2]} err={settings[name][3]:.1e}", flush=True)
                if settings[name][3] <= TARGET or settings[name][1] > args.budget:
                    break
        for _ in range(args.repeat - 1):  # interleaved repeats
            for name, solver in solvers.items():
                tol, elapsed, nit, error = settings[name]
                again = _timed_batch(solver, a, B, C, reg, tol)[0]
                settings[name] = (tol, min(elapsed, again), nit, error)
        base = settings["numopt batch"][1]
        cells = [f"{t:.3g} s ({t / base:.2f}x, nit {nit}, tol {tol:g})" if err <= TARGET else
                 f"err {err:.1e} ({t:.3g} s)" for tol, t, nit, err in settings.values()]
        lines.append(f"| {reg_factor:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def float32_table(args):
    """numopt on float64 and float32 inputs, to L1 error 1e-5 on the returned plan."""
    from numopt import sinkhorn_newton

    target, lines = 1e-5, ["| n | reg / max C | float64 s (tol) | float32 s (tol) | "
                           "float64 / float32 |", "|---|---|---|---|---|"]
    for n in args.sizes:
        a, b, C = points(n)
        for reg_factor in args.regs:
            reg, best = reg_factor * C.max(), {}
            for dtype in (np.float64, np.float32):
                inputs = [x.astype(dtype) for x in (a, b, C)]
                for tol in (1e-5, 3e-6, 1e-6):
                    times = []
                    for _ in range(args.repeat):
                        start = time.perf_counter()
                        res = sinkhorn_newton(*inputs, reg, tol=tol, warn=False)
                        times.append(time.perf_counter() - start)
                    if _error(res.plan.astype(np.float64), a, b) <= target:
                        break
                best[dtype] = (min(times), tol)
            (t64, tol64), (t32, tol32) = best[np.float64], best[np.float32]
            lines.append(f"| {n} | {reg_factor:g} | {t64:.3g} ({tol64:g}) | {t32:.3g} "
                         f"({tol32:g}) | {t64 / t32:.2f} |")
            print(lines[-1], flush=True)
    return "\n".join(lines)


def _commit():
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                         cwd=Path(__file__).parent, check=False)
    return out.stdout.strip() or "unknown"


def cold_start():
    """First call in fresh processes: empty numba cache is not touched (it is the user's);
    the warm-cache figure is the second of two fresh processes."""
    code = ("import time; t0 = time.perf_counter(); import numpy as np; import numopt; "
            "t1 = time.perf_counter(); n = 200; x = np.linspace(0, 1, n); "
            "C = (x[:, None] - x[None, :]) ** 2; a = np.full(n, 1 / n); "
            "numopt.sinkhorn_newton(a, a[::-1].copy(), C, 1e-3); t2 = time.perf_counter(); "
            "print(f'{t1 - t0:.3f} {t2 - t0:.3f}')")
    root = Path(__file__).resolve().parents[1]
    out = []
    for _ in range(3):
        text = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              cwd=root, check=True).stdout.split()
        out.append(tuple(map(float, text)))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="n=1000 synthetic, 1 MNIST pair, 60-d ImageNet, reg 1e-2 and 1e-3")
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 3000, 10000])
    parser.add_argument("--regs", type=float, nargs="*", default=[1e-2, 1e-3, 1e-4])
    parser.add_argument("--mnist", type=int, default=5, help="number of MNIST pairs")
    parser.add_argument("--imagenet", type=int, nargs="*", default=[60, 90])
    parser.add_argument("--solvers", nargs="*", help="subset of: " + ", ".join(SOLVERS)
                        + " (with --batched: of " + ", ".join(BATCH_SOLVERS) + ")")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per peer run")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--cold", action="store_true", help="only measure first-call latency")
    parser.add_argument("--plot-config", default="points n=1000 reg=0.001")
    parser.add_argument("--out", default=str(Path(__file__).parent / "plots"))
    parser.add_argument("--batched", action="store_true",
                        help="only the table of k targets sharing M (first size, --targets)")
    parser.add_argument("--targets", type=int, default=32)
    parser.add_argument("--float32", action="store_true",
                        help="only the float64 / float32 table (time to L1 error 1e-5)")
    args = parser.parse_args()
    header = (f"Command: python benchmarks/{Path(__file__).name} {shlex.join(sys.argv[1:])}\n"
              f"Commit: {_commit()}\n")
    if args.batched or args.float32:
        run_numopt(*gaussians(50), 1e-3, 1e-8, 10)  # numba compilation, excluded
        print(header)
        print(batch_table(args) if args.batched else float32_table(args))
        return
    if args.cold:
        for imported, total in cold_start():
            print(f"fresh process: import numopt {imported:.3f} s, import + first solve "
                  f"{total:.3f} s")
        return
    if args.quick:
        args.sizes, args.mnist, args.imagenet = [1000], 1, [60]
        args.regs = [1e-2, 1e-3]
        args.budget, args.repeat = min(args.budget, 8.0), 1
    rows, curves, solvers = bench(args)
    print()
    print(header)
    print("Machine: 2-core dev machine, shared; single-threaded; target L1 marginal error "
          f"{TARGET:g} on the returned plan. Cells: time, ratio peer/numopt (>1: numopt "
          "faster), iterations, the peer's tolerance setting.\n")
    print(table(rows, solvers))
    print("\nPeak traced memory (MiB, tracemalloc: NumPy/Python allocations only; regot's C++ "
          "buffers are not seen):\n")
    print(memory_table(rows, solvers))
    if curves:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        path = Path(args.out) / "sinkhorn_newton_convergence.png"
        plot(curves, path, args.plot_config)
        print(f"\nconvergence plot: {path}")


if __name__ == "__main__":
    main()
