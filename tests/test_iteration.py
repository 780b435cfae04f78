import io

import numpy as np
import pytest

from numopt import OptimizeResult
from numopt._core.iteration import Column, History, IterationMonitor, TablePrinter, wrap_callback


def test_new_style_callback_gets_result():
    seen = []

    def callback(intermediate_result):
        seen.append(intermediate_result)

    wrapped = wrap_callback(callback)
    assert wrapped(OptimizeResult(x=np.ones(2), nit=4, fun=1.0)) is False
    assert isinstance(seen[0], OptimizeResult) and seen[0].nit == 4


def test_legacy_callback_gets_a_copy_of_x():
    seen = []
    x = np.ones(2)
    wrapped = wrap_callback(lambda xk: seen.append(xk))
    wrapped(OptimizeResult(x=x, nit=0))
    seen[0][0] = 5.0
    assert x[0] == 1.0


def test_stop_iteration_and_other_exceptions():
    def stopper(xk):
        raise StopIteration

    def broken(intermediate_result):
        raise RuntimeError("user bug")

    assert wrap_callback(stopper)(OptimizeResult(x=np.zeros(1))) is True
    with pytest.raises(RuntimeError, match="user bug"):
        wrap_callback(broken)(OptimizeResult(x=np.zeros(1)))
    with pytest.raises(TypeError, match="callback"):
        wrap_callback("not callable")
    assert wrap_callback(None) is None


def test_builtin_callback_without_signature_is_legacy():
    seen = []
    wrap_callback(seen.append)(OptimizeResult(x=np.arange(2.0)))
    assert np.array_equal(seen[0], [0.0, 1.0])


def test_history_and_monitor():
    h = History()
    for k in range(3):
        h.record(nit=k, fun=float(k))
    assert np.array_equal(h.as_dict()["fun"], [0.0, 1.0, 2.0])

    calls = []
    monitor = IterationMonitor("demo", [Column("fun")], callback=lambda xk: calls.append(xk),
                               check_every=2)
    assert monitor.due(4) and not monitor.due(3)
    assert monitor.record(0, x=np.zeros(2), fun=3.0) is False
    hist = monitor.history()
    assert set(hist) == {"nit", "time", "fun"} and hist["fun"][0] == 3.0
    assert len(calls) == 1


def test_monitor_rejects_bad_options():
    with pytest.raises(ValueError, match="verbose"):
        IterationMonitor("demo", [], verbose=-1)
    with pytest.raises(ValueError, match="check_every"):
        IterationMonitor("demo", [], check_every=0)


def test_verbose_table_and_report(capsys):
    monitor = IterationMonitor("demo", [Column("fun"), Column("gnorm")], verbose=2)
    monitor.record(0, x=None, fun=1.0, gnorm=None)
    monitor.record(1, x=None, fun=0.5, gnorm=2.0)
    from numopt._core.result import make_result

    monitor.report(make_result(0, backend="numpy", time=0.1, history={}, nit=1, fun=0.5))
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["nit", "time", "fun", "gnorm"]
    assert out[1].split()[-1] == "-" and out[2].split()[-1] == "2.000e+00"
    assert out[3].startswith("demo: Optimization terminated successfully.")


def test_printer_stream():
    stream = io.StringIO()
    TablePrinter([Column("f")], stream=stream).row(nit=1, time=0.0, f=2.0)
    assert "2.000e+00" in stream.getvalue()
