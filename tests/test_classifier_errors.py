"""Bad input to TorchLinearClassifier: clear errors, estimator and inputs untouched."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skorch_lite import TorchLinearClassifier

RNG = np.random.RandomState(0)
X = RNG.normal(size=(60, 3))
Y = np.array([0, 1, 2] * 20)


def _fitted(**params):
    return TorchLinearClassifier(**params).fit(X, Y)


def _assert_unchanged(clf, before):
    assert pickle.dumps(clf) == before


@pytest.mark.parametrize(
    "y, match",
    [
        (np.zeros(60), "only one class"),
        (np.where(np.arange(60) == 5, np.nan, Y.astype(float)), "NaN"),
        (np.array(["a", None, "b"] * 20, dtype=object), "NaN or None"),
        (np.linspace(0, 1, 60), "continuous"),
        (np.stack([Y % 2, Y // 2], axis=1), "[Mm]ultilabel"),
    ],
    ids=["single-class", "nan", "none", "continuous", "multilabel"],
)
def test_bad_labels_raise_and_leave_the_model_and_inputs_untouched(y, match):
    clf = _fitted()
    before = pickle.dumps(clf)
    X_copy, y_copy = X.copy(), y.copy()
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    _assert_unchanged(clf, before)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_single_class_of_positive_weight_is_an_error():
    y = np.array([0, 1] * 30)
    with pytest.raises(ValueError, match="2 classes with positive sample_weight"):
        TorchLinearClassifier().fit(X, y, sample_weight=(y == 1).astype(float))


def test_unseen_labels_in_partial_fit_raise_and_change_nothing():
    clf = TorchLinearClassifier(solver="sgd", random_state=0)
    clf.partial_fit(X, Y, classes=[0, 1, 2])
    before = pickle.dumps(clf)
    y = Y.copy()
    y[0] = 7
    with pytest.raises(ValueError, match=r"labels \[7\] that are not in classes"):
        clf.partial_fit(X, y)
    _assert_unchanged(clf, before)
    assert y[0] == 7


def test_partial_fit_needs_classes_first_and_the_same_classes_later():
    clf = TorchLinearClassifier(solver="adam", random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, Y)
    assert not hasattr(clf, "coef_")
    clf.partial_fit(X, Y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="differs from classes_"):
        clf.partial_fit(X, Y, classes=[0, 1, 2, 3])


def test_partial_fit_rejects_balanced_class_weight():
    # As SGDClassifier: a ValueError that says how to weight the classes instead.
    clf = TorchLinearClassifier(solver="sgd", class_weight="balanced", random_state=0)
    with pytest.raises(ValueError, match="'balanced' is not supported by partial_fit"):
        clf.partial_fit(X, Y, classes=[0, 1, 2])
    assert not hasattr(clf, "coef_")
    # Set on a stream already under way: the model stays as it was.
    clf = TorchLinearClassifier(solver="sgd", random_state=0).partial_fit(X, Y, classes=[0, 1, 2])
    before = pickle.dumps(clf)
    clf.set_params(class_weight="balanced")
    with pytest.raises(ValueError, match=r"compute_class_weight\('balanced'"):
        clf.partial_fit(X, Y)
    clf.set_params(class_weight=None)
    _assert_unchanged(clf, before)


def test_partial_fit_is_absent_for_lbfgs():
    with pytest.raises(AttributeError, match="only available with solver in"):
        TorchLinearClassifier().partial_fit(X, Y, classes=[0, 1, 2])


def test_warm_start_with_other_classes_or_features_raises():
    clf = _fitted(warm_start=True)
    before = pickle.dumps(clf)
    with pytest.raises(ValueError, match="fitted with classes"):
        clf.fit(X, Y % 2)
    with pytest.raises(ValueError, match="features"):
        clf.fit(X[:, :2], Y)
    _assert_unchanged(clf, before)


def test_a_failed_refit_keeps_the_previous_model():
    clf = _fitted()
    coef, classes = clf.coef_, clf.classes_
    with pytest.raises(ValueError):
        clf.fit(X[:, :2], np.array(["x"] * 60))
    assert clf.coef_ is coef and clf.classes_ is classes and clf.n_features_in_ == 3


@pytest.mark.parametrize("n_classes", [2, 3])
def test_separable_data_with_tiny_alpha_gives_finite_coefficients(n_classes):
    y = np.argmax(X[:, :n_classes], axis=1) if n_classes > 2 else (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        # tol=1e-9: with three classes the log loss at this optimum (~1e-7 a
        # row, logsumexp(raw) - raw_y of logits ~100) is resolved to ~1e-8
        # relative, so tol=1e-12 is beyond what float64 certifies here.
        clf = TorchLinearClassifier(alpha=1e-10, tol=1e-9).fit(X, y)
    assert np.isfinite(clf.coef_).all() and np.isfinite(clf.intercept_).all()
    assert clf.score(X, y) == 1.0


def test_separable_data_without_penalty_warns_that_there_is_no_optimum():
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(ConvergenceWarning, match="separable"):
        clf = TorchLinearClassifier(alpha=0.0, max_iter=50).fit(X, y)
    assert np.isfinite(clf.coef_).all()
    assert np.isfinite(clf.predict_proba(X)).all()


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_separable_data_with_tiny_alpha_does_not_diverge_with_stochastic_solvers(solver):
    # Adam raised "Training diverged" (3e3 times the null objective): with
    # separable classes an overshoot is large but finite, and it comes back.
    rng = np.random.RandomState(0)
    X = rng.randn(60, 3)
    y = (X[:, 0] > 0).astype(int)
    X[:, 0] += np.where(y, 1, -1) * 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = TorchLinearClassifier(solver=solver, alpha=1e-12, random_state=0).fit(X, y)
    assert np.isfinite(clf.coef_).all() and clf.score(X, y) == 1.0


SOLVERS = {
    "lbfgs": dict(solver="lbfgs"),
    "adam": dict(solver="adam"),
    "adam mini-batches": dict(solver="adam", batch_size=64),
    "sgd": dict(solver="sgd"),
    "sgd mini-batches": dict(solver="sgd", batch_size=64),
}


def _separable(n_classes):
    rng = np.random.RandomState(1)
    X = rng.normal(size=(500, 5))
    y = np.argmax(X[:, :n_classes], 1) if n_classes > 2 else (X[:, 0] + 0.3 * X[:, 1] > 0)
    return X, y.astype(int)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("alpha", [0.0, 1e-14])
@pytest.mark.parametrize("solver", SOLVERS, ids=list(SOLVERS))
def test_separable_classes_with_no_or_a_tiny_penalty_warn_alike_for_every_solver(
        solver, alpha, n_classes):
    # Adam, full batch, reported alpha=0 fits converged (its steps carried
    # the coefficients to 1e5) where L-BFGS and SGD warned; with alpha=1e-14
    # the warnings spoke of max_iter or mini-batch noise, not of the cause.
    X, y = _separable(n_classes)
    clf = TorchLinearClassifier(alpha=alpha, random_state=0, **SOLVERS[solver])
    with pytest.warns(ConvergenceWarning, match="classes of the training data are separable"):
        clf.fit(X, y)
    assert np.isfinite(clf.coef_).all() and clf.score(X, y) == 1.0

