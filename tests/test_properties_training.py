"""Training decreases the objective, and ``loss_curve_`` tells the truth about it.

The objective is recomputed here in numpy from ``coef_`` and ``intercept_``
(:func:`strategies.objective`), never read back from the estimator, and the
optimum comes from :class:`~sklearn.linear_model.Ridge`. "Excess" below is
the objective minus that optimum.
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sklearn.linear_model import Ridge
from strategies import (  # noqa: F401 (one_torch_thread is an autouse fixture)
    MAX_FEATURES,
    examples,
    mean_predictor_objective,
    objective,
    one_torch_thread,
    penalties,
    problems,
)

from skorch_lite import TorchLinearRegressor

# Adam at its default 200 iterations and mini-batch epochs rarely meet tol;
# these properties are about the objective, not the warning.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def optimum(X, y, sample_weight, alpha, fit_intercept=True):
    reference = Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(X, y, sample_weight)
    intercept = reference.intercept_ if fit_intercept else 0.0
    return objective(X, y, reference.coef_, intercept, alpha=alpha, sample_weight=sample_weight)


def fitted_objective(model, X, y, sample_weight):
    return objective(X, y, model.coef_, model.intercept_, alpha=model.alpha,
                     sample_weight=sample_weight)


def documented_excess_bound(model, X, y, sample_weight, floor=0.0):
    """How far above the optimum the stopping rule lets a converged fit end.

    The rule stops when half the squared gradient in the preconditioned
    variables, an estimate of the excess objective in units where the mean
    predictor scores 1 per target, is at most ``tol``. Back in y's units the
    excess is at most ``tol`` times the largest per-target mean-predictor
    objective, itself at most ``k`` times their mean. Measured on sketched
    fits: at most 0.44 of this bound. ``floor`` is the rounding error of
    evaluating the objective when that bound is 0 (constant targets).
    """
    k = 1 if y.ndim == 1 else y.shape[1]
    start = mean_predictor_objective(X, y, alpha=model.alpha, sample_weight=sample_weight,
                                     fit_intercept=model.fit_intercept)
    return k * model.tol * start + floor


def assert_never_increases(curve):
    # L-BFGS's strong Wolfe line search accepts a point only if it lowers the
    # objective, so the recorded values must be non-increasing, up to the
    # rounding of evaluating the objective once it is ~0 (an exact fit:
    # 7e-36 -> 8e-35 after starting at 1, found by the "deep" profile).
    steps = np.diff(curve)
    assert np.all(steps <= 1e-15 * max(curve)), f"loss_curve_ increased: {curve}"


@examples(0.6)
@given(problems(), st.data(), penalties)
def test_lbfgs_from_a_warm_start_never_increases_the_loss_and_ends_at_the_optimum(
    problem, data, alpha
):
    X, y, w = problem.X, problem.y, problem.sample_weight
    # Start from the model fitted to other targets: a point that is not optimal.
    shift = data.draw(st.sampled_from([-1.0, 1.0])) * data.draw(st.floats(0.5, 5.0))
    feature = (X[:, 0] - X[:, 0].mean()) / (X[:, 0].std() + 1e-300)
    other_y = y + shift * (feature if y.ndim == 1 else feature[:, None])
    model = TorchLinearRegressor(alpha=alpha, warm_start=True).fit(X, other_y, w)
    start = fitted_objective(model, X, y, w)
    best = optimum(X, y, w, alpha)
    assume(start - best > 1e-6 * start)

    model.fit(X, y, w)
    assert_never_increases(model.loss_curve_)
    # numpy and torch sum in different orders: allow rounding against the start.
    assert model.loss_curve_[0] <= start * (1 + 1e-12)
    final = fitted_objective(model, X, y, w)
    assert final < start
    assert final - best <= documented_excess_bound(model, X, y, w, floor=1e-15 * start)


@examples(0.2)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_features=st.integers(1, MAX_FEATURES),
    log_scales=st.lists(st.floats(-3, 3), min_size=MAX_FEATURES, max_size=MAX_FEATURES),
)
def test_lbfgs_on_sketched_rows_never_increases_the_loss_and_ends_at_the_optimum(
    seed, n_features, log_scales
):
    # Above 2000 rows the preconditioner and the starting point come from a
    # random sample of rows, so L-BFGS starts away from the optimum and must
    # actually descend.
    rng = np.random.default_rng(seed)
    n = 2100
    scales = 10.0 ** np.array(log_scales[:n_features])
    X = rng.normal(size=(n, n_features)) * scales
    y = X @ (rng.normal(size=n_features) / scales) + rng.normal(size=n)
    model = TorchLinearRegressor(random_state=seed % 1000).fit(X, y)
    assert_never_increases(model.loss_curve_)
    final = fitted_objective(model, X, y, None)
    assert final - optimum(X, y, None, 0.0) <= documented_excess_bound(model, X, y, None)


def assert_descends_from_the_mean_predictor(problem, solver, batch_size, alpha, fit_intercept,
                                           share_left, not_optimal=1e-6):
    X, y, w = problem.X, problem.y, problem.sample_weight
    start = mean_predictor_objective(X, y, alpha=alpha, sample_weight=w,
                                     fit_intercept=fit_intercept)
    best = optimum(X, y, w, alpha, fit_intercept)
    assume(start - best > not_optimal * start)  # the start was not already optimal

    model = TorchLinearRegressor(solver=solver, batch_size=batch_size, alpha=alpha,
                                 fit_intercept=fit_intercept, random_state=0)
    model.fit(X, y, w)
    final = fitted_objective(model, X, y, w)
    assert final < start
    # It learned something: at most ``share_left`` of the excess objective is left.
    assert final - best <= share_left * (start - best)


@given(problems(), st.sampled_from(["adam", "sgd"]), penalties, st.booleans())
def test_full_batch_adam_and_sgd_end_below_the_mean_predictor_where_they_start(
    problem, solver, alpha, fit_intercept
):
    # Measured over 40 examples in default settings, the share of the excess
    # objective left: full-batch SGD 1e-7, Adam (constant step, 200
    # iterations) 1.0%. Ask for 1% and half.
    share_left = 0.5 if solver == "adam" else 1e-2
    assert_descends_from_the_mean_predictor(problem, solver, None, alpha, fit_intercept,
                                            share_left)


@given(problems(), st.sampled_from(["adam", "sgd"]), st.data(), penalties, st.booleans())
def test_mini_batch_adam_and_sgd_end_below_the_mean_predictor_where_they_start(
    problem, solver, data, alpha, fit_intercept
):
    # Each batch's loss is rescaled to estimate the whole objective, penalty
    # included, so mini-batches minimize the same function. With a constant
    # step they only reach it up to a noise floor, ~0.5 p lr^2 of the start
    # on homogeneous rows (batch_size=1: 1.6e-4 measured with p=3), so "not
    # already optimal" means 1% above the optimum, and a tenth of that excess
    # may remain (a quarter in the assertion: a margin over the 0.115 seen
    # with torch on 2 threads). Two batches per epoch: with smaller batches, rows of
    # leverage ~1 (which these problems can have) make the final epoch's
    # noise exceed the excess; see the report of issue 4.
    n = len(problem.X)
    batch_size = data.draw(st.integers(-(-n // 2), n - 1))
    assert_descends_from_the_mean_predictor(problem, solver, batch_size, alpha, fit_intercept,
                                            share_left=0.25, not_optimal=1e-2)


@given(
    problems(),
    st.sampled_from(["lbfgs", "adam", "sgd"]),
    st.one_of(st.none(), st.integers(1, 30)),
    penalties,
)
def test_loss_curve_ends_at_the_objective_of_the_fitted_model(problem, solver, batch_size, alpha):
    X, y, w = problem.X, problem.y, problem.sample_weight
    model = TorchLinearRegressor(solver=solver, batch_size=batch_size, alpha=alpha,
                                 random_state=0).fit(X, y, w)
    assert len(model.loss_curve_) == model.n_iter_ >= 1
    start = mean_predictor_objective(X, y, alpha=alpha, sample_weight=w)
    full_batch = solver == "lbfgs" or batch_size is None or batch_size >= len(X)
    # Mini-batch fits keep the best of the start and the epochs' ends.
    expected = model.loss_curve_[-1] if full_batch else min(min(model.loss_curve_), start)
    np.testing.assert_allclose(
        expected, fitted_objective(model, X, y, w), rtol=1e-9, atol=1e-12 * start
    )
