"""Uncertified baselines for gradient play: extragradient and a grid-tuned plain step.

Used by the registry examples (as peers) and by ``benchmarks/bench_sgn.py``.
"""

import numpy as np

__all__ = ["extragradient", "iterations_to_tolerance"]


def extragradient(game, x0, step, *, tol=1e-8, maxiter=10000):
    """Korpelevich's extragradient ``y = P(x - h F(x))``, ``x+ = P(x - h F(y))``.

    Returns ``(x, nit, converged)``; stops when ``||x+ - x|| / h <= tol`` or on overflow.
    """
    x = game.project(np.asarray(x0, dtype=float))
    for nit in range(1, maxiter + 1):
        half = game.project(x - step * game.pseudo_gradient(x))
        candidate = game.project(x - step * game.pseudo_gradient(half))
        if not np.all(np.isfinite(candidate)):
            return x, nit, False
        residual = np.linalg.norm(candidate - x) / step
        x = candidate
        if residual <= tol:
            return x, nit, True
    return x, maxiter, False


def iterations_to_tolerance(run, steps):
    """Grid-tune a step: ``run(step) -> (x, nit, converged)``; the best converged ``(step, x, nit)``.

    Returns ``(None, None, None)`` when no step in ``steps`` converges.
    """
    best = (None, None, None)
    for step in steps:
        x, nit, converged = run(step)
        if converged and (best[2] is None or nit < best[2]):
            best = (step, x, nit)
    return best
