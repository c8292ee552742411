"""The objectives of :class:`TorchLinearRegressor`'s losses in plain numpy, and their scipy minima.

The estimator minimizes, over ``W`` (k, p), ``b`` (k,) and, for "huber", a
scale ``sigma`` (k,),

    J = (sum_i s_i sum_t l(y_it, mu_it) + alpha ||W||_F^2) / (k sum_i s_i),

with ``mu = X @ W.T + b`` (identity link) or ``exp(X @ W.T + b)`` (log link:
"poisson", "gamma"). This module writes ``l`` and ``J`` a second time,
independently of ``skorch_lite`` (in numpy; torch only in the two callables
handed to the estimator), and minimizes ``J`` with
scipy: L-BFGS-B with analytic gradients for the smooth losses, a linear
program (HiGHS) for "absolute_error" and "quantile". The reference tests
check these minima against scikit-learn's estimators; the estimator's tests
then compare with these functions.

Besides the six built-in names, ``"log_cosh"`` is the numpy mirror of the
callable loss :func:`log_cosh_torch` (``estimator_loss`` maps the name to
what the estimator is given).

The module is imported as a plain module (``import _loss_objectives``), as
``strategies`` is.

Examples
--------
>>> import numpy as np
>>> from _loss_objectives import objective, reference_fit
>>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([1.0, 3.0, 5.0])
>>> float(objective("absolute_error", X, y, np.array([2.0]), 1.0))
0.0
>>> fit = reference_fit("poisson", X, y)
>>> bool(fit.value < objective("poisson", X, y, np.zeros(1), np.log(3.0)))
True
"""

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linprog, minimize
from scipy.special import xlogy

LOSSES = ("squared_error", "huber", "absolute_error", "quantile", "poisson", "gamma")
# Every case the tests run: the built-in losses and one callable.
CASES = LOSSES + ("log_cosh",)
LOG_LINK = frozenset({"poisson", "gamma"})
NON_SMOOTH = frozenset({"absolute_error", "quantile"})
SMOOTH = tuple(case for case in CASES if case not in NON_SMOOTH)


def log_cosh_torch(y_pred, y_true):
    """The callable loss of the tests, as the issue writes it (identity link)."""
    return torch.log(torch.cosh(y_pred - y_true))


def squared_error_torch(y_pred, y_true):
    return (y_pred - y_true) ** 2


def estimator_loss(case):
    """What ``TorchLinearRegressor(loss=...)`` is given for a case of :data:`CASES`."""
    return log_cosh_torch if case == "log_cosh" else case


def loss_parameters(case, *, epsilon=1.35, quantile=0.5):
    """The estimator's keyword arguments for ``case`` (``loss``, and ``epsilon`` / ``quantile``)."""
    params = {"loss": estimator_loss(case)}
    if case == "huber":
        params["epsilon"] = epsilon
    if case == "quantile":
        params["quantile"] = quantile
    return params


# ----------------------------------------------------------------- pieces


def _as_2d(y):
    y = np.asarray(y, dtype=np.float64)
    return y.reshape(len(y), -1)


def _weights(sample_weight, n):
    return np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)


def _parameters(coef, intercept, scale, k, p):
    W = np.reshape(np.asarray(coef, dtype=np.float64), (k, p))
    b = np.broadcast_to(np.ravel(np.asarray(intercept, dtype=np.float64)), (k,))
    sigma = None if scale is None else np.broadcast_to(np.ravel(np.asarray(scale, float)), (k,))
    return W, b, sigma


def mean_of_raw(case, raw):
    """The prediction from the linear predictor: the inverse link."""
    return np.exp(raw) if case in LOG_LINK else raw


def _huber(z, epsilon):
    inside = np.abs(z) <= epsilon
    return np.where(inside, z**2, 2 * epsilon * np.abs(z) - epsilon**2)


