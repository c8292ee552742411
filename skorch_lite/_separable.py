"""The classifier's warning for separable classes: no optimum, or one out of reach.

With ``alpha=0`` separable classes have no optimum; with a tiny ``alpha``
(for X's scale: columns of large values are all but unpenalized) the
optimum lies at large coefficients, where the log loss is nearly flat.
Either way a fit that separates the rows and could still gain by scaling
its model up says so, whatever the solver and dtype: in float32 the losses
of the rows fitted with near certainty fall below the dtype's rounding,
and a fit met its stopping rule at that precision with ``coef_`` 1.5
times larger 4.6 times lower on the objective (wine, ``alpha=1e-9``).
"""

import math
import warnings

import torch
from sklearn.exceptions import ConvergenceWarning

from ._data import affine
from ._inputs import to_numpy
from ._logistic import row_losses
from ._reduce import LOCAL

# The model is scaled by these factors to see whether the objective drops:
# a shortfall of a separable fit (up) or an overshoot (down).
RAY_FACTORS = (0.8, 1.25, 2.0)


def warn_if_separable(estimator, result, X, target, w, reducer=None):
    """Warn when separable classes explain the fit; True if it did.

    It did when the fitted model separates the rows and ``alpha=0``, or it
    did not converge, or it did but a multiple of the model is lower
    (:func:`improves_along_ray`).

    ``w`` and ``estimator.alpha`` are the fit's (unscaled) weights and
    penalty. Only a fit that ran its course is judged: not ``partial_fit``
    (one chunk of a stream), early stopping (the validation rows decide),
    an interrupt or a callback's stop.
    """
    if (estimator.early_stopping or result.interrupted or result.stopped_by_callback):
        return False
    reducer = reducer or LOCAL
    with torch.no_grad():
        coef = torch.as_tensor(to_numpy(estimator.coef_)).to(X.device, X.dtype)
        intercept = torch.as_tensor(to_numpy(estimator.intercept_)).to(X.device, X.dtype)
        raw = affine(X, coef.T, intercept)
        if not separates(raw, target, w, reducer):
            return False
        # A converged fit with alpha > 0 is at its optimum, unless it met the
        # stopping rule only at the floors of its dtype's precision.
        if estimator.alpha > 0 and result.converged and not improves_along_ray(
                raw, target, w, estimator.alpha, coef, X.dtype, estimator.tol, reducer):
            return False
    warnings.warn(_message(estimator, result, X.dtype), ConvergenceWarning)
    return True


def separates(raw, target, w, reducer):
    """Whether the raw predictions put every row of positive weight strictly on its side."""
    if raw.shape[1] == 1:
        margin = torch.where(target > 0.5, raw[:, 0], -raw[:, 0])
    else:
        true = raw.gather(1, target[:, None])[:, 0]
        others = raw.scatter(1, target[:, None], -torch.inf).amax(1)
        margin = true - others
    wrong = ((margin <= 0) & (w > 0)).sum().to(raw.dtype).reshape(1)
    # Every process's rows: each takes the same decision.
    return float(reducer.sum(wrong)) == 0


def improves_along_ray(raw, target, w, alpha, coef, dtype, tol, reducer):
    """Whether scaling the model (coefficients and intercept) lowers the objective.

    At the optimum no factor does (the objective is convex along the ray,
    with its minimum at 1). The losses are taken in float64 from the raw
    predictions, which a float32 fit rounds at ``eps * |raw|``: a drop
    larger than ``sqrt(eps)`` of the objective (and than ``tol``) is no
    rounding.
    """
    raw, w = raw.double(), w.double()
    target = target.double() if raw.shape[1] == 1 else target
    squares = float((coef.double() ** 2).sum())
    total = float(reducer.sum(w.sum()))

    def objective(factor):
        data = float(reducer.sum(row_losses(factor * raw, target, raw.shape[1] == 1) @ w))
        return (data + alpha * factor**2 * squares) / total

    here = objective(1.0)
    margin = max(tol, math.sqrt(torch.finfo(dtype).eps)) * here
    return any(objective(factor) < here - margin for factor in RAY_FACTORS)


def _message(estimator, result, dtype):
    name = type(estimator).__name__
    if estimator.alpha == 0:
        return (
            f"{name} stopped at iteration {result.n_iter}: with alpha=0 the classes of "
            "the training data are separable, so the log loss has no minimum (it "
            "decreases towards 0 as the coefficients grow without bound). The "
            "coefficients are finite but depend on where training stopped (solver, "
            "max_iter, tol); set alpha > 0."
        )
    where = ("before converging" if not result.converged
             else "short of the optimum (a multiple of coef_ and intercept_ has a lower "
             "objective)")
    reason = (
        f"{name} stopped at iteration {result.n_iter} {where} (tol={estimator.tol}): the "
        f"classes of the training data are separable and alpha={estimator.alpha} is small "
        "for X's scale (the penalty is on coef_, in X's units: columns of large values are "
        "all but unpenalized), so the optimum lies at large coefficients, where the log "
        "loss is nearly flat"
    )
    if dtype == torch.float32:
        return (reason + ", below what float32 resolves: the losses of the rows fitted with "
                "near certainty are under its rounding. Pass float64 data, raise alpha, or "
                "standardize X.")
    more = ", or raise max_iter" if result.n_iter >= estimator.max_iter else ""
    return reason + f". Raise alpha or standardize X{more}."
