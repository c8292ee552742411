"""Ways of training: partial_fit, warm_start, early stopping, mini-batches, verbose."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression

from skorch_lite import TorchLinearRegressor
from estimators import SketchedStart


@pytest.fixture
def diabetes():
    return load_diabetes(return_X_y=True)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_partial_fit_trains_one_epoch_per_call_and_keeps_learning(diabetes, solver):
    X, y = diabetes
    reg = TorchLinearRegressor(solver=solver, batch_size=64, random_state=0)
    scores = []
    for _ in range(15):
        reg.partial_fit(X, y)
        scores.append(reg.score(X, y))
    assert reg.n_iter_ == 15 and len(reg.loss_curve_) == 15
    assert scores[-1] > scores[0]
    assert scores[-1] > LinearRegression().fit(X, y).score(X, y) - 0.02


def test_partial_fit_on_chunks_continues_from_the_state(diabetes):
    X, y = diabetes
    reg = TorchLinearRegressor(solver="adam", random_state=0)
    for epoch in range(30):
        for chunk in np.array_split(np.arange(len(y)), 4):
            reg.partial_fit(X[chunk], y[chunk])
    assert reg.score(X, y) > 0.45
    restored = pickle.loads(pickle.dumps(reg))
    restored.partial_fit(X, y)
    reg.partial_fit(X, y)
    np.testing.assert_allclose(restored.coef_, reg.coef_)


def test_partial_fit_rejects_a_change_of_features(diabetes):
    X, y = diabetes
    reg = TorchLinearRegressor(solver="sgd").partial_fit(X, y)
    with pytest.raises(ValueError, match="features"):
        reg.partial_fit(X[:, :3], y)


def test_partial_fit_after_fit_continues_from_the_fitted_model(diabetes):
    X, y = diabetes
    reg = TorchLinearRegressor(solver="sgd", learning_rate_init=1e-4).fit(X, y)
    before = reg.score(X, y)
    reg.partial_fit(X, y)
    assert reg.score(X, y) == pytest.approx(before, abs=1e-3)


def test_warm_start_starts_from_the_previous_solution(diabetes):
    X, y = diabetes
    reg = SketchedStart(solver="adam", warm_start=True, max_iter=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
        first = reg.loss_curve_[-1]
        reg.fit(X, y)
    assert reg.loss_curve_[0] <= first * 1.01
    cold = SketchedStart(solver="adam", max_iter=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cold.fit(X, y)
    assert cold.loss_curve_[0] > reg.loss_curve_[0]


@pytest.mark.parametrize("solver", ["lbfgs", "adam", "sgd"])
def test_early_stopping_records_validation_scores_and_keeps_the_best(diabetes, solver):
    X, y = diabetes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = TorchLinearRegressor(
            solver=solver, early_stopping=True, validation_fraction=0.2, random_state=0
        ).fit(X, y)
    assert len(reg.validation_scores_) == reg.n_iter_
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    assert 0.3 < reg.best_validation_score_ < 1.0
    plain = TorchLinearRegressor(solver=solver).fit(X, y)
    assert plain.validation_scores_ is None and plain.best_validation_score_ is None


def test_minibatch_without_shuffle_is_deterministic_without_random_state(diabetes):
    X, y = diabetes
    params = dict(solver="sgd", batch_size=50, shuffle=False, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = TorchLinearRegressor(**params).fit(X, y)
        b = TorchLinearRegressor(**params).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_verbose_one_logs_each_iteration(diabetes, capsys):
    X, y = diabetes
    reg = SketchedStart(solver="sgd", verbose=1, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    out = capsys.readouterr().out
    assert out.count("Iteration") == reg.n_iter_ == 3
    assert "stopped at max_iter" in out
