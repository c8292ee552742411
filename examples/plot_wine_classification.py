"""
Softmax regression on unscaled wine data: the regularization path of LogisticRegression
=======================================================================================

:class:`~skorch_lite.TorchLinearClassifier` fits the multinomial (softmax)
model with an L2 penalty ``alpha``, which is
:class:`~sklearn.linear_model.LogisticRegression`'s with ``C = 1 / (2 *
alpha)``. Here both fit scikit-learn's wine data, three cultivars described
by 13 chemical measurements in units that span four orders of magnitude
(proline in the hundreds, hue near 1), *without* standardizing the
columns, over a range of penalties. The :doc:`user guide
</user_guide/classification>` gives the objective and how it is fitted.
"""

# %%
# One penalty: the default
# ------------------------
# ``TorchLinearClassifier()`` and ``LogisticRegression()`` have the same
# objective at their defaults (``alpha=0.5``, ``C=1``). The reference is
# solved tightly (newton-cholesky, ``tol=1e-10``): on such unscaled
# columns LogisticRegression's default L-BFGS stops far from the optimum.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression

from skorch_lite import TorchLinearClassifier

X, y = load_wine(return_X_y=True)
print(f"column scales (std) from {X.std(0).min():.2g} to {X.std(0).max():.2g}")


def reference(alpha):
    return LogisticRegression(C=1 / (2 * alpha), solver="newton-cholesky", tol=1e-10,
                              max_iter=1000).fit(X, y)


clf = TorchLinearClassifier().fit(X, y)
ref = reference(0.5)
print(f"default fit: {clf.n_iter_} iterations, accuracy {clf.score(X, y):.3f}")
gap = np.abs(clf.predict_proba(X) - ref.predict_proba(X)).max()
print(f"largest difference in predict_proba from LogisticRegression: {gap:.1e}")

# %%
# The regularization path
# -----------------------
# Each penalty is fitted from scratch. The probabilities agree with
# LogisticRegression's to about 1e-6 at every penalty; the coefficients
# shrink towards zero as alpha grows (here those of proline, in its own
# units, for each class).
alphas = np.logspace(-2, 2, 9)
gaps, proline, proline_ref = [], [], []
for alpha in alphas:
    ours, theirs = TorchLinearClassifier(alpha=alpha).fit(X, y), reference(alpha)
    gaps.append(np.abs(ours.predict_proba(X) - theirs.predict_proba(X)).max())
    proline.append(ours.coef_[:, 12])
    proline_ref.append(theirs.coef_[:, 12])
print(f"largest difference in predict_proba over the path: {max(gaps):.1e}")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
for k, name in enumerate(["class 0", "class 1", "class 2"]):
    left.plot(alphas, np.array(proline)[:, k], "o-", label=f"TorchLinearClassifier, {name}")
    left.plot(alphas, np.array(proline_ref)[:, k], "k+", markersize=10)
left.set_xscale("log")
left.set_xlabel("alpha (C = 1 / (2 alpha))")
left.set_ylabel("coefficient of proline")
left.set_title("Coefficients (+: LogisticRegression)")
left.legend(fontsize=8)
right.semilogy(alphas, gaps, "o-")
right.set_xscale("log")
right.set_xlabel("alpha")
right.set_ylabel("max |difference| in predict_proba")
right.set_title("Agreement with LogisticRegression")
fig.tight_layout()
plt.show()
