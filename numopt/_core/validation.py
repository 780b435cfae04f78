"""Input validation with one wording for every solver.

Every error names the argument, what was expected and what was got, e.g.
"`b` must be non-negative; found min(b) = -0.001." or
"The 'reg' parameter of sinkhorn_newton must be a float > 0. Got -1 instead."

The helpers accept NumPy and CuPy arrays: reductions go through the array's own namespace and only
a scalar is brought to the host.
"""

import numbers
import operator

import numpy as np

__all__ = [
    "array_namespace",
    "all_finite",
    "check_array",
    "check_scalar",
    "check_int",
    "check_choice",
    "check_callable",
    "check_nonnegative",
    "check_marginals",
    "check_function_output",
    "check_seed",
]


def array_namespace(*arrays):
    """Return ``cupy`` if any of ``arrays`` is a CuPy array, else ``numpy``.

    CuPy is looked up by the array's type so that it is never imported for NumPy input.
    """
    for array in arrays:
        if type(array).__module__.split(".")[0] == "cupy":
            import cupy

            return cupy
    return np


def all_finite(*arrays):
    """True when every entry of every array is finite (one reduction per array)."""
    for array in arrays:
        xp = array_namespace(array)
        if not bool(xp.isfinite(array).all()):
            return False
    return True


def _describe(value):
    if isinstance(value, (numbers.Number, str, type(None))):
        return repr(value)
    return type(value).__name__


def _parameter_message(name, solver, expected, value):
    return f"The {name!r} parameter of {solver} must be {expected}. Got {_describe(value)} instead."


