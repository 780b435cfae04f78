"""Start-up cost: ``import numopt`` and the first kernel call, each in a fresh process.

Measures (median of ``--repeat`` fresh interpreters):

* import time of ``numopt`` alone (goal: under 0.3 s), and of numpy for reference;
* first call of the numba OT kernels with an EMPTY numba cache (compilation included);
* the same first call with a WARM cache (what a user sees from the second process on);
* if ``numopt.sinkhorn_newton`` exists, its first call on a 100 x 100 problem (import included).

Usage::

    python benchmarks/bench_startup.py [--repeat 5]
"""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, installed or not

KERNEL_CALL = """
import numpy as np
from numopt.backends import get_backend
rng = np.random.default_rng(0)
C = rng.random((100, 100)); f = np.zeros(100); g = np.zeros(100)
kernels = get_backend("numba")
kernels.logsumexp_rows(f, g, C, 0.1); kernels.logsumexp_cols(f, g, C, 0.1)
kernels.absorb_kernel(f, g, C, 0.1, np.empty_like(C))
"""

SOLVER_CALL = """
import numpy as np
import numopt
rng = np.random.default_rng(0)
x, y = rng.random((100, 2)), rng.random((100, 2))
C = ((x[:, None] - y[None]) ** 2).sum(-1)
a = np.full(100, 0.01)
numopt.sinkhorn_newton(a, a, C, 0.01 * C.max())
"""


def _fresh_process_seconds(code, env):
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)
    return time.perf_counter() - start


def _median(code, env, repeat, before=None):
    times = []
    for _ in range(repeat):
        if before:
            before()
        times.append(_fresh_process_seconds(code, env))
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    cache_dir = Path(tempfile.mkdtemp(prefix="numopt-numba-cache-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_CACHE_DIR": str(cache_dir),
           "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    empty_cache = lambda: (shutil.rmtree(cache_dir, ignore_errors=True), cache_dir.mkdir())  # noqa: E731

    # Interpreter start-up is part of every figure; report it so the differences can be read.
    rows = [("python -c pass", _median("pass", env, args.repeat))]
    rows.append(("import numpy", _median("import numpy", env, args.repeat)))
    rows.append(("import numopt", _median("import numopt", env, args.repeat)))
    rows.append(("import numopt; numopt.minimize", _median(
        "import numopt; numopt.minimize", env, args.repeat)))
    rows.append(("first OT kernel calls, empty numba cache",
                 _median(KERNEL_CALL, env, args.repeat, before=empty_cache)))
    rows.append(("first OT kernel calls, warm numba cache", _median(KERNEL_CALL, env, args.repeat)))
    try:
        import numopt

        has_solver = callable(getattr(numopt, "sinkhorn_newton", None))
    except ImportError:
        has_solver = False
    if has_solver:
        rows.append(("first sinkhorn_newton call (n=100), empty numba cache",
                     _median(SOLVER_CALL, env, args.repeat, before=empty_cache)))
        rows.append(("first sinkhorn_newton call (n=100), warm numba cache",
                     _median(SOLVER_CALL, env, args.repeat)))
    shutil.rmtree(cache_dir, ignore_errors=True)

    print(f"Command: python benchmarks/bench_startup.py --repeat {args.repeat}")
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; times are wall seconds of a fresh process "
          f"(median of {args.repeat}), interpreter start-up included.\n")
    print("| what | seconds |\n|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
