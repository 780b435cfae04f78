"""Bilevel test problems for :func:`numopt.bilevel_minimize`, with known answers where they exist.

Each function returns a :class:`numopt.bilevel.problem.BilevelProblem` (``problem.solve(...)``
runs LV-HBA). Known solutions are derived by hand in the docstrings and stored in
``problem.solution``; none comes from running the solver.

- :func:`coupled_equality_toy`: the LV-HBA paper's toy (coupled equality, convex but not strongly
  convex lower level, non-singleton ``S(x)``); ``x* = -0.3``, ``y1* = 0.7``, ``y2* = -0.4``.
- :func:`gaffa_toy`: the BiC-GAFFA toy (coupled equality); ``F* = 0``.
- :func:`inactive_constraint_toy`: a coupled inequality that is inactive at the solution, whose
  answer is a ridge regression in closed form.
- :func:`strongly_convex_toy`: a strongly convex lower level with an active coupled inequality and
  ``y*(x)`` in closed form.
- :func:`ridge_tuning`: the regularisation weight of ridge regression on generated data (``x =
  log lam`` or ``x = lam >= 0``), against a closed-form lower level and a grid reference.
- :func:`logistic_tuning`: the L2 weight of logistic regression on a LIBSVM set, against a grid
  of exact lower-level solves.
- :func:`svm_hyperparameter`: per-sample regularisation weights of a linear SVM (the GAM
  formulation; also the data hyper-cleaning problem with flipped labels).
"""

import numpy as np
from scipy import sparse
from scipy.optimize import LinearConstraint
from scipy.special import expit

from numopt.bilevel.problem import BilevelProblem

__all__ = ["coupled_equality_toy", "gaffa_toy", "inactive_constraint_toy", "strongly_convex_toy",
           "ridge_tuning", "logistic_tuning", "svm_hyperparameter", "svm_validation_loss",
           "svm_lower_level_solve", "svm_accuracy",
           "svm_hypergradient"]


def _linear_lower(x, y1, y2):
    """``f = 1/2 ||y1||^2 - x^T y1 + 1^T y2`` shared by both equality toys, with its gradients."""
    value = 0.5 * y1 @ y1 - x @ y1 + y2.sum()
    return value, -y1, np.concatenate([y1 - x, np.ones_like(y2)])


def coupled_equality_toy(n=100):
    """The LV-HBA paper's toy: a coupled equality and a non-singleton lower-level solution set.

    With ``x in R^n`` and ``y = (y1, y2) in R^{2n}``::

        F(x, y) = 1/2 ||x - y2||^2 + 1/2 ||y1 - 1||^2
        f(x, y) = 1/2 ||y1||^2 - x^T y1 + 1^T y2      s.t.   1^T x + 1^T y1 + 1^T y2 = 0

    The lower level gives ``y1 = x + 1`` and any ``y2`` with ``1^T y2 = -2 1^T x - n``
    (multiplier ``-1``); minimising ``F`` over that set gives ``x* = -0.3``, ``y1* = 0.7``,
    ``y2* = -0.4`` (every component) and ``F* = 0.05 n``. The start is the paper's: ``x = y =
    10`` projected onto the hyperplane.

    Parameters
    ----------
    n : int
        Size of ``x``.

    Returns
    -------
    BilevelProblem

    Examples
    --------
    >>> from numopt.problems.bilevel_zoo import coupled_equality_toy
    >>> problem = coupled_equality_toy(4)
    >>> problem.solution["fun"]
    0.2
    """
    def upper(x, y):
        y1, y2 = y[:n], y[n:]
        value = 0.5 * np.sum((x - y2) ** 2) + 0.5 * np.sum((y1 - 1) ** 2)
        return value, x - y2, np.concatenate([y1 - 1, y2 - x])

    def lower(x, y):
        return _linear_lower(x, y[:n], y[n:])

    solution = {"x": np.full(n, -0.3), "y": np.concatenate([np.full(n, 0.7), np.full(n, -0.4)]),
                "fun": 0.05 * n, "multipliers": np.array([-1.0])}
    return BilevelProblem(upper, lower, np.full(n, 10.0), np.full(2 * n, 10.0),
                          constraints=LinearConstraint(np.ones((1, 3 * n)), 0.0, 0.0),
                          name=f"LV-HBA coupled-equality toy (n={n})", solution=solution)


