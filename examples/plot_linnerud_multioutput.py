"""
Several targets at once: the Linnerud exercise data
===================================================

The Linnerud data relate three exercises (chins, sit-ups, jumps) to three
physiological measurements (weight, waist, pulse) of twenty men.
:class:`~skorch_lite.TorchLinearRegressor` fits all three targets in one
model (``coef_`` of shape ``(n_targets, n_features)``), which gives the
same predictions as one model per target with
:class:`~sklearn.multioutput.MultiOutputRegressor`, and as the closed-form
:class:`~sklearn.linear_model.Ridge`.
"""

# %%
# One model, three targets
# ------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_linnerud
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_predict
from sklearn.multioutput import MultiOutputRegressor

from skorch_lite import TorchLinearRegressor

data = load_linnerud()
X, Y = data.data, data.target
joint = TorchLinearRegressor(alpha=1.0).fit(X, Y)
print("coef_ shape:", joint.coef_.shape)
for name, row in zip(data.target_names, joint.coef_):
    print(f"  {name:7s}", np.array2string(row, precision=3))

# %%
# One model per target, and the closed form
# -----------------------------------------
per_target = MultiOutputRegressor(TorchLinearRegressor(alpha=1.0)).fit(X, Y)
ridge = Ridge(alpha=1.0).fit(X, Y)
print("largest difference, joint vs per target:",
      f"{np.max(np.abs(joint.predict(X) - per_target.predict(X))):.1e}")
print("largest difference, joint vs Ridge:     ",
      f"{np.max(np.abs(joint.predict(X) - ridge.predict(X))):.1e}")

# %%
# Out-of-sample predictions
# -------------------------
# Twenty rows are few: leave-one-out predictions show how much of each
# target three exercises can explain.
predicted = cross_val_predict(TorchLinearRegressor(alpha=1.0), X, Y, cv=len(X))
fig, axes = plt.subplots(1, 3, figsize=(9, 3))
for ax, name, truth, guess in zip(axes, data.target_names, Y.T, predicted.T):
    ax.scatter(truth, guess, s=15)
    lims = [min(truth.min(), guess.min()), max(truth.max(), guess.max())]
    ax.plot(lims, lims, color="grey", linewidth=1)
    ax.set_title(name)
    ax.set_xlabel("measured")
axes[0].set_ylabel("predicted (leave one out)")
fig.tight_layout()
plt.show()
