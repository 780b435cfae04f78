"""numopt.ot.pairwise_sinkhorn2: entries against POT and single sinkhorn2 calls, symmetry, a
two-worker LocalCluster against the in-process run, worker exceptions, and bad input."""

import re
import subprocess
import sys

import numpy as np
import ot
import pytest

from numopt import NumoptWarning
from numopt.ot import pairwise, pairwise_sinkhorn2, sinkhorn2
from tests.pairwise_toy import WorkerFailure, failing_callback

REG = 0.05
STOP = 1e-10
# No dashboard, and the scheduler's remaining HTTP server (health, metrics) on a free loopback
# port: left to itself it tries port 8787 and warns when another cluster on the machine holds it.
NO_DASHBOARD = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}


def _grid_cost(side):
    """Squared Euclidean cost between the points of a side x side grid on [0, 1]^2."""
    coords = np.linspace(0.0, 1.0, side)
    points = np.stack(np.meshgrid(coords, coords), axis=-1).reshape(-1, 2)
    return ((points[:, None, :] - points[None, :, :]) ** 2).sum(-1)


def _histograms(n, k, seed):
    columns = np.random.default_rng(seed).gamma(1.0, size=(n, k)) + 1e-3
    return columns / columns.sum(axis=0)


M = _grid_cost(4)
A = _histograms(16, 7, 0)
B = _histograms(16, 5, 1)


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, host="127.0.0.1",
                                  scheduler_kwargs=NO_DASHBOARD) as cluster, \
            distributed.Client(cluster) as dask_client:
        yield dask_client


def test_entries_match_pot_and_single_sinkhorn2_calls():
    losses = pairwise_sinkhorn2(A, B, M, REG, block_size=3, stopThr=STOP)
    assert losses.shape == (7, 5)
    for i in range(7):
        for j in range(5):
            single = sinkhorn2(A[:, i], B[:, j], M, REG, stopThr=STOP)
            # POT's Sinkhorn at a tighter threshold is the independent reference
            reference = ot.sinkhorn2(A[:, i], B[:, j], M, REG, stopThr=1e-13, numItermax=100000)
            assert losses[i, j] == pytest.approx(single, rel=1e-7)
            assert losses[i, j] == pytest.approx(reference, rel=1e-7)


def test_self_comparison_solves_upper_triangle_only(monkeypatch):
    solved_targets = []

    def counting_sinkhorn2(a, b, *args, **kwargs):
        solved_targets.append(b.shape[1])
        return sinkhorn2(a, b, *args, **kwargs)

    monkeypatch.setattr(pairwise, "sinkhorn2", counting_sinkhorn2)
    losses = pairwise_sinkhorn2(A, None, M, REG, block_size=3, stopThr=STOP)
    assert sum(solved_targets) == 7 * 8 // 2
    assert np.array_equal(losses, losses.T)
    monkeypatch.undo()
    full = pairwise_sinkhorn2(A, A, M, REG, block_size=3, stopThr=STOP)
    np.testing.assert_allclose(losses, full, rtol=1e-7)


def test_asymmetric_cost_is_not_mirrored():
    cost = M + np.random.default_rng(2).uniform(0.0, 0.5, size=M.shape)
    losses = pairwise_sinkhorn2(A[:, :4], None, cost, REG, block_size=2, stopThr=STOP)
    reference = [[ot.sinkhorn2(A[:, i], A[:, j], cost, REG, stopThr=1e-13, numItermax=100000)
                  for j in range(4)] for i in range(4)]
    np.testing.assert_allclose(losses, reference, rtol=1e-7)
    assert not np.allclose(losses, losses.T, rtol=1e-3)


def test_float32_in_float32_out():
    losses = pairwise_sinkhorn2(A.astype(np.float32), None, M.astype(np.float32), REG,
                                stopThr=1e-6)
    assert losses.dtype == np.float32
    reference = pairwise_sinkhorn2(A, None, M, REG, stopThr=STOP)
    np.testing.assert_allclose(losses, reference, rtol=1e-4)


def test_cluster_equals_local_run(client, capsys):
    # the numpy backend spares each worker process loading numba's kernels (a test-time
    # saving only: the tiles and their arithmetic are the same with either backend)
    for targets in (B, None):
        local = pairwise_sinkhorn2(A, targets, M, REG, block_size=3, stopThr=STOP,
                                   backend="numpy")
        remote = pairwise_sinkhorn2(A, targets, M, REG, block_size=3, stopThr=STOP,
                                    client=client, verbose=True, backend="numpy")
        np.testing.assert_allclose(remote, local, rtol=1e-10, atol=0)
    printed = capsys.readouterr().out
    # 3 x 2 tiles with B, then the 3 + 2 + 1 tiles on and above the diagonal
    assert "6/6 tiles done" in printed and "6/6 tiles done" in printed.splitlines()[5]
    assert len(printed.splitlines()) == 12


