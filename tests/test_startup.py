"""Start-up rules, asserted by module presence (never by timing)."""

import os
import subprocess
import sys


def _modules_after(code):
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    return set(out.stdout.split())


def test_import_numopt_loads_neither_numba_nor_cupy_nor_scipy_optimize():
    loaded = _modules_after("import numopt")
    assert "numopt" in loaded
    for heavy in ("numba", "cupy", "scipy.optimize"):
        assert heavy not in loaded, f"`import numopt` imported {heavy}"


def test_public_names_resolve_lazily():
    loaded = _modules_after("import numopt; numopt.minimize; numopt.OptimizeResult")
    assert "scipy.optimize" in loaded and "numba" not in loaded


def test_numba_kernels_use_the_cache():
    """Every compiled function of the numba table (kernels and the loops behind dispatchers)."""
    import inspect

    from numba.core.registry import CPUDispatcher

    from numopt.backends._numba import logistic, ot, sketch

    compiled = [(module.__name__, name, value) for module in (logistic, ot, sketch)
                for name, value in vars(module).items() if isinstance(value, CPUDispatcher)]
    assert len(compiled) >= 20
    for module, name, kernel in compiled:
        assert kernel._cache.__class__.__name__ != "NullCache", f"{module}.{name} lacks cache=True"
        assert inspect.getmodule(kernel.py_func) is not None