def gaffa_toy(n=100):
    """The BiC-GAFFA toy: coupled equality, optimal value 0.

    With ``x in R^n`` and ``y = (y1, y2) in R^{2n}``::

        F(x, y) = (y1 - 2)^T (x - 1) + ||y2 + 3||^2
        f(x, y) = 1/2 ||y1||^2 - x^T y1 + 1^T y2      s.t.   1^T x + 1^T y1 + 1^T y2 = 0

    On the lower-level solutions ``y1 = x + 1``, ``F = ||x - 1||^2 + ||y2 + 3||^2``, minimised at
    ``x* = 1``, ``y1* = 2``, ``y2* = -3`` (which satisfies the constraint): ``F* = 0``,
    multiplier ``-1``.

    Parameters
    ----------
    n : int
        Size of ``x``.

    Returns
    -------
    BilevelProblem

    Examples
    --------
    >>> from numopt.problems.bilevel_zoo import gaffa_toy
    >>> gaffa_toy(3).solution["fun"]
    0.0
    """
    def upper(x, y):
        y1, y2 = y[:n], y[n:]
        value = (y1 - 2) @ (x - 1) + np.sum((y2 + 3) ** 2)
        return value, y1 - 2, np.concatenate([x - 1, 2 * (y2 + 3)])

    def lower(x, y):
        return _linear_lower(x, y[:n], y[n:])

    solution = {"x": np.ones(n), "y": np.concatenate([np.full(n, 2.0), np.full(n, -3.0)]),
                "fun": 0.0, "multipliers": np.array([-1.0])}
    return BilevelProblem(upper, lower, np.zeros(n), np.zeros(2 * n),
                          constraints=LinearConstraint(np.ones((1, 3 * n)), 0.0, 0.0),
                          name=f"BiC-GAFFA toy (n={n})", solution=solution)


def inactive_constraint_toy(n=5, m=8, mu=0.1, seed=0):
    """A coupled inequality that is inactive at the solution: the answer is a ridge regression.

    ::

        lower:  min_y 1/2 ||y - A x||^2   s.t.   1^T y <= M
        upper:  F = 1/2 ||y - b||^2 + mu/2 ||x||^2

    With ``M`` larger than ``1^T y*`` the constraint is inactive, ``y*(x) = A x``, and
    ``x* = (A^T A + mu I)^{-1} A^T b``, ``y* = A x*``, multiplier 0.

    Parameters
    ----------
    n, m : int
        Sizes of ``x`` and ``y``.
    mu : float
        Ridge weight.
    seed : int
        Seed of the random ``A`` and ``b``.

    Returns
    -------
    BilevelProblem

    Examples
    --------
    >>> from numopt.problems.bilevel_zoo import inactive_constraint_toy
    >>> problem = inactive_constraint_toy()
    >>> float(problem.solution["multipliers"][0])
    0.0
    """
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    b = rng.standard_normal(m)
    x_star = np.linalg.solve(A.T @ A + mu * np.eye(n), A.T @ b)
    y_star = A @ x_star
    bound = float(y_star.sum()) + 10.0

    def upper(x, y):
        value = 0.5 * np.sum((y - b) ** 2) + 0.5 * mu * x @ x
        return value, mu * x, y - b

    def lower(x, y):
        residual = y - A @ x
        return 0.5 * residual @ residual, -A.T @ residual, residual

    row = np.concatenate([np.zeros(n), np.ones(m)])[None, :]
    solution = {"x": x_star, "y": y_star, "fun": upper(x_star, y_star)[0],
                "multipliers": np.zeros(1)}
    return BilevelProblem(upper, lower, np.zeros(n), np.zeros(m),
                          constraints=LinearConstraint(row, -np.inf, bound),
                          name="inactive coupled inequality (ridge closed form)",
                          solution=solution, extra={"A": A, "b": b, "bound": bound})


