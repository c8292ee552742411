"""
Pipeline and grid search on the diabetes data
=============================================

:class:`~skorch_lite.TorchLinearRegressor` is an ordinary scikit-learn
regressor: it goes at the end of a :class:`~sklearn.pipeline.Pipeline`,
takes pandas DataFrames (and keeps their column names), and
:class:`~sklearn.model_selection.GridSearchCV` tunes its parameters next to
those of the preprocessing steps, in parallel worker processes.

Because it reaches the exact ridge optimum, its cross-validated scores equal
those of :class:`~sklearn.linear_model.Ridge` with the same ``alpha``.
"""

# %%
# A pipeline on a DataFrame
# -------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from skorch_lite import TorchLinearRegressor

X, y = load_diabetes(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

pipe = Pipeline(
    [
        ("poly", PolynomialFeatures(include_bias=False)),
        ("scale", StandardScaler()),
        ("reg", TorchLinearRegressor()),
    ]
)

# %%
# The search
# ----------
# Polynomial degree and ridge penalty, 5-fold cross-validation, two
# worker processes (each gets half the cores for torch, see the user guide).
alphas = np.logspace(-2, 3, 6)
grid = {"poly__degree": [1, 2], "reg__alpha": alphas}
cv = KFold(n_splits=5, shuffle=True, random_state=0)
search = GridSearchCV(pipe, grid, cv=cv, n_jobs=2).fit(X_train, y_train)
print("best parameters:", search.best_params_)
print(f"cross-validated R^2: {search.best_score_:.4f}")
print(f"held-out R^2:        {search.score(X_test, y_test):.4f}")
print("columns seen by the pipeline:", list(search.best_estimator_.feature_names_in_))

# %%
# The same search with Ridge
# --------------------------
# The closed-form solver gives the same scores to rounding.
ridge_pipe = pipe.set_params(reg=Ridge())
ridge_search = GridSearchCV(ridge_pipe, grid, cv=cv, n_jobs=2).fit(X_train, y_train)
gap = np.max(
    np.abs(search.cv_results_["mean_test_score"] - ridge_search.cv_results_["mean_test_score"])
)
print(f"largest difference in mean R^2 from Ridge: {gap:.1e}")

# %%
# Validation curves
# -----------------
scores = search.cv_results_["mean_test_score"].reshape(2, len(alphas))
fig, ax = plt.subplots(figsize=(6, 3.5))
for degree, row in zip([1, 2], scores):
    ax.semilogx(alphas, row, marker="o", label=f"degree {degree}")
ax.set_xlabel("alpha")
ax.set_ylabel("mean cross-validated R^2")
ax.set_title("Diabetes: TorchLinearRegressor in a pipeline")
ax.legend()
fig.tight_layout()
plt.show()
