"""Inputs reach the engine without copies: numpy views, tensors where they live, sparse CSR."""

import os

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge

import skorch_lite._squared_error
import skorch_lite._precondition
from skorch_lite import TorchLinearRegressor

needs_array_api = pytest.mark.skipif(
    os.environ.get("SCIPY_ARRAY_API") != "1", reason="array-API dispatch needs SCIPY_ARRAY_API=1"
)


@pytest.fixture
def seen_by_engine(monkeypatch):
    """Every X the engine multiplies by, as the engine saw it."""
    seen = []
    original = skorch_lite._squared_error.affine

    def spy(X, B, c):
        seen.append(X)
        return original(X, B, c)

    monkeypatch.setattr(skorch_lite._squared_error, "affine", spy)
    return seen


def _data(n=300, p=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * np.logspace(-1, 2, p) + 3
    return X, X @ rng.normal(size=p) + rng.normal(size=n)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_numpy_x_is_viewed_not_copied(seen_by_engine, dtype, order):
    X, y = _data()
    X = np.asarray(X, dtype=dtype, order=order)
    TorchLinearRegressor().fit(X, y)
    assert seen_by_engine and all(t.data_ptr() == X.ctypes.data for t in seen_by_engine)


def test_read_only_memmap_trains_without_warnings(tmp_path):
    X, y = _data()
    np.save(tmp_path / "X.npy", X)
    X_map = np.load(tmp_path / "X.npy", mmap_mode="r")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reg = TorchLinearRegressor().fit(X_map, y)
    np.testing.assert_allclose(reg.predict(X), Ridge(alpha=0).fit(X, y).predict(X), rtol=1e-8)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tensor_x_trains_in_place_without_a_numpy_round_trip(seen_by_engine, monkeypatch, dtype):
    X, y = (torch.as_tensor(a, dtype=dtype) for a in _data())
    for method in ("__array__", "numpy"):
        original = getattr(torch.Tensor, method)

        def refuse_x(self, *args, _original=original, **kwargs):
            if self.data_ptr() == X.data_ptr():
                raise AssertionError("X was converted to numpy")
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, method, refuse_x)
    reg = TorchLinearRegressor(device="auto").fit(X, y)
    assert all(t.data_ptr() == X.data_ptr() for t in seen_by_engine)
    pred = reg.predict(X)
    assert isinstance(pred, np.ndarray) and pred.dtype == np.dtype(str(dtype).split(".")[1])
    assert isinstance(reg.coef_, np.ndarray)


