"""Registry example of sinkhorn_newton: two 1-D Gaussian mixtures on a grid, checked against POT."""

import functools
import warnings

import numpy as np

from numopt._core.registry import Example


def _problem(n=200):
    grid = np.linspace(0.0, 1.0, n)
    a = np.exp(-(grid - 0.2) ** 2 / 0.005) + 0.5 * np.exp(-(grid - 0.6) ** 2 / 0.01)
    b = np.exp(-(grid - 0.4) ** 2 / 0.01) + 0.8 * np.exp(-(grid - 0.8) ** 2 / 0.003)
    cost = (grid[:, None] - grid[None, :]) ** 2
    return a / a.sum(), b / b.sum(), cost, 1e-3 * cost.max()


def _pot_log_domain(a, b, cost, reg, stop):
    import ot

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # POT warns when it stops at numItermax
        return ot.sinkhorn(a, b, cost, reg, method="sinkhorn_log", numItermax=100000,
                           stopThr=stop, log=True)


def make_example():
    """The :class:`~numopt._core.registry.Example` of ``sinkhorn_newton``.

    Returns
    -------
    Example
        Gaussian mixtures on a 200-point grid, squared distance, ``reg = 1e-3 * max(C)``; the
        accuracy is the relative max-norm error of the plan against POT's log-domain Sinkhorn run
        to ``stopThr=1e-13``.
    """
    from numopt.ot.sinkhorn_newton import sinkhorn_newton

    a, b, cost, reg = _problem()

    @functools.lru_cache(maxsize=1)
    def reference():
        return _pot_log_domain(a, b, cost, reg, 1e-13)[0]

    def plan_error(plan):
        ref = reference()
        return float(np.abs(plan - ref).max() / ref.max())

    def solve_peer():
        plan, log = _pot_log_domain(a, b, cost, reg, 1e-8)
        return int(log["niter"]), plan_error(plan)

    def call(**changes):
        args = {"a": a, "b": b, "C": cost, "reg": reg}
        args.update(changes)
        return lambda: sinkhorn_newton(args["a"], args["b"], args["C"], args["reg"])

    bad_inputs = {
        "NaN in C": call(C=np.where(np.eye(len(a)) > 0, np.nan, cost)),
        "negative a": call(a=-a),
        "unequal masses": call(b=2 * b),
        "C of the wrong shape": call(C=cost[:, :-1]),
        "reg <= 0": call(reg=0.0),
    }
    return Example(
        problem="Gaussian mixtures, n=200, reg=1e-3*max(C)",
        solve=lambda callback=None, **options: sinkhorn_newton(a, b, cost, reg,
                                                               callback=callback, **options),
        accuracy=lambda result: plan_error(result.plan),
        accuracy_label="rel. plan err vs POT",
        tolerance=1e-6,
        peer="POT sinkhorn_log",
        solve_peer=solve_peer,
        bad_inputs=bad_inputs,
    )
