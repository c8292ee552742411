"""
Robust and quantile losses: diabetes progression with corrupted records
=======================================================================

The squared error lets a few gross errors in ``y`` pull the whole fit
towards them. ``loss="huber"`` and ``loss="absolute_error"`` grow only
linearly with the residual, so far-off points pull with a bounded force;
``loss="quantile"`` fits a line below which a chosen share of the targets
lies. Here all four fit one feature of scikit-learn's diabetes data (body
mass index) to disease progression after a batch of records has been
corrupted. The :doc:`user guide </user_guide/losses>` gives each loss's
objective and its scikit-learn counterpart.
"""

# %%
# The data, and a corrupted batch
# -------------------------------
# 22 of the 442 records (5%), drawn among the leanest third of the
# patients, get 400 added to their progression: points far above the
# others, on one side of the cloud, where they tilt a least-squares line
# most.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import HuberRegressor, QuantileRegressor
from sklearn.metrics import mean_pinball_loss
from sklearn.preprocessing import StandardScaler

from skorch_lite import TorchLinearRegressor

X, y_clean = load_diabetes(return_X_y=True)
bmi = X[:, [2]]
rng = np.random.default_rng(0)
lean = np.argsort(bmi[:, 0])[: len(y_clean) // 3]
corrupted = rng.choice(lean, 22, replace=False)
y = y_clean.copy()
y[corrupted] += 400.0

# %%
# Squared error, Huber and absolute error
# ---------------------------------------
# Each loss is fitted twice, to the clean and to the corrupted targets; how
# far the slope moves measures how much the corrupted batch pulls on it.
# Huber's ``scale_`` is the residual size beyond which its loss turns linear
# (times ``epsilon=1.35``), fitted jointly with the line.
fits = {}
for loss in ["squared_error", "huber", "absolute_error"]:
    before = TorchLinearRegressor(loss=loss).fit(bmi, y_clean)
    fits[loss] = TorchLinearRegressor(loss=loss).fit(bmi, y)
    change = fits[loss].coef_[0] / before.coef_[0] - 1
    print(f"{loss:15s} slope {before.coef_[0]:7.1f} -> {fits[loss].coef_[0]:7.1f} "
          f"({change:+.0%})")
print(f"huber scale_: {fits['huber'].scale_:.1f}")

# %%
# The same minimizers as scikit-learn's
# -------------------------------------
# ``loss="huber"`` minimizes :class:`~sklearn.linear_model.HuberRegressor`'s
# objective (same ``epsilon`` and ``alpha``); the quantile losses reach the
# pinball loss of :class:`~sklearn.linear_model.QuantileRegressor`'s linear
# program (``alpha=0``), whose minimizer need not be unique.
# HuberRegressor is given the standardized feature: on the raw one (values
# of order 0.05) its L-BFGS-B stops early, at a slope 0.7% off.
scaler = StandardScaler().fit(bmi)
huber = HuberRegressor().fit(scaler.transform(bmi), y)
huber_slope = huber.coef_[0] / scaler.scale_[0]
print(f"huber slope vs HuberRegressor: relative difference "
      f"{abs(fits['huber'].coef_[0] / huber_slope - 1):.1e}, scale_ {huber.scale_:.1f}")

quantiles = {}
for q in [0.1, 0.5, 0.9]:
    quantiles[q] = TorchLinearRegressor(loss="quantile", quantile=q).fit(bmi, y)
    ours = mean_pinball_loss(y, quantiles[q].predict(bmi), alpha=q)
    lp = QuantileRegressor(quantile=q, alpha=0.0, solver="highs").fit(bmi, y)
    theirs = mean_pinball_loss(y, lp.predict(bmi), alpha=q)
    below = np.mean(y < quantiles[q].predict(bmi))
    print(f"quantile {q}: share of y below the line {below:.3f}, pinball loss "
          f"{ours:.4f}, relative to QuantileRegressor's {ours / theirs - 1:+.1e}")

# %%
# The fits
# --------
# Left: the least-squares line tilts towards the corrupted batch; Huber's
# and the absolute error's stay near the bulk of the data. Right: the 0.5
# quantile (the median line, the same as the absolute error's) ignores how
# far the corrupted points are, but the 0.9 quantile bends to them, since
# they are 15% of the lean patients: a quantile describes the distribution
# of ``y``, outliers included, and is robust to their size, not to their
# number.
order = np.argsort(bmi[:, 0])
grid = bmi[order]
normal = np.ones(len(y), dtype=bool)
normal[corrupted] = False
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax in axes:
    ax.scatter(bmi[normal, 0], y[normal], s=8, color="lightgrey", label="records")
    ax.scatter(bmi[corrupted, 0], y[corrupted], s=14, color="tab:red", marker="x",
               label="corrupted (+400)")
    ax.set_xlabel("body mass index (scaled)")
styles = {"squared_error": "tab:blue", "huber": "tab:orange", "absolute_error": "tab:green"}
for loss, color in styles.items():
    axes[0].plot(grid, fits[loss].predict(grid), color=color, label=f'loss="{loss}"')
axes[0].set_ylabel("disease progression after one year")
axes[0].set_title("Squared error against robust losses")
for q, color in zip(quantiles, ["tab:purple", "tab:green", "tab:brown"]):
    axes[1].plot(grid, quantiles[q].predict(grid), color=color, label=f"quantile={q}")
axes[1].set_title('loss="quantile"')
for ax in axes:
    ax.legend(loc="upper right", fontsize=8)
fig.tight_layout()
plt.show()
