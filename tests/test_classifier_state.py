"""TorchLinearClassifier's API: labels, outputs, inputs, partial_fit, warm_start, persistence."""

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

from skorch_lite import TorchLinearClassifier


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize(
    "labels",
    [np.array(["setosa", "versicolor", "virginica"]), np.array([-5, 3, 10]),
     np.array([2.0, 7.0, 9.0])],
    ids=["str", "int", "float"],
)
def test_any_labels_give_the_same_model(iris, labels):
    X, y = iris
    reference = TorchLinearClassifier().fit(X, y)
    clf = TorchLinearClassifier().fit(X, labels[y])
    assert_array_equal(clf.classes_, labels)
    assert_allclose(clf.coef_, reference.coef_, rtol=1e-10, atol=1e-12)
    assert_array_equal(clf.predict(X), labels[reference.predict(X)])
    assert clf.predict(X).dtype == labels.dtype


def test_boolean_labels_are_a_binary_problem(iris):
    X, y = iris
    clf = TorchLinearClassifier().fit(X, y == 0)
    assert_array_equal(clf.classes_, [False, True])
    assert clf.coef_.shape == (1, 4) and clf.intercept_.shape == (1,)
    assert clf.predict(X).dtype == bool
    assert clf.score(X, y == 0) == 1.0


@pytest.mark.parametrize("binary", [True, False])
def test_probabilities_scores_and_log_probabilities_agree(iris, binary):
    X, y = iris
    y = (y == 2) if binary else y
    clf = TorchLinearClassifier().fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(y), len(clf.classes_))
    assert_allclose(proba.sum(1), 1, rtol=1e-12)
    assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-9, atol=1e-12)
    scores = clf.decision_function(X)
    assert_allclose(scores, X @ clf.coef_.T.squeeze() + clf.intercept_.squeeze() if binary
                    else X @ clf.coef_.T + clf.intercept_, rtol=1e-10, atol=1e-12)
    assert scores.shape == ((len(y),) if binary else (len(y), 3))
    assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])
    assert clf.score(X, y) == np.mean(clf.predict(X) == y)


def test_log_probabilities_of_confident_predictions_are_finite():
    X = np.array([[-1.0], [1.0]])
    clf = TorchLinearClassifier(alpha=1e-6).fit(X, [0, 1])
    log_proba = clf.predict_log_proba(np.array([[-1e4], [1e4]]))
    assert np.isfinite(log_proba).all()
    assert log_proba[0, 1] < -1000


def test_pandas_input_records_the_columns_and_predicts_the_same(iris):
    X, y = iris
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    labels = pd.Series(np.array(["x", "y", "z"])[y], name="label")
    clf = TorchLinearClassifier().fit(frame, labels)
    assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    plain = TorchLinearClassifier().fit(X, labels.to_numpy())
    assert_allclose(clf.coef_, plain.coef_, rtol=1e-12)
    assert_array_equal(clf.predict(frame), plain.predict(X))


def test_sparse_and_tensor_inputs_equal_dense(iris):
    X, y = iris
    dense = TorchLinearClassifier().fit(X, y)
    sparse = TorchLinearClassifier().fit(sp.csr_matrix(X), y)
    tensor = TorchLinearClassifier().fit(torch.as_tensor(X), torch.as_tensor(y))
    for other in (sparse, tensor):
        assert_allclose(other.coef_, dense.coef_, rtol=1e-8, atol=1e-10)
    assert isinstance(tensor.coef_, np.ndarray)
    assert_allclose(tensor.predict_proba(torch.as_tensor(X)), dense.predict_proba(X), rtol=1e-8)
    assert_allclose(dense.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X), rtol=1e-12)


def test_pickled_model_predicts_the_same(iris):
    X, y = iris
    clf = TorchLinearClassifier().fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    assert_array_equal(copy.classes_, clf.classes_)


def test_warm_start_from_the_optimum_takes_one_iteration(iris):
    X, y = iris
    clf = TorchLinearClassifier(warm_start=True).fit(X, y)
    first = clf.n_iter_
    coef = clf.coef_.copy()
    clf.fit(X, y)
    assert clf.n_iter_ == 1 < first
    assert_allclose(clf.coef_, coef, rtol=1e-8, atol=1e-10)
    # After another alpha it moves to that alpha's optimum.
    clf.set_params(alpha=0.05).fit(X, y)
    fresh = TorchLinearClassifier(alpha=0.05).fit(X, y)
    assert_allclose(clf.coef_, fresh.coef_, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_partial_fit_learns_from_chunks_lacking_classes(iris, solver):
    X, y = iris
    order = np.argsort(y, kind="stable")  # the first chunks hold one class only
    clf = TorchLinearClassifier(solver=solver, batch_size=16, random_state=0)
    for epoch in range(20):
        for chunk in np.array_split(order, 5):
            clf.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2] if epoch == 0 else None)
    assert clf.n_iter_ == 100 and len(clf.loss_curve_) == 100
    assert clf.coef_.shape == (3, 4)
    assert clf.score(X, y) > 0.9


def test_partial_fit_keeps_the_stream_state_through_pickling(iris):
    X, y = iris
    a = TorchLinearClassifier(solver="adam", random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    b = pickle.loads(pickle.dumps(a))
    a.partial_fit(X, y)
    b.partial_fit(X, y)
    assert_array_equal(a.coef_, b.coef_)


def test_early_stopping_keeps_validation_accuracies(iris):
    X, y = iris
    clf = TorchLinearClassifier(early_stopping=True, random_state=0).fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_) > 0.8


def test_without_intercept_the_intercepts_are_zero(iris):
    X, y = iris
    clf = TorchLinearClassifier(fit_intercept=False).fit(X, y)
    assert_array_equal(clf.intercept_, np.zeros(3))


def test_polars_frame_and_series_give_the_pandas_model(iris):
    pl = pytest.importorskip("polars")
    X, y = iris
    labels = np.array(["x", "y", "z"])[y]
    clf = TorchLinearClassifier().fit(pl.DataFrame(X, schema=list("abcd")), pl.Series(labels))
    assert_array_equal(clf.feature_names_in_, list("abcd"))
    plain = TorchLinearClassifier().fit(X, labels)
    assert_allclose(clf.coef_, plain.coef_, rtol=1e-12)


def test_partial_fit_on_sparse_chunks_equals_dense(iris):
    X, y = iris
    sparse = TorchLinearClassifier(solver="adam", random_state=0)
    dense = TorchLinearClassifier(solver="adam", random_state=0)
    for _ in range(3):
        sparse.partial_fit(sp.csr_matrix(X), y, classes=[0, 1, 2])
        dense.partial_fit(X, y, classes=[0, 1, 2])
    assert_allclose(sparse.coef_, dense.coef_, rtol=1e-10, atol=1e-12)
