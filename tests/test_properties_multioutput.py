"""Several targets fit like separate single-target fits, and outputs keep y's shape."""

import warnings

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from strategies import (  # noqa: F401 (one_torch_thread is an autouse fixture)
    TIGHT,
    one_torch_thread,
    penalties,
    prediction_size,
    problems,
)

from skorch_lite import TorchLinearRegressor


@given(problems(n_targets=st.integers(2, 3)), penalties, st.booleans())
def test_fitting_k_targets_together_equals_k_single_target_fits(problem, alpha, fit_intercept):
    # The objective is a sum over targets of terms that share no variable,
    # so its minimizer is the stack of the single-target minimizers.
    X, Y, w = problem.X, problem.y, problem.sample_weight
    joint = TorchLinearRegressor(alpha=alpha, fit_intercept=fit_intercept).fit(X, Y, w)
    for t in range(Y.shape[1]):
        single = TorchLinearRegressor(alpha=alpha, fit_intercept=fit_intercept)
        single.fit(X, Y[:, t], w)
        size = prediction_size(Y[:, t])
        np.testing.assert_allclose(
            joint.coef_[t] * problem.column_scales, single.coef_ * problem.column_scales,
            rtol=TIGHT, atol=TIGHT * size,
        )
        joint_intercept = joint.intercept_[t] if fit_intercept else joint.intercept_
        np.testing.assert_allclose(joint_intercept, single.intercept_, rtol=TIGHT,
                                   atol=TIGHT * size)


@given(
    problems(n_targets=st.integers(1, 3)),
    st.sampled_from(["1d", "2d"]),
    st.sampled_from(["lbfgs", "adam", "sgd"]),
    st.one_of(st.none(), st.integers(1, 30)),
    st.booleans(),
)
def test_predictions_keep_the_shape_of_y(problem, layout, solver, batch_size, fit_intercept):
    X, y = problem.X, problem.y.reshape(len(problem.y), -1)
    if layout == "1d":
        y = y[:, 0]
    # Shapes do not depend on convergence: a few iterations suffice.
    model = TorchLinearRegressor(solver=solver, batch_size=batch_size, max_iter=5,
                                 fit_intercept=fit_intercept, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert model.predict(X).shape == y.shape
    assert model.predict(X[:1]).shape == (1,) + y.shape[1:]
    assert model.coef_.shape == y.shape[1:] + (X.shape[1],)
    if not fit_intercept:
        assert model.intercept_ == 0.0
    elif y.ndim == 1:
        assert np.ndim(model.intercept_) == 0
    else:
        assert model.intercept_.shape == y.shape[1:]
    assert np.all(np.isfinite(model.predict(X)))
