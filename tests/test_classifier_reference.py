"""TorchLinearClassifier against LogisticRegression(C = 1 / (2 alpha)) on real data sets.

The reference is solved to 1e-10 by newton-cholesky: LogisticRegression's
default tol (1e-4 on the gradient) stops its L-BFGS up to 10% (relative)
from the optimum on some coefficients of breast_cancer.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skorch_lite import TorchLinearClassifier

LOADERS = {"breast_cancer": load_breast_cancer, "iris": load_iris, "wine": load_wine}


def _data(name, scaled=True):
    X, y = LOADERS[name](return_X_y=True)
    return (StandardScaler().fit_transform(X) if scaled else X), y


def _reference(X, y, alpha, sample_weight=None, class_weight=None):
    return LogisticRegression(
        C=1 / (2 * alpha), solver="newton-cholesky", tol=1e-10, max_iter=1000,
        class_weight=class_weight,
    ).fit(X, y, sample_weight=sample_weight)


def _assert_equal_models(clf, ref, X):
    assert_allclose(clf.coef_, ref.coef_, rtol=1e-3, atol=1e-5)
    assert_allclose(clf.intercept_, ref.intercept_, rtol=1e-3, atol=1e-5)
    assert_allclose(clf.predict_proba(X), ref.predict_proba(X), rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("name", sorted(LOADERS))
@pytest.mark.parametrize("alpha", [0.5, 0.05, 5.0])
@pytest.mark.parametrize("weighting", ["none", "sample_weight", "balanced"])
def test_equals_logistic_regression_on_standardized_data(name, alpha, weighting):
    X, y = _data(name)
    sample_weight = class_weight = None
    if weighting == "sample_weight":
        sample_weight = np.random.RandomState(0).randint(1, 4, len(y)).astype(float)
    elif weighting == "balanced":
        class_weight = "balanced"
    clf = TorchLinearClassifier(alpha=alpha, class_weight=class_weight)
    clf.fit(X, y, sample_weight=sample_weight)
    _assert_equal_models(clf, _reference(X, y, alpha, sample_weight, class_weight), X)
    assert clf.coef_.shape == ((1, X.shape[1]) if len(np.unique(y)) == 2
                               else (len(np.unique(y)), X.shape[1]))


def test_defaults_are_logistic_regressions_defaults():
    X, y = _data("iris")
    clf = TorchLinearClassifier().fit(X, y)
    ref = LogisticRegression(solver="newton-cholesky", tol=1e-10).fit(X, y)
    _assert_equal_models(clf, ref, X)
    # And within LogisticRegression's own (looser) default convergence.
    default = LogisticRegression().fit(X, y)
    assert_allclose(clf.predict_proba(X), default.predict_proba(X), atol=1e-3)


@pytest.mark.parametrize("alpha", [0.5, 0.05])
def test_unscaled_wine_reaches_the_same_probabilities(alpha):
    X, y = _data("wine", scaled=False)
    clf = TorchLinearClassifier(alpha=alpha).fit(X, y)
    ref = _reference(X, y, alpha)
    assert_allclose(clf.predict_proba(X), ref.predict_proba(X), rtol=1e-3, atol=1e-5)
    assert_allclose(clf.coef_, ref.coef_, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("name", ["breast_cancer", "wine"])
def test_integer_weights_equal_repeated_rows(name):
    X, y = _data(name)
    counts = np.random.RandomState(1).randint(0, 3, len(y))
    weighted = TorchLinearClassifier().fit(X, y, sample_weight=counts)
    repeated = TorchLinearClassifier().fit(np.repeat(X, counts, 0), np.repeat(y, counts))
    assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-6, atol=1e-8)
    assert_allclose(weighted.intercept_, repeated.intercept_, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_stochastic_solvers_start_at_the_optimum_below_the_sketch_size(solver):
    X, y = _data("wine")
    clf = TorchLinearClassifier(solver=solver, random_state=0).fit(X, y)
    _assert_equal_models(clf, _reference(X, y, 0.5), X)


def test_float32_data_trains_in_float32_close_to_the_optimum():
    X, y = _data("breast_cancer")
    clf = TorchLinearClassifier().fit(X.astype(np.float32), y)
    assert clf.coef_.dtype == np.float32
    ref = _reference(X, y, 0.5)
    assert_allclose(clf.predict_proba(X), ref.predict_proba(X), atol=1e-4)


def test_multinomial_coefficients_and_intercepts_sum_to_zero_over_classes():
    X, y = _data("iris")
    clf = TorchLinearClassifier(alpha=0.01).fit(X, y)
    assert_allclose(clf.coef_.sum(0), 0, atol=1e-10)
    assert_allclose(clf.intercept_.sum(), 0, atol=1e-10)
