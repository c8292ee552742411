"""The fitted model: exact optimum, shapes, dtypes, loss curve, stopping."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_linnerud
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures

from skorch_lite import TorchLinearRegressor
from estimators import SketchedStart
from skorch_lite.datasets import load_sourdough

SOURDOUGH_OPTIMUM = 6.0605


def test_sourdough_reaches_the_least_squares_optimum_with_defaults():
    X, y = load_sourdough(return_X_y=True)
    reg = TorchLinearRegressor().fit(X.astype(np.float64), y)
    mse = np.mean((reg.predict(X.astype(np.float64)) - y) ** 2)
    assert mse <= SOURDOUGH_OPTIMUM * (1 + 1e-4)
    assert reg.loss_curve_[-1] == pytest.approx(mse, rel=1e-9)


def test_sourdough_in_float32_also_reaches_the_optimum():
    X, y = load_sourdough(return_X_y=True)
    reg = TorchLinearRegressor().fit(X, y)
    assert reg.coef_.dtype == np.float32
    assert np.mean((reg.predict(X) - y) ** 2) <= SOURDOUGH_OPTIMUM * (1 + 1e-4)


@pytest.mark.parametrize("alpha", [0.0, 0.1, 10.0])
def test_diabetes_matches_ridge_and_linear_regression(alpha):
    X, y = load_diabetes(return_X_y=True)
    reference = Ridge(alpha=alpha) if alpha else LinearRegression()
    expected = reference.fit(X, y).predict(X)
    got = TorchLinearRegressor(alpha=alpha).fit(X, y).predict(X)
    np.testing.assert_allclose(got, expected, rtol=1e-4)


@pytest.mark.parametrize("alpha", [0.0, 5.0])
def test_linnerud_three_outputs_match_closed_form(alpha):
    X, y = load_linnerud(return_X_y=True)
    reference = Ridge(alpha=alpha) if alpha else LinearRegression()
    reg = TorchLinearRegressor(alpha=alpha).fit(X, y)
    np.testing.assert_allclose(reg.predict(X), reference.fit(X, y).predict(X), rtol=1e-4)
    assert reg.coef_.shape == (3, 3) and reg.intercept_.shape == (3,)


def test_weighted_fit_matches_weighted_ridge():
    X, y = load_diabetes(return_X_y=True)
    w = np.random.default_rng(0).uniform(0, 3, size=len(y))
    expected = Ridge(alpha=1.0).fit(X, y, sample_weight=w)
    reg = TorchLinearRegressor(alpha=1.0).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(reg.coef_, expected.coef_, rtol=1e-6)
    np.testing.assert_allclose(reg.intercept_, expected.intercept_, rtol=1e-8)


def test_ill_conditioned_polynomial_pipeline_reaches_the_exact_optimum():
    X, y = load_diabetes(return_X_y=True)
    X = X * 100 + 50  # unscaled, far from zero: the cubes are nearly collinear
    features = PolynomialFeatures(degree=3, include_bias=False).fit_transform(X[:, :4])
    assert np.linalg.cond(features) > 1e8
    pipe = make_pipeline(PolynomialFeatures(degree=3, include_bias=False), TorchLinearRegressor())
    pipe.fit(X[:, :4], y)
    expected = LinearRegression().fit(features, y).predict(features)
    np.testing.assert_allclose(pipe.predict(X[:, :4]), expected, rtol=1e-6)


@pytest.mark.parametrize("exponent", [-150, -20, 20, 150])
def test_ridge_with_one_column_of_extreme_scale_reaches_the_rescaled_optimum(exponent):
    # Column 2 times 10**exponent: its penalty, in the units of the others,
    # is alpha * 10**(-2 exponent). Tiny, the column is all but dropped;
    # huge, it is all but unpenalized. The SVD of the penalized problem lost
    # the other columns' directions when the penalty row was 1e20 (coef_
    # 0.6 off, silently).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)) * [1, 3, 0.5, 2, 1] + [0, 5, -1, 0, 2]
    y = X @ [1.0, -0.5, 2.0, 0.3, -1.0] + rng.normal(size=300)
    scale = np.ones(5)
    scale[2] = 10.0**exponent
    Xc, yc = X - X.mean(0), y - y.mean()
    penalty = np.ones(5)
    penalty[2] = 0.0 if exponent > 0 else 1e300
    expected = np.linalg.solve(Xc.T @ Xc + np.diag(penalty), Xc.T @ yc)
    reg = TorchLinearRegressor(alpha=1.0).fit(X * scale, y)
    np.testing.assert_allclose(reg.coef_ * scale, expected, rtol=1e-7, atol=1e-12)


def test_large_data_uses_a_sampled_sketch_and_still_reaches_the_optimum():
    rng = np.random.default_rng(0)
    n, p = 20_000, 30
    mixing = rng.normal(size=(p, p)) + 3 * np.eye(p)
    X = rng.normal(size=(n, p)) @ mixing * np.logspace(-1, 1, p) + 5
    y = X @ rng.normal(size=(p, 2)) + rng.normal(size=(n, 2))
    reg = TorchLinearRegressor(random_state=0).fit(X, y)
    expected = LinearRegression().fit(X, y)
    mse = np.mean((reg.predict(X) - y) ** 2)
    optimum = np.mean((expected.predict(X) - y) ** 2)
    assert mse <= optimum * (1 + 1e-8)  # the default tol, relative to the objective
    assert reg.n_iter_ <= 10


@pytest.mark.parametrize("shape", [(40,), (40, 1), (40, 3)])
def test_predictions_keep_the_shape_of_y(shape):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    y = rng.normal(size=shape)
    reg = TorchLinearRegressor().fit(X, y)
    assert reg.predict(X).shape == shape
    expected_coef = (4,) if len(shape) == 1 else (shape[1], 4)
    assert reg.coef_.shape == expected_coef


def test_float32_trains_in_float32_and_integers_in_float64():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = X.sum(axis=1)
    assert TorchLinearRegressor().fit(X.astype(np.float32), y).coef_.dtype == np.float32
    assert TorchLinearRegressor().fit(X.astype(np.int64), y).coef_.dtype == np.float64


def test_no_intercept_fits_through_the_origin():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3)) + 4
    y = X @ [1.0, 2.0, 3.0] + 7
    reg = TorchLinearRegressor(fit_intercept=False).fit(X, y)
    expected = LinearRegression(fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(reg.coef_, expected.coef_, rtol=1e-8)
    assert reg.intercept_ == 0.0


@pytest.mark.parametrize("solver", ["lbfgs", "adam", "sgd"])
def test_loss_curve_has_one_entry_per_iteration(solver):
    X, y = load_diabetes(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = TorchLinearRegressor(solver=solver, max_iter=50).fit(X, y)
    assert len(reg.loss_curve_) == reg.n_iter_ >= 1
    assert reg.loss_curve_[-1] < np.var(y)


def test_lbfgs_loss_curve_never_increases_from_zero_start_with_warm_start_off():
    X, y = load_diabetes(return_X_y=True)
    reg = TorchLinearRegressor(tol=0.0, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    assert np.all(np.diff(reg.loss_curve_) <= 1e-12 * reg.loss_curve_[0])


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_stochastic_solvers_learn_unscaled_data_at_default_learning_rates(solver):
    X, y = load_diabetes(return_X_y=True)
    X = X * 1000 + 300  # unscaled features; diabetes targets are in the hundreds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = TorchLinearRegressor(solver=solver, random_state=0).fit(X, y)
        batched = TorchLinearRegressor(solver=solver, batch_size=32, random_state=0).fit(X, y)
    best = LinearRegression().fit(X, y).score(X, y)
    assert reg.score(X, y) > best - 1e-3
    assert batched.score(X, y) > best - 1e-2


def test_max_iter_reached_warns_convergence():
    X, y = load_diabetes(return_X_y=True)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        SketchedStart(solver="adam", max_iter=2).fit(X, y)


def test_same_random_state_gives_bit_identical_minibatch_fits():
    X, y = load_diabetes(return_X_y=True)
    params = dict(solver="sgd", batch_size=16, max_iter=5, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = SketchedStart(**params).fit(X, y)
        b = SketchedStart(**params).fit(X, y)
        c = SketchedStart(**{**params, "random_state": 4}).fit(X, y)
    assert np.array_equal(a.coef_, b.coef_)
    assert not np.array_equal(a.coef_, c.coef_)


def test_lbfgs_ignores_batch_size_and_trains_on_the_full_batch():
    X, y = load_diabetes(return_X_y=True)
    full = TorchLinearRegressor().fit(X, y)
    batched = TorchLinearRegressor(batch_size=8).fit(X, y)
    np.testing.assert_allclose(batched.coef_, full.coef_, rtol=1e-10)


def test_minibatch_fit_keeps_the_best_model_seen():
    X, y = load_diabetes(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = SketchedStart(solver="sgd", batch_size=16,
                                   max_iter=15, random_state=0).fit(X, y)
    assert reg.loss_curve_[-1] > min(reg.loss_curve_)  # the last epoch is not the best here
    mse = np.mean((reg.predict(X) - y) ** 2)
    assert mse == pytest.approx(min(reg.loss_curve_ + [np.var(y)]), rel=1e-9)