def strongly_convex_toy(n=3, m=6, seed=0):
    """A strongly convex lower level with an active coupled inequality; ``y*(x)`` in closed form.

    ::

        lower:  min_y 1/2 ||y - a||^2   s.t.   1^T y <= 1^T x       (coupled, jointly linear)
        upper:  F = 1/2 ||x - x_t||^2 + 1/2 ||y - y_t||^2

    The lower level is a projection onto a half-space: ``y*(x) = a - max(0, (1^T a - 1^T x)/m) 1``
    with multiplier ``max(0, (1^T a - 1^T x)/m)``. The data make the constraint active at the
    solution, where ``y*(x) = P x + q`` is affine (``P = 1 1^T / m``, ``q = a - (1^T a / m) 1``),
    so ``x*`` solves ``(I + P^T P) x = x_t - P^T (q - y_t)``.

    Parameters
    ----------
    n, m : int
        Sizes of ``x`` and ``y``.
    seed : int
        Seed of the data.

    Returns
    -------
    BilevelProblem
        ``problem.extra["y_star"]`` is the closed-form ``y*(x)``.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.problems.bilevel_zoo import strongly_convex_toy
    >>> problem = strongly_convex_toy()
    >>> x = problem.solution["x"]
    >>> bool(np.allclose(problem.extra["y_star"](x), problem.solution["y"]))
    True
    """
    rng = np.random.default_rng(seed)
    a = rng.uniform(1.0, 2.0, m)
    x_target = rng.uniform(-1.0, 0.0, n)
    y_target = rng.uniform(0.0, 1.0, m)

    def y_star(x):
        return a - max(0.0, (a.sum() - x.sum()) / m) * np.ones(m)

    P = np.ones((m, n)) / m
    q = a - a.sum() / m
    x_star = np.linalg.solve(np.eye(n) + P.T @ P, x_target - P.T @ (q - y_target))
    multiplier = (a.sum() - x_star.sum()) / m
    if multiplier <= 0:  # the data are drawn so that this cannot happen; guard the closed form
        raise RuntimeError("strongly_convex_toy: the coupled constraint is not active.")

    def upper(x, y):
        value = 0.5 * np.sum((x - x_target) ** 2) + 0.5 * np.sum((y - y_target) ** 2)
        return value, x - x_target, y - y_target

    def lower(x, y):
        return 0.5 * np.sum((y - a) ** 2), np.zeros(n), y - a

    row = np.concatenate([-np.ones(n), np.ones(m)])[None, :]
    y_opt = y_star(x_star)
    solution = {"x": x_star, "y": y_opt, "fun": upper(x_star, y_opt)[0],
                "multipliers": np.array([multiplier])}
    return BilevelProblem(upper, lower, np.zeros(n), np.zeros(m),
                          constraints=LinearConstraint(row, -np.inf, 0.0),
                          name="strongly convex lower level, active coupled inequality",
                          solution=solution, extra={"y_star": y_star, "a": a})


def _svm_split(n_samples, seed, n_train, n_val):
    order = np.random.default_rng(seed).permutation(n_samples)
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]


def _svm_design(Z, t):
    """Rows ``a_i = t_i [z_i; 1]``: sample ``i``'s signed margin is ``a_i^T (w, b)``."""
    return t[:, None] * np.hstack([Z, np.ones((Z.shape[0], 1))])


def _hinge_lower_level(u, weights, design):
    """The SVM lower level with the slacks eliminated, at ``u = (w, b)``.

    Returns ``1/2 ||w||^2 + 1/2 sum_i weights_i xi_i^2`` with ``xi = max(0, 1 - design u)``, the
    slacks ``xi`` and the gradient in ``u``.
    """
    d = u.shape[0] - 1
    xi = np.maximum(0.0, 1.0 - design @ u)
    value = 0.5 * u[:d] @ u[:d] + 0.5 * weights @ xi ** 2
    return value, xi, np.concatenate([u[:d], [0.0]]) - design.T @ (weights * xi)


