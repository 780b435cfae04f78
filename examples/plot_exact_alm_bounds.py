"""
Bounds and inequalities with the exact augmented Lagrangian
===========================================================

``numopt.minimize(method="exact-alm")`` accepts ``bounds`` and inequality constraints: each step
is a Newton step on the active set ``{i : h_i(x) >= -epsilon mu_i}`` of an exact augmented
Lagrangian, solved by the sketching inner solvers.

Here a bound-constrained least-squares problem, ``min ||A x - b||^2`` with ``0 <= x <= 1``, is
solved and compared with SciPy's ``lsq_linear`` (an independent bound-constrained solver); the
plot shows the KKT residual per iteration and the bound multipliers, positive on the variables
at their upper bound and negative on those at their lower bound.
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import lsq_linear

from numopt import minimize

rng = np.random.default_rng(0)
A = rng.standard_normal((40, 12))
b = A @ np.linspace(-0.5, 1.5, 12) + 0.1 * rng.standard_normal(40)

res = minimize(lambda x: np.sum((A @ x - b) ** 2), np.full(12, 0.5),
               jac=lambda x: 2.0 * A.T @ (A @ x - b), hess=lambda x: 2.0 * A.T @ A,
               bounds=[(0.0, 1.0)] * 12, method="exact-alm", options={"seed": 0})
reference = lsq_linear(A, b, bounds=(0.0, 1.0), tol=1e-12)
print(f"status {res.status}, nit {res.nit}, max |x - x_lsq_linear| = "
      f"{np.max(np.abs(res.x - reference.x)):.1e}")

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
left.semilogy(res.history["nit"], res.history["kkt_residual"], marker="o")
left.set_xlabel("iteration")
left.set_ylabel("KKT residual")
right.bar(np.arange(12), res.bound_multipliers, color="tab:orange", label="bound multiplier z")
right.plot(np.arange(12), res.x, "ko", label="x")
right.set_xlabel("variable")
right.legend()
fig.tight_layout()
plt.show()
