"""
numopt.minimize is SciPy's minimize
===================================

Any method that numopt does not register goes to :func:`scipy.optimize.minimize` unchanged, so
existing code keeps working after ``import numopt``. Here BFGS and trust-exact minimise the
Rosenbrock function through ``numopt.minimize``; the legacy ``callback(xk)`` records each iterate
and we plot the distance to the known minimiser ``x* = (1, ..., 1)``.
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import rosen, rosen_der, rosen_hess

import numopt

x0 = np.full(6, -1.0)
fig, ax = plt.subplots(figsize=(6, 4))
for method in ("BFGS", "trust-exact"):
    iterates = []
    res = numopt.minimize(rosen, x0, jac=rosen_der,
                          hess=rosen_hess if method == "trust-exact" else None,
                          method=method, callback=iterates.append, options={"gtol": 1e-10})
    distance = [np.linalg.norm(x - 1.0) for x in iterates]
    ax.semilogy(np.arange(1, len(distance) + 1), np.maximum(distance, 1e-16), label=method)
    print(f"{method:12s} success={res.success} nit={res.nit} |x - x*| = {distance[-1]:.1e}")
ax.set_xlabel("iteration")
ax.set_ylabel(r"$\|x_k - x^\star\|_2$")
ax.set_title("Rosenbrock, n = 6")
ax.legend()
plt.show()
