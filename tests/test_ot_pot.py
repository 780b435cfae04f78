"""numopt.ot.sinkhorn / sinkhorn2 against POT's contract, with POT as the reference."""

import inspect
import subprocess
import sys
import warnings

import numpy as np
import ot
import pytest
from scipy.optimize import OptimizeWarning

import numopt.ot
from numopt._core.warnings import ConvergenceWarning
from numopt.ot.pot import LOSS_METHODS, PLAN_METHODS
from tests.conftest import requires_gpu

REG = 0.05


def _problem(n=40, m=35, seed=7):
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((m, 2))
    a, b = rng.random(n) + 0.5, rng.random(m) + 0.5
    return a / a.sum(), b / b.sum(), ot.dist(x, y)


def _pot(function, *args, **kwargs):
    """POT's answer converged far below the tolerances compared (sinkhorn_log, stopThr 1e-14)."""
    kwargs = {"method": "sinkhorn_log", "numItermax": 200000, "stopThr": 1e-14, **kwargs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # POT may warn that it reached numItermax at 1e-14
        return function(*args, **kwargs)


def _assert_plans_close(plan, expected):
    # the tolerance of POT's own plan comparisons (test_optim.py: rtol 1e-7, atol 1e-12)
    np.testing.assert_allclose(plan, expected, rtol=1e-7, atol=1e-12)


# ------------------------------------------------------------------------------ signature


@pytest.mark.parametrize("name", ["sinkhorn", "sinkhorn2"])
def test_signature_is_pots(name):
    ours = inspect.signature(getattr(numopt.ot, name)).parameters
    theirs = inspect.signature(getattr(ot, name)).parameters
    assert list(ours) == list(theirs)
    for parameter in theirs.values():
        assert ours[parameter.name].default == parameter.default, parameter.name
        assert ours[parameter.name].kind == parameter.kind, parameter.name


def test_positional_call_as_in_pot():
    a, b, M = _problem()
    plan, log = numopt.ot.sinkhorn(a, b, M, REG, "sinkhorn_log", 1000, 1e-10, False, True,
                                   True, None)
    _assert_plans_close(plan, _pot(ot.sinkhorn, a, b, M, REG))
    assert {"err", "niter", "u", "v", "log_u", "log_v"} <= set(log)


def test_plan_and_loss_match_pot_at_the_default_stop_threshold():
    a, b, M = _problem()
    _assert_plans_close(numopt.ot.sinkhorn(a, b, M, REG), _pot(ot.sinkhorn, a, b, M, REG))
    loss = numopt.ot.sinkhorn2(a, b, M, REG)
    assert isinstance(loss, np.floating)
    # |<M, P - P*>| <= max(M) * ||P - P*||_1 ~ 2e-9 here: 1e-7 relative to a loss of ~0.06
    assert loss == pytest.approx(float(_pot(ot.sinkhorn2, a, b, M, REG)), rel=1e-7)


# ------------------------------------------------------------------------------ weights


def test_empty_weights_are_uniform():
    _, _, M = _problem()
    plan = numopt.ot.sinkhorn([], [], M, REG)
    _assert_plans_close(plan, _pot(ot.sinkhorn, [], [], M, REG))
    np.testing.assert_allclose(plan.sum(axis=1), np.full(M.shape[0], 1 / M.shape[0]), atol=1e-9)
    a, _, _ = _problem()
    assert numopt.ot.sinkhorn2(a, [], M, REG) == pytest.approx(
        float(_pot(ot.sinkhorn2, a, [], M, REG)), rel=1e-7)


@pytest.mark.parametrize("function", [numopt.ot.sinkhorn, numopt.ot.sinkhorn2])
def test_k_targets_give_k_losses_as_in_pot(function):
    a, _, M = _problem()
    rng = np.random.default_rng(3)
    targets = rng.random((M.shape[1], 3))
    targets /= targets.sum(axis=0)
    losses, log = function(a, targets, M, REG, log=True)
    expected = _pot(ot.sinkhorn2, a, targets, M, REG)
    assert losses.shape == (3,)
    np.testing.assert_allclose(losses, expected, rtol=1e-7)
    assert log["log_u"].shape == (M.shape[0], 3) and log["v"].shape == (M.shape[1], 3)
    for k in range(3):
        _assert_plans_close(np.exp(log["log_u"][:, k, None] + log["log_v"][None, :, k] - M / REG),
                            _pot(ot.sinkhorn, a, targets[:, k], M, REG))


# ------------------------------------------------------------------------------ stopping


@pytest.mark.parametrize("stop_thr", [1e-3, 1e-6, 1e-9, 1e-12])
def test_stopThr_bounds_pots_error_of_the_returned_plan(stop_thr):
    a, b, M = _problem()
    plan = numopt.ot.sinkhorn(a, b, M, 1e-3, stopThr=stop_thr, numItermax=100000)
    assert np.linalg.norm(plan.sum(axis=0) - b) <= stop_thr


def test_stopThr_zero_runs_numItermax_and_warns_like_pot():
    a, b, M = _problem()
    with pytest.warns(UserWarning):
        ot.sinkhorn(a, b, M, REG, stopThr=0, numItermax=7)  # POT: the behaviour to match
    with pytest.warns(ConvergenceWarning, match="numItermax"):
        _, log = numopt.ot.sinkhorn(a, b, M, REG, stopThr=0, numItermax=7, log=True)
    assert log["niter"] == 7 and log["results"][0].nit == 7
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        numopt.ot.sinkhorn2(a, b, M, REG, stopThr=0, numItermax=7)  # warn=False by default


def test_numItermax_bounds_sweeps_plus_newton_steps():
    a, b, M = _problem()
    with pytest.warns(ConvergenceWarning, match=r"numItermax \(now 25\)"):
        _, log = numopt.ot.sinkhorn(a, b, M, 1e-4, numItermax=25, log=True)
    result = log["results"][0]
    assert result.nit == result.n_sinkhorn + result.n_newton <= 25
    assert "maxiter" not in str(result.message) and "tol" not in str(result.message)


# ------------------------------------------------------------------------------ methods


@pytest.mark.parametrize("method", PLAN_METHODS + ("Sinkhorn_Log",))
def test_every_pot_method_name_is_solved_by_numopt(method):
    a, b, M = _problem()
    plan = numopt.ot.sinkhorn(a, b, M, REG, method=method)
    _assert_plans_close(plan, _pot(ot.sinkhorn, a, b, M, REG))


@pytest.mark.parametrize("method", ["greenkhorn", "sinkhorn_epsilon_scaling", "foo"])
def test_sinkhorn2_rejects_the_names_pot_rejects(method):
    a, b, M = _problem()
    assert method not in LOSS_METHODS
    with pytest.raises(ValueError):
        ot.sinkhorn2(a, b, M, REG, method=method)
    with pytest.raises(ValueError, match="'method' parameter of sinkhorn2"):
        numopt.ot.sinkhorn2(a, b, M, REG, method=method)


def test_unknown_method_raises_as_in_pot():
    a, b, M = _problem()
    with pytest.raises(ValueError):
        ot.sinkhorn(a, b, M, REG, method="foo")
    with pytest.raises(ValueError, match="'method' parameter of sinkhorn.*'foo'"):
        numopt.ot.sinkhorn(a, b, M, REG, method="foo")


def test_pot_tuning_parameters_are_ignored_and_numopt_options_pass():
    a, b, M = _problem()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plan = numopt.ot.sinkhorn(a, b, M, REG, method="sinkhorn_epsilon_scaling", tau=1e3,
                                  epsilon0=1e4, numInnerItermax=100, print_period=10,
                                  backend="numpy", sparsify="topk")
    _assert_plans_close(plan, _pot(ot.sinkhorn, a, b, M, REG))
    with pytest.warns(OptimizeWarning, match="not_an_option"):
        numopt.ot.sinkhorn(a, b, M, REG, not_an_option=1)


# ------------------------------------------------------------------------------ log, warm start


def test_log_potentials_reproduce_the_plan_and_match_pot():
    a, b, M = _problem()
    plan, log = numopt.ot.sinkhorn(a, b, M, REG, log=True)
    # P = diag(u) K diag(v), K = exp(-M / reg): POT's meaning of u and v
    np.testing.assert_allclose(log["u"][:, None] * np.exp(-M / REG) * log["v"][None, :], plan,
                               rtol=1e-12)
    np.testing.assert_allclose(np.log(log["u"]), log["log_u"], rtol=1e-12)
    _, pot_log = _pot(ot.sinkhorn, a, b, M, REG, log=True)
    shift = np.mean(log["log_u"] - pot_log["log_u"])  # potentials are unique up to (+c, -c)
    np.testing.assert_allclose(log["log_u"] - shift, pot_log["log_u"], atol=1e-6)
    np.testing.assert_allclose(log["log_v"] + shift, pot_log["log_v"], atol=1e-6)
    assert log["err"][-1] <= 1e-9 and log["niter"] == log["results"][0].nit


def test_warmstart_from_pots_converged_log_needs_one_check():
    a, b, M = _problem()
    reg = 1e-3
    expected, pot_log = _pot(ot.sinkhorn, a, b, M, reg, log=True)
    cold, cold_log = numopt.ot.sinkhorn(a, b, M, reg, log=True)
    warm, warm_log = numopt.ot.sinkhorn(a, b, M, reg, log=True,
                                        warmstart=(pot_log["log_u"], pot_log["log_v"]))
    _assert_plans_close(warm, expected)
    _assert_plans_close(cold, expected)
    assert warm_log["niter"] <= 10 < cold_log["niter"]


def test_warmstart_from_emd_duals_as_in_pots_tests():
    a, b = ot.unif(10), ot.unif(20)
    M = ot.dist(np.arange(10.0)[:, None], np.arange(20.0)[:, None])
    _, emd_log = ot.emd(a, b, M, log=True)
    plan = numopt.ot.sinkhorn(a, b, M, 1.0, warmstart=(emd_log["u"], emd_log["v"]))
    _assert_plans_close(plan, _pot(ot.sinkhorn, a, b, M, 1.0))


def test_warmstart_shapes_are_checked():
    a, b, M = _problem()
    with pytest.raises(ValueError, match=r"`warmstart\[1\]` must have shape \(35,\)"):
        numopt.ot.sinkhorn(a, b, M, REG, warmstart=(np.zeros(40), np.zeros(3)))
    with pytest.raises(TypeError, match="`warmstart` must be a pair"):
        numopt.ot.sinkhorn(a, b, M, REG, warmstart=np.zeros(40))


# ------------------------------------------------------------------------------ dtype, reg, errors


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_dtype_follows_the_input(dtype):
    a, b, M = _problem()
    a32, b32, M32 = (x.astype(dtype) for x in (a, b, M))
    plan = numopt.ot.sinkhorn(a32, b32, M32, REG)
    loss = numopt.ot.sinkhorn2(a32, b32, M32, REG)
    losses = numopt.ot.sinkhorn2(a32, np.stack([b32, b32], axis=1), M32, REG)
    assert plan.dtype == loss.dtype == losses.dtype == dtype
    # POT keeps the dtype too; the values agree with POT's float64 answer to float32 precision
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # POT's float32 run may not reach its stopThr
        assert ot.sinkhorn(a32, b32, M32, REG).dtype == dtype
    a64, b64, M64 = (x.astype(np.float64) for x in (a32, b32, M32))
    expected = _pot(ot.sinkhorn, a64, b64 / b64.sum() * a64.sum(), M64, REG)
    np.testing.assert_allclose(plan, expected, rtol=1e-5, atol=1e-9)


def test_reg_zero_warns_like_pot_and_negative_reg_raises():
    a, b, M = _problem()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ot.sinkhorn(a, b, M, 0, warn=False)  # POT warns (numerical errors), besides NumPy's
    assert any(issubclass(w.category, UserWarning) for w in caught)
    with pytest.warns(UserWarning, match="'reg' parameter of sinkhorn is 0"):
        plan = numopt.ot.sinkhorn(a, b, M, 0, warn=False)
    assert plan.shape == M.shape and np.isnan(plan).all()
    with pytest.warns(UserWarning, match="'reg'"):
        assert np.isnan(numopt.ot.sinkhorn2(a, b, M, 0.0))
    with pytest.raises(ValueError, match="'reg' parameter of sinkhorn2 must be a float >= 0"):
        numopt.ot.sinkhorn2(a, b, M, -1.0)


@pytest.mark.parametrize("arguments, error, match", [
    (dict(stopThr=-1.0), ValueError, "'stopThr' parameter of sinkhorn"),
    (dict(numItermax=0), ValueError, "'numItermax' parameter of sinkhorn"),
    (dict(tol=1e-3), TypeError, "`stopThr`, not numopt's `tol`"),
    (dict(maxiter=5), TypeError, "`numItermax`, not numopt's `maxiter`"),
    (dict(M=np.ones((3, 3))), ValueError, r"`a` must have shape \(M.shape\[0\],\) = \(3,\)"),
    (dict(b=np.ones((35, 2, 2))), ValueError, r"`b` must have shape \(M.shape\[1\],\)"),
    (dict(b=np.full(35, 2 / 35)), ValueError, "same total mass"),
    (dict(M="cost"), TypeError, "`M` must be an array"),
])
def test_messages_name_the_argument_the_user_passed(arguments, error, match):
    a, b, M = _problem()
    call = {"a": a, "b": b, "M": M, "reg": REG, **arguments}
    with pytest.raises(error, match=match):
        numopt.ot.sinkhorn(**call)


def test_verbose_prints_numopts_table(capsys):
    a, b, M = _problem()
    numopt.ot.sinkhorn(a, b, M, REG, verbose=True)
    out = capsys.readouterr().out
    assert "marginal_error" in out and "sinkhorn_newton:" in out


def test_numopt_ot_never_imports_pot():
    # with `import ot` made to fail, the drop-ins still solve
    code = ("import sys; sys.modules['ot'] = None\n"
            "import numopt.ot\n"
            "p = numopt.ot.sinkhorn([], [], [[0.0, 1.0], [1.0, 0.0]], 1.0)\n"
            "assert abs(p[0, 0] - 0.36552929) < 1e-8, p\n")
    subprocess.run([sys.executable, "-c", code], check=True)


@requires_gpu
@pytest.mark.gpu
def test_cupy_input_gives_cupy_output():
    import cupy

    a, b, M = _problem()
    plan = numopt.ot.sinkhorn(cupy.asarray(a), cupy.asarray(b), cupy.asarray(M), REG)
    loss, log = numopt.ot.sinkhorn2(cupy.asarray(a), cupy.asarray(b), cupy.asarray(M), REG,
                                    log=True)
    assert isinstance(plan, cupy.ndarray) and isinstance(log["u"], cupy.ndarray)
    _assert_plans_close(cupy.asnumpy(plan), _pot(ot.sinkhorn, a, b, M, REG))
    assert float(loss) == pytest.approx(float(_pot(ot.sinkhorn2, a, b, M, REG)), rel=1e-7)
