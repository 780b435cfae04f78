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


def iterations_to_tolerance(run, steps, maxiter):
    """Grid-tune a step: ``run(step, budget) -> (x, nit, converged)``; the best ``(step, x, nit)``.

    Steps are tried from the largest down, each with the iteration budget of the best run so far
    (a smaller step cannot win once it needs more), so the search costs a few full runs only.
    Returns ``(None, None, None)`` when no step converges within ``maxiter``.
    """
    best = (None, None, None)
    for step in sorted(steps, reverse=True):
        budget = maxiter if best[2] is None else best[2]
        x, nit, converged = run(step, budget)
        if converged and (best[2] is None or nit < best[2]):
            best = (step, x, nit)
    return best
