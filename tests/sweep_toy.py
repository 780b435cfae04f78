"""A tiny benchmark for tests/test_sweep.py: SciPy's methods on the Rosenbrock function.

The solver ``"spin"`` never returns and holds the interpreter, standing in for compiled code that
ignores signals; the sweep's hard limit must kill it.
"""

import numpy as np
from scipy.optimize import minimize, rosen, rosen_der


def load(problem, log=None):
    """``"rosen-<n>"`` -> its starting point, the classical (-1.2, 1, -1.2, ...)."""
    n = int(problem.split("-")[1])
    return {"name": problem, "x0": np.resize([-1.2, 1.0], n), "log": log}


def run(loaded, solver, log=None):
    """Run one solver; append ``problem solver`` to ``log`` so that tests can count runs."""
    if log is not None:
        with open(log, "a") as runs:
            runs.write(f"{loaded['name']} {solver}\n")
    if solver == "spin":
        while True:
            pass
    result = minimize(rosen, loaded["x0"], jac=rosen_der, method=solver,
                      options={"maxiter": 200})
    return {"nit": int(result.nit), "fun": float(result.fun), "success": bool(result.success)}
