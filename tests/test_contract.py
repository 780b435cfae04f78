"""One contract for every solver in the registry (CONVENTIONS.md section 2).

Each registered solver's example runs a small real problem; the contract checks the common result
keys, the accuracy against the example's independent reference, callback and StopIteration,
the unknown-option warning, and that bad input raises. SciPy's fall-through is held to the same
contract through numopt.minimize.
"""

import warnings

import numpy as np
import pytest
from scipy.optimize import OptimizeWarning, rosen, rosen_der, rosen_hess

import numopt
from numopt._core.registry import REGISTRY, Example, show_options
from numopt._core.result import Status
from numopt._core.warnings import ConvergenceWarning

COMMON_KEYS = ("fun", "success", "status", "message", "nit")
NUMOPT_KEYS = ("backend", "time", "history")


def _scipy_example(method):
    x0 = np.array([-1.2, 1.0])
    hess = rosen_hess if method == "trust-exact" else None

    def solve(callback=None, **options):
        return numopt.minimize(rosen, x0, jac=rosen_der, hess=hess, method=method,
                               callback=callback, options=options)

    return Example(problem="Rosenbrock 2-D", solve=solve,
                   accuracy=lambda res: float(np.abs(res.x - 1.0).max()),
                   accuracy_label="|x - x*|", tolerance=1e-4, peer="-",
                   solve_peer=lambda: (0, 0.0),
                   bad_inputs={"unknown method": lambda: numopt.minimize(rosen, x0, method="?")})


CASES = [pytest.param(spec.make_example, id=name) for name, spec in REGISTRY.items()] + [
    pytest.param(lambda method=method: _scipy_example(method), id=f"scipy-{method}")
    for method in ("BFGS", "trust-exact")
]


def _is_numopt(example):
    return not example.problem.startswith("Rosenbrock 2-D")


@pytest.fixture(params=CASES)
def example(request):
    return request.param()


def test_result_keys_and_accuracy(example):
    res = example.solve()
    for key in COMMON_KEYS:
        assert key in res, key
    if _is_numopt(example):
        for key in NUMOPT_KEYS:
            assert key in res, key
        assert isinstance(res.history, dict) and "nit" in res.history
        assert all(np.ndim(v) == 1 for v in res.history.values())
        assert res.status in {int(s) for s in Status}
    assert res.success, res.message
    assert example.accuracy(res) <= example.tolerance


def test_callback_new_style_and_stop_iteration(example):
    seen = []

    def callback(intermediate_result):
        seen.append(intermediate_result)
        raise StopIteration

    res = example.solve(callback=callback)
    assert len(seen) == 1
    assert res.status == 99 and not res.success


def test_legacy_callback(example):
    seen = []
    example.solve(callback=lambda xk: seen.append(xk))
    assert seen


def test_unknown_option_warns(example):
    with pytest.warns(OptimizeWarning, match="no_such_option"):
        with warnings.catch_warnings():
            # The solver may also warn that it stopped early; only the option warning matters.
            warnings.simplefilter("ignore", ConvergenceWarning)
            example.solve(no_such_option=1)


def test_bad_inputs_raise(example):
    assert example.bad_inputs
    for description, thunk in example.bad_inputs.items():
        with pytest.raises((ValueError, TypeError)):
            thunk()
            pytest.fail(f"no error for bad input: {description}")


@pytest.mark.parametrize("name", list(REGISTRY))
def test_show_options_documents_every_solver(name):
    spec = REGISTRY[name]
    method = name if spec.entry == "minimize" else None
    text = show_options(spec.entry, method, disp=False)
    assert text.strip() and "maxiter" in text or "tol" in text
