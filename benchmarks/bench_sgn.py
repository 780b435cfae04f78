"""Benchmark of certify_nash / gradient_play (Small-Gain Nash).

Tables (markdown, printed and written to benchmarks/plots/sgn_results.md) and a PNG
(benchmarks/plots/sgn_margins_and_timing.png: the LQ family's margins against lambda, and the time
to certify against N):

1. Time to certify vs players N and block size d (random N-player quadratic games), and the
   64-dimensional LQ game of the SGN paper (goal: < 50 ms), with the certified margin, which
   certificate gave it and the small-gain margin.
2. Iterations (and F-evaluations) to ||x - x*||_inf <= 1e-8 on the orthogonal LQ family and the
   random LQ ensemble: certified Euler and RK4 (no tuning) vs plain gradient play and extragradient
   with steps tuned by a grid search (the evaluations spent on the grid are reported too), with
   divergence counts over the grid.
3. Small matrix games: projected gradient play vs nashpy's support enumeration (reference
   equilibria); SGN reports "not certified" there (bilinear costs have no own curvature).

Run: ``python benchmarks/bench_sgn.py [--quick]`` (single-threaded BLAS, warm-up excluded).
"""

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from numopt import certify_nash, gradient_play  # noqa: E402
from numopt._examples.games_baselines import extragradient, iterations_to_tolerance  # noqa: E402
from numopt.games import Region, Simplex, quadratic_game  # noqa: E402
from numopt.problems.games_zoo import (  # noqa: E402
    markov_coordination_game,
    orthogonal_lq_game,
    random_lq_game,
    random_n_player_game,
)

TARGET = 1e-8
HERE = Path(__file__).parent


def best_time(function, repeats):
    function()                                    # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def certify_timing(quick):
    sizes = [(2, 32), (2, 64), (10, 8), (10, 64), (50, 8), (100, 8), (100, 16)]
    if not quick:
        sizes += [(50, 64), (100, 64)]
    rows = []
    lq = orthogonal_lq_game(1.0)
    seconds = best_time(lambda: certify_nash(lq), 20)
    cert = certify_nash(lq)
    rows.append(["LQ game (paper E-B2)", 2, 32, 64, f"{seconds * 1e3:.2f}", cert.nit,
                 f"{cert.margin:.4f}", cert.kind, f"{cert.candidates['small-gain']:.4f}",
                 f"{cert.small_gain_ratio:.3f}"])
    for n, d in sizes:
        print(f"  certify N={n} d={d} ...", flush=True)
        game = random_n_player_game(n, d, seed=0)
        repeats = 5 if n * d <= 1000 else 1
        seconds = best_time(lambda game=game: certify_nash(game), repeats)
        cert = certify_nash(game)
        rows.append(["random N-player", n, d, n * d, f"{seconds * 1e3:.1f}", cert.nit,
                     f"{cert.margin:.4f}", cert.kind, f"{cert.candidates['small-gain']:.4f}",
                     f"{cert.small_gain_ratio:.3f}"])
    return table(["game", "N", "d", "dim", "time (ms)", "weight iters", "certified margin",
                  "best kind", "small-gain margin", "small-gain ratio"], rows), rows[0][4], rows




def _plain_gradient_play(game, x0, step, maxiter, certificate):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # overflow warnings of diverging steps
        res = gradient_play(game, x0, certificate=certificate, step=step, tol=TARGET * 1e-2,
                            maxiter=maxiter, warn=False)
    return res.x, res.nit, res.success


def compare_dynamics(games, maxiter):
    grid = np.geomspace(1e-3, 2.0, 24)
    counts = {"cert Euler": [], "cert RK4": [], "GD (grid)": [], "EG (grid)": []}
    evals = {key: [] for key in counts}
    failures = {key: 0 for key in counts}
    grid_divergent = {"GD (grid)": 0, "EG (grid)": 0}
    grid_cost = {"GD (grid)": 0, "EG (grid)": 0}
    uncertified = 0
    for game in games:
        reference = np.linalg.solve(game.matrix, -game.offset)
        x0 = np.zeros(game.dim)
        cert = certify_nash(game)
        if not cert.certified:
            uncertified += 1
        for key, method in (("cert Euler", "euler"), ("cert RK4", "rk4")):
            if not cert.certified:
                failures[key] += 1
                continue
            res = gradient_play(game, x0, certificate=cert, method=method, tol=TARGET * 1e-2,
                                maxiter=maxiter, warn=False)
            if res.success and np.abs(res.x - reference).max() <= TARGET:
                counts[key].append(res.nit)
                evals[key].append(res.nfev)
            else:
                failures[key] += 1
        runs = {"GD (grid)": lambda h, budget, game=game, x0=x0, cert=cert:
                _plain_gradient_play(game, x0, h, budget, cert),
                "EG (grid)": lambda h, budget, game=game, x0=x0:
                extragradient(game, x0, h, tol=TARGET * 1e-2, maxiter=budget)}
        for key, run in runs.items():
            outcomes = {}

            def record(step, budget, run=run, outcomes=outcomes, reference=reference):
                with np.errstate(all="ignore"):
                    x, nit, converged = run(step, budget)
                outcome = (x, nit, bool(converged and np.abs(x - reference).max() <= TARGET))
                outcomes[step] = outcome
                return outcome
            step, x, nit = iterations_to_tolerance(record, grid, maxiter)
            grid_divergent[key] += sum(1 for o in outcomes.values()
                                       if not np.all(np.isfinite(o[0])) or
                                       np.abs(o[0]).max() > 1e6)
            per_eval = 1 if key.startswith("GD") else 2
            grid_cost[key] += sum(o[1] for o in outcomes.values()) * per_eval
            if nit is None:
                failures[key] += 1
            else:
                counts[key].append(nit)
                evals[key].append(nit * per_eval)
    rows = []
    for key in counts:
        median_nit = f"{np.median(counts[key]):.0f}" if counts[key] else "-"
        median_evals = f"{np.median(evals[key]):.0f}" if evals[key] else "-"
        tuning = (f"{grid_cost[key] / len(games):.0f} ({grid_divergent[key]} of "
                  f"{len(grid) * len(games)} grid runs diverged)" if key in grid_cost
                  else "0 (step from the certificate)")
        rows.append([key, f"{len(games) - failures[key]}/{len(games)}", median_nit,
                     median_evals, tuning])
    return rows, uncertified