def unit_loss(case, Y, mu, *, scale=None, epsilon=1.35, quantile=0.5):
    """Elementwise loss ``l(y, mu)`` (shape of ``Y``); ``scale`` (per target) for "huber"."""
    r = Y - mu
    if case == "squared_error":
        return r**2
    if case == "huber":
        return scale * (1.0 + _huber(r / scale, epsilon))
    if case == "absolute_error":
        return np.abs(r)
    if case == "quantile":
        return np.maximum(quantile * r, (quantile - 1.0) * r)
    if case == "poisson":
        return 2.0 * (xlogy(Y, Y / mu) - Y + mu)
    if case == "gamma":
        return 2.0 * (np.log(mu / Y) + Y / mu - 1.0)
    if case == "log_cosh":
        # log(cosh(r)) without overflow: |r| + log(1 + exp(-2|r|)) - log(2).
        a = np.abs(r)
        return a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0)
    raise ValueError(f"unknown loss {case!r}")


def _unit_derivatives(case, Y, raw, *, scale=None, epsilon=1.35):
    """d l / d raw and (for "huber") d l / d sigma, elementwise (smooth losses only)."""
    mu = mean_of_raw(case, raw)
    r = Y - mu
    if case == "squared_error":
        return -2.0 * r, None
    if case == "huber":
        z = r / scale
        dH = np.where(np.abs(z) <= epsilon, 2.0 * z, 2.0 * epsilon * np.sign(z))
        return -dH, 1.0 + _huber(z, epsilon) - z * dH
    if case == "poisson":
        return 2.0 * (mu - Y), None
    if case == "gamma":
        return 2.0 * (1.0 - Y / mu), None
    if case == "log_cosh":
        return -np.tanh(r), None
    raise ValueError(f"loss {case!r} has no gradient")


def objective(case, X, y, coef, intercept, *, scale=None, alpha=0.0, sample_weight=None,
              epsilon=1.35, quantile=0.5):
    """``J`` of the model ``(coef, intercept[, scale])`` on ``(X, y, sample_weight)``.

    ``coef`` of shape (p,) or (k, p), ``intercept`` a float or (k,), ``scale``
    (only for "huber") a float or (k,): the estimator's fitted attributes.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.zeros((2, 1)); y = np.array([1.0, 3.0])
    >>> float(objective("squared_error", X, y, [0.0], 2.0, alpha=1.0))
    1.0
    >>> float(objective("quantile", X, y, [0.0], 3.0, quantile=0.75))  # (0.25 * 2 + 0) / 2
    0.25
    """
    Y = _as_2d(y)
    n, k = Y.shape
    W, b, sigma = _parameters(coef, intercept, scale, k, X.shape[1])
    s = _weights(sample_weight, n)
    mu = mean_of_raw(case, X @ W.T + b)
    losses = unit_loss(case, Y, mu, scale=sigma, epsilon=epsilon, quantile=quantile)
    # No penalty term at alpha=0 (0 * inf would be NaN for huge coefficients).
    penalty = alpha * float((W**2).sum()) if alpha else 0.0
    return float((s @ losses.sum(axis=1) + penalty) / (k * s.sum()))


# ------------------------------------------------- standardized variables


@dataclass
class _Design:
    """X as ``Z = (X - shift) / spread``; the model ``raw = Z @ V.T + c``.

    ``W = V / spread`` and ``b = c - W @ shift``: the same function of the
    same objective, in variables where every column has unit spread (so
    L-BFGS and the gradient test see a well-scaled problem).
    """

    Z: np.ndarray
    shift: np.ndarray
    spread: np.ndarray

    @classmethod
    def of(cls, X, s, fit_intercept):
        X = np.asarray(X, dtype=np.float64)
        shift = s @ X / s.sum() if fit_intercept else np.zeros(X.shape[1])
        spread = np.sqrt(s @ (X - shift) ** 2 / s.sum())
        spread = np.where(spread > 0, spread, 1.0)
        return cls((X - shift) / spread, shift, spread)

    @classmethod
    def identity(cls, X):
        """X itself: the variables are the coefficients and the intercept."""
        p = X.shape[1]
        return cls(np.asarray(X, dtype=np.float64), np.zeros(p), np.ones(p))

    def variables(self, W, b):
        return W * self.spread, b + W @ self.shift

    def coefficients(self, V, c):
        W = V / self.spread
        return W, c - W @ self.shift


