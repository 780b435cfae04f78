"""The registry example of ``minimize(method="gn-newton")``: logistic regression on heart_scale."""

import numpy as np

from numopt._core.registry import Example

__all__ = ["make_example"]


def make_example():
    """L2-regularised logistic regression (reg = 1/n) on LIBSVM heart_scale (shipped data).

    The accuracy is the distance to SciPy trust-exact's minimiser, solved to ``gtol = 1e-12``;
    the peer is SciPy trust-exact at the default ``gtol`` (1e-8).

    Returns
    -------
    Example

    Examples
    --------
    >>> from numopt._examples.unconstrained import make_example
    >>> example = make_example()
    >>> result = example.solve()
    >>> bool(result.success), example.accuracy(result) <= example.tolerance
    (True, True)
    """
    from scipy.optimize import minimize as scipy_minimize

    from numopt._minimize import minimize
    from numopt.problems import make_logistic

    problem = make_logistic("heart_scale")
    x0 = problem.x0
    reference = {}

    def solve(callback=None, **options):
        return minimize(problem.fun, x0, jac=problem.jac, hess=problem.hess, method="gn-newton",
                        callback=callback, options=options)

    def distance(x):
        if "x" not in reference:
            reference["x"] = scipy_minimize(problem.fun, x0, jac=problem.jac, hess=problem.hess,
                                            method="trust-exact", options={"gtol": 1e-12}).x
        return float(np.abs(x - reference["x"]).max())

    def solve_peer():
        result = scipy_minimize(problem.fun, x0, jac=problem.jac, hess=problem.hess,
                                method="trust-exact")
        return result.nit, distance(result.x)

    def with_bad(**kwargs):
        arguments = dict(fun=problem.fun, x0=x0, jac=problem.jac, hess=problem.hess,
                         method="gn-newton")
        arguments.update(kwargs)
        return lambda: minimize(**arguments)

    return Example(
        problem=f"logistic regression, heart_scale ({problem.n_samples} x {problem.n_features})",
        solve=solve, accuracy=lambda result: distance(result.x), accuracy_label="|x - x*|_inf",
        tolerance=1e-7, peer="scipy trust-exact", solve_peer=solve_peer,
        bad_inputs={
            "x0 with NaN": with_bad(x0=np.full(problem.n_features, np.nan)),
            "x0 of the wrong dimension": with_bad(x0=np.zeros(problem.n_features + 1)),
            "jac returning the wrong shape": with_bad(jac=lambda x: np.zeros(2)),
            "unknown Hessian approximation": with_bad(hess="bfgs"),
            "bounds on an unconstrained method": with_bad(bounds=[(0, 1)] * problem.n_features),
            "negative gtol": with_bad(options={"gtol": -1.0}),
        })
