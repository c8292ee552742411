"""TorchLinearClassifier in scikit-learn's machinery, beside LogisticRegression.

Each workflow runs twice, over TorchLinearClassifier and over
LogisticRegression(C = 1 / (2 alpha)) solved tightly: the scores, chosen
parameters and probabilities agree.
"""

import pickle

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skorch_lite import TorchLinearClassifier

ALPHAS = [0.005, 0.5, 50.0]
CV = StratifiedKFold(n_splits=4, shuffle=True, random_state=0)


def _logistic(alpha=0.5):
    return LogisticRegression(C=1 / (2 * alpha), solver="newton-cholesky", tol=1e-10,
                              max_iter=1000)


@pytest.fixture(scope="module")
def wine():
    return load_wine(return_X_y=True)


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(return_X_y=True)


def test_pipeline_equals_logistic_regression_pipeline(wine):
    X, y = wine
    ours = make_pipeline(StandardScaler(), TorchLinearClassifier()).fit(X, y)
    ref = make_pipeline(StandardScaler(), _logistic()).fit(X, y)
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=1e-3, atol=1e-5)
    assert ours.score(X, y) == ref.score(X, y)


def test_grid_search_in_two_processes_matches_logistic_regression(cancer):
    X, y = cancer
    ours = GridSearchCV(
        make_pipeline(StandardScaler(), TorchLinearClassifier()),
        {"torchlinearclassifier__alpha": ALPHAS}, cv=CV, n_jobs=2, scoring="neg_log_loss",
    ).fit(X, y)
    ref = GridSearchCV(
        make_pipeline(StandardScaler(), _logistic()),
        {"logisticregression__C": [1 / (2 * a) for a in ALPHAS]}, cv=CV, n_jobs=2,
        scoring="neg_log_loss",
    ).fit(X, y)
    assert ours.best_index_ == ref.best_index_
    assert_allclose(ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"],
                    rtol=1e-5)
    assert_allclose(ours.best_estimator_[-1].coef_, ref.best_estimator_[-1].coef_,
                    rtol=1e-3, atol=1e-5)


def test_cross_val_score_matches_logistic_regression_fold_by_fold(wine):
    X, y = wine
    X = StandardScaler().fit_transform(X)
    ours = cross_val_score(TorchLinearClassifier(), X, y, cv=CV, scoring="neg_log_loss")
    ref = cross_val_score(_logistic(), X, y, cv=CV, scoring="neg_log_loss")
    assert ours.shape == (4,)
    assert_allclose(ours, ref, rtol=1e-5)


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_calibrated_classifier_cv_matches_logistic_regression(cancer, method):
    X, y = cancer
    X = StandardScaler().fit_transform(X)
    ours = CalibratedClassifierCV(TorchLinearClassifier(), method=method, cv=CV).fit(X, y)
    ref = CalibratedClassifierCV(_logistic(), method=method, cv=CV).fit(X, y)
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-3)


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_pickled_pipeline_predicts_the_same(wine, tmp_path, dump):
    X, y = wine
    pipe = make_pipeline(StandardScaler(), TorchLinearClassifier()).fit(X, y)
    if dump == "pickle":
        copy = pickle.loads(pickle.dumps(pipe))
    else:
        joblib.dump(pipe, tmp_path / "model.joblib")
        copy = joblib.load(tmp_path / "model.joblib")
    assert_array_equal(copy.predict_proba(X), pipe.predict_proba(X))
    assert_array_equal(copy.predict(X), pipe.predict(X))
    assert isinstance(copy[-1].coef_, np.ndarray)


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_skops_trusts_nothing_but_the_classifier_itself(wine, solver):
    sio = pytest.importorskip("skops.io")
    X, y = wine
    model = TorchLinearClassifier(solver=solver, random_state=0)
    model = (model.partial_fit(X, y, classes=[0, 1, 2]) if solver == "adam"
             else model.fit(X, y))
    data = sio.dumps(model)
    own = "skorch_lite._classifier.TorchLinearClassifier"
    assert sio.get_untrusted_types(data=data) == [own]
    loaded = sio.loads(data, trusted=[own])
    assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    if solver == "adam":
        loaded.partial_fit(X, y)
        model.partial_fit(X, y)
        assert_array_equal(loaded.coef_, model.coef_)


def test_classifier_saved_with_a_gpu_device_predicts_where_there_is_no_gpu(wine, tmp_path):
    # As for the regressor: the fitted state is numpy arrays whatever the
    # device, so a model whose device is a GPU loads in a process with none.
    from test_integration_persistence import _load_in_process_without_gpu

    X, y = wine
    model = TorchLinearClassifier().fit(X, y).set_params(device="cuda:1")
    _load_in_process_without_gpu(tmp_path, model, X, model.predict(X))