def svm_hyperparameter(X, labels, *, seed=0, n_train=500, n_val=150, flip_fraction=0.0,
                       c_range=(-6.0, -5.0), slacks="constraints"):
    """Per-sample regularisation weights of a linear SVM (GAM's formulation; data hyper-cleaning).

    With training pairs ``(z_i, t_i)``, ``t_i in {-1, +1}``, and the upper-level variable
    ``c in R^N`` (one log-weight per training sample)::

        lower:  min_{w, b, xi}  1/2 ||w||^2 + 1/2 sum_i exp(c_i) xi_i^2
                s.t.  1 - xi_i - t_i (w^T z_i + b) <= 0,        i = 1..N
        upper:  sum_{j in val} LeakyReLU(2 sigmoid(-5 t_j (w^T z_j + b) / ||w||) - 1)

    (LeakyReLU slope 0.01; the upper level is a smooth surrogate of the validation 0-1 loss.) The
    constraints are linear in ``y = (w, b, xi)`` and do not involve ``c``; ``c`` acts through
    ``exp(c_i)`` in ``f``. There is no closed form: the lower level for fixed ``c`` is solved to
    machine precision by :func:`svm_lower_level_solve`.

    With ``slacks="eliminated"`` the same bilevel problem is written without the slacks: each
    ``xi_i`` is replaced by its optimal value ``max(0, 1 - t_i (w^T z_i + b))``, which leaves the
    unconstrained, once-differentiable lower level ``1/2 ||w||^2 + 1/2 sum_i exp(c_i) max(0, 1 -
    t_i (w^T z_i + b))^2`` in ``y = (w, b)`` with the same solutions.

    Parameters
    ----------
    X : array_like or sparse, shape (samples, features)
        Features.
    labels : array_like, shape (samples,)
        Labels in {-1, +1}.
    seed : int
        Seed of the shuffle, of the label flips and of ``c0 ~ U(c_range)``.
    n_train, n_val : int
        Split sizes (the rest is the test set).
    flip_fraction : float
        Fraction of training labels flipped (data hyper-cleaning); validation and test labels
        are kept clean.
    c_range : tuple of float
        Range of the uniform start ``c0``.
    slacks : {"constraints", "eliminated"}
        GAM's formulation with the slacks and hinge rows (default), or the slacks eliminated.

    Returns
    -------
    BilevelProblem
        ``extra`` holds the split (``train``, ``val``, ``test`` as ``(Z, t)`` pairs), the
        ``flipped`` mask and the sizes.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.problems.bilevel_zoo import svm_hyperparameter
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3)); labels = np.sign(X[:, 0] + 0.1)
    >>> problem = svm_hyperparameter(X, labels, n_train=20, n_val=10)
    >>> problem.x0.shape, problem.y0.shape
    ((20,), (24,))
    """
    if slacks not in ("constraints", "eliminated"):
        raise ValueError(f"slacks must be 'constraints' or 'eliminated'; got {slacks!r}.")
    X = X.toarray() if hasattr(X, "toarray") else np.asarray(X, dtype=float)
    labels = np.asarray(labels, dtype=float)
    train, val, test = _svm_split(X.shape[0], seed, n_train, n_val)
    rng = np.random.default_rng(seed + 1)
    Z, t = X[train], labels[train].copy()
    flipped = rng.random(n_train) < flip_fraction
    t[flipped] = -t[flipped]
    Z_val, t_val = X[val], labels[val]
    N, d = Z.shape
    design = _svm_design(Z, t)
    c0 = rng.uniform(*c_range, N)
    extra = {"train": (Z, t), "val": (Z_val, t_val), "test": (X[test], labels[test]),
             "flipped": flipped, "n_features": d}
    name = f"SVM per-sample weights (N={N}, d={d}, flips={flip_fraction}, slacks {slacks})"

    def upper(c, y):
        value, grad_w, grad_b = svm_validation_loss(y[:d], y[d], Z_val, t_val)
        return value, np.zeros(N), np.concatenate([grad_w, [grad_b], np.zeros(y.size - d - 1)])

    if slacks == "eliminated":
        def hinge_lower(c, y):
            weights = np.exp(c)
            value, xi, grad_y = _hinge_lower_level(y, weights, design)
            return value, 0.5 * weights * xi ** 2, grad_y

        return BilevelProblem(upper, hinge_lower, c0, np.concatenate([np.ones(d), [0.0]]),
                              name=name, extra=extra)

    def lower(c, y):
        w, xi = y[:d], y[d + 1:]
        weights = np.exp(c)
        value = 0.5 * w @ w + 0.5 * weights @ xi ** 2
        return value, 0.5 * weights * xi ** 2, np.concatenate([w, [0.0], weights * xi])

    # Row i on w = [c, w, b, xi]:  -t_i z_i^T w - t_i b - xi_i <= -1.
    rows = sparse.hstack([sparse.csr_matrix((N, N)), sparse.csr_matrix(-design),
                          -sparse.identity(N)]).tocsr()
    y0 = np.concatenate([np.ones(d), [0.0], np.ones(N)])
    return BilevelProblem(upper, lower, c0, y0, constraints=LinearConstraint(rows, -np.inf, -1.0),
                          name=name, extra=extra)


