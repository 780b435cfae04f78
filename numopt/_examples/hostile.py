"""Hostile-input descriptions of the public entry points, for the contract suite.

Each factory returns a :class:`HostileInputs`: one small, fast, well-posed problem per entry point,
the names of its array arguments, numeric options and user functions, a ``call`` that runs the entry
point with any of them replaced, and a ``verify`` that checks a ``success=True`` result against an
independent reference (closed form, gradient norm, KKT residual, plan marginals, the certificate's
claim) computed here, not by the solver. The suite in ``tests/test_hostile.py`` turns each
description into hostile cases; a solver joins the suite through the ``hostile`` field of its
:class:`~numopt._core.registry.SolverSpec`.
"""

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["UserFunction", "HostileInputs", "gn_newton", "exact_alm", "sinkhorn_newton",
           "bilevel_minimize", "certify_nash", "gradient_play", "pairwise_sinkhorn2",
           "sinkhorn_newton_batch"]


@dataclass(frozen=True)
class UserFunction:
    """A user-supplied function of an entry point.

    Attributes
    ----------
    function : callable
        The well-behaved function.
    n_arrays : int
        How many leading positional arguments are arrays the function could modify in place.
    slot : int or None
        Index of the array to spoil when the function returns a tuple (``(value, grad_x,
        grad_y)``); None when the output itself is the array.
    """

    function: Callable[..., Any]
    n_arrays: int = 1
    slot: int | None = None


@dataclass
class HostileInputs:
    """What the contract suite needs to attack one entry point.

    Attributes
    ----------
    entry : str
        The public entry point (as in the registry).
    call : callable
        ``call(**overrides) -> result``: runs the entry point on the small problem, with the named
        inputs (arrays, options, user functions, ``callback``) replaced.
    arrays : dict
        Name -> well-behaved value of each array argument.
    scalars : tuple of str
        Names of numeric options.
    functions : dict
        Name -> :class:`UserFunction`.
    verify : callable
        ``verify(result, overrides)`` raises ``AssertionError`` unless what a ``success=True``
        result claims holds, checked independently (``overrides`` give the requested tolerances).
    """

    entry: str
    call: Callable[..., Any]
    arrays: dict
    scalars: tuple
    functions: dict = field(default_factory=dict)
    verify: Callable[[Any, dict], None] = None


def _minimize_call(problem, method, option_names):
    """``call`` of a ``minimize`` method: option names go into ``options``, the rest are
    arguments of :func:`numopt.minimize`."""
    from numopt._minimize import minimize

    def call(**overrides):
        # a bounded maxiter keeps hostile runs short (the problems need under 10 iterations)
        arguments = {**problem, "method": method, "options": {"maxiter": 100}}
        for name, value in overrides.items():
            if name in option_names:
                arguments["options"][name] = value
            else:
                arguments[name] = value
        return minimize(**arguments)

    return call


def _requested(overrides, name, default):
    """The tolerance the case asked for (a usable float), else ``default``."""
    value = overrides.get(name)
    usable = isinstance(value, (int, float)) and not isinstance(value, bool) \
        and 0 < float(value) < math.inf
    return float(value) if usable else default


def gn_newton():
    """``min sum log cosh(x - t) + ||x||^2 / 2`` in 5 variables (strongly convex, minimiser
    unique); ``success=True`` is verified by the true gradient norm."""
    target = np.linspace(-2.0, 3.0, 5)

    def fun(x):
        return float(np.sum(np.log(np.cosh(x - target))) + 0.5 * x @ x)

    def jac(x):
        return np.tanh(x - target) + x

    def hess(x):
        return np.diag(1.0 - np.tanh(x - target) ** 2 + 1.0)

    def verify(result, overrides):
        gtol = _requested(overrides, "gtol", _requested(overrides, "tol", 1e-8))
        assert np.linalg.norm(jac(np.asarray(result.x))) <= 10 * gtol + 1e-12

    problem = {"fun": fun, "x0": np.zeros(5), "jac": jac, "hess": hess}
    return HostileInputs(
        entry="minimize", call=_minimize_call(problem, "gn-newton", ("gtol", "maxiter",
                                                                     "check_every", "gamma0")),
        arrays={"x0": problem["x0"]}, scalars=("tol", "gtol", "maxiter", "check_every", "gamma0"),
        functions={"fun": UserFunction(fun), "jac": UserFunction(jac),
                   "hess": UserFunction(hess)},
        verify=verify)


