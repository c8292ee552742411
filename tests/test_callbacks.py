"""scikit-learn's callback API: tasks per iteration, stopping, ProgressBar, ScoringMonitor."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.callback import ProgressBar, ScoringMonitor
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skorch_lite import TorchLinearRegressor
from estimators import SketchedStart

SETTINGS = {
    "lbfgs": dict(solver="lbfgs"),
    "adam full batch": dict(solver="adam", max_iter=30),
    "sgd mini-batches": dict(solver="sgd", batch_size=64, max_iter=5, random_state=0),
    "adam early stopping": dict(solver="adam", early_stopping=True, max_iter=20, random_state=0),
    # Losses other than squared error train in rounds; each round's iterations are tasks.
    "huber rounds": dict(loss="huber"),
    "quantile rounds": dict(loss="quantile"),
    "poisson rounds": dict(loss="poisson"),
}


@pytest.fixture
def diabetes():
    return load_diabetes(return_X_y=True)


class Recorder:
    """Records every hook call; stops after ``stop_after`` iterations if given."""

    def __init__(self, stop_after=None):
        self.calls = []
        self.stop_after = stop_after

    def setup(self, estimator, context):
        self.calls.append(("setup", context.task_name, None))

    def teardown(self, estimator, context):
        self.calls.append(("teardown", context.task_name, None))

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None, metadata=None,
                          fitted_estimator=None):
        self.calls.append(("begin", context.task_name, fitted_estimator))

    def on_fit_task_end(self, estimator, context, *, X=None, y=None, metadata=None,
                        fitted_estimator=None):
        self.calls.append(("end", context.task_name, fitted_estimator))
        self.last_data = X, y, metadata
        return (
            context.task_name == "iteration"
            and self.stop_after is not None
            and context.task_id + 1 >= self.stop_after
        )

    def hooks(self):
        return [(hook, task) for hook, task, _ in self.calls]


def fit_quietly(reg, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return reg.fit(X, y, **kwargs)


@pytest.mark.parametrize("setting", SETTINGS, ids=list(SETTINGS))
def test_a_recording_callback_sees_the_root_task_and_one_pair_per_iteration(diabetes, setting):
    X, y = diabetes
    recorder = Recorder()
    reg = fit_quietly(TorchLinearRegressor(**SETTINGS[setting]).set_callbacks(recorder), X, y)
    per_iteration = [("begin", "iteration"), ("end", "iteration")] * reg.n_iter_
    assert recorder.hooks() == [
        ("setup", "fit"), ("begin", "fit"), *per_iteration, ("end", "fit"), ("teardown", "fit")
    ]
    # Nothing of the fit's callback machinery stays on the fitted estimator.
    assert not hasattr(reg, "_callback_fit_ctx")
    pickle.dumps(reg)


def test_hooks_get_the_data_the_weights_and_the_model_as_of_each_iteration(diabetes):
    X, y = diabetes
    weights = np.ones(len(y))
    recorder = Recorder()
    reg = SketchedStart(solver="adam", max_iter=4).set_callbacks(recorder)
    fit_quietly(reg, X, y, sample_weight=weights)
    assert recorder.last_data[0] is X and recorder.last_data[1] is y
    assert recorder.last_data[2]["sample_weight"] is weights
    ends = [est for hook, task, est in recorder.calls if (hook, task) == ("end", "iteration")]
    begins = [est for hook, task, est in recorder.calls if (hook, task) == ("begin", "iteration")]
    assert [est.n_iter_ for est in ends] == [1, 2, 3, 4]
    assert [est.n_iter_ for est in begins] == [0, 1, 2, 3]
    # Each view is a model that predicts, and the last one is the fitted model.
    assert ends[0].score(X, y) < ends[-1].score(X, y)
    np.testing.assert_array_equal(ends[-1].coef_, reg.coef_)
    assert ends[-1].loss_curve_ == reg.loss_curve_
    assert ends[0] is not reg and ends[0].get_params() == reg.get_params()


@pytest.mark.parametrize("setting", SETTINGS, ids=list(SETTINGS))
def test_a_callback_asking_to_stop_after_3_iterations_ends_the_fit_consistently(diabetes, setting):
    X, y = diabetes
    params = {**SETTINGS[setting], "max_iter": 50, "tol": 0.0}
    recorder = Recorder(stop_after=3)
    with warnings.catch_warnings():
        # Stopping on request is not a failure to converge: nothing may blame max_iter.
        warnings.simplefilter("error", ConvergenceWarning)
        reg = SketchedStart(**params).set_callbacks(recorder).fit(X, y)
    assert reg.n_iter_ == 3 and len(reg.loss_curve_) == 3
    if reg.early_stopping:
        assert len(reg.validation_scores_) == 3
        assert reg.best_validation_score_ == max(reg.validation_scores_)
    assert np.isfinite(reg.coef_).all() and reg.predict(X).shape == y.shape
    assert recorder.hooks()[-2:] == [("end", "fit"), ("teardown", "fit")]


def test_partial_fit_is_one_iteration_task_that_continues_the_counts(diabetes):
    X, y = diabetes
    recorder = Recorder()
    reg = TorchLinearRegressor(solver="sgd", random_state=0).set_callbacks(recorder)
    reg.partial_fit(X, y)
    reg.partial_fit(X, y)
    ends = [est for hook, task, est in recorder.calls if (hook, task) == ("end", "iteration")]
    assert [est.n_iter_ for est in ends] == [1, 2]
    assert len(ends[-1].loss_curve_) == 2


def test_progress_bar_runs_on_the_bare_estimator(diabetes, capsys):
    X, y = diabetes
    for params in SETTINGS.values():
        fit_quietly(TorchLinearRegressor(**params).set_callbacks(ProgressBar()), X, y)
    assert "TorchLinearRegressor" in capsys.readouterr().out


def test_progress_bar_and_scoring_monitor_propagate_from_grid_search(diabetes, capsys):
    X, y = diabetes
    monitor = ScoringMonitor(scoring="r2")
    reg = SketchedStart(solver="adam", max_iter=5).set_callbacks(monitor)
    search = GridSearchCV(reg, {"learning_rate_init": [0.01, 0.1]}, cv=2)
    search.set_callbacks(ProgressBar(max_propagation_depth=None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert "GridSearchCV" in capsys.readouterr().out
    scores = monitor.get_logs().data_as_pandas
    # 2 candidates x 2 folds + the refit, 5 iterations each, plus each root task.
    assert len(scores[scores["task_name"] == "iteration"]) == 5 * 5
    assert scores["r2"].notna().all()


def test_progress_bar_propagates_through_a_pipeline(diabetes, capsys):
    X, y = diabetes
    pipe = make_pipeline(StandardScaler(), TorchLinearRegressor())
    pipe.set_callbacks(ProgressBar(max_propagation_depth=None)).fit(X, y)
    assert "TorchLinearRegressor" in capsys.readouterr().out


def test_verbose_two_is_scikit_learns_progress_bar_and_still_pickles(diabetes, capsys):
    X, y = diabetes
    reg = TorchLinearRegressor(verbose=2).fit(X, y)
    out = capsys.readouterr().out
    assert "TorchLinearRegressor - fit" in out and "converged" in out
    # The bar belonged to that fit only.
    assert not hasattr(reg, "_skl_callbacks")
    assert pickle.loads(pickle.dumps(reg)).verbose == 2


def test_verbose_two_inside_a_search_leaves_the_display_to_the_search(diabetes, capsys):
    X, y = diabetes
    search = GridSearchCV(TorchLinearRegressor(verbose=2), {"alpha": [0.0, 1.0]}, cv=2)
    search.set_callbacks(ProgressBar(max_propagation_depth=None)).fit(X, y)
    out = capsys.readouterr().out
    assert out.count("GridSearchCV - fit") == 1


def test_verbose_one_states_the_units_once_and_formats_every_line_alike(diabetes, capsys):
    X, y = diabetes
    reg = SketchedStart(solver="adam", early_stopping=True, max_iter=12, random_state=0,
                               verbose=1)
    fit_quietly(reg, X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Loss: mean squared error + penalty, in squared units of y."
    iterations = lines[1:-1]
    assert len(iterations) == reg.n_iter_ == 12
    assert iterations[0].startswith("Iteration  1  loss ")
    assert all("validation R^2 " in line for line in iterations)
    assert lines[-1].startswith("Training stopped at max_iter after 12 iterations")


@pytest.mark.parametrize("loss", ["huber", "poisson"])
def test_targets_fitted_in_turn_are_one_sequence_of_tasks_and_a_stop_ends_them_all(diabetes,
                                                                                    loss):
    X, y = diabetes
    Y = np.column_stack([y, y[::-1]])
    recorder = Recorder()
    reg = fit_quietly(TorchLinearRegressor(loss=loss).set_callbacks(recorder), X, Y)
    ends = [est for hook, task, est in recorder.calls if (hook, task) == ("end", "iteration")]
    # Every view predicts like the estimator it copies (the log link included).
    np.testing.assert_allclose(ends[-1].predict(X), reg.predict(X), rtol=1e-12)
    assert [est.n_iter_ for est in ends] == list(range(1, len(ends) + 1))
    # A stop during the first target leaves the second at its null model.
    stopper = Recorder(stop_after=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        stopped = TorchLinearRegressor(loss=loss, tol=0.0).set_callbacks(stopper).fit(X, Y)
    assert stopped.n_iter_ == 2
    assert np.all(stopped.coef_[1] == 0) and np.isfinite(stopped.coef_).all()
    null = np.log(Y[:, 1].mean()) if loss == "poisson" else Y[:, 1].mean()
    assert stopped.intercept_[1] == pytest.approx(null, rel=1e-9)


def test_verbose_one_numbers_the_iterations_of_a_losss_rounds_as_one_run(diabetes, capsys):
    # Losses other than squared error train in rounds; verbose output
    # restarted its count and printed a summary after every round.
    X, y = diabetes
    reg = fit_quietly(TorchLinearRegressor(loss="poisson", verbose=1), X, y)
    lines = capsys.readouterr().out.splitlines()
    iterations = [line for line in lines if line.startswith("Iteration ")]
    assert [int(line.split()[1]) for line in iterations] == list(range(1, reg.n_iter_ + 1))
    summaries = [line for line in lines if line.startswith("Training ")]
    assert summaries == [summaries[0]] and summaries[0].startswith(
        f"Training converged after {reg.n_iter_} iterations")
