"""Shared fixtures: the backend fixture and helpers to skip cleanly without optional packages or
data files."""

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


def require_data(collection, *names):
    """The path of a data file, or skip the calling test saying which file and where it was sought.

    Every test that reads a file not shipped in the package calls this first, so that a fresh
    clone (no ``../shared`` beside it, or ``NUMOPT_SHARED_FALLBACK=0``) skips it with the reason
    instead of failing. ``collection`` is a data-root folder (``"libsvm"``, ``"mnist"``, ...);
    ``names`` are alternatives for one file (e.g. plain and ``.gz``); LIBSVM names are looked up
    among the shipped files first, as :func:`numopt.datasets.load_libsvm` does.
    """
    from numopt.datasets._paths import find_data_file

    try:
        return find_data_file(collection, names, shipped=collection == "libsvm")
    except FileNotFoundError as exc:
        pytest.skip(f"needs data not found here: {exc}")


@pytest.fixture(params=CPU_BACKENDS)
def cpu_backend(request):
    """Each CPU backend name in turn."""
    return request.param