def svm_validation_loss(w, b, Z, t):
    """The upper level of :func:`svm_hyperparameter` and its gradient in ``(w, b)``.

    ``sum_j LeakyReLU(2 sigmoid(-5 u_j) - 1)`` with ``u_j = t_j (w^T z_j + b) / ||w||``.

    Returns
    -------
    value : float
    grad_w : ndarray
    grad_b : float
    """
    norm = np.linalg.norm(w)
    margin = Z @ w + b
    u = t * margin / norm
    s = expit(-5.0 * u)  # sigmoid(-5 u), overflow-free
    q = 2.0 * s - 1.0
    value = float(np.sum(np.where(q > 0, q, 0.01 * q)))
    dq_du = -10.0 * s * (1.0 - s)
    coefficient = np.where(q > 0, 1.0, 0.01) * dq_du * t  # d value / d (margin_j / ||w||) / ...
    grad_w = (Z.T @ coefficient) / norm - (coefficient @ margin) * w / norm ** 3
    grad_b = float(coefficient.sum()) / norm
    return value, grad_w, grad_b


def svm_lower_level_solve(c, Z, t, tol=1e-12, maxiter=100):
    """Solve the SVM lower level for fixed ``c`` exactly (semismooth Newton on ``(w, b)``).

    Eliminating ``xi_i = max(0, 1 - t_i (w^T z_i + b))`` leaves the strongly convex piecewise
    quadratic ``1/2 ||w||^2 + 1/2 sum_i exp(c_i) xi_i^2``; Newton with the generalised Hessian and
    a backtracking line search converges in a few steps.

    Parameters
    ----------
    c : ndarray, shape (N,)
        Log-weights.
    Z : ndarray, shape (N, d)
    t : ndarray, shape (N,)
    tol : float
        Gradient tolerance.
    maxiter : int
        Newton steps.

    Returns
    -------
    w : ndarray, shape (d,)
    b : float
    hessian : ndarray, shape (d + 1, d + 1)
        The generalised Hessian at the solution (used for implicit differentiation).
    """
    d = Z.shape[1]
    weights = np.exp(c)
    design = _svm_design(Z, t)
    regulariser = np.diag(np.concatenate([np.ones(d), [0.0]]))
    u = np.zeros(d + 1)
    value, xi, gradient = _hinge_lower_level(u, weights, design)
    for _ in range(maxiter):
        active = xi > 0
        hessian = regulariser + (design[active].T * weights[active]) @ design[active]
        if np.abs(gradient).max() <= tol * (1.0 + np.abs(u).max()):
            break
        step = np.linalg.solve(hessian + 1e-14 * np.eye(d + 1), -gradient)
        scale = 1.0
        for _ in range(50):
            candidate = _hinge_lower_level(u + scale * step, weights, design)
            if candidate[0] <= value + 1e-4 * scale * gradient @ step:
                break
            scale *= 0.5
        u = u + scale * step
        value, xi, gradient = candidate
    return u[:d], u[d], hessian


def svm_accuracy(w, b, Z, t):
    """Fraction of ``sign(Z w + b) == t``."""
    return float(np.mean(np.sign(Z @ w + b) == t))


