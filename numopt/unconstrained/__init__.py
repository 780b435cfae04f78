"""Unconstrained minimization: gradient-normalized regularized Newton (``method="gn-newton"``).

:func:`numopt.minimize` dispatches ``method="gn-newton"`` to
:func:`numopt.unconstrained.gn_newton._minimize_gn_newton`; the Hessian sources and approximations
live in :mod:`numopt.unconstrained.hessian_approx`.
"""
