"""Dense O(nm) passes of entropic OT in log domain (reference implementation).

Convention (POT's): potentials ``f`` (n,), ``g`` (m,), cost ``C`` (n, m), temperature ``reg``;
the plan is ``P_ij = exp((f_i + g_j - C_ij) / reg)``.
"""

import numpy as np

from numopt._core.validation import array_namespace


def _scaled_exponent(f, g, C, reg):
    return (f[:, None] + g[None, :] - C) / reg


def _logsumexp(values, axis, xp):
    peak = values.max(axis=axis, keepdims=True)
    # A row of -inf (zero mass) must give -inf, not NaN.
    peak = xp.where(xp.isfinite(peak), peak, 0.0)
    with np.errstate(divide="ignore"):  # log(0) = -inf is the right answer for zero mass
        return (xp.log(xp.exp(values - peak).sum(axis=axis, keepdims=True)) + peak).squeeze(axis)


def logsumexp_rows(f, g, C, reg):
    """``out_i = log sum_j exp((f_i + g_j - C_ij) / reg)``, shape (n,)."""
    xp = array_namespace(C)
    return _logsumexp(_scaled_exponent(f, g, C, reg), 1, xp)


def logsumexp_cols(f, g, C, reg):
    """``out_j = log sum_i exp((f_i + g_j - C_ij) / reg)``, shape (m,)."""
    xp = array_namespace(C)
    return _logsumexp(_scaled_exponent(f, g, C, reg), 0, xp)


def plan_with_marginals(f, g, C, reg):
    """The plan ``P`` with its row sums ``P 1`` and column sums ``P^T 1`` (one pass)."""
    plan = array_namespace(C).exp(_scaled_exponent(f, g, C, reg))
    return plan, plan.sum(axis=1), plan.sum(axis=0)
