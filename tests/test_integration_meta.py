"""TorchLinearRegressor inside scikit-learn's meta-estimators."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes, load_linnerud
from sklearn.ensemble import BaggingRegressor, StackingRegressor
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import KFold
from sklearn.multioutput import MultiOutputRegressor, RegressorChain

from skorch_lite import TorchLinearRegressor

CV = KFold(n_splits=3, shuffle=True, random_state=0)


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


@pytest.fixture(scope="module")
def linnerud():
    return load_linnerud(return_X_y=True)


def test_transformed_target_regressor_fits_log_target_like_closed_form(diabetes):
    X, y = diabetes
    model = TransformedTargetRegressor(
        TorchLinearRegressor(), func=np.log, inverse_func=np.exp
    ).fit(X, y)
    reference = TransformedTargetRegressor(
        LinearRegression(), func=np.log, inverse_func=np.exp
    ).fit(X, y)
    # TransformedTargetRegressor hands the regressor a 2-D y and squeezes
    # back; a 1-D prediction must come out.
    assert model.predict(X).shape == (len(y),)
    assert_allclose(model.predict(X), reference.predict(X), rtol=1e-9)


def test_native_multi_output_on_linnerud_matches_least_squares(linnerud):
    X, Y = linnerud
    reg = TorchLinearRegressor().fit(X, Y)
    reference = LinearRegression().fit(X, Y)
    assert reg.coef_.shape == (3, 3) and reg.intercept_.shape == (3,)
    assert_allclose(reg.predict(X), reference.predict(X), rtol=1e-9)


def test_multi_output_regressor_equals_one_joint_fit(linnerud):
    X, Y = linnerud
    per_target = MultiOutputRegressor(TorchLinearRegressor(alpha=1.0)).fit(X, Y)
    joint = TorchLinearRegressor(alpha=1.0).fit(X, Y)
    assert len(per_target.estimators_) == 3
    # One target at a time or all at once: the ridge problem separates by target.
    assert_allclose(per_target.predict(X), joint.predict(X), rtol=1e-9)
    assert_allclose(per_target.predict(X), Ridge(alpha=1.0).fit(X, Y).predict(X), rtol=1e-9)


def test_regressor_chain_runs_on_linnerud(linnerud):
    X, Y = linnerud
    chain = RegressorChain(TorchLinearRegressor(), order=[0, 1, 2]).fit(X, Y)
    assert chain.predict(X).shape == Y.shape
    # The first link sees only X: it is the single-target least-squares fit.
    assert_allclose(chain.estimators_[0].coef_,
                    LinearRegression().fit(X, Y[:, 0]).coef_, rtol=1e-8)


@pytest.mark.parametrize("bootstrap", [True, False])
def test_bagging_members_equal_least_squares_on_their_own_samples(diabetes, bootstrap):
    X, y = diabetes
    bag = BaggingRegressor(
        TorchLinearRegressor(), n_estimators=4, max_samples=0.7,
        bootstrap=bootstrap, random_state=0,
    ).fit(X, y)
    ref = BaggingRegressor(
        LinearRegression(), n_estimators=4, max_samples=0.7,
        bootstrap=bootstrap, random_state=0,
    ).fit(X, y)
    # With bootstrap, BaggingRegressor passes the draw counts as integer
    # sample weights (the estimator accepts sample_weight); both members
    # then solve the same weighted problem.
    for member, ref_member in zip(bag.estimators_, ref.estimators_):
        assert_allclose(member.coef_, ref_member.coef_, rtol=1e-7, atol=1e-6)
    assert_allclose(bag.predict(X), ref.predict(X), rtol=1e-9)


def test_stacking_with_torch_final_estimator_matches_closed_form(diabetes):
    X, y = diabetes
    base = [("ridge", Ridge(alpha=1.0)), ("torch", TorchLinearRegressor(alpha=10.0))]
    stack = StackingRegressor(base, final_estimator=TorchLinearRegressor(), cv=CV).fit(X, y)
    reference = StackingRegressor(
        [("ridge", Ridge(alpha=1.0)), ("torch", Ridge(alpha=10.0))],
        final_estimator=LinearRegression(), cv=CV,
    ).fit(X, y)
    assert_allclose(stack.final_estimator_.coef_, reference.final_estimator_.coef_, rtol=1e-7)
    assert_allclose(stack.predict(X), reference.predict(X), rtol=1e-9)