def svm_hypergradient(c, Z, t, Z_val, t_val):
    """Implicit (GAM-style) hypergradient of the SVM problem's upper level in ``c``.

    At the lower-level solution ``u = (w, b)`` with active set ``A = {i : xi_i > 0}``, the
    stationarity ``grad_u phi(u, c) = 0`` has the generalised Hessian ``H = diag(1, .., 1, 0) +
    sum_{i in A} exp(c_i) a_i a_i^T`` (``a_i = t_i [z_i; 1]``) and ``d grad_u phi / d c_i =
    -exp(c_i) xi_i a_i``, so ``dF/dc_i = exp(c_i) xi_i a_i^T H^{-1} grad_u F``.

    Parameters
    ----------
    c : ndarray, shape (N,)
    Z, t : ndarray
        Training features and labels.
    Z_val, t_val : ndarray
        Validation features and labels.

    Returns
    -------
    value : float
        The upper-level value at the lower-level solution.
    gradient : ndarray, shape (N,)
    w, b : the lower-level solution.
    """
    w, b, hessian = svm_lower_level_solve(c, Z, t)
    value, grad_w, grad_b = svm_validation_loss(w, b, Z_val, t_val)
    design = _svm_design(Z, t)
    xi = np.maximum(0.0, 1.0 - design @ np.concatenate([w, [b]]))
    adjoint = np.linalg.solve(hessian + 1e-14 * np.eye(hessian.shape[0]),
                              np.concatenate([grad_w, [grad_b]]))
    return value, np.exp(c) * xi * (design @ adjoint), w, b


def _ridge_reference(A, b, A_val, b_val, grid=(-8.0, 8.0, 321)):
    """Validation-optimal ``lam`` of ridge regression: closed-form lower level, grid over
    ``log10 lam``, then a bounded scalar search in the best grid cell.

    Returns ``(lam, loss, interior, loss_at)`` where ``interior`` says the optimum is strictly
    inside the grid and the only local minimum on it, and ``loss_at(lam)`` is the validation loss
    of the ridge solution.
    """
    from scipy.optimize import minimize_scalar

    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    projected = U.T @ b

    def loss_at(lam):
        w = Vt.T @ (s * projected / (s ** 2 + lam))
        return 0.5 * np.mean((A_val @ w - b_val) ** 2)

    exponents = np.linspace(*grid)
    losses = np.array([loss_at(10.0 ** e) for e in exponents])
    best = int(np.argmin(losses))
    interior = 0 < best < exponents.size - 1
    if not interior:
        return 10.0 ** exponents[best], float(losses[best]), False, loss_at
    search = minimize_scalar(lambda e: loss_at(10.0 ** e), bounds=exponents[[best - 1, best + 1]],
                             method="bounded", options={"xatol": 1e-10})
    interior_minima = np.flatnonzero((losses[1:-1] < losses[:-2]) & (losses[1:-1] < losses[2:]))
    return 10.0 ** search.x, float(search.fun), interior and interior_minima.size == 1, loss_at