def _row_gradients(case, design, Y, s, V, c, sigma, *, alpha, epsilon, fit_intercept):
    """``J``, its gradient and the per-row gradient contributions in ``(V, c, sigma)``.

    The gradient is ``s @ rows / (k S) + penalty``; rows is (n, k, p + 2) with
    the columns (d/dV, d/dc, d/dsigma), zero where a variable does not exist.
    """
    n, k = Y.shape
    Z = design.Z
    raw = Z @ V.T + c
    mu = mean_of_raw(case, raw)
    d_raw, d_sigma = _unit_derivatives(case, Y, raw, scale=sigma, epsilon=epsilon)
    rows = np.zeros((n, k, Z.shape[1] + 2))
    rows[:, :, :-2] = d_raw[:, :, None] * Z[:, None, :]
    if fit_intercept:
        rows[:, :, -2] = d_raw
    if d_sigma is not None:
        rows[:, :, -1] = d_sigma
    norm = k * s.sum()
    W = V / design.spread
    penalty = np.zeros_like(rows[0])
    penalty[:, :-2] = 2.0 * alpha * W / design.spread / norm
    value = (s @ unit_loss(case, Y, mu, scale=sigma, epsilon=epsilon).sum(axis=1)
             + (alpha * float((W**2).sum()) if alpha else 0.0)) / norm
    gradient = np.tensordot(s, rows, axes=1) / norm + penalty
    return value, gradient, rows, penalty


def objective_gradient(case, X, y, coef, intercept, *, scale=None, alpha=0.0,
                       sample_weight=None, epsilon=1.35):
    """The gradient of ``J`` (smooth losses): ``(d/dcoef (k, p), d/dintercept (k,), d/dscale)``.

    ``d/dscale`` is None unless ``case`` is "huber".
    """
    Y = _as_2d(y)
    n, k = Y.shape
    W, b, sigma = _parameters(coef, intercept, scale, k, X.shape[1])
    _, gradient, _, _ = _row_gradients(
        case, _Design.identity(X), Y, _weights(sample_weight, n), W, b, sigma,
        alpha=alpha, epsilon=epsilon, fit_intercept=True,
    )
    return gradient[:, :-2], gradient[:, -2], gradient[:, -1] if case == "huber" else None


def stationarity(case, X, y, coef, intercept, *, scale=None, alpha=0.0, sample_weight=None,
                 epsilon=1.35, fit_intercept=True):
    """How far ``(coef, intercept[, scale])`` is from a stationary point of ``J`` (smooth losses).

    Returns ``(gradient_norm, spread)``: the norm of ``J``'s gradient in the
    standardized variables (coefficients per unit spread of each column,
    the intercept at the weighted mean of X, the scale), and the size of
    what it averages: the weighted root mean square of the rows' own
    gradients (plus the penalty's). Both are in the same units, so
    ``gradient_norm <= tol * spread`` says "the rows' pulls cancel to a
    fraction ``tol``" whatever the units of X and y; a model fitted to
    another objective leaves ``gradient_norm`` of the order of ``spread``.
    """
    Y = _as_2d(y)
    n, k = Y.shape
    s = _weights(sample_weight, n)
    W, b, sigma = _parameters(coef, intercept, scale, k, X.shape[1])
    design = _Design.of(X, s, fit_intercept)
    V, c = design.variables(W, b)
    _, gradient, rows, penalty = _row_gradients(
        case, design, Y, s, V, c, sigma, alpha=alpha, epsilon=epsilon,
        fit_intercept=fit_intercept,
    )
    rms = np.sqrt(s @ (rows**2).sum(axis=(1, 2)) / s.sum()) / k
    return float(np.linalg.norm(gradient)), float(rms + np.linalg.norm(penalty))


# ------------------------------------------------------- reference minima


@dataclass
class ReferenceFit:
    """The scipy minimizer of ``J``: coef (k, p), intercept (k,), scale (k,) or None, ``J``."""

    coef: np.ndarray
    intercept: np.ndarray
    scale: np.ndarray
    value: float