def check_scalar(value, name, solver, *, low=None, high=None, low_inclusive=False,
                 high_inclusive=True):
    """Validate a real scalar parameter and return it as a Python float.

    Parameters
    ----------
    value : object
        What the user passed.
    name : str
        The parameter's name, used in the message.
    solver : str
        The function it was passed to, used in the message.
    low, high : float, optional
        Bounds; ``low_inclusive``/``high_inclusive`` say whether they are allowed.
    low_inclusive, high_inclusive : bool
        Whether ``low`` and ``high`` themselves are valid values.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If it is NaN, infinite, or outside the bounds.

    Examples
    --------
    >>> from numopt._core.validation import check_scalar
    >>> check_scalar(0.5, "reg", "sinkhorn_newton", low=0)
    0.5
    >>> check_scalar(-1, "reg", "sinkhorn_newton", low=0)
    Traceback (most recent call last):
    ...
    ValueError: The 'reg' parameter of sinkhorn_newton must be a float > 0. Got -1 instead.
    """
    bounds = []
    if low is not None:
        bounds.append(f"{'>=' if low_inclusive else '>'} {low:g}")
    if high is not None:
        bounds.append(f"{'<=' if high_inclusive else '<'} {high:g}")
    expected = "a float" + (" " + " and ".join(bounds) if bounds else "")
    message = _parameter_message(name, solver, expected, value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        if getattr(value, "shape", None) == () and np.issubdtype(getattr(value, "dtype", object),
                                                                 np.floating):
            value = float(value)
        else:
            raise TypeError(message)
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(message)
    if low is not None and (value < low or (value == low and not low_inclusive)):
        raise ValueError(message)
    if high is not None and (value > high or (value == high and not high_inclusive)):
        raise ValueError(message)
    return value


def check_int(value, name, solver, *, low=None):
    """Validate an integer parameter (``maxiter``, ``check_every``...) and return it as ``int``.

    Examples
    --------
    >>> from numopt._core.validation import check_int
    >>> check_int(10, "maxiter", "gn-newton", low=1)
    10
    """
    expected = "an int" + (f" >= {low}" if low is not None else "")
    message = _parameter_message(name, solver, expected, value)
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(message)
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(message) from None
    if low is not None and value < low:
        raise ValueError(message)
    return value


def check_choice(value, name, solver, choices):
    """Check that ``value`` is one of ``choices`` and return it.

    Examples
    --------
    >>> from numopt._core.validation import check_choice
    >>> check_choice("rk4", "method", "gradient_play", ("euler", "rk4"))
    'rk4'
    """
    if isinstance(value, str) and value in choices:
        return value
    options = ", ".join(repr(choice) for choice in choices)
    raise ValueError(_parameter_message(name, solver, f"one of {options}", value))


def check_callable(value, name, solver, *, optional=False):
    """Check that ``value`` is callable (or None when ``optional``) and return it."""
    if (value is None and optional) or callable(value):
        return value
    raise TypeError(f"The {name!r} parameter of {solver} must be callable"
                    f"{' or None' if optional else ''}. Got {_describe(value)} instead.")


def check_array(value, name, *, ndim=None, shape=None, dtype=None, finite=True, min_size=1,
                xp=None):
    """Convert ``value`` to a floating array and check it.

    Parameters
    ----------
    value : array_like
        What the user passed.
    name : str
        Argument name used in messages.
    ndim : int, optional
        Required number of dimensions.
    shape : tuple, optional
        Required shape; ``None`` entries match any length.
    dtype : {None, numpy.float32, numpy.float64}
        ``None`` keeps float32 input as float32 and turns everything else into float64.
    finite : bool
        Reject NaN and inf.
    min_size : int
        Smallest allowed number of entries.
    xp : module, optional
        Namespace to build the array in; defaults to that of ``value`` (NumPy for lists).

    Returns
    -------
    array
        A C-contiguous floating array in namespace ``xp``.

    Raises
    ------
    TypeError
        Non-numeric, complex or boolean input.
    ValueError
        Wrong ``ndim``/``shape``, too few entries, or non-finite entries.

    Examples
    --------
    >>> from numopt._core.validation import check_array
    >>> check_array([1, 2], "a", ndim=1)
    array([1., 2.])
    >>> check_array([[1.0, float("nan")]], "C", ndim=2)
    Traceback (most recent call last):
    ...
    ValueError: `C` must contain only finite values; found 1 NaN or inf entries.
    """
    xp = xp or array_namespace(value)
    if isinstance(value, str) or value is None:
        raise TypeError(f"`{name}` must be an array of real numbers; got {_describe(value)}.")
    try:
        array = xp.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` must be an array of real numbers; got {_describe(value)} "
                        f"({exc}).") from None
    kind = array.dtype.kind
    if kind not in "iuf":
        raise TypeError(f"`{name}` must be an array of real numbers; got dtype {array.dtype}.")
    if dtype is None:
        dtype = np.float32 if array.dtype == np.float32 else np.float64
    array = xp.ascontiguousarray(array, dtype=dtype)
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"`{name}` must be a {ndim}-D array; got an array of shape {array.shape}.")
    if shape is not None and (array.ndim != len(shape) or any(
            want not in (None, got) for want, got in zip(shape, array.shape, strict=True))):
        expected = "(" + ", ".join("*" if s is None else str(s) for s in shape) + \
            ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"`{name}` must have shape {expected}; got shape {array.shape}.")
    if array.size < min_size:
        raise ValueError(f"`{name}` must have at least {min_size} entries; got {array.size}.")
    if finite and not all_finite(array):
        count = int(xp.count_nonzero(~xp.isfinite(array)))
        raise ValueError(f"`{name}` must contain only finite values; found {count} NaN or inf "
                         f"entries.")
    return array


def check_nonnegative(array, name):
    """Raise ``ValueError`` if ``array`` has a negative entry.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt._core.validation import check_nonnegative
    >>> check_nonnegative(np.array([0.5, -0.001]), "b")
    Traceback (most recent call last):
    ...
    ValueError: `b` must be non-negative; found min(b) = -0.001.
    """
    smallest = float(array.min())
    if smallest < 0:
        raise ValueError(f"`{name}` must be non-negative; found min({name}) = {smallest:g}.")
    return array


def check_marginals(a, b, *, rtol=1e-6, names=("a", "b")):
    """Check two non-negative marginals with positive, equal total mass; return the mass.

    Parameters
    ----------
    a, b : array
        Marginals (already through :func:`check_array`).
    rtol : float
        Allowed relative difference of the sums.
    names : tuple of str
        Argument names used in messages.

    Returns
    -------
    float
        The total mass ``sum(a)``.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt._core.validation import check_marginals
    >>> check_marginals(np.array([0.5, 0.5]), np.array([0.25, 0.75]))
    1.0
    """
    for array, name in zip((a, b), names, strict=True):
        check_nonnegative(array, name)
    with np.errstate(over="ignore"):  # an overflowing sum is reported below
        mass_a, mass_b = float(a.sum()), float(b.sum())
    for mass, name in zip((mass_a, mass_b), names, strict=True):
        if mass <= 0:
            raise ValueError(f"`{name}` must have a positive sum; got sum({name}) = {mass:g}.")
        if mass == np.inf:  # finite entries whose sum overflows: no balance test can hold
            raise ValueError(f"`{name}` must have a finite sum; got sum({name}) = inf (rescale "
                             f"the weights, e.g. divide them by max({name})).")
    if abs(mass_a - mass_b) > rtol * max(mass_a, mass_b):
        raise ValueError(f"`{names[0]}` and `{names[1]}` must have the same total mass (relative "
                         f"tolerance {rtol:g}); got sum({names[0]}) = {mass_a:.12g} and "
                         f"sum({names[1]}) = {mass_b:.12g}.")
    return mass_a


def check_function_output(value, name, shape, xp=np):
    """Check what a user function returned: a real array of ``shape`` (finite or not).

    Non-finite values are *not* rejected here: the solver decides (usually a negative status with
    the last finite iterate). A wrong shape or type (complex, string, object, None) is a
    programming error and raises.

    Parameters
    ----------
    value : object
        The returned value.
    name : str
        How to call the function in the message, e.g. ``"jac"`` or ``"fun"``.
    shape : tuple or None
        Expected shape (``()`` for a scalar); None accepts any shape.
    xp : module
        Namespace of the solve.

    Returns
    -------
    array
        A float64 array of ``shape``.

    Examples
    --------
    >>> from numopt._core.validation import check_function_output
    >>> check_function_output([1.0, 2.0], "jac", (3,))
    Traceback (most recent call last):
    ...
    ValueError: `jac` must return an array of shape (3,); got shape (2,).
    """
    try:
        array = xp.asarray(value)
    except (TypeError, ValueError):  # ragged nesting
        array = np.asarray(None)
    if array.dtype.kind not in "biuf":
        # complex values are refused, not truncated to their real part
        got = f"complex values ({array.dtype})" if array.dtype.kind == "c" else _describe(value)
        raise TypeError(f"`{name}` must return real numbers; got {got}.")
    array = array.astype(float, copy=False)
    if shape is None:
        return array
    if shape == () and array.size == 1:
        return array.reshape(())
    if array.shape != tuple(shape):
        expected = "a scalar" if shape == () else f"an array of shape {tuple(shape)}"
        raise ValueError(f"`{name}` must return {expected}; got shape {array.shape}.")
    return array


def check_seed(seed, solver, name="seed"):
    """A :class:`numpy.random.Generator` from ``seed`` (None, an int >= 0, a ``SeedSequence``
    or a ``Generator``), with an error that names the parameter.

    Examples
    --------
    >>> from numopt._core.validation import check_seed
    >>> int(check_seed(3, "certify_nash").integers(10)) == int(check_seed(3, "cert").integers(10))
    True
    >>> check_seed(-1, "certify_nash")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: The 'seed' parameter of certify_nash must be None, an int >= 0, ... Got -1 instead.
    """
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        expected = "None, an int >= 0, a SeedSequence or a Generator"
        raise type(exc)(_parameter_message(name, solver, expected, seed)) from None
