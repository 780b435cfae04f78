import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from numopt._core.validation import (
    all_finite,
    check_array,
    check_callable,
    check_choice,
    check_function_output,
    check_int,
    check_marginals,
    check_nonnegative,
    check_scalar,
)


def test_check_scalar_wording():
    with pytest.raises(ValueError, match=r"^The 'reg' parameter of sinkhorn_newton must be a float "
                                         r"> 0\. Got -1 instead\.$"):
        check_scalar(-1, "reg", "sinkhorn_newton", low=0)
    with pytest.raises(TypeError, match="'reg'.*Got 'a' instead"):
        check_scalar("a", "reg", "sinkhorn_newton", low=0)
    with pytest.raises(TypeError):
        check_scalar(True, "reg", "sinkhorn_newton")
    with pytest.raises(ValueError, match="nan"):
        check_scalar(float("nan"), "tol", "x")
    assert check_scalar(np.float32(0.5), "reg", "s", low=0) == 0.5
    assert check_scalar(np.array(2.0), "reg", "s", low=0, high=2) == 2.0
    with pytest.raises(ValueError, match="<= 1"):
        check_scalar(1.5, "p", "s", high=1)
    assert check_scalar(0, "p", "s", low=0, low_inclusive=True) == 0.0


def test_check_int():
    assert check_int(np.int64(5), "maxiter", "s", low=1) == 5
    with pytest.raises(ValueError, match="'maxiter' parameter of s must be an int >= 1. Got 0"):
        check_int(0, "maxiter", "s", low=1)
    for bad in (1.5, "3", True, None):
        with pytest.raises(TypeError, match="maxiter"):
            check_int(bad, "maxiter", "s")


def test_check_choice_and_callable():
    assert check_choice("a", "method", "s", ("a", "b")) == "a"
    with pytest.raises(ValueError, match="'method' parameter of s must be one of 'a', 'b'. Got"):
        check_choice("c", "method", "s", ("a", "b"))
    with pytest.raises(TypeError, match="'callback' parameter of s must be callable or None"):
        check_callable(3, "callback", "s", optional=True)
    assert check_callable(None, "callback", "s", optional=True) is None


def test_check_array_conversions_and_errors():
    out = check_array([1, 2, 3], "a", ndim=1)
    assert out.dtype == np.float64 and out.flags.c_contiguous
    assert check_array(np.ones(3, np.float32), "a").dtype == np.float32
    assert check_array(np.ones((3, 2)).T, "C").flags.c_contiguous
    with pytest.raises(ValueError, match=r"`C` must be a 2-D array; got an array of shape \(3,\)"):
        check_array(np.ones(3), "C", ndim=2)
    with pytest.raises(ValueError, match=r"`C` must have shape \(3, \*\); got shape \(2, 2\)"):
        check_array(np.ones((2, 2)), "C", shape=(3, None))
    with pytest.raises(ValueError, match="`a` must contain only finite values; found 2 NaN"):
        check_array([np.nan, np.inf, 1.0], "a")
    with pytest.raises(TypeError, match="`a` must be an array of real numbers; got dtype complex"):
        check_array([1j], "a")
    with pytest.raises(TypeError, match="`a`"):
        check_array("abc", "a")
    with pytest.raises(TypeError, match="`a`"):
        check_array([[1.0], [1.0, 2.0]], "a")
    with pytest.raises(ValueError, match="at least 1 entries"):
        check_array([], "a")


def test_nonnegative_and_marginals():
    with pytest.raises(ValueError, match=r"^`b` must be non-negative; found min\(b\) = -0.001\.$"):
        check_nonnegative(np.array([0.5, -0.001]), "b")
    with pytest.raises(ValueError, match="same total mass"):
        check_marginals(np.array([0.5, 0.5]), np.array([0.5, 0.6]))
    with pytest.raises(ValueError, match="positive sum"):
        check_marginals(np.zeros(2), np.zeros(2))
    assert check_marginals(np.array([1.0, 1.0]), np.array([2.0]), rtol=1e-9) == 2.0


def test_check_function_output():
    assert check_function_output(3, "fun", ()).shape == ()
    assert check_function_output(np.array([3.0]), "fun", ()).shape == ()
    with pytest.raises(ValueError, match=r"`fun` must return a scalar; got shape \(2,\)"):
        check_function_output([1.0, 2.0], "fun", ())
    with pytest.raises(TypeError, match="`jac` must return real numbers"):
        check_function_output("x", "jac", (2,))
    # Non-finite values pass: the solver decides what to do with them.
    assert np.isnan(check_function_output([np.nan, 1.0], "jac", (2,))[0])


@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=5),
                  elements=st.floats(allow_nan=True, allow_infinity=True)))
def test_check_array_accepts_exactly_the_finite_arrays(values):
    if np.isfinite(values).all():
        assert np.array_equal(check_array(values, "x"), values)
    else:
        with pytest.raises(ValueError, match="finite"):
            check_array(values, "x")
    assert all_finite(values) == bool(np.isfinite(values).all())


@given(st.lists(st.floats(0, 10), min_size=1, max_size=6), st.floats(0.01, 100))
def test_marginals_scale_invariance(weights, scale):
    a = np.asarray(weights) + 0.1
    b = a[::-1] * 1.0
    assert np.isclose(check_marginals(a * scale, b * scale), a.sum() * scale)