def dynamics_tables(quick):
    maxiter = 20000 if quick else 50000
    out = []
    lambdas = [0.25, 0.5, 1.0, 1.25] if quick else [0.25, 0.5, 0.75, 1.0, 1.25, 1.4]
    for lam in lambdas:
        base = orthogonal_lq_game(lam)
        offset = np.random.default_rng(7).standard_normal(base.dim)
        game = quadratic_game(base.matrix, base.block_sizes, offset=offset)
        rows, _ = compare_dynamics([game], maxiter)
        out += [[f"orthogonal LQ, lambda={lam}"] + row for row in rows]
    seeds = range(6 if quick else 30)
    for lam in (0.417, 0.833, 1.25):
        games = []
        for seed in seeds:
            base = random_lq_game(lam, seed)
            offset = np.random.default_rng(100 + seed).standard_normal(base.dim)
            games.append(quadratic_game(base.matrix, base.block_sizes, offset=offset))
        rows, uncertified = compare_dynamics(games, maxiter)
        out += [[f"random LQ x{len(games)}, lambda={lam} ({len(games) - uncertified} "
                 f"certified)"] + row for row in rows]
    return table(["game", "method", "reached 1e-8", "median iters", "median F-evals",
                  "tuning F-evals per game"], out)


def matrix_games():
    try:
        import nashpy
    except ImportError:
        return "nashpy not installed (pip install numopt[bench]); skipped."
    games = {
        "prisoner's dilemma": (np.array([[3.0, 0.0], [5.0, 1.0]]), np.array([[3.0, 5.0],
                                                                             [0.0, 1.0]])),
        "dominance-solvable 3x3": (np.array([[4.0, 3.0, 5.0], [2.0, 1.0, 3.0], [1.0, 0.0, 2.0]]),
                                   np.array([[1.0, 3.0, 0.0], [0.0, 2.0, 1.0],
                                             [1.0, 4.0, 2.0]])),
        "2x2 unique mixed NE": (np.array([[2.0, 0.0], [0.0, 1.0]]),
                                np.array([[0.0, 1.0], [2.0, 0.0]])),
    }
    rows = []
    for name, (payoff_a, payoff_b) in games.items():
        m, n = payoff_a.shape
        # Costs -x^T A y and -x^T B y: F = (-A y, -B^T x), an affine game on two simplices.
        matrix = np.block([[np.zeros((m, m)), -payoff_a], [-payoff_b.T, np.zeros((n, n))]])
        game = quadratic_game(matrix, [m, n], feasible_sets=[Simplex(), Simplex()])
        cert = certify_nash(game)
        start = time.perf_counter()
        equilibria = list(nashpy.Game(payoff_a, payoff_b).support_enumeration())
        nashpy_ms = (time.perf_counter() - start) * 1e3
        x0 = np.r_[np.full(m, 1 / m), np.full(n, 1 / n)]
        start = time.perf_counter()
        res = gradient_play(game, x0, step=0.1, tol=1e-10, maxiter=20000, warn=False)
        play_ms = (time.perf_counter() - start) * 1e3
        distance = min(np.abs(res.x - np.r_[s1, s2]).max() for s1, s2 in equilibria)
        rows.append([name, len(equilibria), f"{nashpy_ms:.2f}", "yes" if cert.certified else
                     "no (mu_i = 0)", "yes" if res.success else f"no ({res.message[:30]})",
                     res.nit, f"{play_ms:.2f}", f"{distance:.1e}"])
    return table(["game", "nashpy NE", "nashpy ms", "SGN certified", "play converged", "iters",
                  "play ms", "dist to nearest nashpy NE"], rows)


