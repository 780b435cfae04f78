"""
Gradient-normalized Newton against SciPy on logistic regression
===============================================================

``minimize(method="gn-newton")`` on L2-regularised logistic regression (``reg = 1/n``) for the
LIBSVM *mushrooms* data set, which ships with numopt. We plot the gradient norm against wall-clock
time for gn-newton (exact Hessian on the fused numba oracle, and a Hessian subsampled on 30 % of
the rows) and for SciPy's trust-exact, trust-ncg and L-BFGS-B on the same objective.
gn-newton's history already records ``time`` and ``grad_norm``; for SciPy a callback records them.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import minimize as scipy_minimize

import numopt
from numopt.problems import make_logistic

problem = make_logistic("mushrooms")
x0 = problem.x0
problem.fun_and_jac(x0)  # compile the numba kernels before timing
problem.hess(x0)

fig, ax = plt.subplots(figsize=(6, 4))
for label, hess in (("gn-newton (exact H)", problem.hess),
                    ("gn-newton (subsampled H, 30 %)", "subsampled")):
    res = numopt.minimize(problem.fun_and_jac, x0, jac=True, hess=hess, method="gn-newton",
                          options={"gtol": 1e-8, "subsample": 0.3, "seed": 0})
    ax.semilogy(res.history["time"], res.history["grad_norm"], "o-", ms=3, label=label)
    print(f"{label:32s} nit={res.nit:4d} nfev={res.nfev:4d} |g|={res.history['grad_norm'][-1]:.1e}"
          f" time={res.time:.3f} s")



def make_recorder(trace):
    """A SciPy callback appending (time since trace["start"], ||grad||) to ``trace``."""
    def record(intermediate_result):
        trace["times"].append(time.perf_counter() - trace["start"])
        trace["norms"].append(np.linalg.norm(problem.jac(intermediate_result.x)))
    return record


for method in ("trust-exact", "trust-ncg", "L-BFGS-B"):
    trace = {"start": 0.0, "times": [], "norms": []}
    record = make_recorder(trace)
    kwargs = {"hess": problem.hess} if method == "trust-exact" else \
        {"hessp": problem.hessp} if method == "trust-ncg" else {}
    trace["start"] = time.perf_counter()
    res = scipy_minimize(problem.fun, x0, jac=problem.jac, method=method, callback=record,
                         options={"gtol": 1e-9, "maxiter": 2000}, **kwargs)
    ax.semilogy(trace["times"], trace["norms"], ".-", ms=3, label=f"SciPy {method}")
    print(f"SciPy {method:16s} nit={res.nit:4d} |g|={trace['norms'][-1]:.1e} "
          f"time={trace['times'][-1]:.3f} s")

ax.axhline(1e-8, color="k", lw=0.8, ls="--")
ax.set_xlabel("time [s]")
ax.set_ylabel(r"$\|\nabla f(x_k)\|_2$")
ax.set_title("mushrooms, logistic regression, reg = 1/n")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