def ridge_tuning(d=10, n_train=20, n_val=100, noise=0.5, seed=0, parameterisation="log"):
    """Tune the regularisation weight of ridge regression on validation data (generated family).

    With training data ``A (n_train x d)``, ``b`` and validation data ``A_val (n_val x d)``,
    ``b_val``, all generated as ``A ~ N(0, 1)`` entrywise, ``b = A w_true + noise * N(0, 1)``,
    ``w_true ~ N(0, 1)``::

        lower:  min_w  1/2 ||A w - b||^2 + lam/2 ||w||^2
        upper:  1/(2 n_val) ||A_val w - b_val||^2

    with ``lam = exp(x)`` (``parameterisation="log"``, ``x`` free) or ``lam = x`` (``"linear"``,
    ``x_bounds = (0, inf)``). The start is the cold one, ``w = 0`` and ``lam = 1``. The
    reference is independent of the solver: the closed-form lower level ``w(lam) = (A^T A + lam
    I)^{-1} A^T b`` (by an SVD), a grid of 321 points over ``log10 lam in [-8, 8]``, then a
    bounded scalar search in the best cell.

    Parameters
    ----------
    d : int
        Number of features.
    n_train, n_val : int
        Training and validation rows.
    noise : float
        Noise standard deviation.
    seed : int
        Seed of the generator.
    parameterisation : {"log", "linear"}
        ``x = log lam`` (free) or ``x = lam >= 0``.

    Returns
    -------
    BilevelProblem
        ``solution`` holds the reference ``lam``, ``fun`` (its validation loss), ``x``, ``y``
        and ``interior`` (the optimum is strictly inside the grid and unique there);
        ``extra["loss_at"]`` gives the validation loss at any ``lam``, ``extra["train"]`` and
        ``extra["val"]`` the data as ``(A, b)`` pairs.

    Examples
    --------
    >>> from numopt.problems.bilevel_zoo import ridge_tuning
    >>> problem = ridge_tuning(d=10, n_train=5, n_val=100, noise=2.0, seed=0)
    >>> problem.x0.tolist(), problem.y0.shape
    ([0.0], (10,))
    """
    if parameterisation not in ("log", "linear"):
        raise ValueError(f"parameterisation must be 'log' or 'linear'; got {parameterisation!r}.")
    rng = np.random.default_rng(seed)
    w_true = rng.standard_normal(d)
    A, A_val = rng.standard_normal((n_train, d)), rng.standard_normal((n_val, d))
    b = A @ w_true + noise * rng.standard_normal(n_train)
    b_val = A_val @ w_true + noise * rng.standard_normal(n_val)
    lam, loss, interior, loss_at = _ridge_reference(A, b, A_val, b_val)
    log = parameterisation == "log"

    def upper(x, w):
        residual = A_val @ w - b_val
        return 0.5 * residual @ residual / n_val, np.zeros(1), A_val.T @ residual / n_val

    def lower(x, w):
        weight = np.exp(x[0]) if log else x[0]
        residual = A @ w - b
        value = 0.5 * residual @ residual + 0.5 * weight * (w @ w)
        return value, np.array([0.5 * weight * (w @ w)]) if log else np.array(
            [0.5 * (w @ w)]), A.T @ residual + weight * w

    w_star = np.linalg.solve(A.T @ A + lam * np.eye(d), A.T @ b)
    solution = {"lam": lam, "fun": loss, "interior": interior, "y": w_star,
                "x": np.array([np.log(lam) if log else lam])}
    return BilevelProblem(upper, lower, np.array([0.0 if log else 1.0]), np.zeros(d),
                          x_bounds=None if log else (0.0, np.inf),
                          name=f"ridge tuning (d={d}, n_train={n_train}, n_val={n_val}, "
                               f"noise={noise}, seed={seed}, x={'log lam' if log else 'lam'})",
                          solution=solution, extra={"loss_at": loss_at, "train": (A, b),
                                                    "val": (A_val, b_val)})


def _logistic_lower_solve(lam, design, tol=1e-10, maxiter=100):
    """``argmin_w sum_i log(1 + exp(-design_i w)) + lam/2 ||w||^2`` by Newton with backtracking
    (strongly convex for ``lam > 0``)."""
    w = np.zeros(design.shape[1])

    def value_gradient(v):
        margin = design @ v
        return (np.sum(np.logaddexp(0.0, -margin)) + 0.5 * lam * v @ v,
                lam * v - design.T @ expit(-margin), margin)

    value, gradient, margin = value_gradient(w)
    for _ in range(maxiter):
        if np.abs(gradient).max() <= tol * (1.0 + np.abs(w).max()):
            break
        p = expit(margin)
        hessian = (design.T * (p * (1 - p))) @ design + lam * np.eye(w.size)
        step = np.linalg.solve(hessian, -gradient)
        if np.abs(step).max() <= 1e-12 * (1.0 + np.abs(w).max()):
            break  # at round-off level: no line search can decrease the value any more
        scale = 1.0
        for _ in range(50):
            candidate = value_gradient(w + scale * step)
            if candidate[0] <= value + 1e-4 * scale * gradient @ step:
                break
            scale *= 0.5
        w = w + scale * step
        value, gradient, margin = candidate
    return w


