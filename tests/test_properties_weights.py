"""Sample weights mean what they say: repetition, removal, and units of measure.

Each property compares two L-BFGS fits of the same well-posed problem, so
both land on the exact optimum (~1e-12 relative, see
``test_properties_optimum.py``); 1e-9 allows for the different summation
orders without hiding a wrong weighting (which moves the fit by O(1)).
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from strategies import (  # noqa: F401 (one_torch_thread is an autouse fixture)
    assert_same_coefficients,
    integer_weights,
    one_torch_thread,
    penalties,
    problems,
)

from skorch_lite import TorchLinearRegressor


@given(problems(weights=st.just("none")), st.data(), penalties)
def test_integer_weight_k_equals_repeating_the_row_k_times(problem, data, alpha):
    X, y = problem.X, problem.y
    counts = data.draw(integer_weights(len(X), low=1, high=4))
    weighted = TorchLinearRegressor(alpha=alpha).fit(X, y, counts)
    rows = np.repeat(np.arange(len(X)), counts.astype(int))
    repeated = TorchLinearRegressor(alpha=alpha).fit(X[rows], y[rows])
    assert_same_coefficients(weighted, repeated, problem)


@given(problems(), st.data(), penalties)
def test_weight_zero_equals_dropping_the_row(problem, data, alpha):
    # Extra rows of arbitrary (finite) values, all with weight 0, must have
    # no influence at all, however far out they lie.
    X, y, w = problem.X, problem.y, problem.sample_weight
    n_extra = data.draw(st.integers(1, 5))
    junk = st.floats(-1e6, 1e6)
    X_extra = data.draw(arrays(np.float64, (n_extra, X.shape[1]), elements=junk))
    y_extra = data.draw(arrays(np.float64, (n_extra,) + y.shape[1:], elements=junk))
    w = np.ones(len(X)) if w is None else w
    padded = TorchLinearRegressor(alpha=alpha).fit(
        np.vstack([X, X_extra]), np.concatenate([y, y_extra]),
        np.concatenate([w, np.zeros(n_extra)]),
    )
    dropped = TorchLinearRegressor(alpha=alpha).fit(X, y, w)
    assert_same_coefficients(padded, dropped, problem)


@given(problems(weights=st.just("float")), st.floats(-3.0, 3.0))
def test_scaling_all_weights_changes_nothing_without_penalty(problem, log_c):
    X, y, w = problem.X, problem.y, problem.sample_weight
    scaled = TorchLinearRegressor().fit(X, y, 10.0**log_c * w)
    plain = TorchLinearRegressor().fit(X, y, w)
    assert_same_coefficients(scaled, plain, problem)


@given(problems(weights=st.just("float")), st.floats(1e-3, 1e2), st.floats(-3.0, 3.0))
def test_scaling_all_weights_by_c_equals_dividing_alpha_by_c(problem, alpha, log_c):
    # sum c s_i r_i^2 + alpha ||W||^2 = c (sum s_i r_i^2 + (alpha / c) ||W||^2):
    # the same minimizer, so the penalty is not "per unit of weight".
    X, y, w = problem.X, problem.y, problem.sample_weight
    c = 10.0**log_c
    scaled_weights = TorchLinearRegressor(alpha=alpha).fit(X, y, c * w)
    scaled_alpha = TorchLinearRegressor(alpha=alpha / c).fit(X, y, w)
    assert_same_coefficients(scaled_weights, scaled_alpha, problem)


@given(problems(weights=st.just("none")), penalties)
def test_unit_weights_equal_no_weights(problem, alpha):
    ones = TorchLinearRegressor(alpha=alpha).fit(problem.X, problem.y, np.ones(len(problem.y)))
    none = TorchLinearRegressor(alpha=alpha).fit(problem.X, problem.y)
    assert_same_coefficients(ones, none, problem)


def test_a_zero_weight_row_of_subnormal_y_beside_a_zero_target_changes_nothing():
    # Found by the deep profile of test_weight_zero_equals_dropping_the_row:
    # the largest |y| (2e-313, on the row of weight 0) was the target's unit,
    # whose inverse overflowed: "Training diverged" with a NaN objective.
    X = np.array([[-0.57735027], [0.78867513], [-0.21132487], [0.0]])
    y = np.array([0.0, 0.0, 0.0, 2.22507386e-313])
    w = np.array([1.0, 1.0, 1.0, 0.0])
    for alpha in (0.0, 1.0):
        padded = TorchLinearRegressor(alpha=alpha).fit(X, y, w)
        dropped = TorchLinearRegressor(alpha=alpha).fit(X[:3], y[:3])
        assert padded.coef_.tolist() == dropped.coef_.tolist() == [0.0]
        assert padded.intercept_ == dropped.intercept_ == 0.0
