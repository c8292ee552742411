"""
Out of core: partial_fit streaming from a memory-mapped file
=============================================================

When the rows fit on disk but not in memory, keep them in a ``.npy`` file,
open it with ``np.load(..., mmap_mode="r")`` and feed
:meth:`~skorch_lite.TorchLinearRegressor.partial_fit` one chunk of rows at a
time. Only the chunk being trained on is read into memory (the operating
system pages it in); the file is never written. Each call trains one epoch of
mini-batches on its chunk, so a pass over the file is a pass of mini-batch
SGD over all rows.

The first call fixes the centring and scaling statistics from its chunk:
shuffle the rows once when writing the file, so that every chunk looks like
the whole.
"""

# %%
# A file of rows
# --------------
# A synthetic problem written to a temporary ``.npy`` file; in practice the
# file is already there (written by ``np.save`` or ``np.lib.format.open_memmap``).

import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LinearRegression

from skorch_lite import TorchLinearRegressor

rng = np.random.default_rng(0)
n_samples, n_features = 100_000, 20
X = rng.normal(size=(n_samples, n_features)) * np.logspace(-1, 2, n_features)
y = X @ rng.normal(size=n_features) + 3.0 + rng.normal(size=n_samples)

directory = Path(tempfile.mkdtemp())
np.save(directory / "X.npy", X)
np.save(directory / "y.npy", y)
best = LinearRegression().fit(X, y).score(X, y)
del X, y

# %%
# Stream it
# ---------
# Chunks of 10,000 rows, mini-batches of 1,000 rows inside each chunk.

X_file = np.load(directory / "X.npy", mmap_mode="r")
y_file = np.load(directory / "y.npy", mmap_mode="r")
chunk = 10_000
reg = TorchLinearRegressor(solver="sgd", batch_size=1000, random_state=0)
gaps = []
for epoch in range(2):
    for start in range(0, n_samples, chunk):
        reg.partial_fit(X_file[start : start + chunk], y_file[start : start + chunk])
        gaps.append(best - reg.score(X_file, y_file))
print(f"R^2 of the least-squares optimum: {best:.6f}")
print(f"R^2 after 2 passes over the file: {reg.score(X_file, y_file):.6f}")

# %%
# How fast it learns
# ------------------
# The gap between the optimum's R^2 and the model's, after each chunk.

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogy(np.arange(1, len(gaps) + 1), np.maximum(gaps, 1e-12), marker="o")
ax.set_xlabel("chunks trained on (10 per pass over the file)")
ax.set_ylabel("R² gap to the optimum")
ax.set_title("partial_fit from a memory-mapped file")
fig.tight_layout()
plt.show()

# %%
# The memory maps hold the files open: close them before removing the files.

del X_file, y_file
shutil.rmtree(directory)