def exact_alm():
    """``min x^T A x`` on the unit sphere (A the 1-D Laplacian, n = 6); ``success=True`` is
    verified by the KKT residual computed here from the returned multiplier."""

    from numopt._examples.constrained import laplacian_quadratic

    size = 6
    A, fun, jac, hess = laplacian_quadratic(size)

    def sphere(x):
        return np.array([x @ x - 1.0])

    def sphere_jac(x):
        return 2.0 * x[None, :]

    def verify(result, overrides):
        tol = _requested(overrides, "tol", 1e-6)
        x = np.asarray(result.x)
        v = np.concatenate([np.atleast_1d(np.asarray(block, dtype=float)) for block in result.v])
        residual = np.concatenate([jac(x) + sphere_jac(x).T @ v, sphere(x)])
        assert np.linalg.norm(residual) <= 10 * tol + 1e-10

    problem = {"fun": fun, "x0": np.linspace(1.0, 2.0, size) / np.linalg.norm(
        np.linspace(1.0, 2.0, size)), "jac": jac, "hess": hess}
    base = _minimize_call(problem, "exact-alm", ("maxiter", "check_every", "seed", "eta1"))

    def call(constraint_fun=sphere, constraint_jac=sphere_jac, **overrides):
        overrides.setdefault("seed", 0)
        return base(constraints={"type": "eq", "fun": constraint_fun, "jac": constraint_jac},
                    **overrides)

    return HostileInputs(
        entry="minimize", call=call, arrays={"x0": problem["x0"]},
        scalars=("tol", "maxiter", "check_every", "eta1"),
        functions={"fun": UserFunction(fun), "jac": UserFunction(jac), "hess": UserFunction(hess),
                   "constraint_fun": UserFunction(sphere), "constraint_jac": UserFunction(
                       sphere_jac)},
        verify=verify)


def check_entropic_plan(result, a, b, C, reg, tol):
    """Assert what a converged entropic OT result claims: a finite non-negative plan with both
    marginals within ``tol * sum(a)`` (L1, up to rounding) and the Gibbs form
    ``P_ij = exp((f_i + g_j - C_ij) / reg)`` of the optimum on its normal entries."""
    plan = np.asarray(result.plan)
    a, b, C = (np.asarray(value, dtype=float) for value in (a, b, C))
    mass = a.sum()
    assert plan.shape == C.shape and np.isfinite(plan).all() and (plan >= 0).all()
    error = np.abs(plan.sum(1) - a).sum() + np.abs(plan.sum(0) - b).sum()
    assert error <= tol * mass * (1 + 1e-6) + 64 * np.finfo(float).eps * mass
    f, g = (np.asarray(values) for values in result.potentials)
    normal = plan > np.finfo(float).tiny
    exponent = (f[:, None] + g[None, :] - C) / reg
    # log P against the exponent: an absolute error that rounding of f, g and C / reg explains
    scale = np.abs(f)[:, None] + np.abs(g)[None, :] + np.abs(C)
    slack = 1e-6 + 1e-12 * (scale / reg)
    assert (np.abs(np.log(plan[normal]) - exponent[normal]) <= slack[normal]).all()


def sinkhorn_newton():
    """Two random histograms (n = 6, m = 5), reg = 0.05 of the cost's range; ``success=True``
    is verified by :func:`check_entropic_plan`."""
    from numopt.ot.sinkhorn_newton import sinkhorn_newton as solver

    rng = np.random.default_rng(7)
    a, b = rng.uniform(0.5, 1.5, 6), rng.uniform(0.5, 1.5, 5)
    a, b = a / a.sum(), b / b.sum()
    C = rng.random((6, 5))
    defaults = {"a": a, "b": b, "C": C, "reg": 0.05}

    def call(**overrides):
        arguments = {**defaults, "maxiter": 500, **overrides}  # the problem needs under 100
        return solver(arguments.pop("a"), arguments.pop("b"), arguments.pop("C"),
                      arguments.pop("reg"), **arguments)

    def verify(result, overrides):
        arguments = {**defaults, **overrides}
        # reg=None picks the documented default, which the result reports
        check_entropic_plan(result, arguments["a"], arguments["b"], arguments["C"],
                            result.reg, _requested(overrides, "tol", 1e-8))

    return HostileInputs(
        entry="sinkhorn_newton", call=call, arrays={"a": a, "b": b, "C": C},
        scalars=("reg", "tol", "maxiter", "check_every", "switch_tol", "cg_rtol"),
        verify=verify)


