"""Sample weights routed to TorchLinearRegressor by metadata routing."""

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose
from sklearn.datasets import load_diabetes
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from skorch_lite import TorchLinearRegressor

CV = KFold(n_splits=3, shuffle=True, random_state=0)
ALPHAS = [0.1, 10.0]


@pytest.fixture(scope="module")
def weighted_diabetes():
    X, y = load_diabetes(return_X_y=True)
    weights = np.random.default_rng(0).integers(0, 5, size=len(y)).astype(float)
    return X, y, weights


@pytest.fixture
def routing():
    # config_context restores the global config even when the test fails.
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def test_cross_validate_routes_weights_to_fit(routing, weighted_diabetes):
    X, y, w = weighted_diabetes
    reg = (
        TorchLinearRegressor()
        .set_fit_request(sample_weight=True)
        .set_score_request(sample_weight=False)
    )
    result = cross_validate(
        reg, X, y, cv=CV, params={"sample_weight": w}, return_estimator=True
    )
    for fitted, (train, test) in zip(result["estimator"], CV.split(X)):
        manual = TorchLinearRegressor().fit(X[train], y[train], sample_weight=w[train])
        unweighted = TorchLinearRegressor().fit(X[train], y[train])
        assert_allclose(fitted.coef_, manual.coef_, rtol=1e-10, atol=1e-8)
        # The weights mattered: the unweighted fit is far from it.
        assert not np.allclose(fitted.coef_, unweighted.coef_, rtol=1e-3)
    scores = [
        r2_score(y[test], est.predict(X[test]))
        for est, (_, test) in zip(result["estimator"], CV.split(X))
    ]
    # score() did not request weights, so it scored unweighted.
    assert_allclose(result["test_score"], scores, rtol=1e-12)


def test_cross_validate_refuses_weights_the_estimator_did_not_request(routing, weighted_diabetes):
    X, y, w = weighted_diabetes
    reg = TorchLinearRegressor().set_score_request(sample_weight=False)
    with pytest.raises(UnsetMetadataPassedError, match=r"TorchLinearRegressor\.fit"):
        cross_validate(reg, X, y, cv=CV, params={"sample_weight": w})


def test_grid_search_routes_weights_to_every_fit_and_the_refit(routing, weighted_diabetes):
    X, y, w = weighted_diabetes
    # Scoring with estimator.score: its weight request must be set too (here,
    # to score unweighted) or the search refuses to guess.
    reg = (
        TorchLinearRegressor()
        .set_fit_request(sample_weight=True)
        .set_score_request(sample_weight=False)
    )
    search = GridSearchCV(reg, {"alpha": ALPHAS}, cv=CV).fit(X, y, sample_weight=w)

    for i, alpha in enumerate(ALPHAS):
        manual = [
            TorchLinearRegressor(alpha=alpha)
            .fit(X[train], y[train], sample_weight=w[train])
            .score(X[test], y[test])
            for train, test in CV.split(X)
        ]
        assert search.cv_results_["mean_test_score"][i] == pytest.approx(np.mean(manual), abs=1e-10)
    best = TorchLinearRegressor(**search.best_params_).fit(X, y, sample_weight=w)
    assert_allclose(search.best_estimator_.coef_, best.coef_, rtol=1e-10, atol=1e-8)


def test_grid_search_weighted_scoring_when_score_requests_weights(routing, weighted_diabetes):
    X, y, w = weighted_diabetes
    reg = (
        TorchLinearRegressor()
        .set_fit_request(sample_weight=True)
        .set_score_request(sample_weight=True)
    )
    search = GridSearchCV(reg, {"alpha": [1.0]}, cv=CV).fit(X, y, sample_weight=w)
    manual = [
        TorchLinearRegressor(alpha=1.0)
        .fit(X[train], y[train], sample_weight=w[train])
        .score(X[test], y[test], sample_weight=w[test])
        for train, test in CV.split(X)
    ]
    assert search.cv_results_["mean_test_score"][0] == pytest.approx(np.mean(manual), abs=1e-10)


def test_routing_config_is_off_again_after_the_tests():
    assert sklearn.get_config()["enable_metadata_routing"] is False
