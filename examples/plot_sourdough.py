"""
Sourdough: from a hand-written autograd loop to TorchLinearRegressor
====================================================================

skorch_lite grew from a notebook that fits the flavour and crust of ten
home-made sourdough loaves to their proofing time, acidity and starter age
with a hand-written PyTorch loop: autograd gradients, a fixed step of
``1e-5``. After 100,000 epochs that loop stalls at a mean squared error of
about 23.6, while the least-squares optimum is 6.0605.

Here the loop runs a few thousand epochs (seconds, not minutes), then
:class:`~skorch_lite.TorchLinearRegressor` reaches the optimum in one call.
"""

# %%
# The data and the optimum
# ------------------------
# ``load_sourdough`` returns the notebook's ten loaves as float32 arrays.
# The exact least-squares fit (with an intercept) is the target to reach.
import matplotlib.pyplot as plt
import numpy as np
import torch

from skorch_lite import TorchLinearRegressor
from skorch_lite.datasets import load_sourdough

X, y = load_sourdough(return_X_y=True)
design = np.column_stack([X, np.ones(len(X))]).astype(np.float64)
solution, *_ = np.linalg.lstsq(design, y.astype(np.float64), rcond=None)
optimum = np.mean((design @ solution - y) ** 2)
print(f"least-squares optimum: MSE {optimum:.4f}")

# %%
# The notebook's loop
# -------------------
# Random weights, the mean squared error, ``loss.backward()`` and a plain
# gradient step. The features have very different scales (pH around 4,
# starter age up to 90 days), so a step small enough to stay stable along
# the steep direction crawls along the flat ones.
EPOCHS = 5_000
torch.manual_seed(0)
inputs, targets = torch.from_numpy(X), torch.from_numpy(y)
w = torch.randn(2, 3, requires_grad=True)
b = torch.randn(2, requires_grad=True)

losses = []
for epoch in range(EPOCHS):
    loss = ((inputs @ w.t() + b - targets) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= w.grad * 1e-5
        b -= b.grad * 1e-5
        w.grad.zero_()
        b.grad.zero_()
    losses.append(loss.item())

with torch.no_grad():
    loop_mse = ((inputs @ w.t() + b - targets) ** 2).mean().item()
print(f"hand-written loop after {EPOCHS} epochs: MSE {loop_mse:.2f}")
print(f"that is {loop_mse / optimum:.0f} times the optimum")

# %%
# The estimator
# -------------
# ``TorchLinearRegressor`` trains with :class:`torch.optim.LBFGS` in
# preconditioned variables, where every direction is equally steep; it
# stops when the gradient certifies the optimum.
reg = TorchLinearRegressor().fit(X, y)
reg_mse = np.mean((reg.predict(X) - y) ** 2)
print(f"TorchLinearRegressor: MSE {reg_mse:.4f} after {reg.n_iter_} iteration(s)")
print("coef_ (flavour, crust):")
print(np.array2string(reg.coef_, precision=4))

# %%
# The loss curves
# ---------------
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogy(np.arange(1, EPOCHS + 1), losses, label="hand-written loop (lr 1e-5)")
ax.axhline(reg_mse, color="C1", linestyle="--", label="TorchLinearRegressor")
ax.axhline(23.5815, color="C2", linestyle=":", label="the notebook, 100,000 epochs")
ax.set_xlabel("epoch")
ax.set_ylabel("mean squared error")
ax.set_title("Sourdough: flavour and crust")
ax.legend()
fig.tight_layout()
plt.show()
