"""TorchLinearClassifier and scikit-learn's callback API, and its verbose output.

As tests/test_callbacks.py for the regressor: a task per iteration (over
every round of the fit), hooks that see the model as of each iteration, a
stop that ends the fit with a valid model.
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.callback import ProgressBar, ScoringMonitor
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from skorch_lite import TorchLinearClassifier, _logistic
from test_callbacks import Recorder

SETTINGS = {
    "lbfgs rounds": dict(solver="lbfgs"),
    "binary lbfgs rounds": dict(solver="lbfgs"),
    "adam full batch": dict(solver="adam", max_iter=30),
    "sgd mini-batches": dict(solver="sgd", batch_size=32, max_iter=5, random_state=0),
    "adam early stopping": dict(solver="adam", early_stopping=True, max_iter=20, random_state=0),
    "lbfgs early stopping": dict(solver="lbfgs", early_stopping=True, random_state=0),
}


@pytest.fixture
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture
def raw_start(monkeypatch):
    # Adam and SGD start at the Newton iterates, which on iris are the
    # optimum: training then checks it in one iteration. Without them they
    # start at the class frequencies, and their iterations can be watched.
    monkeypatch.setattr(_logistic, "NEWTON_STEPS", 0)


def _data(iris, setting):
    X, y = iris
    return (X, (y == 2).astype(int)) if setting.startswith("binary") else (X, y)


def fit_quietly(clf, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y, **kwargs)


def _iteration_views(recorder, hook):
    return [est for h, task, est in recorder.calls if (h, task) == (hook, "iteration")]


@pytest.mark.parametrize("setting", SETTINGS, ids=list(SETTINGS))
def test_a_recording_callback_sees_the_root_task_and_one_pair_per_iteration(iris, setting,
                                                                              raw_start):
    # The whole fit was one task: the rounds' iterations were not tasks.
    X, y = _data(iris, setting)
    recorder = Recorder()
    clf = fit_quietly(TorchLinearClassifier(**SETTINGS[setting]).set_callbacks(recorder), X, y)
    assert clf.n_iter_ > 1
    per_iteration = [("begin", "iteration"), ("end", "iteration")] * clf.n_iter_
    assert recorder.hooks() == [
        ("setup", "fit"), ("begin", "fit"), *per_iteration, ("end", "fit"), ("teardown", "fit")
    ]
    assert not hasattr(clf, "_callback_fit_ctx")
    pickle.dumps(clf)


def test_hooks_get_the_data_the_weights_and_the_model_as_of_each_iteration(iris):
    X, y = iris
    weights = np.ones(len(y))
    recorder = Recorder()
    clf = fit_quietly(TorchLinearClassifier().set_callbacks(recorder), X, y,
                      sample_weight=weights)
    assert recorder.last_data[0] is X and recorder.last_data[1] is y
    assert recorder.last_data[2]["sample_weight"] is weights
    ends, begins = _iteration_views(recorder, "end"), _iteration_views(recorder, "begin")
    # Counted across the rounds, as n_iter_.
    assert [est.n_iter_ for est in ends] == list(range(1, clf.n_iter_ + 1))
    assert [est.n_iter_ for est in begins] == list(range(clf.n_iter_))
    # Each view is a classifier that predicts, the first fit's included
    # (classes_ is set only when the fit ends), and the last is the fitted model.
    assert ends[0].predict_proba(X).shape == (len(y), 3)
    assert ends[0].score(X, y) <= ends[-1].score(X, y)
    np.testing.assert_allclose(ends[-1].coef_, clf.coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ends[-1].coef_.sum(0), 0, atol=1e-12)
    assert ends[-1].loss_curve_ == clf.loss_curve_
    assert ends[0] is not clf and ends[0].get_params() == clf.get_params()


@pytest.mark.parametrize("setting", SETTINGS, ids=list(SETTINGS))
def test_a_callback_asking_to_stop_after_3_iterations_ends_the_fit_consistently(iris, setting,
                                                                                  raw_start):
    X, y = _data(iris, setting)
    params = {**SETTINGS[setting], "max_iter": 50, "tol": 0.0}
    recorder = Recorder(stop_after=3)
    with warnings.catch_warnings():
        # Stopping on request is not a failure to converge: nothing may blame max_iter.
        warnings.simplefilter("error", ConvergenceWarning)
        clf = TorchLinearClassifier(**params).set_callbacks(recorder).fit(X, y)
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 3
    if clf.early_stopping:
        assert len(clf.validation_scores_) == 3
        assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert np.isfinite(clf.coef_).all() and clf.predict(X).shape == y.shape
    if clf.batch_size is None and not clf.early_stopping:
        # The fitted model is the one the last hook saw (mini-batches and
        # early stopping keep the best model seen instead).
        np.testing.assert_allclose(_iteration_views(recorder, "end")[-1].coef_, clf.coef_,
                                   rtol=1e-12, atol=1e-14)
    assert recorder.hooks()[-2:] == [("end", "fit"), ("teardown", "fit")]


def test_a_stop_on_separable_data_without_penalty_is_not_blamed_on_the_data(iris):
    X, y = iris
    y = (y == 0).astype(int)  # setosa is linearly separable from the rest
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = TorchLinearClassifier(alpha=0.0).set_callbacks(Recorder(stop_after=2)).fit(X, y)
    assert clf.n_iter_ == 2


def test_partial_fit_is_one_iteration_task_that_continues_the_counts(iris):
    X, y = iris
    recorder = Recorder()
    clf = TorchLinearClassifier(solver="sgd", random_state=0).set_callbacks(recorder)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    clf.partial_fit(X, y)
    ends = _iteration_views(recorder, "end")
    assert [est.n_iter_ for est in ends] == [1, 2]
    assert len(ends[-1].loss_curve_) == 2
    np.testing.assert_allclose(ends[-1].coef_, clf.coef_, rtol=1e-12, atol=1e-14)
    assert list(ends[0].classes_) == [0, 1, 2]


def test_progress_bar_and_scoring_monitor_propagate_from_grid_search(iris, capsys, raw_start):
    X, y = iris
    monitor = ScoringMonitor(scoring="accuracy")
    clf = TorchLinearClassifier(solver="adam", max_iter=5).set_callbacks(monitor)
    search = GridSearchCV(clf, {"alpha": [0.5, 5.0]}, cv=2)
    search.set_callbacks(ProgressBar(max_propagation_depth=None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert "GridSearchCV" in capsys.readouterr().out
    scores = monitor.get_logs().data_as_pandas
    iterations = scores[scores["task_name"] == "iteration"]
    # 2 candidates x 2 folds + the refit, 5 iterations each.
    assert len(iterations) == 5 * 5
    assert scores["accuracy"].notna().all()


def test_verbose_two_is_scikit_learns_progress_bar_and_still_pickles(iris, capsys):
    X, y = iris
    clf = TorchLinearClassifier(verbose=2).fit(X, y)
    out = capsys.readouterr().out
    assert "TorchLinearClassifier - fit" in out and "converged" in out
    assert not hasattr(clf, "_skl_callbacks")
    assert pickle.loads(pickle.dumps(clf)).verbose == 2


@pytest.mark.parametrize("setting", ["lbfgs rounds", "adam early stopping"])
def test_verbose_one_prints_one_line_per_iteration_and_one_summary(iris, capsys, setting,
                                                                   raw_start):
    # It printed per round: the count restarted at 1 each round, and each
    # round closed with a summary ("stopped by a callback" after 20).
    X, y = iris
    clf = fit_quietly(TorchLinearClassifier(**SETTINGS[setting], verbose=1), X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Loss: log loss + penalty, per unit of sample weight."
    iterations = lines[1:-1]
    width = len(str(clf.max_iter))
    assert iterations == [line for line in iterations if line.startswith("Iteration ")]
    assert [int(line.split()[1]) for line in iterations] == list(range(1, clf.n_iter_ + 1))
    assert iterations[0].startswith(f"Iteration {1:>{width}d}  loss ")
    if clf.early_stopping:
        assert all("validation accuracy " in line for line in iterations)
    # (Early stopping's patience is the rule the user asked for: converged.)
    assert lines[-1].startswith(f"Training converged after {clf.n_iter_} iterations")
