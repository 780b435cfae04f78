"""Array backends: an array namespace plus named compiled kernels, chosen per call.

``get_backend(name, *arrays)`` returns a :class:`Backend` whose ``xp`` is NumPy or CuPy and whose
attributes are kernels (``backend.logsumexp_rows(f, g, C, reg)``). The kernel interface is declared
once, by :class:`numopt.backends._protocol.Kernels`; the tables live in
``numopt.backends._numpy``
(the plain NumPy reference, namespace-generic so CuPy can reuse it), ``numopt.backends._numba``
(``@njit(cache=True)``, imported on first kernel use) and ``numopt.backends._cupy`` (imported only
when the CuPy backend is used). Dense factorisations and triangular solves for any namespace are in
:mod:`numopt.backends.linalg`.

Rules: ``"auto"`` picks ``"cupy"`` when an input is a CuPy array, else ``"numba"``; the default may
be changed with :func:`set_backend` or the ``NUMOPT_BACKEND`` environment variable; a CuPy array
passed with ``"numpy"``/``"numba"`` raises ``TypeError`` (never a silent device copy); ``"cupy"``
with NumPy input copies to the device and solvers return NumPy. A solver without compiled kernels
asks for ``compiled=False``: ``"numba"`` then resolves to ``"numpy"``, so that the result's
``backend`` names the code that really ran. Solvers ask this module every device question
(:attr:`Backend.on_device`, :meth:`Backend.to_caller`, :meth:`Backend.device_matrix`,
:meth:`Backend.sparse_modules`) instead of inspecting arrays themselves.
"""

import contextlib
import contextvars
import os
from importlib import import_module

import numpy as np

from numopt._core.validation import array_namespace
from numopt.backends._protocol import KERNEL_NAMES

__all__ = ["Backend", "get_backend", "set_backend", "BACKENDS", "array_namespace", "on_device"]

BACKENDS = ("auto", "numpy", "numba", "cupy")

_default_backend = contextvars.ContextVar("numopt_backend", default=None)


class Backend:
    """An array namespace with named kernels.

    Attributes
    ----------
    name : str
        ``"numpy"``, ``"numba"`` or ``"cupy"``.
    xp : module
        The array namespace (``numpy`` or ``cupy``).

    on_device : bool
        True when arrays live on a GPU (CuPy): SciPy sparse matrices and host-only code do not
        apply there.

    The kernels of :class:`numopt.backends._protocol.Kernels` are attributes, looked up lazily in
    ``numopt.backends._<name>``.
    """

    def __init__(self, name, xp):
        self.name = name
        self.xp = xp
        self.on_device = name == "cupy"
        self._kernels = None

    def __repr__(self):
        return f"Backend({self.name!r})"

    def __getattr__(self, kernel):
        if kernel not in KERNEL_NAMES:
            raise AttributeError(f"backend {self.name!r} has no kernel {kernel!r}")
        if self._kernels is None:
            self._kernels = import_module(f"numopt.backends._{self.name}")
        try:
            return getattr(self._kernels, kernel)
        except AttributeError:
            raise AttributeError(f"backend {self.name!r} has no kernel {kernel!r}") from None

    def asarray(self, array, dtype=np.float64):
        """``array`` in this backend's namespace, C-contiguous, of ``dtype``."""
        return self.xp.ascontiguousarray(self.xp.asarray(array, dtype=dtype))

    def to_numpy(self, array):
        """A NumPy copy (CuPy) or the array itself (NumPy)."""
        if self.on_device:
            return self.xp.asnumpy(array)
        return np.asarray(array)

    def to_caller(self, array, caller_on_device):
        """``array`` as the caller gets it back: on the device only when the caller's input was.

        ``caller_on_device`` is :func:`on_device` of the caller's inputs.
        """
        return array if caller_on_device else self.to_numpy(array)

    def device_matrix(self, matrix):
        """``matrix`` where this backend computes: SciPy sparse matrices stay sparse on the host
        and become dense device arrays on a GPU; dense ones become C-contiguous float64."""
        if hasattr(matrix, "toarray"):
            return self.asarray(matrix.toarray()) if self.on_device else matrix
        return self.asarray(matrix)

    def sparse_modules(self):
        """``(sparse, sparse_linalg)``: SciPy's sparse packages, or CuPy's on a GPU."""
        if self.on_device:
            import cupyx.scipy.sparse as sparse
            import cupyx.scipy.sparse.linalg as sparse_linalg
        else:
            import scipy.sparse as sparse
            import scipy.sparse.linalg as sparse_linalg
        return sparse, sparse_linalg

    def synchronize(self):
        """Wait for queued device work (a no-op on the CPU); call before reading a timer."""
        if self.on_device:
            self.xp.cuda.get_current_stream().synchronize()