def bilevel_minimize():
    """The strongly convex toy of the bilevel zoo (n = 3, m = 6, closed-form solution);
    ``success=True`` is verified against the closed form."""
    from numopt.bilevel.lv_hba import bilevel_minimize as solver
    from numopt.problems.bilevel_zoo import strongly_convex_toy

    problem = strongly_convex_toy()
    x_star, y_star = problem.solution["x"], problem.extra["y_star"]

    def call(**overrides):
        # maxiter 3x what the problem needs, so that hostile runs stay short
        return solver(**{**problem.inputs(), "maxiter": 1500, **overrides})

    def verify(result, overrides):
        # the stopping rule bounds residuals, not errors: allow sqrt-level accuracy in them
        slack = max(1e-3, 100 * np.sqrt(_requested(overrides, "tol", 1e-6)))
        x, y = np.asarray(result.x), np.asarray(result.y)
        assert np.linalg.norm(x - x_star) <= slack * (1 + np.linalg.norm(x_star))
        assert np.linalg.norm(y - y_star(x)) <= slack * (1 + np.linalg.norm(y))

    return HostileInputs(
        entry="bilevel_minimize", call=call, arrays={"x0": problem.x0, "y0": problem.y0},
        scalars=("tol", "maxiter", "check_every", "c0", "gamma1", "alpha"),
        functions={"upper": UserFunction(problem.upper, n_arrays=2, slot=1),
                   "lower": UserFunction(problem.lower, n_arrays=2, slot=2)},
        verify=verify)


_GAME_MATRIX = np.array([[1.0, 0.4, 0.0], [-0.3, 1.2, 0.2], [0.1, -0.2, 0.9]])
_GAME_OFFSET = np.array([0.5, -1.0, 0.25])


def _game_call(run):
    """``call`` of a game entry point: ``pseudo_gradient`` and ``jacobian`` build the game."""
    from numopt.games.game import Game

    def pseudo_gradient(x):
        return _GAME_MATRIX @ x + _GAME_OFFSET

    def jacobian(x):
        return _GAME_MATRIX.copy()

    def call(pseudo_gradient=pseudo_gradient, jacobian=jacobian, **overrides):
        return run(Game(pseudo_gradient, [1, 2], jacobian=jacobian), **overrides)

    functions = {"pseudo_gradient": UserFunction(pseudo_gradient),
                 "jacobian": UserFunction(jacobian)}
    return call, functions


def certify_nash():
    """A 3-dimensional two-player affine game, certified on the cube of radius 1 around 0;
    ``success=True`` is verified by the certificate's claim, checked here as the smallest
    eigenvalue of ``sym(W H)`` relative to ``W``."""
    from numopt.games.certify import certify_nash as solver
    from numopt.games.game import Region

    def run(game, region=None, **options):
        return solver(game, Region.cube(np.zeros(3), 1.0) if region is None else region,
                      **options)

    call, functions = _game_call(run)

    def verify(result, overrides):
        weights = np.repeat(np.asarray(result.weights, dtype=float), [1, 2])
        root = np.diag(1.0 / np.sqrt(weights))
        symmetric = 0.5 * (np.diag(weights) @ _GAME_MATRIX + _GAME_MATRIX.T @ np.diag(weights))
        claimed = float(result.margin)
        assert result.certified and claimed > 0
        assert np.linalg.eigvalsh(root @ symmetric @ root).min() >= claimed * (1 - 1e-9) - 1e-12

    return HostileInputs(entry="certify_nash", call=call, arrays={"weights": np.ones(2)},
                         scalars=("tol", "n_samples", "weight_maxiter", "seed"),
                         functions=functions, verify=verify)


def gradient_play():
    """Euler play (step 0.3) on the affine game of :func:`certify_nash`; ``success=True`` is
    verified by the distance to the equilibrium ``-H^-1 c``."""
    from numopt.games.play import gradient_play as solver

    equilibrium = np.linalg.solve(_GAME_MATRIX, -_GAME_OFFSET)
    def run(game, **options):
        # a fixed step: a game given by a function has no certified step without certify_nash
        options = {"x0": np.zeros(3), "step": 0.3, **options}
        return solver(game, options.pop("x0"), **options)

    call, functions = _game_call(run)

    def verify(result, overrides):
        tol = _requested(overrides, "tol", 1e-8)
        # the residual ||F(x)||_M <= tol bounds the error by ||H^-1|| tol (up to the metric)
        bound = 100 * tol * np.linalg.norm(np.linalg.inv(_GAME_MATRIX), 2) + 1e-12
        assert np.linalg.norm(np.asarray(result.x) - equilibrium) <= bound

    return HostileInputs(entry="gradient_play", call=call, arrays={"x0": np.zeros(3)},
                         scalars=("tol", "maxiter", "check_every", "step"),
                         functions=functions, verify=verify)


