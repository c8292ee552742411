"""Bad input and bad parameters: a clear error, and the caller's arrays untouched."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes
from sklearn.exceptions import NotFittedError

from skorch_lite import TorchLinearRegressor
from estimators import SketchedStart


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = X @ [1.0, 2.0, 3.0] + 1
    return X, y


def _fit_keeps_inputs(reg, X, y, sample_weight=None):
    copies = [None if a is None else np.array(a, copy=True) for a in (X, y, sample_weight)]
    try:
        reg.fit(X, y, sample_weight=sample_weight)
    finally:
        for original, copy in zip((X, y, sample_weight), copies):
            if original is not None:
                np.testing.assert_array_equal(original, copy)


@pytest.mark.parametrize("where", ["X", "y", "sample_weight"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_raise_value_error_naming_the_input(data, where, bad):
    X, y = data
    arrays = {"X": X.copy(), "y": y.copy(), "sample_weight": np.ones(len(y))}
    arrays[where][3] = bad
    with pytest.raises(ValueError, match=f"(?i)(input {where}|{where}).*(nan|inf)"):
        _fit_keeps_inputs(TorchLinearRegressor(), arrays["X"], arrays["y"], arrays["sample_weight"])


def test_wrong_number_of_features_at_predict(data):
    X, y = data
    reg = TorchLinearRegressor().fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but TorchLinearRegressor is expecting 3"):
        reg.predict(X[:, :2])


def test_length_mismatch(data):
    X, y = data
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        TorchLinearRegressor().fit(X, y[:-1])


def test_empty_input(data):
    with pytest.raises(ValueError, match="0 sample"):
        TorchLinearRegressor().fit(np.empty((0, 3)), np.empty(0))


@pytest.mark.parametrize("y", [np.array(["a", "b"] * 10), np.array([1.0, None] * 10, dtype=object)])
def test_non_numeric_or_missing_targets(data, y):
    X, _ = data
    with pytest.raises(ValueError, match="(?i)y"):
        TorchLinearRegressor().fit(X, y)


@pytest.mark.parametrize(
    "weights, message",
    [(-np.ones(20), "Negative values"), (np.zeros(20), "at least one non-zero"),
     (np.ones(19), "sample_weight")],
)
def test_bad_sample_weights(data, weights, message):
    X, y = data
    with pytest.raises(ValueError, match=message):
        _fit_keeps_inputs(TorchLinearRegressor(), X, y, weights)


@pytest.mark.parametrize(
    "param, value",
    [("alpha", -1.0), ("solver", "newton"), ("learning_rate_init", 0.0), ("momentum", 1.0),
     ("batch_size", 0), ("max_iter", 0), ("tol", -1.0), ("n_iter_no_change", 0),
     ("validation_fraction", 1.0), ("device", 3), ("verbose", -1), ("fit_intercept", "yes")],
)
def test_invalid_parameters_name_the_parameter(data, param, value):
    X, y = data
    with pytest.raises(ValueError, match=f"'{param}' parameter"):
        TorchLinearRegressor(**{param: value}).fit(X, y)


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "tpu"])
def test_malformed_device_names_are_rejected(data, device):
    X, y = data
    with pytest.raises(ValueError, match="device="):
        TorchLinearRegressor(device=device).fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:1", torch.device("cuda")])
def test_unavailable_device_is_a_clear_error_at_fit(data, device):
    X, y = data
    with pytest.raises(ValueError, match="CUDA is not available"):
        TorchLinearRegressor(device=device).fit(X, y)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_divergence_names_learning_rate_and_leaves_no_nan_coefficients(solver):
    X, y = load_diabetes(return_X_y=True)
    reg = SketchedStart(solver=solver, learning_rate_init=1e6)
    with pytest.raises(ValueError, match="diverged.*learning_rate_init"):
        reg.fit(X, y)
    assert not hasattr(reg, "coef_")


def test_divergence_on_refit_keeps_the_previous_model():
    X, y = load_diabetes(return_X_y=True)
    reg = SketchedStart(solver="sgd").fit(X, y)
    coef = reg.coef_.copy()
    with pytest.raises(ValueError, match="learning_rate_init"):
        reg.set_params(learning_rate_init=1e6).fit(X, y)
    np.testing.assert_array_equal(reg.coef_, coef)


def test_predict_before_fit_raises_not_fitted(data):
    X, _ = data
    with pytest.raises(NotFittedError):
        TorchLinearRegressor().predict(X)


def test_partial_fit_is_not_offered_for_lbfgs(data):
    X, y = data
    reg = TorchLinearRegressor()
    assert not hasattr(reg, "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit"):
        reg.partial_fit(X, y)


def test_early_stopping_with_too_few_rows(data):
    X, y = data
    with pytest.raises(ValueError, match="validation_fraction"):
        TorchLinearRegressor(early_stopping=True, validation_fraction=0.99).fit(X[:1], y[:1])


def test_tensor_inputs_are_validated_too(data):
    X, y = (torch.as_tensor(a) for a in data)
    bad = X.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        TorchLinearRegressor().fit(bad, y)
    with pytest.raises(ValueError, match="2D"):
        TorchLinearRegressor().fit(X[:, 0], y)
    with pytest.raises(ValueError, match="Complex"):
        TorchLinearRegressor().fit(X.to(torch.complex128), y)
    with pytest.raises(ValueError, match="inconsistent"):
        TorchLinearRegressor().fit(X, y[:-1])
    with pytest.raises(ValueError, match="Negative"):
        TorchLinearRegressor().fit(X, y, sample_weight=-torch.ones(len(y)))
    reg = TorchLinearRegressor().fit(X, y)
    with pytest.raises(ValueError, match="expecting 3 features"):
        reg.predict(X[:, :2])
    assert not bool(torch.isnan(X).any())
