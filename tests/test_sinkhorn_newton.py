"""sinkhorn_newton against POT (independent reference), on real small problems."""

import warnings

import numpy as np
import ot
import pytest

from numopt import sinkhorn_newton
from numopt._core.result import Status
from numopt._core.warnings import ConvergenceWarning
from tests.conftest import requires_gpu


def _points(n, m, seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((m, 2))
    C = ot.dist(x, y)  # squared Euclidean
    a = rng.random(n) + 0.5
    b = rng.random(m) + 0.5
    return a / a.sum(), b / b.sum(), C


def _gaussians(n):
    t = np.linspace(0, 1, n)
    a = np.exp(-(t - 0.2) ** 2 / 0.005) + 0.5 * np.exp(-(t - 0.6) ** 2 / 0.01)
    b = np.exp(-(t - 0.4) ** 2 / 0.01) + 0.8 * np.exp(-(t - 0.8) ** 2 / 0.003)
    return a / a.sum(), b / b.sum(), (t[:, None] - t[None, :]) ** 2


def _pot_log(a, b, C, reg):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # POT may warn that it hit numItermax at stopThr 1e-13
        plan, log = ot.sinkhorn(a, b, C, reg, method="sinkhorn_log", numItermax=200000,
                                stopThr=1e-13, log=True)
    return plan, log


def _assert_matches_pot(res, a, b, C, reg):
    plan, log = _pot_log(a, b, C, reg)
    np.testing.assert_allclose(res.plan, plan, rtol=1e-6, atol=1e-6 * plan.max())
    # potentials equal up to the constant shift (f + c, g - c)
    f, g = res.potentials
    f_pot, g_pot = reg * log["log_u"], reg * log["log_v"]
    support_a, support_b = a > 0, b > 0
    shift = np.sum(a[support_a] * (f[support_a] - f_pot[support_a])) / a.sum()
    df, dg = f[support_a] - shift - f_pot[support_a], g[support_b] + shift - g_pot[support_b]
    # A potential is pinned down in proportion to its weight: changing f_i by d moves row i's
    # mass by about a_i * d / reg. So: weighted differences at the marginal tolerance, plain
    # differences (1e-6 of max C) where the weight is not negligible.
    assert np.max(a[support_a] * np.abs(df)) / reg <= 1e-7
    assert np.max(b[support_b] * np.abs(dg)) / reg <= 1e-7
    scale = np.abs(C).max()
    heavy_a = a[support_a] >= 1e-3 * a.max()
    heavy_b = b[support_b] >= 1e-3 * b.max()
    np.testing.assert_allclose(df[heavy_a], 0, atol=1e-6 * scale)
    np.testing.assert_allclose(dg[heavy_b], 0, atol=1e-6 * scale)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("reg_factor", [1e-1, 1e-2, 1e-3])
def test_matches_pot_points(backend, reg_factor):
    a, b, C = _points(60, 45)  # n != m
    reg = reg_factor * C.max()
    res = sinkhorn_newton(a, b, C, reg, backend=backend)
    assert res.success and res.status == 0
    assert res.marginal_error <= 1e-8
    err = np.abs(res.plan.sum(1) - a).sum() + np.abs(res.plan.sum(0) - b).sum()
    assert err <= 1e-8
    _assert_matches_pot(res, a, b, C, reg)
    assert res.backend == backend


def test_newton_stage_runs_and_matches_pot():
    a, b, C = _gaussians(150)
    reg = 1e-3 * C.max()
    res = sinkhorn_newton(a, b, C, reg, switch_sweeps=0)  # Newton as soon as error < switch_tol
    assert res.success and res.n_newton > 0
    assert res.nit == res.n_sinkhorn + res.n_newton
    _assert_matches_pot(res, a, b, C, reg)


@pytest.mark.parametrize("sparsify", ["mass", "topk", "row_topk"])
@pytest.mark.parametrize("linear_solver", ["cg", "direct"])
@pytest.mark.parametrize("shape", [(80, 70), (50, 90)])
def test_options_converge(sparsify, linear_solver, shape):
    a, b, C = _points(*shape, seed=3)
    reg = 1e-3 * C.max()
    res = sinkhorn_newton(a, b, C, reg, sparsify=sparsify, linear_solver=linear_solver,
                          switch_sweeps=0)
    assert res.success and res.n_newton > 0
    _assert_matches_pot(res, a, b, C, reg)


def test_cost_at_least_emd_and_fun_consistent():
    a, b, C = _points(50, 50, seed=1)
    reg = 1e-2 * C.max()
    res = sinkhorn_newton(a, b, C, reg)
    emd_cost = float((ot.emd(a, b, C) * C).sum())
    assert res.cost >= emd_cost - 1e-12
    P = res.plan
    assert res.cost == pytest.approx(float((P * C).sum()), rel=1e-10)
    entropic = float((P * C).sum() + reg * (P * (np.log(P) - 1)).sum())
    assert res.fun == pytest.approx(entropic, rel=1e-9, abs=1e-12)
    assert res.history["fun"][-1] == pytest.approx(res.fun, rel=1e-6, abs=1e-9)


def test_zero_weights_solved_on_support():
    a, b, C = _points(40, 30, seed=2)
    a[[0, 7]] = 0.0
    b[[3]] = 0.0
    a, b = a / a.sum(), b / b.sum()
    reg = 1e-2 * C.max()
    res = sinkhorn_newton(a, b, C, reg)
    assert res.success
    assert np.all(res.plan[[0, 7]] == 0) and np.all(res.plan[:, 3] == 0)
    assert np.isneginf(res.potentials[0][[0, 7]]).all() and np.isneginf(res.potentials[1][3])
    _assert_matches_pot(res, a, b, C, reg)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_small_reg_no_overflow(backend):
    a, b, C = _gaussians(120)
    reg = 1e-4 * C.max()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning (overflow) fails
        res = sinkhorn_newton(a, b, C, reg, backend=backend)
    assert res.success and np.isfinite(res.plan).all()
    assert res.marginal_error <= 1e-8
    assert res.cost >= float((ot.emd(a, b, C) * C).sum()) - 1e-12


def test_float32_inputs_meet_tol_on_the_float32_kernel_and_are_returned_as_float32():
    a, b, C = _points(40, 40, seed=4)
    reg = 1e-2 * C.max()
    res = sinkhorn_newton(a.astype(np.float32), b.astype(np.float32), C.astype(np.float32),
                          reg)
    assert res.success and res.plan.dtype == np.float32
    assert res.potentials[0].dtype == res.potentials[1].dtype == np.float32
    # tol = 1e-8 is met on the float32 kernel (the plan itself: see the next test)
    assert res.marginal_error <= 1e-8
    a32, b32, C32 = (x.astype(np.float32).astype(np.float64) for x in (a, b, C))
    plan, _ = _pot_log(a32, b32 * (a32.sum() / b32.sum()), C32, reg)
    np.testing.assert_allclose(res.plan, plan, rtol=1e-6, atol=1e-6 * plan.max())
    mixed = sinkhorn_newton(a.astype(np.float32), b, C.astype(np.float32), reg)
    assert mixed.plan.dtype == np.float64  # float32 only when every input is float32


def test_mass_not_one():
    a, b, C = _points(30, 20, seed=5)
    res = sinkhorn_newton(3 * a, 3 * b, C, 0.05)
    assert res.success
    np.testing.assert_allclose(res.plan.sum(1), 3 * a, atol=1e-8)


@pytest.mark.parametrize("bad, match", [
    (dict(a=[np.nan, 1.0]), "`a` must contain only finite"),
    (dict(b=[np.inf, 0.5]), "`b` must contain only finite"),
    (dict(C=[[0.0, np.nan], [1.0, 0.0]]), "`C` must contain only finite"),
    (dict(a=[-0.5, 1.5]), "`a` must be non-negative"),
    (dict(b=[0.2, 0.2]), "same total mass"),
    (dict(C=[[0.0, 1.0, 2.0], [1.0, 0.0, 2.0]]), "`C` must have shape"),
    (dict(reg=0.0), "'reg' parameter"),
    (dict(reg=-1.0), "'reg' parameter"),
    (dict(a=[[0.5, 0.5]]), "`a` must be a 1-D"),
    (dict(tol=-1.0), "'tol' parameter"),
    (dict(maxiter=0), "'maxiter' parameter"),
    (dict(sparsify="bogus"), "'sparsify' parameter"),
    (dict(backend="gpu"), "'backend' parameter"),
])
def test_bad_input(bad, match):
    args = dict(a=[0.5, 0.5], b=[0.5, 0.5], C=[[0.0, 1.0], [1.0, 0.0]], reg=0.1)
    args.update(bad)
    with pytest.raises(ValueError, match=match):
        sinkhorn_newton(args.pop("a"), args.pop("b"), args.pop("C"), args.pop("reg"), **args)


def test_bad_input_types():
    with pytest.raises(TypeError, match="`C`"):
        sinkhorn_newton([0.5, 0.5], [0.5, 0.5], "cost", 0.1)
    with pytest.raises(TypeError, match="'reg'"):
        sinkhorn_newton([0.5, 0.5], [0.5, 0.5], np.eye(2), "0.1")


def test_unknown_option_warns():
    from scipy.optimize import OptimizeWarning

    with pytest.warns(OptimizeWarning, match="bogus_option"):
        sinkhorn_newton([0.5, 0.5], [0.5, 0.5], np.eye(2), 0.1, bogus_option=1)


def test_maxiter_warning_and_status():
    a, b, C = _gaussians(100)
    with pytest.warns(ConvergenceWarning, match="maxiter"):
        res = sinkhorn_newton(a, b, C, 1e-3 * C.max(), maxiter=5)
    assert not res.success and res.status == Status.MAXITER and res.nit <= 5
    assert "tol" in res.message or "Maximum" in res.message
    assert np.isfinite(res.plan).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = sinkhorn_newton(a, b, C, 1e-3 * C.max(), maxiter=5, warn=False)
    assert quiet.status == Status.MAXITER


def test_callback_history_and_stop():
    a, b, C = _points(50, 50)
    seen = []

    def callback(intermediate_result):
        seen.append(intermediate_result.marginal_error)
        if len(seen) == 2:
            raise StopIteration

    res = sinkhorn_newton(a, b, C, 1e-3 * C.max(), callback=callback)  # no ConvergenceWarning
    assert res.status == Status.CALLBACK and not res.success
    assert len(seen) == 2
    full = sinkhorn_newton(a, b, C, 1e-3 * C.max())
    history = full.history
    assert {"nit", "time", "marginal_error", "fun", "n_newton"} <= set(history)
    assert history["marginal_error"][-1] <= 1e-8
    assert np.all(np.diff(history["time"]) >= 0)


def test_legacy_callback_gets_potentials():
    a, b, C = _points(20, 30)
    shapes = []
    sinkhorn_newton(a, b, C, 0.05, callback=lambda xk: shapes.append(xk.shape))
    assert shapes and shapes[0] == (50,)


def test_set_backend_numpy():
    from numopt import set_backend

    a, b, C = _points(20, 20)
    with set_backend("numpy"):
        assert sinkhorn_newton(a, b, C, 0.05).backend == "numpy"


@requires_gpu
@pytest.mark.gpu
def test_cupy_backend_matches_pot():
    import cupy

    a, b, C = _points(60, 50)
    reg = 1e-2 * C.max()
    res = sinkhorn_newton(a, b, C, reg, backend="cupy")
    assert res.backend == "cupy" and isinstance(res.plan, np.ndarray)
    _assert_matches_pot(res, a, b, C, reg)
    on_device = sinkhorn_newton(cupy.asarray(a), cupy.asarray(b), cupy.asarray(C), reg)
    assert isinstance(on_device.plan, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(on_device.plan), res.plan, rtol=1e-6, atol=1e-12)


# ----------------------------------------------------------------- reg=None: 0.05 * std(C)


def test_default_reg_is_a_fraction_of_the_cost_spread():
    a, b, C = _points(50, 40, seed=8)
    res = sinkhorn_newton(a, b, C)
    assert res.success and res.reg == pytest.approx(0.05 * np.std(C), rel=1e-12)
    _assert_matches_pot(res, a, b, C, res.reg)


def _shifted_grid(n):
    """Two shifted 1-D grids: under the default reg the Newton stage runs."""
    t = np.linspace(0, 1, n)
    return np.full(n, 1 / n), np.full(n, 1 / n), (t[:, None] - t[None, :] - 0.1) ** 2


@pytest.mark.parametrize("problem", [lambda: _points(50, 40, seed=9), lambda: _shifted_grid(200)],
                         ids=["points", "grid"])
@pytest.mark.parametrize("scale, shift", [(1e3, 0.0), (1e-3, 0.0), (1.0, 5.0), (7.0, -3.0)])
def test_default_reg_plan_is_invariant_under_scaling_and_shifting_C(problem, scale, shift):
    a, b, C = problem()
    reference = sinkhorn_newton(a, b, C)
    moved = sinkhorn_newton(a, b, scale * C + shift)
    assert moved.success and moved.n_newton == reference.n_newton
    assert moved.reg == pytest.approx(scale * reference.reg, rel=1e-12)
    np.testing.assert_allclose(moved.plan, reference.plan, rtol=1e-10, atol=0)


def test_default_reg_of_a_constant_cost_is_one():
    a, b, _ = _points(6, 4, seed=10)
    res = sinkhorn_newton(a, b, np.full((6, 4), 2.5))
    assert res.reg == 1.0
    np.testing.assert_allclose(res.plan, np.outer(a, b), rtol=1e-8)  # the closed form


@pytest.mark.parametrize("tol, attained", [(1e-5, 1e-5), (1e-6, 1e-6), (1e-9, 1e-6)])
def test_float32_kernel_accuracy_is_the_documented_one(tol, attained):
    """float32 inputs: the kernel is float32; the returned plan meets max(tol, ~3e-7) of the
    mass when its marginals are summed in float64, and matches POT's float64 plan."""
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(4)
    n = 200
    x, y = rng.random((n, 2)), rng.random((n, 2))
    C = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    a = rng.random(n) + 0.5
    a /= a.sum()
    b = np.full(n, 1 / n)
    reg = 1e-2 * C.max()
    res = sinkhorn_newton(*(v.astype(np.float32) for v in (a, b, C)), reg, tol=tol)
    assert res.success and res.plan.dtype == np.float32
    plan = res.plan.astype(np.float64)
    assert np.abs(plan.sum(1) - a).sum() + np.abs(plan.sum(0) - b).sum() <= attained
    reference = ot.sinkhorn(a, b, C, reg, method="sinkhorn_log", stopThr=1e-12,
                            numItermax=100000)
    np.testing.assert_allclose(plan, reference, atol=10 * attained / n)