def _ot_histograms(n, m, k, seed):
    """A source ``a`` (n,), k targets as the columns of ``B`` (m, k), of ``a``'s mass, and a
    cost ``C`` (n, m) in [0, 1)."""
    rng = np.random.default_rng(seed)
    a, B = rng.uniform(0.5, 1.5, n), rng.uniform(0.5, 1.5, (m, k))
    return a / a.sum(), B / B.sum(axis=0), rng.random((n, m))


def pairwise_sinkhorn2():
    """Three sources against two targets (n = 6, m = 5), reg = 0.05; the losses are verified
    against one :func:`numopt.ot.sinkhorn2` call per pair with the same options (the drop-in
    returns losses, with POT's silent stop at ``numItermax``, so no status to be honest with)."""
    from numopt.ot import sinkhorn2
    from numopt.ot.pairwise import pairwise_sinkhorn2 as solver

    A = _ot_histograms(5, 6, 3, seed=11)[1]  # three columns of mass 1 on 6 points
    _, B, M = _ot_histograms(6, 5, 2, seed=12)
    defaults = {"A": A, "B": B, "M": M, "reg": 0.05}

    def call(**overrides):
        arguments = {**defaults, **overrides}
        positional = [arguments.pop(name) for name in ("A", "B", "M", "reg")]
        return solver(*positional, **arguments)

    def verify(losses, overrides):
        arguments = {**defaults, **overrides}
        A, B, M, reg = (arguments.pop(name) for name in ("A", "B", "M", "reg"))
        arguments.pop("block_size", None)
        A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the reference's warnings are not under test
            expected = np.asarray([[sinkhorn2(A[:, i], B[:, j], M, reg, **arguments)
                                    for j in range(B.shape[1])] for i in range(A.shape[1])])
        assert losses.shape == expected.shape
        if _requested(overrides, "stopThr", 1e-9) <= 1e-6:
            np.testing.assert_allclose(losses, expected, rtol=1e-6, atol=1e-12)
        else:  # a loose threshold leaves each loss undetermined beyond its sign and finiteness
            assert (np.isfinite(losses) == np.isfinite(expected)).all()
            assert (losses[np.isfinite(losses)] >= 0).all()

    return HostileInputs(
        entry="pairwise_sinkhorn2", call=call, arrays={"A": A, "B": B, "M": M},
        scalars=("reg", "numItermax", "stopThr", "block_size"), verify=verify)


def sinkhorn_newton_batch():
    """One source against three targets (n = 6, m = 5), reg = 0.05; each ``success=True``
    result is verified by :func:`check_entropic_plan` against its own target."""
    from numopt.ot.batch import sinkhorn_newton_batch as solver

    a, B, C = _ot_histograms(6, 5, 3, seed=13)
    defaults = {"a": a, "B": B, "C": C, "reg": 0.05}

    def call(**overrides):
        arguments = {**defaults, "maxiter": 500, **overrides}  # the problem needs under 100
        positional = [arguments.pop(name) for name in ("a", "B", "C", "reg")]
        return solver(*positional, **arguments)

    def verify(results, overrides):
        arguments = {**defaults, **overrides}
        a, B = np.asarray(arguments["a"], dtype=float), np.asarray(arguments["B"], dtype=float)
        for target, res in enumerate(results):
            if res.success:
                # the batch rescales each target to sum(a) exactly, as documented
                b = B[:, target] * (a.sum() / B[:, target].sum())
                check_entropic_plan(res, a, b, arguments["C"], res.reg,
                                    _requested(overrides, "tol", 1e-8))

    return HostileInputs(
        entry="sinkhorn_newton_batch", call=call, arrays={"a": a, "B": B, "C": C},
        scalars=("reg", "tol", "maxiter", "check_every", "switch_tol", "cg_rtol"),
        verify=verify)
