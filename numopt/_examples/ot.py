"""Registry example of sinkhorn_newton: two 1-D Gaussian mixtures on a grid.

The accuracy reference is the entropic plan computed by :func:`dense_newton_plan`, a damped dense
Newton method on the semi-dual written here with NumPy and SciPy only (no Sinkhorn phase, no
sparsification, no numopt kernel); the peer is POT's ``sinkhorn_stabilized`` (log-stabilised
scaling, made for small ``reg``; POT's ``sinkhorn_log`` returns the same plan over ten times slower
here).
"""

import warnings

import numpy as np

from numopt._core.registry import Example

__all__ = ["make_example", "dense_newton_plan"]


def _problem(n=200):
    grid = np.linspace(0.0, 1.0, n)
    a = np.exp(-(grid - 0.2) ** 2 / 0.005) + 0.5 * np.exp(-(grid - 0.6) ** 2 / 0.01)
    b = np.exp(-(grid - 0.4) ** 2 / 0.01) + 0.8 * np.exp(-(grid - 0.8) ** 2 / 0.003)
    cost = (grid[:, None] - grid[None, :]) ** 2
    return a / a.sum(), b / b.sum(), cost, 1e-3 * cost.max()


def _semi_dual(f, a, b, cost, reg):
    """The semi-dual at ``f`` (``g`` eliminated in closed form) and the plan it implies."""
    from scipy.special import logsumexp, softmax

    logits = (f[:, None] - cost) / reg
    return a @ f - reg * (b @ logsumexp(logits, axis=0)), b * softmax(logits, axis=0)


def dense_newton_plan(a, b, cost, reg, tol=1e-14, maxiter=200):
    """The entropic OT plan by damped Newton on the semi-dual, with dense solves.

    Maximises ``D(f) = <a, f> - reg * sum_j b_j log sum_i exp((f_i - C_ij) / reg)``, the dual
    of entropic OT with ``g`` eliminated (Cuturi and Peyre, "Semidual regularized optimal
    transport", SIAM Review 60(4), 2018). Its gradient is ``a - P 1`` with
    ``P_ij = b_j softmax_i((f_i - C_ij) / reg)``, so the columns of ``P`` always sum to ``b``
    and the rows reach ``a`` at the optimum.

    Parameters
    ----------
    a : ndarray, shape (n,)
        Source weights, positive, summing to 1.
    b : ndarray, shape (m,)
        Target weights, positive, summing to 1.
    cost : ndarray, shape (n, m)
        Cost matrix.
    reg : float
        Entropic regularisation.
    tol : float
        Stop when ``||P 1 - a||_1 <= tol``.
    maxiter : int
        Bound on the Newton steps.

    Returns
    -------
    ndarray, shape (n, m)
        The plan.

    Raises
    ------
    RuntimeError
        When the row marginal error is still above ``100 * tol`` at the end.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt._examples.ot import dense_newton_plan
    >>> x = np.linspace(0, 1, 5)
    >>> plan = dense_newton_plan(np.full(5, 0.2), np.full(5, 0.2), (x[:, None] - x) ** 2, 0.1)
    >>> bool(np.allclose(plan.sum(axis=1), 0.2, atol=1e-14))
    True
    """
    from scipy.linalg import solve

    f = np.zeros_like(a)
    value, plan = _semi_dual(f, a, b, cost, reg)
    for _ in range(maxiter):
        rows = plan.sum(axis=1)
        gradient = a - rows
        if np.abs(gradient).sum() <= tol:
            break
        # The negated Hessian (diag(r) - P diag(1/b) P^T) / reg has diagonal entries as small as
        # the smallest row masses (1e-50 here): scaled by diag(r)^(-1/2) it is I - M with M's
        # spectrum in [0, 1], whose null vector sqrt(r) (f + constant is the same plan) is
        # lifted by a rank-one term; the gradient is orthogonal to it.
        scale = 1.0 / np.sqrt(rows)
        scaled_plan = scale[:, None] * plan
        unit = np.sqrt(rows) / np.linalg.norm(np.sqrt(rows))
        hessian = np.eye(len(a)) - (scaled_plan / b) @ scaled_plan.T + np.outer(unit, unit)
        step = reg * scale * solve(hessian, scale * gradient, assume_a="pos")
        # Far from the optimum Newton's quadratic model of the exponentials overshoots: no f_i
        # moves by more than 10 reg (a factor e^10 on its row's mass) in one step.
        step *= min(1.0, 10.0 * reg / np.abs(step).max())
        length, value, plan = _line_search(f, step, gradient, value, (a, b, cost, reg))
        if length == 0.0:
            break  # no ascent is left in floating point
        f = f + length * step
    error = float(np.abs(plan.sum(axis=1) - a).sum())
    if error > 100 * tol:
        raise RuntimeError(f"dense_newton_plan stopped at a marginal error of {error:.1e}.")
    return plan


def _line_search(f, step, gradient, value, problem):
    """Backtracking to Armijo's ascent, at most 40 halvings; ``(length, value, plan)``.

    Near the optimum ``D`` changes by less than its rounding: there a full step is taken when it
    reduces the marginal error (Newton's local, quadratically convergent regime).
    """
    a = problem[0]
    error = np.abs(gradient).sum()
    length = 1.0
    for _ in range(40):
        new_value, new_plan = _semi_dual(f + length * step, *problem)
        if new_value > value + 1e-4 * length * (gradient @ step) or (
                length == 1.0 and np.abs(new_plan.sum(axis=1) - a).sum() < error):
            return length, new_value, new_plan
        length /= 2
    return 0.0, value, _semi_dual(f, *problem)[1]


def _pot_stabilized(ot, a, b, cost, reg, stop):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # POT warns when it stops at numItermax
        return ot.sinkhorn(a, b, cost, reg, method="sinkhorn_stabilized", numItermax=100000,
                           stopThr=stop, log=True)


def make_example():
    """The :class:`~numopt._core.registry.Example` of ``sinkhorn_newton``.

    Returns
    -------
    Example
        Gaussian mixtures on a 200-point grid, squared distance, ``reg = 1e-3 * max(C)``; the
        accuracy is the relative max-norm error of the plan against :func:`dense_newton_plan`.
    """
    import ot  # here, not in the peer's timed call: importing POT is not solving

    from numopt.ot.sinkhorn_newton import sinkhorn_newton

    a, b, cost, reg = _problem()
    reference = {}

    def plan_error(plan):
        if "plan" not in reference:
            reference["plan"] = dense_newton_plan(a, b, cost, reg)
        return float(np.abs(plan - reference["plan"]).max() / reference["plan"].max())

    def solve_peer():
        plan, log = _pot_stabilized(ot, a, b, cost, reg, 1e-8)
        return int(log["n_iter"]), plan_error(plan)

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
        accuracy_label="rel. plan err vs dense Newton",
        tolerance=1e-6,
        peer="POT sinkhorn_stabilized",
        solve_peer=solve_peer,
        bad_inputs=bad_inputs,
    )
