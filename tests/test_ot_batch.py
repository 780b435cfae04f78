"""numopt.ot.sinkhorn_newton_batch against POT's log-domain Sinkhorn and closed-form checks."""

import warnings

import numpy as np
import pytest

import numopt.ot.batch as batch_module
from numopt.ot import sinkhorn_newton_batch

ot = pytest.importorskip("ot")


def _problem(n=40, m=35, k=5, seed=0, zeros=False):
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((m, 2))
    C = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    a = np.full(n, 1 / n)
    B = rng.random((m, k)) + 0.2
    if zeros:
        B[:3, 1] = 0.0
    return a, B / B.sum(axis=0), C


def _pot_reference(a, B, C, reg):
    """Per-target cost and plan of POT's log-domain Sinkhorn, run to rounding level."""
    refs = []
    for target in range(B.shape[1]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plan = ot.sinkhorn(a, B[:, target], C, reg, method="sinkhorn_log", stopThr=1e-13,
                               numItermax=200000)
        refs.append(plan)
    return refs


def _check_against_pot(results, a, B, C, reg, plan_atol=1e-8):
    for target, (res, ref) in enumerate(zip(results, _pot_reference(a, B, C, reg),
                                            strict=True)):
        assert res.success and res.marginal_error <= 1e-8
        np.testing.assert_allclose(res.plan, ref, atol=plan_atol)
        assert abs(res.cost - float((ref * C).sum())) <= 1e-8
        np.testing.assert_allclose(res.plan.sum(axis=1), a, atol=1e-8)
        np.testing.assert_allclose(res.plan.sum(axis=0), B[:, target], atol=1e-8)
        f, g = res.potentials
        with np.errstate(invalid="ignore"):
            rebuilt = np.exp((f[:, None] + g[None, :] - C) / reg)
        np.testing.assert_allclose(rebuilt, res.plan, rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize("fraction", [5e-2, 1e-2])
def test_batch_matches_pot_per_target(fraction):
    a, B, C = _problem()
    reg = fraction * C.max()
    results = sinkhorn_newton_batch(a, B, C, reg)
    assert len(results) == B.shape[1]
    _check_against_pot(results, a, B, C, reg)


def test_small_reg_runs_the_newton_stage_per_target():
    a, B, C = _problem(n=60, m=50, k=3, seed=1)
    reg = 2e-3 * C.max()
    results = sinkhorn_newton_batch(a, B, C, reg, backend="numpy")
    assert all(res.n_newton > 0 for res in results)
    _check_against_pot(results, a, B, C, reg, plan_atol=1e-7)


def test_targets_outside_the_shared_range_continue_alone(monkeypatch):
    # a bound of 2 on the log-scalings forces the common absorption and the eviction paths
    monkeypatch.setattr(batch_module, "_LIMIT", 2.0)
    a, B, C = _problem(k=4, seed=2)
    B[:, 3] = np.linspace(1, 40, B.shape[0]) ** 2
    B[:, 3] /= B[:, 3].sum()
    reg = 2e-2 * C.max()
    _check_against_pot(sinkhorn_newton_batch(a, B, C, reg), a, B, C, reg)


def test_zero_weights_are_solved_alone_with_minus_inf_potentials():
    a, B, C = _problem(zeros=True)
    reg = 5e-2 * C.max()
    results = sinkhorn_newton_batch(a, B, C, reg)
    _check_against_pot(results, a, B, C, reg)
    assert np.all(np.isneginf(results[1].potentials[1][:3]))


def test_plans_false_gives_the_same_costs_without_plans():
    a, B, C = _problem()
    reg = 1e-2 * C.max()
    without = sinkhorn_newton_batch(a, B, C, reg, plans=False)
    assert all(res.plan is None for res in without)
    for ref, res in zip(_pot_reference(a, B, C, reg), without, strict=True):
        assert res.marginal_error <= 1e-8 and abs(res.cost - float((ref * C).sum())) <= 1e-8


def test_maxiter_ends_every_target_unconverged_with_a_warning():
    a, B, C = _problem()
    with pytest.warns(UserWarning, match="maxiter"):
        results = sinkhorn_newton_batch(a, B, C, 1e-3 * C.max(), maxiter=5, switch_tol=0)
    assert all(not res.success and res.nit == 5 and res.marginal_error > 1e-8
               for res in results)


def test_float32_inputs_give_float32_outputs():
    a, B, C = (x.astype(np.float32) for x in _problem())
    results = sinkhorn_newton_batch(a, B, C, 5e-2 * float(C.max()), tol=1e-5)
    assert all(res.plan.dtype == np.float32 and res.potentials[0].dtype == np.float32
               for res in results)


@pytest.mark.parametrize("change, match", [
    (lambda a, B, C: (a, B[:, 0], C), "`B`"),
    (lambda a, B, C: (a, B[:-1], C), "`C` must have shape"),
    (lambda a, B, C: (a, B * 2, C), "mass"),
])
def test_bad_inputs_name_the_argument(change, match):
    with pytest.raises(ValueError, match=match):
        sinkhorn_newton_batch(*change(*_problem()), 0.1)
