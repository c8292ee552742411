"""Fits called under ``torch.inference_mode`` train as anywhere else.

The caller's mode says nothing about training, which is the estimator's own
business (as under ``torch.no_grad``); found by the review of issue 13 (the
engine's variables were inference tensors, without version counters or
gradients). Inputs made under inference mode are used as any other tensor.
"""

import numpy as np
import pytest
import torch

from skorch_lite import TorchLinearClassifier, TorchLinearRegressor


def _problem(n=200, p=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) @ rng.normal(size=(p, p))
    return X, X @ rng.normal(size=p) + 1.0 + rng.normal(size=n)


@pytest.mark.parametrize("params", [
    {}, {"solver": "adam", "batch_size": 32, "max_iter": 5},
    {"solver": "sgd", "max_iter": 5}, {"early_stopping": True}, {"loss": "huber"},
])
def test_a_regressor_fit_inside_inference_mode_is_the_fit_outside_it(params):
    X, y = _problem()
    outside = TorchLinearRegressor(random_state=0, **params).fit(X, y)
    with torch.inference_mode():
        inside = TorchLinearRegressor(random_state=0, **params).fit(X, y)
        np.testing.assert_array_equal(inside.predict(X), outside.predict(X))
    np.testing.assert_array_equal(inside.coef_, outside.coef_)
    np.testing.assert_array_equal(inside.intercept_, outside.intercept_)


@pytest.mark.parametrize("params", [{}, {"solver": "adam", "batch_size": 32, "max_iter": 5}])
def test_a_classifier_fit_inside_inference_mode_is_the_fit_outside_it(params):
    X, y = _problem()
    labels = (y > np.median(y)).astype(int)
    outside = TorchLinearClassifier(random_state=0, **params).fit(X, labels)
    with torch.inference_mode():
        inside = TorchLinearClassifier(random_state=0, **params).fit(X, labels)
    np.testing.assert_array_equal(inside.coef_, outside.coef_)


def test_tensors_made_under_inference_mode_fit_anywhere_and_stay_unchanged():
    X, y = _problem()
    with torch.inference_mode():
        X_t, y_t = torch.tensor(X), torch.tensor(y)
    before = X_t.clone(), y_t.clone()
    want = TorchLinearRegressor(solver="adam", batch_size=32, max_iter=5,
                                random_state=0).fit(X, y)
    got = TorchLinearRegressor(solver="adam", batch_size=32, max_iter=5,
                               random_state=0).fit(X_t, y_t)
    np.testing.assert_array_equal(got.coef_, want.coef_)
    assert torch.equal(X_t, before[0]) and torch.equal(y_t, before[1])
