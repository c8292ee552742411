"""The fitted model is the least-squares / ridge optimum that scikit-learn computes directly.

Problems come from :func:`strategies.problems`: full column rank, condition
number at most 10 once the columns (scaled over six orders of magnitude) are
rescaled. On such problems scikit-learn's direct solvers and this estimator
agree to ~1e-12 relative to the size of y (measured over 100 examples), so
the tolerance 1e-9 leaves three orders of magnitude of headroom while still
catching any error in the mathematics. Coefficients are compared after
multiplying by the column scales: that is the well-conditioned quantity
(a coefficient of a column in units of 1e-3 is 1e6 times larger, and only
known to the same *relative* accuracy as the rest).
"""

import warnings

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, Ridge
from strategies import (  # noqa: F401 (one_torch_thread is an autouse fixture)
    TIGHT,
    assert_same_coefficients,
    examples,
    one_torch_thread,
    prediction_size,
    problems,
)

from skorch_lite import TorchLinearRegressor

alphas = st.floats(1e-3, 1e2)
weight_kinds = st.sampled_from(["none", "float", "integer"])


def assert_same_model(ours, reference, problem, tol):
    assert_same_coefficients(ours, reference, problem, tol)
    size = prediction_size(problem.y)
    np.testing.assert_allclose(
        ours.predict(problem.X), reference.predict(problem.X).reshape(problem.y.shape),
        rtol=tol, atol=tol * size,
    )


@given(problems(weights=weight_kinds), st.booleans())
def test_lbfgs_without_penalty_equals_linear_regression(problem, fit_intercept):
    ours = TorchLinearRegressor(fit_intercept=fit_intercept)
    ours.fit(problem.X, problem.y, problem.sample_weight)
    # LinearRegression does not equilibrate columns: on columns in units 1e6
    # apart its lstsq can miss the optimum outright (found by the "deep"
    # profile: residual 1.0 where an exact fit exists). Least squares is
    # equivariant under column scaling, so the reference is fitted on the
    # equilibrated columns and mapped back.
    scales = problem.column_scales
    reference = LinearRegression(fit_intercept=fit_intercept)
    reference.fit(problem.X / scales, problem.y, problem.sample_weight)
    reference.coef_ = reference.coef_ / scales
    assert_same_model(ours, reference, problem, TIGHT)


@given(problems(weights=weight_kinds), alphas, st.booleans())
def test_lbfgs_with_penalty_equals_ridge_with_the_same_weights(problem, alpha, fit_intercept):
    ours = TorchLinearRegressor(alpha=alpha, fit_intercept=fit_intercept)
    ours.fit(problem.X, problem.y, problem.sample_weight)
    reference = Ridge(alpha=alpha, fit_intercept=fit_intercept)
    reference.fit(problem.X, problem.y, problem.sample_weight)
    assert_same_model(ours, reference, problem, TIGHT)


@examples(0.5)
@given(problems(weights=weight_kinds), st.one_of(st.just(0.0), alphas))
def test_full_batch_sgd_converges_to_the_ridge_optimum(problem, alpha):
    # Full-batch SGD with momentum converges linearly on the preconditioned
    # problem (~270 iterations to tol=1e-16, measured). Its stopping rule
    # 0.5 ||grad||^2 <= tol bounds the distance to the optimum by
    # sqrt(2 tol) ~ 1.4e-8 relative to y's spread, hence rtol 1e-7.
    ours = TorchLinearRegressor(solver="sgd", alpha=alpha, tol=1e-16, max_iter=2000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ours.fit(problem.X, problem.y, problem.sample_weight)
    reference = Ridge(alpha=alpha).fit(problem.X, problem.y, problem.sample_weight)
    assert_same_model(ours, reference, problem, 1e-7)
