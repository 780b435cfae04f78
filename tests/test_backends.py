import os
import subprocess
import sys

import numpy as np
import pytest

from numopt import set_backend
from numopt.backends import get_backend
from tests.conftest import requires_gpu


def _ot_inputs(n=37, m=23, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    C = rng.random((n, m)).astype(dtype)
    f = (rng.normal(size=n) * 0.05).astype(dtype)
    g = (rng.normal(size=m) * 0.05).astype(dtype)
    return f, g, C


def test_auto_picks_numba_for_numpy_input():
    assert get_backend("auto", np.ones(2)).name == "numba"
    assert get_backend(None).name == "numba"


def test_unknown_backend_name():
    with pytest.raises(ValueError, match="'backend' parameter must be one of"):
        get_backend("tpu")


def test_set_backend_and_env(monkeypatch):
    with set_backend("numpy"):
        assert get_backend("auto", np.ones(1)).name == "numpy"
        assert get_backend("numba").name == "numba"  # explicit choice wins
    assert get_backend("auto").name == "numba"
    monkeypatch.setenv("NUMOPT_BACKEND", "numpy")
    assert get_backend("auto").name == "numpy"
    monkeypatch.setenv("NUMOPT_BACKEND", "bogus")
    with pytest.raises(ValueError, match="NUMOPT_BACKEND"):
        get_backend("auto")
    with pytest.raises(ValueError, match="set_backend"):
        with set_backend("bogus"):
            pass


def test_missing_kernel_is_a_clear_error():
    with pytest.raises(AttributeError, match="no kernel 'no_such_kernel'"):
        get_backend("numpy").no_such_kernel  # noqa: B018 (the lookup itself must raise)


def test_backend_array_helpers():
    backend = get_backend("numpy")
    out = backend.asarray(np.ones((3, 2)).T)
    assert out.flags.c_contiguous and out.dtype == np.float64
    assert backend.to_numpy(out) is not None
    backend.synchronize()


@pytest.mark.parametrize("kernel", ["logsumexp_rows", "logsumexp_cols"])
@pytest.mark.parametrize("reg", [1.0, 1e-2, 1e-4])
def test_numba_logsumexp_matches_numpy_and_scipy(kernel, reg):
    from scipy.special import logsumexp

    f, g, C = _ot_inputs()
    ref = getattr(get_backend("numpy"), kernel)(f, g, C, reg)
    got = getattr(get_backend("numba"), kernel)(f, g, C, reg)
    exponent = (f[:, None] + g[None, :] - C) / reg
    independent = logsumexp(exponent, axis=1 if kernel.endswith("rows") else 0)
    np.testing.assert_allclose(ref, independent, rtol=1e-12)
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_logsumexp_handles_zero_mass_rows():
    f, g, C = _ot_inputs(n=3, m=4)
    f[1] = -np.inf
    for name in ("numpy", "numba"):
        out = get_backend(name).logsumexp_rows(f, g, C, 0.1)
        assert out[1] == -np.inf and np.isfinite(out[[0, 2]]).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numba_absorb_kernel_matches_numpy_and_closed_form(dtype):
    f, g, C = _ot_inputs(dtype=dtype)
    expected = np.exp(f[:, None].astype(float) + g[None, :] - C / 0.1)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    for name in ("numpy", "numba"):
        out = np.empty_like(C)
        rows, cols = get_backend(name).absorb_kernel(f, g, C, dtype(0.1), out)
        np.testing.assert_allclose(out, expected, rtol=rtol)
        np.testing.assert_allclose(rows, expected.sum(1), rtol=rtol)
        np.testing.assert_allclose(cols, expected.sum(0), rtol=rtol)


def _parameters(function):
    import inspect

    function = getattr(function, "py_func", function)  # a numba dispatcher's Python source
    return [name for name in inspect.signature(function).parameters if name != "self"]


@pytest.mark.parametrize("table", ["numpy", "numba", "cupy"])
def test_kernel_tables_implement_the_protocol(table):
    """Every backend's table has exactly the declared kernels, with the declared parameters."""
    import importlib

    from numopt.backends._protocol import KERNEL_NAMES, Kernels

    module = importlib.import_module(f"numopt.backends._{table}")  # no CuPy import needed
    assert sorted(module.__all__) == sorted(KERNEL_NAMES)
    for name in KERNEL_NAMES:
        assert _parameters(getattr(module, name)) == _parameters(getattr(Kernels, name)), name


def test_compiled_false_resolves_numba_to_numpy():
    assert get_backend("numba", compiled=False).name == "numpy"
    assert get_backend("auto", np.ones(2), compiled=False).name == "numpy"
    assert get_backend("numpy", compiled=False).name == "numpy"


def test_device_questions_on_the_host():
    import scipy.sparse

    from numopt.backends import on_device

    backend = get_backend("numpy")
    assert not backend.on_device and not on_device(np.ones(2), 1.0)
    sparse = scipy.sparse.eye(3, format="csr")
    assert backend.device_matrix(sparse) is sparse  # sparse stays sparse on the host
    dense = backend.device_matrix(np.ones((3, 2)).T)
    assert dense.flags.c_contiguous
    array = np.ones(3)
    assert backend.to_caller(array, False) is array
    assert backend.sparse_modules()[0] is scipy.sparse


def test_cupy_backend_without_cupy_is_a_clear_import_error():
    code = ("import sys; sys.modules['cupy'] = None\n"
            "from numopt.backends import get_backend\n"
            "try:\n    get_backend('cupy')\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": os.getcwd()}).stdout
    assert "needs CuPy" in out


@pytest.mark.gpu
@requires_gpu
@pytest.mark.parametrize("kernel", ["logsumexp_rows", "logsumexp_cols"])
def test_cupy_kernels_match_numpy(kernel):
    import cupy

    f, g, C = _ot_inputs()
    backend = get_backend("auto", cupy.asarray(C))
    assert backend.name == "cupy"
    ref = getattr(get_backend("numpy"), kernel)(f, g, C, 0.05)
    got = getattr(backend, kernel)(*map(cupy.asarray, (f, g, C)), 0.05)
    refs = ref if isinstance(ref, tuple) else (ref,)
    gots = got if isinstance(got, tuple) else (got,)
    for expected, computed in zip(refs, gots, strict=True):
        np.testing.assert_allclose(cupy.asnumpy(computed), expected, rtol=1e-12)


@pytest.mark.gpu
@requires_gpu
def test_cupy_input_with_cpu_backend_raises():
    import cupy

    with pytest.raises(TypeError, match="never copies between devices"):
        get_backend("numba", cupy.ones(3))


def test_triangular_solves_of_an_empty_system_are_silent(capfd):
    """An empty passive set (the SVM projection) solves a 0 x 0 system: LAPACK's ?trtrs rejects
    it and prints "illegal value"; the empty answer is returned without the call."""
    from numopt.backends.linalg import cho_solve, solve_triangular

    assert cho_solve(np.zeros((0, 0)), np.zeros(0)).shape == (0,)
    assert solve_triangular(np.zeros((0, 0)), np.zeros((0, 2))).shape == (0, 2)
    captured = capfd.readouterr()
    assert "illegal value" not in captured.out + captured.err
