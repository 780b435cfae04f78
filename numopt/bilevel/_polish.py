"""KKT polish for LV-HBA: remove the O(1/c_k) penalty bias once the active set is known.

Near a solution, LV-HBA's iterate identifies which lower-level rows are active. With that active
set ``A`` fixed (and the box components at a bound fixed), ``y in S(x)`` is equivalent (``f(x, .)``
convex, a constraint qualification) to the lower-level KKT equations

    e(x, y, lambda_A) = [ grad_y f(x, y) + J_y G_A(x, y)^T lambda_A ;  G_A(x, y) ] = 0,

with ``lambda_A >= 0`` on inequality rows, ``G_I(x, y) <= 0`` and ``lambda_I = 0``. The bilevel
problem becomes the equality-constrained NLP ``min F(x, y) s.t. e = 0``, solved here by Newton's
method on its KKT system (an SQP without inequality handling):

    [ H   J^T ] [ d  ]     [ grad F ]
    [ J   0   ] [ mu ] = - [ e      ]

``H`` is the Hessian of ``F`` and ``J`` the Jacobian of ``e``, both by central differences of
gradients (first derivatives only, as everywhere in LV-HBA); the curvature of ``e`` is left out of
``H``, which is exact when ``f`` is quadratic and ``G`` linear and costs linear instead of
quadratic convergence otherwise. The system gets a tiny primal-dual regularisation and a
symmetric indefinite (LDL^T) solve, so repeated equations (the paper's toy has ``n`` copies of
``1 + lambda = 0``) are harmless.

The result is accepted only when the Newton iteration converged, the lower-level KKT conditions
hold (stationarity, feasibility, multiplier signs, inactive rows feasible) and the point moved less
than 25% (relative); a wrong active-set guess is rejected rather than returned.
"""

import numpy as np

__all__ = ["polish_kkt"]

# A row counts as active when its multiplier or its value is this close to zero (relative to the
# largest multiplier / the size of the point); the same rule fixes box components at a bound.
_ACTIVE_TOL = 1e-6
_MAX_RELATIVE_MOVE = 0.25
_MAX_NEWTON_STEPS = 20


def _dense(matrix):
    return matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix)


def _central_jacobian(function, point, free):
    """Jacobian of ``function`` at ``point`` in the ``free`` coordinates by central differences."""
    columns = []
    for j in np.flatnonzero(free):
        step = 1e-6 * (1.0 + abs(point[j]))
        plus, minus = point.copy(), point.copy()
        plus[j] += step
        minus[j] -= step
        columns.append((function(plus) - function(minus)) / (2 * step))
    return np.column_stack(columns) if columns else np.zeros((function(point).shape[0], 0))


