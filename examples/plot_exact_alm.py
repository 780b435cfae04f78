"""
Equality-constrained optimization with the exact augmented Lagrangian
=====================================================================

``numopt.minimize(method="exact-alm")`` solves ``min f(x) s.t. c(x) = 0``. Each iteration solves the
Newton-KKT system of the Lagrangian with a randomized sketching solver (or a direct factorisation)
only as accurately as needed for a descent direction of the exact augmented Lagrangian merit, and
adapts the penalties when the direction is not good enough.

Here it recovers the smallest eigenvector of the 1-D Laplacian as ``min x^T A x`` on the unit
sphere, with each inner solver, and plots the KKT residual per iteration.
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import NonlinearConstraint

from numopt import minimize

n = 30
A = 2.0 * np.eye(n) - np.eye(n, k=1) - np.eye(n, k=-1)
sphere = NonlinearConstraint(lambda x: x @ x, 1.0, 1.0, jac=lambda x: 2.0 * x[None, :],
                             hess=lambda x, v: 2.0 * v[0] * np.eye(n))
x0 = np.linspace(1.0, 2.0, n)
x0 /= np.linalg.norm(x0)
exact = 2.0 - 2.0 * np.cos(np.pi / (n + 1))  # smallest eigenvalue, closed form

fig, ax = plt.subplots(figsize=(6, 4))
for inner_solver in ("direct", "kaczmarz", "gaussian", "block"):
    res = minimize(lambda x: x @ A @ x, x0, jac=lambda x: 2.0 * A @ x, hess=lambda x: 2.0 * A,
                   constraints=sphere, method="exact-alm",
                   options={"inner_solver": inner_solver, "seed": 0})
    print(f"{inner_solver:9s} nit={res.nit:2d} sketch steps={res.n_sketch:7d} "
          f"|f - lambda_min|={abs(res.fun - exact):.1e} penalties={res.penalties}")
    ax.semilogy(res.history["nit"], res.history["kkt_residual"], marker="o",
                label=f"{inner_solver} ({res.n_sketch} sketch steps)")
ax.set_xlabel("iteration")
ax.set_ylabel("KKT residual ||(grad L, c)||")
ax.set_title("min x^T A x on the unit sphere (n = 30)")
ax.legend()
fig.tight_layout()
plt.show()
