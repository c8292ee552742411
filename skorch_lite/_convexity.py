"""What can be checked of a callable loss's shape after a fit: pure torch, no scikit-learn.

A callable loss must be convex and bounded below for its fit to be the
minimum (:doc:`/user_guide/losses`). Neither can be proved from samples,
but two failures show at the fitted model and are cheap to see there: an
objective that kept falling by orders of magnitude (a loss linear in
``y_pred`` drove the intercept to -4e20 and its rounding passed for a
small gradient), and a Hessian with a negative diagonal entry (a concave
loss's least-squares start has a zero gradient, a maximum that counted as
converged).
"""

import torch

from ._data import affine, column_moments
from ._reduce import LOCAL

# How far below the intercept-only model's objective (in units of its terms'
# size) a fit must fall to be taken for a loss with no minimum.
UNBOUNDED_DROP = 1e8


def unbounded_below(end, start, size):
    """Whether the objective ``end`` fell implausibly far below ``start``, the null model's.

    ``size`` is the mean magnitude of the loss's terms at the null model. A
    loss with a minimum ends within a few such sizes of the null model's
    value; one that is unbounded below keeps falling until the
    coefficients' rounding stops it.
    """
    return not end >= start - UNBOUNDED_DROP * max(size, abs(start))


def downward_curvature(X, Y, w, datafit, coef, intercept, alpha, fit_intercept, reducer=LOCAL):
    """Where the objective curves downward at ``(coef, intercept)``: "the intercept", a feature's index, or None.

    The Hessian of ``sum_i w_i loss(raw_i) + alpha ||coef||^2`` has the
    diagonal ``sum_i w_i loss''(raw_i) x_ij^2 + 2 alpha`` (and ``sum_i w_i
    loss''`` for the intercept); a negative entry, beyond the rounding of
    its terms, means no minimum is there.
    """
    second = datafit.second_derivative(affine(X, coef.T, intercept), Y, [])
    if second is None:
        return None  # linear in pieces: no curvature to judge
    second = second[:, 0].double()
    w = w.double()
    rounding = 4 * torch.finfo(Y.dtype).eps ** 0.5
    signed, size = w * second, w * second.abs()
    if fit_intercept and reducer.sum(signed.sum()) < -rounding * reducer.sum(size.sum()):
        return "the intercept"
    diagonal = reducer.sum(column_moments(X, signed, float64=True)[1]) + 2 * alpha
    scale = reducer.sum(column_moments(X, size, float64=True)[1]) + 2 * alpha
    below = torch.nonzero(diagonal < -rounding * scale)
    return int(below[0, 0]) if len(below) else None
