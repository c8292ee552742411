"""The GPU path. Runs where CUDA exists (the lent H100/H200); skips cleanly elsewhere."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import sklearn
import torch

import skorch_lite._squared_error
from skorch_lite import TorchLinearRegressor

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _data(n=2000, p=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * np.logspace(-1, 1, p) + 2
    return X, X @ rng.normal(size=(p, 2)) + rng.normal(size=(n, 2))


def test_fit_on_cuda_matches_the_cpu_fit():
    X, y = _data(n=5000)
    gpu = TorchLinearRegressor(device="cuda", random_state=0).fit(X, y)
    cpu = TorchLinearRegressor(device="cpu", random_state=0).fit(X, y)
    assert isinstance(gpu.coef_, np.ndarray)
    np.testing.assert_allclose(gpu.coef_, cpu.coef_, rtol=1e-9)
    np.testing.assert_allclose(gpu.predict(X), cpu.predict(X), rtol=1e-9)


@pytest.mark.parametrize("loss", ["huber", "quantile", "poisson", "gamma"])
def test_every_loss_fits_on_cuda_what_it_fits_on_cpu(loss):
    X, y = _data(n=3000)
    y = y[:, 0]
    if loss in ("poisson", "gamma"):
        y = np.exp((y - y.mean()) / (2 * y.std()))
    gpu = TorchLinearRegressor(loss=loss, device="cuda", random_state=0).fit(X, y)
    cpu = TorchLinearRegressor(loss=loss, device="cpu", random_state=0).fit(X, y)
    # Different reduction orders: the same optimum to the stopping rule's tol.
    np.testing.assert_allclose(gpu.predict(X), cpu.predict(X), rtol=1e-4,
                               atol=1e-4 * np.abs(y).max())


def test_cuda_tensor_trains_where_it_lives(monkeypatch):
    seen = []
    original = skorch_lite._squared_error.affine
    monkeypatch.setattr(skorch_lite._squared_error, "affine", lambda X, B, c: seen.append(X) or original(X, B, c))
    X, y = (torch.as_tensor(a, device="cuda", dtype=torch.float32) for a in _data())
    reg = TorchLinearRegressor(device="auto").fit(X, y)
    assert seen and all(t.is_cuda and t.data_ptr() == X.data_ptr() for t in seen)
    assert reg.coef_.dtype == np.float32
    pred = reg.predict(X)
    assert isinstance(pred, np.ndarray)
    assert reg.score(X, y) > 0.9


def test_minibatch_training_on_cuda_is_reproducible():
    X, y = _data()
    params = dict(device="cuda", solver="adam", batch_size=64, max_iter=5, random_state=0)
    a = TorchLinearRegressor(**params).fit(X, y)
    b = TorchLinearRegressor(**params).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_model_fitted_on_gpu_predicts_on_a_machine_without_one(tmp_path):
    X, y = _data()
    reg = TorchLinearRegressor(device="cuda").fit(X, y)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(reg))
    np.save(tmp_path / "X.npy", X)
    code = (
        "import pickle, numpy as np, torch, sys;"
        "assert not torch.cuda.is_available();"
        f"reg = pickle.loads(open({str(path)!r}, 'rb').read());"
        f"np.save({str(tmp_path / 'pred.npy')!r}, reg.predict(np.load({str(tmp_path / 'X.npy')!r})))"
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
    np.testing.assert_allclose(np.load(tmp_path / "pred.npy"), reg.predict(X), rtol=1e-12)


def test_unavailable_cuda_index_is_a_clear_error():
    X, y = _data()
    with pytest.raises(ValueError, match="CUDA device"):
        TorchLinearRegressor(device=f"cuda:{torch.cuda.device_count()}").fit(X, y)


@pytest.mark.skipif(os.environ.get("SCIPY_ARRAY_API") != "1", reason="needs SCIPY_ARRAY_API=1")
def test_array_api_dispatch_keeps_everything_on_the_gpu():
    X, y = (torch.as_tensor(a, device="cuda") for a in _data())
    with sklearn.config_context(array_api_dispatch=True):
        reg = TorchLinearRegressor(device="auto").fit(X, y)
        pred = reg.predict(X)
        assert reg.coef_.is_cuda and pred.is_cuda
        assert isinstance(reg.score(X, y), float)


def test_a_cuda_evaluation_reads_x_whole_not_in_cpu_cache_blocks():
    # From the review of issue 13: blocks sized for a CPU core's cache would
    # be two dozen kernel launches each, 4,600 an evaluation of 1M x 100.
    from torch.utils._python_dispatch import TorchDispatchMode

    from skorch_lite._penalty import L2
    from skorch_lite._precondition import fit_preconditioner

    class CountOps(TorchDispatchMode):
        n = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            CountOps.n += 1
            return func(*args, **(kwargs or {}))

    gen = torch.Generator(device="cuda").manual_seed(0)
    X = torch.randn(1_000_000, 100, device="cuda", generator=gen)
    Y = X[:, :1] + torch.randn(1_000_000, 1, device="cuda", generator=gen)
    w = torch.ones(1_000_000, device="cuda")
    precond = fit_preconditioner(X, Y, w, alpha=0.0, fit_intercept=True, sketch_size=5000,
                                 generator=torch.Generator().manual_seed(0))
    objective = skorch_lite._squared_error.Objective(X, Y, w, precond, L2(0.0))
    theta = precond.theta0.to(X.dtype).clone()
    with CountOps():
        objective.value_and_grad([theta, torch.zeros(1, device="cuda")])
    assert CountOps.n < 100  # 36 unblocked (counted on a CPU)
