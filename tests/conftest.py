"""Shared fixtures: the backend fixture and helpers to skip cleanly without optional packages."""

import importlib.util

import pytest
from hypothesis import settings

# Kernels may compile on first use (numba, cold cache in CI): no per-example deadline.
settings.register_profile("numopt", deadline=None, max_examples=50)
settings.load_profile("numopt")

CPU_BACKENDS = ("numpy", "numba")


def has_cupy_device():
    """True when CuPy imports and sees at least one CUDA device."""
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no driver, no device, broken install: all mean "no GPU here"
        return False


requires_gpu = pytest.mark.skipif(not has_cupy_device(), reason="needs CuPy and a CUDA device")


@pytest.fixture(params=CPU_BACKENDS)
def cpu_backend(request):
    """Each CPU backend name in turn."""
    return request.param
