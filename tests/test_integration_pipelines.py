"""TorchLinearRegressor inside pipelines and column transformers, on data frames."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.compose import ColumnTransformer, make_column_transformer
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures, StandardScaler

from skorch_lite import TorchLinearRegressor

# Both solve least squares exactly, so predictions agree to rounding; the
# tolerance is relative to the spread of y (diabetes: std ~77).
RTOL_OF_STD = 1e-9


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True, as_frame=True)


def assert_same_predictions(a, b, y):
    assert np.max(np.abs(a - b)) <= RTOL_OF_STD * np.std(y)


@pytest.mark.parametrize("alpha", [0.0, 3.0])
def test_pipeline_with_scaler_and_polynomial_features_matches_closed_form(diabetes, alpha):
    X, y = diabetes
    steps = [PolynomialFeatures(degree=2, include_bias=False), StandardScaler()]
    reference = Ridge(alpha=alpha, solver="svd") if alpha else LinearRegression()
    pipe = make_pipeline(*steps, TorchLinearRegressor(alpha=alpha)).fit(X, y)
    ref = make_pipeline(*[clone(s) for s in steps], reference).fit(X, y)
    assert pipe[-1].coef_.shape == (65,)
    assert_same_predictions(pipe.predict(X), ref.predict(X), y)
    assert pipe.score(X, y) == pytest.approx(ref.score(X, y), abs=1e-10)


def _diabetes_columns():
    numeric = ["age", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    return numeric, ["sex"]


def test_column_transformer_on_pandas_keeps_feature_names(diabetes):
    X, y = diabetes
    numeric, categorical = _diabetes_columns()
    encode = make_column_transformer(
        (StandardScaler(), numeric),
        (OneHotEncoder(drop="first", sparse_output=False), categorical),
    )
    pipe = make_pipeline(encode, TorchLinearRegressor()).set_output(transform="pandas")
    pipe.fit(X, y)
    reg = pipe[-1]
    assert list(pipe.feature_names_in_) == list(X.columns)
    # The regressor saw the transformer's DataFrame output, with its names.
    assert list(reg.feature_names_in_) == list(encode.get_feature_names_out())
    assert reg.n_features_in_ == 10

    reference = make_pipeline(clone(encode), LinearRegression()).fit(X, y)
    assert_same_predictions(pipe.predict(X), reference.predict(X), y)


def test_column_transformer_on_polars_keeps_feature_names(diabetes):
    pl = pytest.importorskip("polars")
    X_pd, y = diabetes
    X = pl.from_pandas(X_pd)
    numeric, categorical = _diabetes_columns()
    encode = ColumnTransformer(
        [("scale", StandardScaler(), numeric), ("keep", "passthrough", categorical)]
    )
    pipe = make_pipeline(encode, TorchLinearRegressor()).set_output(transform="polars")
    pipe.fit(X, y.to_numpy())
    assert list(pipe.feature_names_in_) == X.columns
    assert list(pipe[-1].feature_names_in_) == [f"scale__{c}" for c in numeric] + ["keep__sex"]
    reference = make_pipeline(clone(encode), LinearRegression()).fit(X_pd, y)
    assert_same_predictions(pipe.predict(X), reference.predict(X_pd), y)


def test_regressor_fitted_on_polars_frame_records_its_columns(diabetes):
    pl = pytest.importorskip("polars")
    X_pd, y = diabetes
    reg = TorchLinearRegressor().fit(pl.from_pandas(X_pd), y.to_numpy())
    assert list(reg.feature_names_in_) == list(X_pd.columns)


def test_predict_without_feature_names_warns_after_fit_with_names(diabetes):
    X, y = diabetes
    reg = TorchLinearRegressor().fit(X, y)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        from_array = reg.predict(X.to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_frame = reg.predict(X)
    assert_allclose(from_array, from_frame)


def test_predict_with_feature_names_warns_after_fit_without(diabetes):
    X, y = diabetes
    reg = TorchLinearRegressor().fit(X.to_numpy(), y.to_numpy())
    with pytest.warns(UserWarning, match="X has feature names, but TorchLinearRegressor"):
        reg.predict(X)


def test_predict_with_reordered_columns_is_refused(diabetes):
    X, y = diabetes
    reg = TorchLinearRegressor().fit(X, y)
    with pytest.raises(ValueError, match="feature names should match"):
        reg.predict(X[X.columns[::-1]])


def test_get_params_set_params_round_trip_preserves_every_parameter():
    reg = TorchLinearRegressor(alpha=0.5, solver="adam", batch_size=32, random_state=3)
    params = reg.get_params()
    again = TorchLinearRegressor().set_params(**params)
    assert again.get_params() == params
    assert set(params) == {
        "loss", "epsilon", "quantile",
        "fit_intercept", "alpha", "solver", "learning_rate_init", "momentum",
        "batch_size", "max_iter", "tol", "n_iter_no_change", "early_stopping",
        "validation_fraction", "shuffle", "random_state", "warm_start",
        "device", "verbose",
    }


def test_nested_set_params_reaches_the_regressor_in_a_pipeline(diabetes):
    X, y = diabetes
    pipe = Pipeline([("scale", StandardScaler()), ("reg", TorchLinearRegressor())])
    pipe.set_params(reg__alpha=10.0, reg__fit_intercept=False)
    assert pipe.get_params()["reg__alpha"] == 10.0
    pipe.fit(X, y)
    assert pipe.named_steps["reg"].alpha == 10.0
    assert pipe.named_steps["reg"].intercept_ == 0.0


def test_clone_copies_parameters_and_drops_fitted_state(diabetes):
    X, y = diabetes
    reg = TorchLinearRegressor(alpha=2.0, random_state=0).fit(X, y)
    twin = clone(reg)
    assert twin.get_params() == reg.get_params()
    assert not hasattr(twin, "coef_")
    assert_allclose(twin.fit(X, y).coef_, reg.coef_, rtol=0, atol=0)


def test_clone_keeps_a_torch_device_parameter():
    torch = pytest.importorskip("torch")
    reg = TorchLinearRegressor(device=torch.device("cpu"))
    assert clone(reg).device == torch.device("cpu")
