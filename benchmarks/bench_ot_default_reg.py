"""Benchmark: the fraction behind ``sinkhorn_newton``'s default ``reg = fraction * std(C)``.

For each problem and fraction it reports the time to L1 marginal error 1e-8 (minimum of
``--repeat`` runs, warm-up excluded, single-threaded), the iterations and Newton steps, the excess
transport cost over the unregularised optimum (ot.emd) in units of std(C), and the plan's mean
row perplexity ``exp(H(P_i. / a_i))`` (how many targets each source spreads over; 1 is a sharp
assignment).

Usage::

    python benchmarks/bench_ot_default_reg.py            # n = 300 and 1000, ~1 minute
"""

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FRACTIONS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2)


def problems(n, seed=0):
    """(name, x, y) point clouds: uniform square, two Gaussians, a shifted 1-D grid."""
    rng = np.random.default_rng(seed)
    yield "uniform square", rng.random((n, 2)), rng.random((n, 2))
    yield ("gaussians", rng.normal(size=(n, 2)),
           rng.normal(size=(n, 2)) * [2.0, 0.5] + [1.0, 1.0])
    grid = np.linspace(0, 1, n)[:, None]
    yield "1-D grid", grid, grid + 0.1


def row_perplexity(plan, a):
    """Mean over rows of exp(entropy of the row's conditional distribution)."""
    rows = plan / a[:, None]
    logs = np.log(np.where(rows > 0, rows, 1.0))
    return float(np.exp(-(rows * logs).sum(axis=1)).mean())


def main():
    import ot

    from numopt import sinkhorn_newton

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'problem':>16} {'n':>5} {'fraction':>8} {'time s':>8} {'nit':>5} {'newton':>6} "
          f"{'excess/std':>10} {'perplexity':>10}")
    for n in args.sizes:
        for name, x, y in problems(n):
            C = ot.dist(x, y)
            a = b = np.full(n, 1.0 / n)
            exact = float((ot.emd(a, b, C, numItermax=10**7) * C).sum())
            spread = float(C.std())
            sinkhorn_newton(a, b, C)  # warm-up (numba compilation)
            for fraction in FRACTIONS:
                times = []
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    res = sinkhorn_newton(a, b, C, fraction * spread)
                    times.append(time.perf_counter() - start)
                assert res.success, res.message
                print(f"{name:>16} {n:>5} {fraction:>8g} {min(times):>8.3f} {res.nit:>5} "
                      f"{res.n_newton:>6} {(res.cost - exact) / spread:>10.4f} "
                      f"{row_perplexity(res.plan, a):>10.1f}")


if __name__ == "__main__":
    main()
