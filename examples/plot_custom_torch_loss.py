"""
A loss of your own, written in torch
====================================

``TorchLinearRegressor(loss=...)`` takes, besides the named losses, any
function ``loss(y_pred, y_true)`` that returns the elementwise losses, a
tensor of shape ``(n_samples, n_targets)``, computed with torch operations.
The estimator weights them by ``sample_weight``, adds the penalty, and
minimizes the mean with gradients (and curvatures) from autograd. This
example fits a log-cosh loss to scikit-learn's diabetes data, checks the
optimum against :func:`scipy.optimize.minimize` of the same objective, and
fits an asymmetric loss that makes under-prediction four times as costly
as over-prediction. The :doc:`user guide </user_guide/losses>` lists what
such a function must satisfy.
"""

# %%
# Log-cosh, written so that it cannot overflow
# --------------------------------------------
# ``log(cosh(r))`` is ``r**2 / 2`` near 0 and ``|r| - log 2`` far out: a
# smooth cousin of the Huber loss. Written literally it overflows, because
# ``cosh`` does beyond ``|r| = 710`` in float64 (89 in float32), and the
# optimizer may try such residuals on its way. The identity
# ``log(cosh(r)) = softplus(2 r) - r - log 2`` gives the same values with no
# overflow. The residual is measured in units of ``SCALE`` (30, in the units
# of the target), and the loss scaled so that small residuals cost
# ``r**2``, as with the squared error, and large ones ``2 * SCALE * |r|``.
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.optimize import minimize
from sklearn.datasets import load_diabetes

from skorch_lite import TorchLinearRegressor

big = torch.tensor([800.0], dtype=torch.float64)
print(f"log(cosh(800)) written literally: {torch.log(torch.cosh(big)).item()}")
print("softplus(1600) - 800 - log 2:     "
      f"{(torch.nn.functional.softplus(2 * big) - big - math.log(2.0)).item():.4f}")

SCALE = 30.0


def log_cosh(y_pred, y_true):
    r = (y_pred - y_true) / SCALE
    return 2 * SCALE**2 * (torch.nn.functional.softplus(2 * r) - r - math.log(2.0))


X, y = load_diabetes(return_X_y=True)
alpha = 0.1
reg = TorchLinearRegressor(loss=log_cosh, alpha=alpha).fit(X, y)
print(f"log-cosh fit: {reg.n_iter_} iterations, objective {reg.loss_curve_[-1]:.10f}")

# %%
# The same objective, minimized by scipy
# --------------------------------------
# The objective is ``(sum_i loss_i + alpha ||coef||^2) / n_samples``; here it
# is written again in numpy (with ``|r| + log1p(exp(-2 |r|)) - log 2``, the
# same stable form) and minimized by L-BFGS-B from zero with its exact
# gradient, to the limits of its stopping rules.


def objective(params):
    coef, intercept = params[:-1], params[-1]
    r = (X @ coef + intercept - y) / SCALE
    a = np.abs(r)
    losses = 2 * SCALE**2 * (a + np.log1p(np.exp(-2 * a)) - np.log(2.0))
    slopes = 2 * SCALE * np.tanh(r)  # d loss / d prediction
    value = (losses.sum() + alpha * coef @ coef) / len(y)
    gradient = np.append(X.T @ slopes + 2 * alpha * coef, slopes.sum()) / len(y)
    return value, gradient


result = minimize(objective, np.zeros(X.shape[1] + 1), jac=True, method="L-BFGS-B",
                  options={"maxiter": 10_000, "maxcor": 30, "ftol": 1e-15, "gtol": 1e-12})
ours = np.append(reg.coef_, reg.intercept_)
print(f"scipy: {result.nit} iterations, objective {result.fun:.10f}")
print(f"relative difference in the objective: {objective(ours)[0] / result.fun - 1:.1e}")
print("relative difference in the coefficients: "
      f"{np.max(np.abs(ours - result.x)) / np.max(np.abs(result.x)):.1e}")

# %%
# An asymmetric loss
# ------------------
# Suppose a prediction below the true progression costs four times as much
# as one above it: the squared error with a weight of 4 on positive
# residuals ``y_true - y_pred`` (an *expectile* loss). It is convex and
# differentiable, so its optimum is reached as the log-cosh's is. The fit
# predicts higher, and under-predicts fewer patients.
COST = 4.0


def asymmetric(y_pred, y_true):
    r = y_true - y_pred
    return torch.where(r > 0, COST, 1.0) * r**2


squared = TorchLinearRegressor().fit(X, y)
cautious = TorchLinearRegressor(loss=asymmetric).fit(X, y)
for name, model in [("squared error", squared), ("asymmetric", cautious)]:
    residual = y - model.predict(X)
    cost = np.mean(np.where(residual > 0, COST, 1.0) * residual**2)
    print(f"{name:13s}: under-predicts {np.mean(residual > 0):.1%} of the patients, "
          f"mean residual {round(residual.mean(), 1) + 0.0:+6.1f}, asymmetric cost {cost:.0f}")

# %%
# ``sample_weight`` multiplies each row's loss: a row of weight 2 counts as
# the row written twice, for a callable loss as for the named ones.
counts = np.random.default_rng(0).integers(1, 4, size=len(y))
weighted = TorchLinearRegressor(loss=asymmetric).fit(X, y, sample_weight=counts)
repeated = TorchLinearRegressor(loss=asymmetric).fit(np.repeat(X, counts, axis=0),
                                                     np.repeat(y, counts))
print("weighted vs repeated rows, relative difference in coef_: "
      f"{np.max(np.abs(weighted.coef_ - repeated.coef_)) / np.max(np.abs(repeated.coef_)):.1e}")

# %%
# The losses, and the residuals they leave
# ----------------------------------------
# Left of 0 the asymmetric loss is the squared error (the two curves
# coincide); right of 0 it is four times steeper.
r = torch.linspace(-150, 150, 301, dtype=torch.float64)
zero = torch.zeros_like(r)
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
axes[0].plot(r, r**2, label="squared error")
axes[0].plot(r, log_cosh(zero, r), label=f"log-cosh, SCALE={SCALE:g}")
axes[0].plot(r, asymmetric(zero, r), label=f"asymmetric, COST={COST:g}")
axes[0].set_ylim(0, 30_000)
axes[0].set_xlabel("residual y_true - y_pred")
axes[0].set_title("Elementwise losses")
axes[0].legend()
bins = np.linspace(-200, 200, 41)
for name, model in [("squared error", squared), ("asymmetric", cautious)]:
    axes[1].hist(y - model.predict(X), bins=bins, alpha=0.5, label=name)
axes[1].axvline(0, color="grey", linewidth=1)
axes[1].set_xlabel("residual y_true - y_pred")
axes[1].set_title("Residuals of the fits (diabetes)")
axes[1].legend()
fig.tight_layout()
plt.show()
