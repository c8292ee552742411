"""Changing the data in ways the mathematics sees through changes the fit in the predicted way.

All fits are full-batch L-BFGS on well-posed problems (exact to ~1e-12
relative, see ``test_properties_optimum.py``); tolerances are 1e-9 relative
to the size of the quantities compared.
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from strategies import (  # noqa: F401 (one_torch_thread is an autouse fixture)
    TIGHT,
    as_1d,
    as_2d,
    one_torch_thread,
    penalties,
    prediction_size,
    problems,
)

from skorch_lite import TorchLinearRegressor


@given(problems(), st.permutations(range(40)), penalties)
def test_permuting_rows_changes_nothing(problem, order, alpha):
    X, y, w = problem.X, problem.y, problem.sample_weight
    order = np.array([i for i in order if i < len(X)])
    original = TorchLinearRegressor(alpha=alpha).fit(X, y, w)
    permuted = TorchLinearRegressor(alpha=alpha).fit(
        X[order], y[order], None if w is None else w[order]
    )
    size = prediction_size(y)
    np.testing.assert_allclose(
        permuted.coef_ * problem.column_scales, original.coef_ * problem.column_scales,
        rtol=TIGHT, atol=TIGHT * size,
    )
    np.testing.assert_allclose(permuted.intercept_, original.intercept_, rtol=TIGHT,
                               atol=TIGHT * size)


@given(
    problems(),
    st.sampled_from([-1.0, 1.0]),
    st.floats(-3.0, 3.0),
    st.floats(-1e3, 1e3),
    penalties,
    st.booleans(),
)
def test_affine_map_of_y_maps_coef_and_intercept_alike(
    problem, sign, log_a, c, alpha, fit_intercept
):
    # Least squares (and ridge, whose intercept is not penalized) is linear
    # in y: y -> a y + c gives coef_ -> a coef_, intercept_ -> a intercept_ + c.
    X, y, w = problem.X, problem.y, problem.sample_weight
    a = sign * 10.0**log_a
    c = c if fit_intercept else 0.0
    original = TorchLinearRegressor(alpha=alpha, fit_intercept=fit_intercept).fit(X, y, w)
    mapped = TorchLinearRegressor(alpha=alpha, fit_intercept=fit_intercept).fit(X, a * y + c, w)
    k = problem.n_targets
    size = abs(a) * prediction_size(y) + abs(c)
    np.testing.assert_allclose(
        as_2d(mapped.coef_, k) * problem.column_scales,
        a * as_2d(original.coef_, k) * problem.column_scales,
        rtol=TIGHT, atol=TIGHT * size,
    )
    np.testing.assert_allclose(
        as_1d(mapped.intercept_, k), a * as_1d(original.intercept_, k) + c,
        rtol=TIGHT, atol=TIGHT * size,
    )


@given(problems(), st.data(), st.floats(-3.0, 3.0))
def test_scaling_feature_j_by_s_divides_its_coefficient_by_s(problem, data, log_s):
    # Without a penalty the model only sees the column space of X.
    X, y, w = problem.X, problem.y, problem.sample_weight
    j = data.draw(st.integers(0, X.shape[1] - 1))
    s = 10.0**log_s
    X_scaled = X.copy()
    X_scaled[:, j] *= s
    original = TorchLinearRegressor().fit(X, y, w)
    rescaled = TorchLinearRegressor().fit(X_scaled, y, w)
    expected = as_2d(original.coef_, problem.n_targets).copy()
    expected[:, j] /= s
    scales = problem.column_scales.copy()
    scales[j] *= s
    size = prediction_size(y)
    np.testing.assert_allclose(
        as_2d(rescaled.coef_, problem.n_targets) * scales, expected * scales,
        rtol=TIGHT, atol=TIGHT * size,
    )
    np.testing.assert_allclose(rescaled.intercept_, original.intercept_, rtol=TIGHT,
                               atol=TIGHT * size)