@pytest.mark.parametrize("verbose", [False, True])
def test_worker_exception_surfaces_unchanged(client, verbose):
    with pytest.raises(WorkerFailure, match="raised inside a tile"):
        pairwise_sinkhorn2(A, B, M, REG, block_size=3, client=client, verbose=verbose,
                           callback=failing_callback, backend="numpy")


def test_dask_is_imported_only_with_a_client():
    code = ("import sys, numpy as np; from numopt.ot import pairwise_sinkhorn2; "
            "pairwise_sinkhorn2(np.eye(2) / 2 + 0.25, None, np.ones((2, 2)) - np.eye(2), 1.0, "
            "backend='numpy'); "
            "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_zero_reg_warns_once_and_gives_nan():
    with pytest.warns(NumoptWarning, match="'reg' parameter of pairwise_sinkhorn2 is 0"):
        losses = pairwise_sinkhorn2(A, B, M, 0.0)
    assert losses.shape == (7, 5) and np.isnan(losses).all()


def _negative(columns):
    bad = columns.copy()
    bad[0, 1] = -0.01
    return bad


def _nan(columns):
    bad = columns.copy()
    bad[2, 0] = np.nan
    return bad


# (A, B, M, options) of pairwise_sinkhorn2, the matching (a, b, M, options) of sinkhorn2, and
# what both messages must say
BAD_INPUTS = {
    "A rows": ((A[:-1], B, M, {}), (A[:-1, 0], B[:, 0], M, {}), r"must have shape"),
    "B rows": ((A, B[:-1], M, {}), (A[:, 0], B[:-1, 0], M, {}), r"must have shape"),
    "B=None, M not square": ((A, None, M[:, :-1], {}), (A[:, 0], B[:, 0], M[:, :-1], {}),
                             r"shape"),
    "negative A": ((_negative(A), B, M, {}), (_negative(A)[:, 1], B[:, 0], M, {}),
                   r"must be non-negative"),
    "negative B": ((A, _negative(B), M, {}), (A[:, 0], _negative(B)[:, 1], M, {}),
                   r"must be non-negative"),
    "unequal mass": ((A, 2 * B, M, {}), (A[:, 0], 2 * B[:, 0], M, {}),
                     r"must have the same total mass"),
    "zero mass": ((A, 0 * B, M, {}), (A[:, 0], 0 * B[:, 0], M, {}),
                  r"must have a positive sum"),
    "NaN in A": ((_nan(A), B, M, {}), (_nan(A)[:, 0], B[:, 0], M, {}),
                 r"must contain only finite values"),
    "text M": ((A, B, "cost", {}), (A[:, 0], B[:, 0], "cost", {}), r"array of real numbers"),
    "negative reg": ((A, B, M, {"reg": -1.0}), (A[:, 0], B[:, 0], M, {"reg": -1.0}),
                     r"'reg' parameter of .* must be"),
    "unknown method": ((A, B, M, {"method": "greedy"}),
                       (A[:, 0], B[:, 0], M, {"method": "greedy"}), r"'method' parameter"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_gets_the_errors_of_sinkhorn2(case):
    (A_bad, B_bad, M_bad, options), (a_bad, b_bad, M_single, single_options), says = \
        BAD_INPUTS[case]
    options, single_options = dict(options), dict(single_options)
    reg = options.pop("reg", REG)
    with pytest.raises((ValueError, TypeError)) as single:
        sinkhorn2(a_bad, b_bad, M_single, single_options.pop("reg", REG), **single_options)
    with pytest.raises(type(single.value), match=says) as batch:
        pairwise_sinkhorn2(A_bad, B_bad, M_bad, reg, **options)
    assert re.search(says, str(single.value))
    # the message names the argument of pairwise_sinkhorn2 (a column for a column's fault)
    assert re.search(r"`(A|B|M)(\[:, \d+\])?`|pairwise_sinkhorn2|`B=None`", str(batch.value))


def test_bad_block_size():
    with pytest.raises(ValueError, match="block_size"):
        pairwise_sinkhorn2(A, B, M, REG, block_size=0)
