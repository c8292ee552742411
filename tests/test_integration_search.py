"""Hyper-parameter searches and cross-validation over TorchLinearRegressor.

Each search is run twice, over TorchLinearRegressor and over Ridge (the same
objective solved in closed form): the scores and the chosen parameters agree.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.stats import loguniform
from sklearn.datasets import load_diabetes
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import Ridge
from sklearn.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    KFold,
    RandomizedSearchCV,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skorch_lite import TorchLinearRegressor

ALPHAS = [0.01, 1.0, 30.0, 300.0]
CV = KFold(n_splits=4, shuffle=True, random_state=0)
# R^2 from the iterative fit and the closed form agree to rounding.
SCORE_ATOL = 1e-9


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


def _same_search(torch_search, ridge_search):
    assert torch_search.best_params_ == ridge_search.best_params_
    assert torch_search.cv_results_["params"] == ridge_search.cv_results_["params"]
    assert_allclose(
        torch_search.cv_results_["mean_test_score"],
        ridge_search.cv_results_["mean_test_score"],
        rtol=0, atol=SCORE_ATOL,
    )


def test_grid_search_in_two_processes_matches_ridge(diabetes):
    X, y = diabetes
    torch_search = GridSearchCV(
        make_pipeline(StandardScaler(), TorchLinearRegressor()),
        {"torchlinearregressor__alpha": ALPHAS}, cv=CV, n_jobs=2,
    ).fit(X, y)
    ridge_search = GridSearchCV(
        make_pipeline(StandardScaler(), Ridge()),
        {"ridge__alpha": ALPHAS}, cv=CV, n_jobs=2,
    ).fit(X, y)
    assert (torch_search.best_params_["torchlinearregressor__alpha"]
            == ridge_search.best_params_["ridge__alpha"])
    assert_allclose(
        torch_search.cv_results_["mean_test_score"],
        ridge_search.cv_results_["mean_test_score"], rtol=0, atol=SCORE_ATOL,
    )
    # The refit on all rows is the ridge solution.
    assert_allclose(
        torch_search.best_estimator_[-1].coef_,
        ridge_search.best_estimator_[-1].coef_, rtol=1e-9, atol=1e-9,
    )


def test_randomized_search_in_two_processes_matches_ridge(diabetes):
    X, y = diabetes
    torch_search = RandomizedSearchCV(
        TorchLinearRegressor(), {"alpha": loguniform(1e-3, 1e3)},
        n_iter=5, cv=CV, random_state=0, n_jobs=2,
    ).fit(X, y)
    ridge_search = RandomizedSearchCV(
        Ridge(), {"alpha": loguniform(1e-3, 1e3)},
        n_iter=5, cv=CV, random_state=0, n_jobs=2,
    ).fit(X, y)
    _same_search(torch_search, ridge_search)


def test_halving_grid_search_in_two_processes_matches_ridge(diabetes):
    X, y = diabetes
    kwargs = dict(param_grid={"alpha": ALPHAS + [0.1, 3.0, 100.0, 1000.0]},
                  factor=2, min_resources=60, cv=CV, random_state=0, n_jobs=2)
    torch_search = HalvingGridSearchCV(TorchLinearRegressor(), **kwargs).fit(X, y)
    ridge_search = HalvingGridSearchCV(Ridge(), **kwargs).fit(X, y)
    assert torch_search.n_iterations_ == ridge_search.n_iterations_ >= 3
    assert list(torch_search.n_candidates_) == list(ridge_search.n_candidates_)
    _same_search(torch_search, ridge_search)


def test_cross_val_score_matches_ridge_fold_by_fold(diabetes):
    X, y = diabetes
    torch_scores = cross_val_score(TorchLinearRegressor(alpha=1.0), X, y, cv=CV, n_jobs=2)
    ridge_scores = cross_val_score(Ridge(alpha=1.0), X, y, cv=CV, n_jobs=2)
    assert torch_scores.shape == (4,)
    assert_allclose(torch_scores, ridge_scores, rtol=0, atol=SCORE_ATOL)


def test_cross_validate_returns_fitted_estimators_equal_to_per_fold_fits(diabetes):
    X, y = diabetes
    result = cross_validate(
        TorchLinearRegressor(), X, y, cv=CV, n_jobs=2, return_estimator=True,
        return_train_score=True, scoring=("r2", "neg_mean_squared_error"),
    )
    assert len(result["estimator"]) == 4
    for fold, (estimator, (train, test)) in enumerate(zip(result["estimator"], CV.split(X))):
        manual = TorchLinearRegressor().fit(X[train], y[train])
        assert_allclose(estimator.coef_, manual.coef_, rtol=1e-12, atol=1e-9)
        assert estimator.n_iter_ >= 1
        assert result["train_r2"][fold] == pytest.approx(manual.score(X[train], y[train]))
        assert result["test_r2"][fold] == pytest.approx(manual.score(X[test], y[test]))
    assert np.all(result["test_neg_mean_squared_error"] < 0)