def logistic_tuning(X, labels, *, seed=0, n_train=300, n_val=300, parameterisation="log"):
    """Tune the L2 weight of logistic regression on validation data (a LIBSVM set).

    With a random split (seed) into ``n_train`` training and ``n_val`` validation rows and
    ``a_i = t_i z_i``::

        lower:  min_w  sum_{i in train} log(1 + exp(-a_i^T w)) + lam/2 ||w||^2
        upper:  1/n_val sum_{j in val} log(1 + exp(-a_j^T w))

    with ``lam = exp(x)`` (``"log"``, free) or ``lam = x`` (``"linear"``, ``x >= 0``), cold start
    ``w = 0``, ``lam = 1``. The reference solves the lower level exactly (Newton) on a grid of 41
    points over ``log10 lam in [-4, 4]``, then runs a bounded scalar search in the best cell.

    Parameters
    ----------
    X : array_like or sparse, shape (samples, features)
    labels : array_like, shape (samples,)
        Labels in {-1, +1}.
    seed : int
        Seed of the split.
    n_train, n_val : int
        Split sizes.
    parameterisation : {"log", "linear"}

    Returns
    -------
    BilevelProblem
        ``solution`` holds the reference ``lam``, ``fun``, ``interior``; ``extra["loss_at"]``
        the validation loss at the exact lower-level solution for any ``lam``.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.problems.bilevel_zoo import logistic_tuning
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3)); labels = np.sign(X[:, 0] + 0.5 * rng.normal(size=60))
    >>> problem = logistic_tuning(X, labels, n_train=30, n_val=30)
    >>> problem.y0.shape
    (3,)
    """
    from scipy.optimize import minimize_scalar

    if parameterisation not in ("log", "linear"):
        raise ValueError(f"parameterisation must be 'log' or 'linear'; got {parameterisation!r}.")
    X = X.toarray() if hasattr(X, "toarray") else np.asarray(X, dtype=float)
    labels = np.asarray(labels, dtype=float)
    order = np.random.default_rng(seed).permutation(X.shape[0])
    train, val = order[:n_train], order[n_train:n_train + n_val]
    design, design_val = labels[train, None] * X[train], labels[val, None] * X[val]
    log = parameterisation == "log"

    def loss_at(lam):
        return float(np.mean(np.logaddexp(0.0, -design_val @ _logistic_lower_solve(lam, design))))

    exponents = np.linspace(-4.0, 4.0, 41)
    losses = np.array([loss_at(10.0 ** e) for e in exponents])
    best = int(np.argmin(losses))
    lam, interior = 10.0 ** exponents[best], 0 < best < exponents.size - 1
    if interior:
        search = minimize_scalar(lambda e: loss_at(10.0 ** e), method="bounded",
                                 bounds=exponents[[best - 1, best + 1]], options={"xatol": 1e-9})
        lam = 10.0 ** search.x
        minima = np.flatnonzero((losses[1:-1] < losses[:-2]) & (losses[1:-1] < losses[2:]))
        interior = minima.size == 1

    def upper(x, w):
        margin = design_val @ w
        return (float(np.mean(np.logaddexp(0.0, -margin))), np.zeros(1),
                -design_val.T @ expit(-margin) / val.size)

    def lower(x, w):
        weight = np.exp(x[0]) if log else x[0]
        margin = design @ w
        value = float(np.sum(np.logaddexp(0.0, -margin))) + 0.5 * weight * (w @ w)
        return (value, np.array([0.5 * (w @ w) * (weight if log else 1.0)]),
                weight * w - design.T @ expit(-margin))

    solution = {"lam": lam, "fun": loss_at(lam), "interior": interior,
                "x": np.array([np.log(lam) if log else lam])}
    return BilevelProblem(upper, lower, np.array([0.0 if log else 1.0]), np.zeros(X.shape[1]),
                          x_bounds=None if log else (0.0, np.inf),
                          name=f"logistic L2 tuning (n_train={n_train}, n_val={n_val}, "
                               f"seed={seed}, x={'log lam' if log else 'lam'})",
                          solution=solution, extra={"loss_at": loss_at})