def polish_kkt(upper_at, lower_at, rows_at, rows, x, y, multipliers, x_lower, x_upper, y_lower,
               y_upper):
    """Polish ``(x, y, multipliers)`` on the lower-level KKT system with a fixed active set.

    Parameters
    ----------
    upper_at, lower_at : callable
        ``(x, y) -> (value, grad_x, grad_y)`` (checked, counted evaluations).
    rows_at : callable
        ``(x, y) -> (G, J_x, J_y)`` of the coupled rows.
    rows : CoupledConstraints
        Row metadata (``is_equality``).
    x, y, multipliers : ndarray
        LV-HBA's iterate and multipliers.
    x_lower, x_upper, y_lower, y_upper : ndarray
        Boxes.

    Returns
    -------
    dict
        ``accepted`` (bool), ``message`` (why), and when accepted ``x``, ``y``, ``multipliers``.
    """
    from scipy.linalg import solve

    sparse_rows_at = rows_at

    def rows_at(xv, yv):  # dense Jacobians: the polish is for small problems
        g, jx, jy = sparse_rows_at(xv, yv)
        return g, _dense(jx), _dense(jy)

    n = x.shape[0]
    w0 = np.concatenate([x, y])
    lower_box, upper_box = np.concatenate([x_lower, y_lower]), np.concatenate([x_upper, y_upper])
    values, _, _ = rows_at(x, y)
    is_eq = np.asarray(rows.is_equality, dtype=bool)
    size_scale = 1.0 + float(np.abs(w0).max())
    multiplier_scale = 1.0 + (float(np.abs(multipliers).max()) if multipliers.size else 0.0)
    active = is_eq | (multipliers > _ACTIVE_TOL * multiplier_scale) | (
        values > -_ACTIVE_TOL * size_scale)
    # Components at a bound stay fixed; the stationarity rows of fixed y carry a bound multiplier.
    free = (w0 > lower_box + _ACTIVE_TOL * size_scale) & (w0 < upper_box - _ACTIVE_TOL * size_scale)
    free_y = free[n:]
    n_free = int(free.sum())

    def equations(w, lam_active, active):
        _, _, gy = lower_at(w[:n], w[n:])
        g, _, jy = rows_at(w[:n], w[n:])
        return np.concatenate([(gy + jy[active].T @ lam_active)[free_y], g[active]])

    def upper_gradient(w):
        _, gx, gy = upper_at(w[:n], w[n:])
        return np.concatenate([gx, gy])

    def newton(active):
        """Newton on the KKT system of the NLP with ``active`` fixed; ``(w, lam_active, steps)``
        with ``steps = None`` when it did not converge, or an error message."""
        n_active = int(active.sum())
        w, lam_active = w0.copy(), multipliers[active].astype(float)
        lam_active[~is_eq[active]] = np.maximum(lam_active[~is_eq[active]], 0.0)
        for newton_steps in range(1, _MAX_NEWTON_STEPS + 1):
            residual = equations(w, lam_active, active)
            gradient = upper_gradient(w)[free]
            jacobian_w = _central_jacobian(lambda v, lam=lam_active: equations(v, lam, active),
                                           w, free)
            _, _, jy = rows_at(w[:n], w[n:])
            jacobian_lambda = np.vstack([jy[active][:, free_y].T,
                                         np.zeros((n_active, n_active))])
            hessian = _central_jacobian(upper_gradient, w, free)[free]
            hessian = 0.5 * (hessian + hessian.T)
            n_eq = residual.shape[0]
            size = n_free + n_active
            kkt = np.zeros((size + n_eq, size + n_eq))
            kkt[:n_free, :n_free] = hessian
            kkt[:size, size:] = np.hstack([jacobian_w, jacobian_lambda]).T
            kkt[size:, :size] = np.hstack([jacobian_w, jacobian_lambda])
            rhs = -np.concatenate([gradient, np.zeros(n_active), residual])
            if not np.all(np.isfinite(kkt)) or not np.all(np.isfinite(rhs)):
                return "rejected: non-finite KKT system"
            # A tiny primal-dual regularisation makes the symmetric indefinite system
            # non-singular when equations repeat or multipliers are not unique; the Newton loop
            # refines the rest.
            regularisation = 1e-12 * (1.0 + float(np.abs(kkt).max()))
            diagonal = np.arange(size + n_eq)
            kkt[diagonal, diagonal] += np.where(diagonal < size, regularisation, -regularisation)
            try:
                direction = solve(kkt, rhs, assume_a="sym")
            except (np.linalg.LinAlgError, ValueError):
                return "rejected: singular KKT system"
            w[free] += direction[:n_free]
            lam_active += direction[n_free:size]
            if np.linalg.norm(direction[:size]) <= 1e-10 * (1.0 + np.linalg.norm(w)):
                return w, lam_active, newton_steps
        return w, lam_active, None

    # An active row whose multiplier comes out negative was a wrong guess (a degenerate row with
    # zero multiplier and zero value looks active): drop it and solve again, as an active-set
    # method would.
    for _ in range(3):
        outcome = newton(active)
        if isinstance(outcome, str):
            return {"accepted": False, "message": outcome}
        w, lam_active, newton_steps = outcome
        negative = np.zeros_like(active)
        negative[active] = (lam_active < -1e-8 * multiplier_scale) & ~is_eq[active]
        if newton_steps is None or not negative.any():
            break
        active = active & ~negative
    converged = newton_steps is not None
    n_active = int(active.sum())
    inequality_active = active & ~is_eq

    lam = np.zeros_like(multipliers, dtype=float)
    lam[active] = lam_active
    xv, yv = w[:n], w[n:]
    g, _, _ = rows_at(xv, yv)
    _, _, gy = lower_at(xv, yv)
    stationarity = float(np.abs(equations(w, lam_active, active)[:int(free_y.sum())]).max(
        initial=0.0))
    violation = float(np.max(np.where(active, np.abs(g), np.maximum(g, 0.0)), initial=0.0))
    violation = max(violation, float(np.max(np.maximum(lower_box - w, w - upper_box))))
    wrong_sign = float(np.max(-lam[inequality_active], initial=0.0))
    move = float(np.linalg.norm(w - w0)) / (1.0 + float(np.linalg.norm(w0)))
    kkt_scale = 1.0 + float(np.abs(gy).max())
    if not converged:
        return {"accepted": False, "message": f"rejected: Newton on the KKT system did not "
                                              f"converge in {_MAX_NEWTON_STEPS} steps"}
    if stationarity > 1e-7 * kkt_scale or violation > 1e-8 * size_scale \
            or wrong_sign > 1e-8 * multiplier_scale:
        return {"accepted": False, "message": f"rejected: lower-level KKT not met (stationarity "
                                              f"{stationarity:.2e}, violation {violation:.2e}, "
                                              f"negative multiplier {wrong_sign:.2e})"}
    if move > _MAX_RELATIVE_MOVE:
        return {"accepted": False, "message": f"rejected: the polish moved the point by "
                                              f"{move:.1%} (relative), more than "
                                              f"{_MAX_RELATIVE_MOVE:.0%}"}
    return {"accepted": True, "x": xv, "y": yv, "multipliers": lam,
            "message": f"accepted: {newton_steps} Newton steps, {n_active} active rows, "
                       f"lower-level KKT residual {stationarity:.1e}, relative move {move:.1e}"}
