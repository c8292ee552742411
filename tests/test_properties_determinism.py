"""The same random_state gives bit-identical models, and a clone refits to the same model."""

import warnings

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from strategies import one_torch_thread, problems  # noqa: F401 (autouse fixture)

from skorch_lite import TorchLinearRegressor

settings_of_a_fit = st.fixed_dictionaries({
    "solver": st.sampled_from(["lbfgs", "adam", "sgd"]),
    "batch_size": st.one_of(st.none(), st.integers(1, 30)),
    "shuffle": st.booleans(),
    "early_stopping": st.booleans(),
    "alpha": st.one_of(st.just(0.0), st.floats(1e-3, 1e2)),
    "random_state": st.integers(0, 2**31 - 1),
    "max_iter": st.integers(1, 30),
})


def fit_quietly(model, problem):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(problem.X, problem.y, problem.sample_weight)


def assert_identical(first, second):
    assert np.array_equal(first.coef_, second.coef_)
    assert np.array_equal(first.intercept_, second.intercept_)
    assert first.loss_curve_ == second.loss_curve_
    assert first.n_iter_ == second.n_iter_


@given(problems(extra_rows=st.integers(9, 21)), settings_of_a_fit)
def test_same_random_state_gives_identical_coefficients(problem, params):
    # At least 10 rows, so that early stopping's 10% validation split leaves
    # rows to train on whatever the weights.
    first = fit_quietly(TorchLinearRegressor(**params), problem)
    second = fit_quietly(TorchLinearRegressor(**params), problem)
    assert_identical(first, second)


@given(problems(extra_rows=st.integers(9, 21)), settings_of_a_fit)
def test_clone_and_refit_reproduces_the_model(problem, params):
    fitted = fit_quietly(TorchLinearRegressor(**params), problem)
    refitted = fit_quietly(clone(fitted), problem)
    assert_identical(fitted, refitted)
    # Refitting the same object is a fresh fit too (warm_start is False).
    again = fit_quietly(fitted, problem)
    assert_identical(again, refitted)
