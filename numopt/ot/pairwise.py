"""Matrices of entropic OT losses between many histograms over one cost, locally or on Dask.

The (kA, kB) matrix is cut into square tiles of ``block_size`` sources by ``block_size``
targets. A tile is solved by one :func:`~numopt.ot.sinkhorn2` call per source with the tile's
targets as a batch (``b`` of shape (m, k)), so that a batched solver of several targets speeds
every tile up. Without a client the tiles run one after the other in this process; with a
``dask.distributed.Client`` they run on the cluster's workers, the cost matrix being sent to
each worker once. The same tiles are solved either way, so both give the same matrix.
"""

import time

from numopt._core.validation import (
    array_namespace,
    check_array,
    check_int,
    check_marginals,
    check_nonnegative,
)
from numopt._core.warnings import NumoptWarning, emit
from numopt.ot.pot import LOSS_METHODS, _checked, sinkhorn2

__all__ = ["pairwise_sinkhorn2"]

SOLVER = "pairwise_sinkhorn2"


def _histograms(value, name, rows, rows_name, xp):
    """A (rows, k) array of non-negative columns, checked as sinkhorn2 checks ``a`` and ``b``."""
    array = check_array(value, name, xp=xp)
    if array.ndim != 2 or array.shape[0] != rows:
        raise ValueError(f"`{name}` must have shape ({rows_name}, k) = ({rows}, k) for k "
                         f"histograms; got shape {array.shape}.")
    check_nonnegative(array, name)
    return array


def _check_masses(A, B, names):
    """Every column of ``A`` and of ``B`` has the same positive mass.

    ``check_marginals`` bounds the relative gap ``1 - min / max`` of two masses, which over all
    pairs is largest at the extreme columns: checking the two extreme pairs checks every pair.
    """
    masses_a, masses_b = A.sum(axis=0), B.sum(axis=0)
    for i, j in ((int(masses_a.argmin()), int(masses_b.argmax())),
                 (int(masses_a.argmax()), int(masses_b.argmin()))):
        check_marginals(A[:, i], B[:, j], names=(f"{names[0]}[:, {i}]", f"{names[1]}[:, {j}]"))


def _validated(A, B, M, reg, method, numItermax, stopThr, block_size):
    """The checked ``A``, ``B`` (``A`` itself when ``B`` is None) and ``M``."""
    M = check_array(M, "M", ndim=2)
    xp = array_namespace(M)
    n, m = M.shape
    A = _histograms(A, "A", n, "M.shape[0]", xp)
    if B is None:
        if n != m:
            raise ValueError(f"`B=None` compares `A` with itself, so `M` must be square; got "
                             f"shape {M.shape}.")
        B, names = A, ("A", "A")
    else:
        B, names = _histograms(B, "B", m, "M.shape[1]", xp), ("A", "B")
    _check_masses(A, B, names)
    # reg, method, numItermax and stopThr are checked by sinkhorn2's own validation
    problem = _checked(SOLVER, A[:, 0], B[:, :1], M, reg, method, LOSS_METHODS, numItermax,
                       stopThr, None)
    check_int(block_size, "block_size", SOLVER, low=1)
    # one dtype for the tiles: float32 only when everything is, as sinkhorn2 returns
    dtype = xp.float32 if A.dtype == B.dtype == M.dtype == xp.float32 else xp.float64
    A, M = xp.asarray(A, dtype=dtype), xp.asarray(M, dtype=dtype)
    B = A if names[1] == "A" else xp.asarray(B, dtype=dtype)
    return A, B, M, problem.reg


def _tiles(k_sources, k_targets, block_size, symmetric):
    """(sources, targets) index ranges of the tiles; only those on or above the diagonal when
    ``symmetric``."""
    starts_a = range(0, k_sources, block_size)
    starts_b = range(0, k_targets, block_size)
    return [(range(i, min(i + block_size, k_sources)), range(j, min(j + block_size, k_targets)))
            for i in starts_a for j in starts_b if not symmetric or j >= i]


