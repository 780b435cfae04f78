"""pairwise_sinkhorn2 on MNIST test digits: in process, on a 2-worker LocalCluster, and POT.

The first ``--n`` MNIST test-set digits become histograms on the 28 x 28 grid (each image divided
by its sum and mixed with 1% uniform mass, as in ``bench_sinkhorn_newton.py``, so that every
pixel has mass); the cost is the squared Euclidean distance between pixels divided by its
maximum, and reg = 1e-2 (1e-2 of max M). The (n, n) matrix of entropic losses is computed

* by ``numopt.ot.pairwise_sinkhorn2(A, None, M, reg)`` in this process (one thread);
* by the same call with a ``dask.distributed.Client`` on a LocalCluster of ``--workers``
  single-threaded worker processes on the loopback interface;
* by POT's ``ot.sinkhorn2(a_i, A[:, i:], M, reg)`` with batched b, looping over the sources
  and mirroring (the loop POT leaves to its user, given the same use of symmetry).

Warm-up (numba compilation, worker start-up) is excluded. Accuracy is checked on what each
returns: the largest relative error over ``--check`` random entries against POT's Sinkhorn
run to stopThr 1e-13 on that single pair. Usage::

    python benchmarks/bench_pairwise.py --n 200
"""

import os

# one thread in this process and in the workers: the comparison is one core against two workers
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

REG = 1e-2


def mnist_histograms(count):
    """The first ``count`` test digits as columns of an (784, count) array, and the cost."""
    from numopt.datasets import load_mnist

    images, _ = load_mnist("test")
    columns = images[:count].reshape(count, -1).T.astype(float)
    columns /= columns.sum(axis=0)
    eps, n = 0.01, columns.shape[0]
    columns = (1 - eps / 8) * columns + eps / (8 * n)
    grid = np.array([(r, c) for r in range(28) for c in range(28)], dtype=float)
    cost = ((grid[:, None, :] - grid[None, :, :]) ** 2).sum(-1)
    return columns, cost / cost.max()


def pot_pairwise(A, M, stop):
    """POT's batched ``sinkhorn2``, one source at a time against the targets j >= i."""
    import ot

    k = A.shape[1]
    losses = np.zeros((k, k))
    for i in range(k):
        losses[i, i:] = ot.sinkhorn2(A[:, i], A[:, i:], M, REG, stopThr=stop, numItermax=100000)
    return np.triu(losses) + np.triu(losses, 1).T


def reference_entries(A, M, pairs):
    import ot

    return np.array([ot.sinkhorn2(A[:, i], A[:, j], M, REG, stopThr=1e-13, numItermax=1000000)
                     for i, j in pairs])


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="number of digits (matrix n x n)")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    parser.add_argument("--stop", type=float, default=1e-9,
                        help="stopThr of numopt (and of POT unless --pot-stop)")
    parser.add_argument("--pot-stop", type=float, default=None, help="POT's stopThr")
    parser.add_argument("--block-size", type=int, default=64)
    parser.add_argument("--check", type=int, default=20, help="entries checked for accuracy")
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    from numopt.ot import pairwise_sinkhorn2

    try:
        A, M = mnist_histograms(args.n)
    except FileNotFoundError as exc:
        print(f"skipping: MNIST test images not found ({exc})")
        return
    options = {"stopThr": args.stop, "block_size": args.block_size}
    pairwise_sinkhorn2(A[:, :2], None, M, REG, **options)  # warm-up: numba compilation
    local, local_s = timed(pairwise_sinkhorn2, A, None, M, REG, **options)
    env = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                  "NUMBA_NUM_THREADS")}
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, host="127.0.0.1", env=env,
                      scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"}
                      ) as cluster, \
            Client(cluster) as client:
        # warm-up on every worker: a tile each
        pairwise_sinkhorn2(A[:, :2 * args.workers], None, M, REG, client=client, block_size=1)
        remote, remote_s = timed(pairwise_sinkhorn2, A, None, M, REG, client=client,
                                 verbose=True, **options)
    pot_stop = args.pot_stop or args.stop
    pot, pot_s = timed(pot_pairwise, A, M, pot_stop)

    rng = np.random.default_rng(0)
    pairs = [tuple(rng.choice(args.n, size=2, replace=False)) for _ in range(args.check)]
    reference = reference_entries(A, M, pairs)

    def error(losses):
        return float(np.max(np.abs([losses[i, j] for i, j in pairs] - reference) / reference))

    gap = float(np.max(np.abs(remote - local) / np.abs(local)))
    print(f"\nCommand: `python benchmarks/bench_pairwise.py --n {args.n} --workers "
          f"{args.workers} --stop {args.stop:g} --block-size {args.block_size}" +
          (f" --pot-stop {args.pot_stop:g}`" if args.pot_stop else "`"))
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; {args.n} x {args.n} MNIST test digits, reg {REG:g} "
          f"of max M, {args.n * (args.n + 1) // 2} problems (upper triangle), one thread per "
          f"process; accuracy: max relative error on {args.check} entries vs POT at stopThr "
          "1e-13.\n")
    print("| method | seconds | ratio POT / this | max rel. error | setting |")
    print("|---|---|---|---|---|")
    for name, losses, seconds, setting in (
            ("numopt pairwise_sinkhorn2, in process", local, local_s, f"stopThr {args.stop:g}"),
            (f"numopt pairwise_sinkhorn2, {args.workers}-worker LocalCluster", remote, remote_s,
             f"stopThr {args.stop:g}"),
            ("POT ot.sinkhorn2, batched b, loop over sources", pot, pot_s,
             f"stopThr {pot_stop:g}")):
        print(f"| {name} | {seconds:.2f} | {pot_s / seconds:.2f} | {error(losses):.1e} | "
              f"{setting} |")
    print(f"\nLocalCluster vs in-process: max relative difference {gap:.1e}.")


if __name__ == "__main__":
    main()