def reference_fit(case, X, y, *, alpha=0.0, sample_weight=None, fit_intercept=True,
                  epsilon=1.35, quantile=0.5):
    """Minimize ``J`` with scipy (L-BFGS-B, or a linear program for the non-smooth losses).

    A design with no columns gives the best constant model (the null model).
    The linear program only covers ``alpha=0`` (an L2 penalty makes it a
    quadratic program).
    """
    X = np.asarray(X, dtype=np.float64)
    Y = _as_2d(y)
    s = _weights(sample_weight, len(Y))
    design = _Design.of(X, s, fit_intercept)
    if case in NON_SMOOTH:
        if alpha:
            raise NotImplementedError("the linear program has no L2 penalty")
        q = 0.5 if case == "absolute_error" else quantile
        # |r| = u + v and pinball = q u + (1 - q) v, with r = u - v.
        above, below = (1.0, 1.0) if case == "absolute_error" else (q, 1.0 - q)
        V, c = zip(*(_pinball_lp(design.Z, Y[:, t], s, above, below, fit_intercept)
                     for t in range(Y.shape[1])))
        V, c, sigma = np.array(V).reshape(Y.shape[1], X.shape[1]), np.array(c), None
    else:
        V, c, sigma = _smooth_minimum(case, design, Y, s, alpha=alpha, epsilon=epsilon,
                                      fit_intercept=fit_intercept)
    W, b = design.coefficients(V, c)
    value = objective(case, X, Y, W, b, scale=sigma, alpha=alpha, sample_weight=s,
                      epsilon=epsilon, quantile=quantile)
    return ReferenceFit(W, b, sigma, value)


def _pinball_lp(Z, y, s, above, below, fit_intercept):
    # Variables [v (p), c, u (n), w (n)]: min sum s (above u + below w)
    # subject to Z v + c + u - w = y, u, w >= 0.
    n, p = Z.shape
    intercept = np.ones((n, 1)) if fit_intercept else np.zeros((n, 1))
    A_eq = np.hstack([Z, intercept, np.eye(n), -np.eye(n)])
    cost = np.concatenate([np.zeros(p + 1), above * s, below * s]) / s.sum()
    bounds = [(None, None)] * (p + 1) + [(0, None)] * (2 * n)
    result = linprog(cost, A_eq=A_eq, b_eq=y, bounds=bounds, method="highs")
    if result.status != 0:
        raise RuntimeError(f"linprog failed: {result.message}")
    return result.x[:p], result.x[p]


def _smooth_minimum(case, design, Y, s, *, alpha, epsilon, fit_intercept):
    n, k = Y.shape
    p = design.Z.shape[1]
    has_scale = case == "huber"
    mean = s @ Y / s.sum()
    c0 = np.log(mean) if case in LOG_LINK else (mean if fit_intercept else np.zeros(k))
    if not fit_intercept:
        c0 = np.zeros(k)
    spread = np.sqrt(s @ (Y - mean) ** 2 / s.sum())
    start = [np.zeros(k * p), c0]
    if has_scale:
        start.append(np.where(spread > 0, spread, 1.0))

    def unpack(theta):
        V = theta[: k * p].reshape(k, p)
        c = theta[k * p: k * p + k] if fit_intercept else np.zeros(k)
        sigma = theta[k * p + k:] if has_scale else None
        return V, c, sigma

    def value_and_gradient(theta):
        V, c, sigma = unpack(theta)
        value, gradient, _, _ = _row_gradients(
            case, design, Y, s, V, c, sigma, alpha=alpha, epsilon=epsilon,
            fit_intercept=fit_intercept,
        )
        parts = [gradient[:, :-2].ravel(), gradient[:, -2]]
        if has_scale:
            parts.append(gradient[:, -1])
        return value, np.concatenate(parts)

    theta = np.concatenate(start)
    # The scale stays positive, as in HuberRegressor.
    lowest = 1e-12 * (1 + spread.max())
    bounds = [(None, None)] * (k * p + k) + [(lowest, None)] * k * has_scale
    # Two rounds: L-BFGS-B restarted from its answer drops its stale
    # curvature pairs, which gains the last digits on the log-link losses.
    for _ in range(2):
        result = minimize(value_and_gradient, theta, jac=True, method="L-BFGS-B", bounds=bounds,
                          options={"maxiter": 20000, "maxcor": 30, "ftol": 1e-15, "gtol": 1e-13})
        theta = result.x
    return unpack(theta)
