import numpy as np
import pytest
import scipy.optimize

from numopt import OptimizeResult
from numopt._core.result import Status, make_result
from numopt._core.warnings import (
    ConvergenceWarning,
    NumoptWarning,
    warn_not_converged,
    warn_unknown_options,
)


def test_result_is_scipy_result_with_pretty_repr():
    res = make_result(Status.CONVERGED, backend="numpy", time=0.5, history={"nit": [0, 1]},
                      x=np.zeros(2), fun=1.0, nit=1)
    assert isinstance(res, scipy.optimize.OptimizeResult)
    assert isinstance(res, OptimizeResult)
    text = repr(res)
    # SciPy's repr lists the keys right-aligned, one per line.
    assert "success: True" in text and "backend: numpy" in text and "history:" in text
    assert res.success and res.status == 0 and res.message == Status.CONVERGED.message
    assert isinstance(res.history["nit"], np.ndarray) and res.history["nit"].ndim == 1


def test_repr_is_scipys_with_the_history_summarised():
    history = {"nit": np.arange(40), "fun": np.linspace(1, 0, 40), "grad_norm": np.ones(40)}
    res = make_result(Status.CONVERGED, backend="numba", time=0.25, history=history,
                      x=np.arange(5.0), fun=0.0, nit=39)
    lines = repr(res).splitlines()
    assert "history: 40 records of nit, fun, grad_norm" in [line.strip() for line in lines]
    # Every other line is SciPy's own rendering of the same keys (same key width: 'history',
    # 'success' and 'message' are all seven letters).
    others = scipy.optimize.OptimizeResult({k: v for k, v in res.items() if k != "history"})
    assert [line for line in lines if "history" not in line] == repr(others).splitlines()
    assert len(lines) == len(res)
    # The full history stays an attribute.
    assert res.history["fun"].shape == (40,)
    np.testing.assert_array_equal(res.history["nit"], np.arange(40))


def test_repr_of_an_uneven_or_empty_history():
    res = make_result(Status.MAXITER, backend="numpy", time=0, history={"nit": [0, 1, 2],
                                                                        "fun": [1.0]})
    assert "history: records per key: nit 3, fun 1" in repr(res)
    assert "history: empty" in repr(make_result(0, backend="numpy", time=0, history={}))
    # A result without a history (a callback's intermediate result) prints as SciPy's does.
    bare = OptimizeResult(x=np.zeros(2), nit=3)
    assert repr(bare) == repr(scipy.optimize.OptimizeResult(x=np.zeros(2), nit=3))


@pytest.mark.parametrize("status, success", [(Status.MAXITER, False), (Status.CALLBACK, False),
                                             (Status.NONFINITE, False), (0, True)])
def test_make_result_success_follows_status(status, success):
    res = make_result(status, backend="numba", time=0, history={})
    assert res.success is success
    assert res.status == int(status)


def test_status_codes_and_messages():
    assert Status.CONVERGED == 0 and Status.MAXITER == 1 and Status.CALLBACK == 99
    assert all(s < 0 for s in (Status.NONFINITE, Status.LINALG))
    assert len({s.message for s in Status}) == len(Status)
    assert "StopIteration" in Status.CALLBACK.message


def test_custom_message_replaces_default():
    res = make_result(Status.STALLED, backend="numpy", time=0, history={}, message="line search")
    assert res.message == "line search"


def test_warning_classes():
    assert issubclass(ConvergenceWarning, NumoptWarning)
    assert issubclass(NumoptWarning, scipy.optimize.OptimizeWarning)


def test_unknown_options_warning_names_them():
    with pytest.warns(scipy.optimize.OptimizeWarning, match="bar, foo"):
        warn_unknown_options("gn-newton", {"foo": 1, "bar": 2})


def test_convergence_warning_says_what_to_change():
    res = make_result(Status.MAXITER, backend="numpy", time=0, history={})
    with pytest.warns(ConvergenceWarning, match="increase maxiter"):
        warn_not_converged(res, "demo", "increase maxiter (now 3)")
    # warn=False and a successful result stay silent (filterwarnings=error would fail otherwise)
    warn_not_converged(res, "demo", "x", warn=False)
    warn_not_converged(make_result(0, backend="numpy", time=0, history={}), "demo", "x")