_INSTANCES = {}


def _make(name):
    if name not in _INSTANCES:
        if name == "cupy":
            try:
                import cupy
            except ImportError as exc:
                raise ImportError("backend='cupy' needs CuPy: install numopt with the 'gpu' "
                                  "(CUDA 12) or 'cuda13' extra, e.g. pip install "
                                  "'numopt[gpu]'.") from exc
            _INSTANCES[name] = Backend("cupy", cupy)
        else:
            _INSTANCES[name] = Backend(name, np)
    return _INSTANCES[name]


def on_device(*arrays):
    """True when any of ``arrays`` lives on a GPU (a CuPy array).

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.backends import on_device
    >>> on_device(np.ones(2), 3.0)
    False
    """
    return any(array_namespace(array) is not np for array in arrays)


def get_backend(name=None, *arrays, compiled=True):
    """Resolve a backend name against the input arrays.

    Parameters
    ----------
    name : {"auto", None, "numpy", "numba", "cupy"}
        ``"auto"`` (or None) picks ``"cupy"`` for CuPy input, else the current default
        (:func:`set_backend`, else ``NUMOPT_BACKEND``), else ``"numba"``.
    *arrays : array_like
        The solver's inputs; CuPy arrays among them select ``"cupy"`` under ``"auto"``.
    compiled : bool, default True
        False for a solver that calls no kernel of the table (only the array namespace): a
        resolved ``"numba"`` then becomes ``"numpy"``, the code that actually runs.

    Returns
    -------
    Backend

    Raises
    ------
    ValueError
        Unknown name.
    TypeError
        CuPy input with an explicit CPU backend.
    ImportError
        ``"cupy"`` without CuPy installed.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.backends import get_backend
    >>> get_backend("auto", np.ones(3)).name
    'numba'
    >>> get_backend("numpy").xp is np
    True
    """
    name = "auto" if name is None else name
    if name not in BACKENDS:
        raise ValueError(f"The 'backend' parameter must be one of {', '.join(map(repr, BACKENDS))}."
                         f" Got {name!r} instead.")
    device_input = on_device(*arrays)
    if name == "auto":
        # Device input decides first; otherwise the user's default, then numba.
        default = _default_backend.get() or os.environ.get("NUMOPT_BACKEND", "auto")
        if default not in BACKENDS:
            raise ValueError(f"NUMOPT_BACKEND must be one of {', '.join(map(repr, BACKENDS))}. "
                             f"Got {default!r} instead.")
        name = "cupy" if device_input else ("numba" if default == "auto" else default)
    elif device_input and name != "cupy":
        raise TypeError(f"backend={name!r} got a CuPy array; pass NumPy arrays (cupy.asnumpy) or "
                        f"use backend='cupy' or 'auto'. numopt never copies between devices "
                        f"silently.")
    if name == "numba" and not compiled:
        name = "numpy"
    return _make(name)


@contextlib.contextmanager
def set_backend(name):
    """Context manager setting the default backend of every solver called inside it.

    Parameters
    ----------
    name : {"auto", "numpy", "numba", "cupy"}
        The backend to use when a solver's ``backend`` argument is left at its default.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt import set_backend
    >>> from numopt.backends import get_backend
    >>> with set_backend("numpy"):
    ...     print(get_backend("auto", np.ones(2)).name)
    numpy
    """
    if name not in BACKENDS:
        raise ValueError(f"The 'name' parameter of set_backend must be one of "
                         f"{', '.join(map(repr, BACKENDS))}. Got {name!r} instead.")
    token = _default_backend.set(name)
    try:
        yield
    finally:
        _default_backend.reset(token)
