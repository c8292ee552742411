"""
Sourdough: from a hand-written autograd loop to TorchLinearRegressor
====================================================================

skorch_lite grew from a notebook that fits the flavour and crust of ten
home-made sourdough loaves to their proofing time, acidity and starter age
with a hand-written PyTorch loop: autograd gradients, a fixed step of
``1e-5``, 100,000 epochs. That loop stalls far above the least-squares
optimum; :class:`~skorch_lite.TorchLinearRegressor` reaches the optimum in
one call.
"""

# %%
# The data and the optimum
# ------------------------
# ``load_sourdough`` returns the notebook's ten loaves; with
# ``as_frame=True`` the columns carry their names, which the fitted
# estimator keeps in ``feature_names_in_``.
import matplotlib.pyplot as plt
import numpy as np

from skorch_lite import LossCurveDisplay, TorchLinearRegressor
from skorch_lite.datasets import load_sourdough, notebook_loop

X, y = load_sourdough(return_X_y=True, as_frame=True)
loop = notebook_loop()
print(f"least-squares optimum: MSE {loop.optimum:.4f}")

# %%
# The notebook's loop
# -------------------
# Random weights, the mean squared error, ``loss.backward()`` and a plain
# gradient step of ``1e-5``, for 100,000 epochs. The features have very
# different scales (pH around 4, starter age up to 90 days), so a step small
# enough to stay stable along the steep direction crawls along the flat
# ones (the :doc:`tutorial </tutorial>` works out why).
# :func:`~skorch_lite.datasets.notebook_loop` computes every epoch of that
# loop exactly, from the random start of seed 0; the demo and the tutorial
# quote the same function.
print(f"hand-written loop after {loop.epochs:,} epochs: "
      f"MSE {loop.mse:.2f}")
print(f"that is {loop.mse / loop.optimum:.1f} times the optimum")

# %%
# The estimator
# -------------
# ``TorchLinearRegressor`` trains with :class:`torch.optim.LBFGS` in
# preconditioned variables, where every direction is equally steep; it
# stops when the gradient certifies the optimum.
reg = TorchLinearRegressor().fit(X, y)
reg_mse = float(np.mean((reg.predict(X) - y.to_numpy()) ** 2))
print(f"TorchLinearRegressor: MSE {reg_mse:.4f} "
      f"after {reg.n_iter_} iteration(s)")
for target, row in zip(y.columns, reg.coef_):
    pairs = zip(reg.feature_names_in_, row)
    print(f"{target}:", ", ".join(f"{name} {w:+.4f}" for name, w in pairs))

# %%
# The loss curves
# ---------------
# Left, the notebook's loop, every epoch, on log scales: the first hundred
# epochs solve the steepest direction (starter age, in tens of days); the
# next one gives way only after ten thousand, and the flattest (acidity
# against the bias) has hardly moved at 100,000. Right,
# :class:`~skorch_lite.LossCurveDisplay` of the estimator trained by Adam
# instead of L-BFGS, so that it has a curve to show: in preconditioned
# variables it is at the optimum within about fifty epochs (the rest is the
# stopping rule waiting for improvements that no longer come).
adam = TorchLinearRegressor(solver="adam", learning_rate_init=0.1,
                            max_iter=500).fit(X, y)

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4),
                                  layout="constrained")
epochs = np.arange(1, loop.epochs + 1)
left.loglog(epochs, loop.loss_curve, label="hand-written loop (step 1e-5)")
left.axhline(loop.optimum, color="C1", linestyle="--",
             label="least-squares optimum")
left.set_xlabel("epoch")
left.set_ylabel("mean squared error (units of y²)")
left.set_title(f"The notebook's loop: {loop.mse:.2f}")
left.legend(loc="upper right")

LossCurveDisplay.from_estimator(adam, ax=right)
right.axhline(loop.optimum, color="C1", linestyle="--")
right.set_title(f"Adam, preconditioned: {adam.loss_curve_[-1]:.2f}")
plt.show()