def _solve_tile(sources, targets, M, reg, upper_only, options):
    """Losses between each source column and the target columns; with ``upper_only`` (a tile on
    the diagonal of a symmetric matrix) source ``i`` meets only targets ``j >= i`` and the other
    entries are NaN."""
    xp = array_namespace(M)
    tile = xp.full((sources.shape[1], targets.shape[1]), xp.nan, dtype=M.dtype)
    for row in range(sources.shape[1]):
        first = row if upper_only else 0
        tile[row, first:] = sinkhorn2(sources[:, row], targets[:, first:], M, reg, **options)
    return tile


def _report(done, total, started):
    elapsed = time.perf_counter() - started
    print(f"{SOLVER}: {done}/{total} tiles done, {elapsed:.1f} s elapsed, "
          f"about {elapsed / done * (total - done):.1f} s left", flush=True)


def _run_here(A, B, M, reg, tiles, symmetric, options, verbose):
    started, solved = time.perf_counter(), []
    for done, (rows, cols) in enumerate(tiles, 1):
        upper_only = symmetric and rows.start == cols.start
        solved.append(_solve_tile(A[:, rows.start:rows.stop], B[:, cols.start:cols.stop], M,
                                  reg, upper_only, options))
        if verbose:
            _report(done, len(tiles), started)
    return solved


def _run_on_cluster(client, A, B, M, reg, tiles, symmetric, options, verbose):
    """Submit one task per tile with ``M`` broadcast once; gather the tiles in order.

    A failed tile raises its original exception here (Dask re-raises it) and the tiles still
    pending are cancelled.
    """
    from distributed import as_completed

    started = time.perf_counter()
    M_on_workers = client.scatter(M, broadcast=True, hash=False)
    futures = [client.submit(_solve_tile, A[:, rows.start:rows.stop],
                             B[:, cols.start:cols.stop], M_on_workers, reg,
                             symmetric and rows.start == cols.start, options, pure=False)
               for rows, cols in tiles]
    try:
        if verbose:
            for done, future in enumerate(as_completed(futures), 1):
                if future.status == "error":
                    future.result()  # raises the worker's exception now, not after the rest
                _report(done, len(tiles), started)
        return client.gather(futures)
    finally:
        client.cancel([*futures, M_on_workers])