def test_tensor_and_numpy_fits_agree():
    X, y = _data()
    from_numpy = TorchLinearRegressor().fit(X, y)
    from_tensor = TorchLinearRegressor().fit(torch.as_tensor(X), torch.as_tensor(y))
    np.testing.assert_allclose(from_tensor.coef_, from_numpy.coef_, rtol=1e-10)
    assert from_tensor.score(torch.as_tensor(X), torch.as_tensor(y)) == pytest.approx(
        from_numpy.score(X, y), rel=1e-12
    )


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_x_trains_through_sparse_products_and_matches_dense(seen_by_engine, fmt):
    rng = np.random.default_rng(0)
    X = sp.random(400, 30, density=0.1, format=fmt, random_state=0) * 10
    y = X @ rng.normal(size=30) + 5 + rng.normal(size=400)
    w = rng.uniform(0.5, 2, size=400)
    reg = TorchLinearRegressor(alpha=0.5).fit(X, y, sample_weight=w)
    assert seen_by_engine and all(t.layout == torch.sparse_csr for t in seen_by_engine)
    expected = Ridge(alpha=0.5).fit(X.toarray(), y, sample_weight=w)
    np.testing.assert_allclose(reg.coef_, expected.coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(reg.intercept_, expected.intercept_, rtol=1e-8)
    np.testing.assert_allclose(reg.predict(X), expected.predict(X.toarray()), rtol=1e-8)


def test_sparse_csr_shares_memory_with_scipy(seen_by_engine):
    X = sp.random(100, 8, density=0.2, format="csr", random_state=0)
    TorchLinearRegressor().fit(X, np.arange(100.0))
    assert all(t.values().data_ptr() == X.data.ctypes.data for t in seen_by_engine)


def test_sparse_minibatches_and_large_sketch(seen_by_engine):
    rng = np.random.default_rng(0)
    X = sp.random(5000, 20, density=0.05, format="csr", random_state=1)
    y = X @ rng.normal(size=20) + rng.normal(size=5000) * 0.01
    reg = TorchLinearRegressor(random_state=0).fit(X, y)  # n > sketch size: sampled rows
    expected = Ridge(alpha=0).fit(X.toarray(), y)
    optimum = np.mean((expected.predict(X.toarray()) - y) ** 2)
    assert np.mean((reg.predict(X) - y) ** 2) <= optimum * (1 + 1e-7)
    # A constant step stops at its noise floor, 1e-2 above the optimum, and says so.
    with pytest.warns(ConvergenceWarning, match="noise floor of mini-batch training"):
        batched = TorchLinearRegressor(solver="adam", batch_size=256, random_state=0).fit(X, y)
    assert batched.score(X, y) > expected.score(X.toarray(), y) - 0.05


@needs_array_api
def test_under_array_api_dispatch_outputs_follow_the_tensor():
    X, y = (torch.as_tensor(a) for a in _data())
    with sklearn.config_context(array_api_dispatch=True):
        reg = TorchLinearRegressor().fit(X, y)
        pred = reg.predict(X)
        assert isinstance(reg.coef_, torch.Tensor) and isinstance(pred, torch.Tensor)
        assert pred.device == X.device
        with pytest.raises(ValueError, match="same namespace"):
            reg.predict(X.numpy())


@needs_array_api
def test_array_api_strict_input_gives_array_api_strict_output():
    import array_api_strict as xp

    X, y = _data()
    with sklearn.config_context(array_api_dispatch=True):
        reg = TorchLinearRegressor().fit(xp.asarray(X), xp.asarray(y))
        pred = reg.predict(xp.asarray(X))
    assert type(pred).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(np.asarray(pred), Ridge(alpha=0).fit(X, y).predict(X), rtol=1e-8)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_a_y_without_targets_is_rejected_whatever_its_kind(method, kind):
    X, _ = _data()
    y = np.zeros((len(X), 0))
    if kind == "torch":
        X, y = torch.as_tensor(X), torch.as_tensor(y)
    reg = TorchLinearRegressor(solver="sgd")
    with pytest.raises(ValueError, match=r"0 feature\(s\) \(shape=\(300, 0\)\).*minimum of 1"):
        getattr(reg, method)(X, y)
    assert not hasattr(reg, "coef_")


@pytest.mark.parametrize("frame", [False, True])
def test_score_reads_tensors_that_require_grad_beside_a_host_x(frame):
    import pandas as pd
    from sklearn.model_selection import cross_val_score

    X, y = _data()
    expected = TorchLinearRegressor().fit(X, y).score(X, y, sample_weight=np.arange(300.0))
    X_in = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])]) if frame else X
    y_t = torch.tensor(y, requires_grad=True)
    w_t = torch.arange(300.0, dtype=torch.float64, requires_grad=True)
    reg = TorchLinearRegressor().fit(X_in, y)
    assert reg.score(X_in, y_t, sample_weight=w_t) == pytest.approx(expected, rel=1e-12)
    assert y_t.grad is None and w_t.grad is None
    scores = cross_val_score(TorchLinearRegressor(), X_in, y_t, cv=3, error_score="raise")
    assert np.all(scores > 0.9)


def test_tensors_made_under_inference_mode_train():
    X, y = _data()
    with torch.inference_mode():
        X_t, y_t = torch.as_tensor(X), torch.as_tensor(y)
    reg = TorchLinearRegressor().fit(X_t, y_t)
    np.testing.assert_allclose(reg.coef_, Ridge(alpha=0).fit(X, y).coef_, rtol=1e-8)
    assert reg.score(X_t, y_t) == pytest.approx(reg.score(X, y), rel=1e-12)


def test_sparse_x_with_duplicated_entries_fits_the_matrix_scipy_means():
    # Every entry stored as two halves, which scipy adds up: squares of the
    # halves do not add up to the square of the entry.
    X, y = _data(p=3)
    n, p = X.shape
    raw = sp.csr_matrix(
        (np.repeat(X.ravel() / 2, 2), np.repeat(np.tile(np.arange(p), n), 2),
         np.arange(0, 2 * n * p + 1, 2 * p)),
        shape=X.shape,
    )
    assert not raw.has_canonical_format
    expected = Ridge(alpha=0).fit(X, y).coef_
    np.testing.assert_allclose(TorchLinearRegressor().fit(raw, y).coef_, expected, rtol=1e-8)
    streamed = TorchLinearRegressor(solver="sgd", random_state=0).partial_fit(raw, y)
    canonical = TorchLinearRegressor(solver="sgd", random_state=0).partial_fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(streamed.coef_, canonical.coef_, rtol=1e-12)