def markov_step_sweep(quick):
    """NPG (certified Fisher geometry) vs Euclidean PG on the 2-state Markov game (spec E-B3)."""
    game = markov_coordination_game()
    # The paper's sweep is relative to the small-gain step (the best certificate's is larger).
    cert = certify_nash(game, Region.cube(np.zeros(game.dim), 0.1), geometry="fisher",
                        kind="small-gain")
    seeds = range(42, 47 if quick else 62)
    rows = []
    for multiplier in (0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.2, 7.8, 10.0):
        step = multiplier * cert.euler_step_max
        counts = []
        for certificate in (cert, None):
            strict = lenient = 0
            for seed in seeds:
                theta0 = np.random.default_rng(seed).normal(0.0, 0.01, game.dim)
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    res = gradient_play(game, theta0, certificate=certificate, step=step,
                                        tol=1e-9, maxiter=500, warn=False)
                    finite = bool(np.all(np.isfinite(res.x)))
                    small_gradient = finite and np.linalg.norm(game.pseudo_gradient(res.x)) < 1e-6
                # Policies are shift invariant per state: measure the distance to theta* = 0
                # after removing each state's mean logit.
                centred = res.x.reshape(-1, 2) - res.x.reshape(-1, 2).mean(axis=1, keepdims=True)
                strict += small_gradient
                lenient += small_gradient or (finite and np.linalg.norm(centred) < 1)
            counts.append(f"{strict}/{len(seeds)} ({lenient})")
        rows.append([f"{multiplier:g}", f"{step:.3f}", *counts])
    header = (f"eta_max = 2 alpha/beta^2 = {cert.euler_step_max:.4f} (alpha* = {cert.margin:.4f}, "
              f"beta = {cert.beta:.4f}); converged = ||F|| < 1e-6 within 500 steps (in brackets: "
              f"the reference code's looser test, ||F|| < 1e-6 or distance to theta* < 1)\n\n")
    return header + table(["eta / eta_max", "eta", "NPG (Fisher) converged",
                           "Euclidean PG converged"], rows)


def plot_margins_and_timing(certify_rows):
    """PNGs: margins of the LQ family against lambda (paper figure lq_margins) and certify time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lambdas = np.linspace(0.0, 2.5, 61)
    euclidean, certified, true = [], [], []
    for lam in lambdas:
        game = orthogonal_lq_game(lam)
        cert = certify_nash(game, kind="small-gain")
        euclidean.append(cert.euclidean_margin)
        certified.append(cert.margin)
        true.append(np.linalg.eigvals(game.matrix).real.min())
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(lambdas, euclidean, label="Euclidean margin")
    left.plot(lambdas, certified, label=r"SGN margin $\alpha^*$ (optimal weights)")
    left.plot(lambdas, true, "k:", label=r"true: $\min \mathrm{Re}\,\mathrm{eig}(H)$")
    left.axhline(0.0, color="k", lw=0.8)
    left.set_ylim(-3, 1.2)
    left.set_xlabel(r"coupling $\lambda$")
    left.set_ylabel("margin")
    left.set_title("64-dim LQ game")
    left.legend()
    random_rows = [row for row in certify_rows if row[0] == "random N-player"]
    for d in sorted({row[2] for row in random_rows}):
        points = sorted((row[1], float(row[4])) for row in random_rows if row[2] == d)
        right.loglog(*zip(*points, strict=True), "o-", label=f"d = {d}")
    right.set_xlabel("players N")
    right.set_ylabel("time to certify (ms)")
    right.set_title("random N-player quadratic games")
    right.legend()
    fig.tight_layout()
    fig.savefig(HERE / "plots" / "sgn_margins_and_timing.png", dpi=120)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and games (~2 min)")
    args = parser.parse_args()
    print("1. time to certify", flush=True)
    certify_table, lq_ms, certify_rows = certify_timing(args.quick)
    print(certify_table)
    print(f"\n64-dim LQ game certified in {lq_ms} ms (goal < 50 ms)\n")
    print("2. gradient play vs tuned baselines", flush=True)
    dynamics = dynamics_tables(args.quick)
    print(dynamics)
    print("\n3. Markov game step sweep", flush=True)
    markov = markov_step_sweep(args.quick)
    print(markov)
    print("\n4. matrix games vs nashpy", flush=True)
    matrix = matrix_games()
    print(matrix)
    command = "python benchmarks/bench_sgn.py" + (" --quick" if args.quick else "")
    report = (f"Command: `{command}`; machine: 2-core dev machine, shared; single-threaded "
              f"BLAS.\n\n"
              f"### Time to certify\n\n{certify_table}\n\n### Iterations to "
              f"||x - x*||_inf <= 1e-8\n\n{dynamics}\n\n### Two-state Markov game: step "
              f"sweep\n\n{markov}\n\n### Small matrix games vs nashpy\n\n"
              f"{matrix}\n")
    (HERE / "plots").mkdir(exist_ok=True)
    (HERE / "plots" / "sgn_results.md").write_text(report)
    plot_margins_and_timing(certify_rows)


if __name__ == "__main__":
    main()