def pairwise_sinkhorn2(A, B, M, reg, *, client=None, block_size=64, method="sinkhorn",
                       numItermax=1000, stopThr=1e-9, verbose=False, **kwargs):
    r"""Matrix of entropic OT losses between the columns of ``A`` and of ``B`` over one cost.

    Entry ``(i, j)`` is ``sinkhorn2(A[:, i], B[:, j], M, reg)``: the linear cost
    :math:`\langle M, P\rangle` of the entropic plan between the two histograms. The entries
    are computed in tiles of ``block_size`` x ``block_size``, each tile by :func:`sinkhorn2`
    calls with a batch of targets, in this process or on a Dask cluster.

    Parameters
    ----------
    A : array_like, shape (n, kA)
        Source histograms as columns (non-negative, all of the same mass).
    B : array_like, shape (m, kB), or None
        Target histograms as columns, of the same mass as those of ``A``. ``None`` compares
        ``A`` with itself; then, when ``M`` is symmetric, only the tiles on and above the
        diagonal are solved and mirrored (loss ``(i, j)`` over ``M`` is loss ``(j, i)`` over
        ``M.T``).
    M : array_like, shape (n, m)
        Cost matrix shared by every pair.
    reg : float
        Entropic regularisation, > 0 (0 warns once and gives NaN, as :func:`sinkhorn2`).
    client : distributed.Client, optional
        Runs the tiles on this client's workers: ``M`` is broadcast to every worker once, one
        task per tile, results gathered in order. An exception raised on a worker is raised
        here unchanged. ``None`` (default) computes in this process; dask is imported only
        when a client is given.
    block_size : int
        Sources and targets per tile; the targets of a tile form one batch of
        :func:`sinkhorn2`. Larger tiles mean fewer tasks and larger batches.
    method : str
        As in :func:`sinkhorn2`.
    numItermax : int
        Bound on Sinkhorn sweeps plus Newton steps of each solve.
    stopThr : float
        Bound on the marginal error of each solve, as in :func:`sinkhorn2`.
    verbose : bool
        Print a line per finished tile (count, elapsed time, estimate of the time left).
    **kwargs
        Options of :func:`sinkhorn2` (``warn``, ``backend``, ``sparsify``, ...); they must be
        picklable when a client is given.

    Returns
    -------
    losses : array, shape (kA, kB)
        ``losses[i, j]`` is the loss between ``A[:, i]`` and ``B[:, j]``; in ``M``'s array
        namespace, float32 when ``A``, ``B`` and ``M`` are float32.

    Raises
    ------
    ValueError
        Shapes that do not match ``M`` (or a non-square ``M`` with ``B=None``), negative
        entries, columns of unequal or zero mass, non-finite input, and every error of
        :func:`sinkhorn2` (``reg < 0``, unknown ``method``, ...), with the same messages.
    TypeError
        Non-numeric input, as in :func:`sinkhorn2`.

    See Also
    --------
    numopt.ot.sinkhorn2 : One loss, or the losses of one source against several targets.

    Notes
    -----
    With ``B=None`` and a symmetric ``M``, about half of the :math:`k_A^2` problems are
    solved. Tiles are the same with or without a client, so both give the same matrix up to
    the rounding of the workers' arithmetic.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.ot import pairwise_sinkhorn2, sinkhorn2
    >>> x = np.linspace(0.0, 1.0, 5)
    >>> M = (x[:, None] - x[None, :]) ** 2
    >>> A = np.array([[0.5, 0.1, 0.2], [0.2, 0.1, 0.2], [0.1, 0.2, 0.2],
    ...               [0.1, 0.1, 0.2], [0.1, 0.5, 0.2]])
    >>> D = pairwise_sinkhorn2(A, None, M, 0.1)
    >>> D.shape, bool(np.allclose(D, D.T))
    ((3, 3), True)
    >>> bool(np.isclose(D[0, 1], sinkhorn2(A[:, 0], A[:, 1], M, 0.1)))
    True
    """
    A, B, M, reg = _validated(A, B, M, reg, method, numItermax, stopThr, block_size)
    xp = array_namespace(M)
    if reg == 0:
        # as sinkhorn2: warn once and return NaN, rather than once per tile (or not at all on
        # a cluster, whose workers' warnings do not reach this process)
        emit(f"The 'reg' parameter of {SOLVER} is 0: the entropic problem needs reg > 0, so "
             "the result is NaN. Use a reg > 0.", NumoptWarning)
        return xp.full((A.shape[1], B.shape[1]), xp.nan, dtype=M.dtype)
    symmetric = B is A and bool(xp.all(M == M.T))
    tiles = _tiles(A.shape[1], B.shape[1], block_size, symmetric)
    options = {"method": method, "numItermax": numItermax, "stopThr": stopThr, **kwargs}
    if client is None:
        solved = _run_here(A, B, M, reg, tiles, symmetric, options, verbose)
    else:
        solved = _run_on_cluster(client, A, B, M, reg, tiles, symmetric, options, verbose)
    losses = xp.full((A.shape[1], B.shape[1]), xp.nan, dtype=solved[0].dtype)
    for (rows, cols), tile in zip(tiles, solved, strict=True):
        losses[rows.start:rows.stop, cols.start:cols.stop] = tile
    if symmetric:
        # the NaN below the diagonal of the diagonal tiles and the unsolved tiles get the mirror
        losses = xp.triu(losses) + xp.triu(losses, 1).T
    return losses
