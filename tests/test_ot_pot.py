"""numopt.ot.sinkhorn / sinkhorn2 as drop-ins for POT's."""

import warnings

import numpy as np
import ot
import pytest

import numopt.ot


def _problem():
    rng = np.random.default_rng(7)
    x, y = rng.random((40, 2)), rng.random((35, 2))
    return np.full(40, 1 / 40), np.full(35, 1 / 35), ot.dist(x, y)


def test_sinkhorn_plan_matches_pot():
    a, b, M = _problem()
    reg = 0.01
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = ot.sinkhorn(a, b, M, reg, method="sinkhorn_log", numItermax=100000,
                               stopThr=1e-13)
    plan = numopt.ot.sinkhorn(a, b, M, reg)
    np.testing.assert_allclose(plan, expected, rtol=1e-6, atol=1e-6 * expected.max())


def test_sinkhorn2_is_the_linear_cost_like_pot():
    a, b, M = _problem()
    reg = 0.01
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = ot.sinkhorn2(a, b, M, reg, method="sinkhorn_log", numItermax=100000,
                                stopThr=1e-13)
    assert numopt.ot.sinkhorn2(a, b, M, reg) == pytest.approx(float(expected), rel=1e-7)


def test_pot_shaped_arguments_pass_through():
    a, b, M = _problem()
    from numopt._core.warnings import ConvergenceWarning

    with pytest.warns(ConvergenceWarning, match="maxiter"):
        numopt.ot.sinkhorn(a, b, M, 1e-3, numItermax=3)
    plan = numopt.ot.sinkhorn(a, b, M, 0.05, stopThr=1e-4, backend="numpy")
    assert np.abs(plan.sum(1) - a).sum() <= 1e-4
    with pytest.raises(ValueError, match="'reg'"):
        numopt.ot.sinkhorn2(a, b, M, -1.0)
