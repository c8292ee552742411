"""Saving and loading fitted models: pickle, joblib, skops, across devices.

Fitted state is numpy arrays and Python values only, so a model trained on
one device loads, and predicts, in a process where that device (or any GPU)
does not exist.
"""

import io
import os
import pickle
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.datasets import load_diabetes, load_linnerud
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skorch_lite
from skorch_lite import TorchLinearRegressor

# Child processes import the skorch_lite under test, wherever it lives.
PACKAGE_ROOT = Path(skorch_lite.__file__).resolve().parents[1]
OWN_TYPE = "skorch_lite._regressor.TorchLinearRegressor"

MODELS = {
    "lbfgs": lambda: TorchLinearRegressor(alpha=1.0),
    "early_stopping": lambda: TorchLinearRegressor(
        solver="adam", early_stopping=True, max_iter=30, random_state=0
    ),
    "pipeline": lambda: make_pipeline(StandardScaler(), TorchLinearRegressor()),
}


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


def _fitted(name, X, y):
    with warnings.catch_warnings():
        # A 30-epoch Adam run may stop before converging; fine for persistence.
        warnings.simplefilter("ignore")
        return MODELS[name]().fit(X, y)


class _RecordingUnpickler(pickle.Unpickler):
    """Unpickle, recording every global the pickle names."""

    def __init__(self, data):
        super().__init__(io.BytesIO(data))
        self.globals = set()

    def find_class(self, module, name):
        self.globals.add(f"{module}.{name}")
        return super().find_class(module, name)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_pickle_round_trip_gives_identical_predictions(diabetes, name):
    X, y = diabetes
    model = _fitted(name, X, y)
    loaded = pickle.loads(pickle.dumps(model))
    assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_joblib_round_trip_gives_identical_predictions(diabetes, name, tmp_path):
    X, y = diabetes
    model = _fitted(name, X, y)
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    assert_array_equal(loaded.predict(X), model.predict(X))


def test_multi_output_model_survives_a_round_trip():
    X, Y = load_linnerud(return_X_y=True)
    model = TorchLinearRegressor().fit(X, Y)
    loaded = pickle.loads(pickle.dumps(model))
    assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.coef_.shape == (3, 3)


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_pickle_names_no_torch_type(diabetes, solver):
    X, y = diabetes
    model = TorchLinearRegressor(solver=solver, random_state=0)
    # partial_fit keeps the preconditioner and optimizer state for the next call.
    model = model.partial_fit(X, y) if solver == "adam" else model.fit(X, y)
    unpickler = _RecordingUnpickler(pickle.dumps(model))
    unpickler.load()
    assert OWN_TYPE in unpickler.globals
    assert not [g for g in unpickler.globals if g.startswith("torch")], unpickler.globals


def test_partial_fit_resumes_identically_after_a_round_trip(diabetes):
    X, y = diabetes
    model = TorchLinearRegressor(solver="adam", random_state=0).partial_fit(X, y)
    loaded = pickle.loads(pickle.dumps(model))
    model.partial_fit(X, y)
    loaded.partial_fit(X, y)
    assert_array_equal(loaded.coef_, model.coef_)
    assert loaded.n_iter_ == model.n_iter_ == 2


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_skops_trusts_nothing_but_the_estimator_itself(diabetes, solver):
    sio = pytest.importorskip("skops.io")
    X, y = diabetes
    model = TorchLinearRegressor(solver=solver, random_state=0)
    model = model.partial_fit(X, y) if solver == "adam" else model.fit(X, y)
    data = sio.dumps(model)
    assert sio.get_untrusted_types(data=data) == [OWN_TYPE]
    loaded = sio.loads(data, trusted=[OWN_TYPE])
    assert_array_equal(loaded.predict(X), model.predict(X))


def test_device_parameter_is_stored_as_the_string_given(diabetes):
    X, y = diabetes
    for device in ("cpu", "auto"):
        model = TorchLinearRegressor(device=device).fit(X, y)
        assert model.device == device and type(model.device) is str
    assert type(model.coef_) is np.ndarray and model.coef_.dtype == np.float64


_LOAD_WITHOUT_GPU = textwrap.dedent(
    """
    import pickle, sys
    import numpy as np
    import torch

    # This process has no GPU of any kind, whatever the machine has.
    torch.cuda.is_available = lambda: False
    torch.cuda.device_count = lambda: 0
    if hasattr(torch.backends, "mps"):
        torch.backends.mps.is_available = lambda: False

    with open(sys.argv[1], "rb") as f:
        model, X, expected = pickle.load(f)
    assert model.device.startswith("cuda"), model.device
    np.testing.assert_array_equal(model.predict(X), expected)
    print("predicted", len(expected), "rows without", model.device)
    """
)


def _load_in_process_without_gpu(tmp_path, model, X, expected):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps((model, X, expected)))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")]),
        "CUDA_VISIBLE_DEVICES": "",
    }
    done = subprocess.run(
        [sys.executable, "-c", _LOAD_WITHOUT_GPU, str(path)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "predicted" in done.stdout


def test_model_saved_with_a_gpu_device_predicts_where_there_is_no_gpu(diabetes, tmp_path):
    # On a CPU machine, stand in for a GPU fit: the fitted state is the same
    # numpy arrays, only the device parameter differs.
    X, y = diabetes
    model = TorchLinearRegressor().fit(X, y).set_params(device="cuda:1")
    _load_in_process_without_gpu(tmp_path, model, X, model.predict(X))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_model_fitted_on_cuda_predicts_where_there_is_no_gpu(diabetes, tmp_path):
    X, y = diabetes
    model = TorchLinearRegressor(device="cuda").fit(X, y)
    assert type(model.coef_) is np.ndarray
    _load_in_process_without_gpu(tmp_path, model, X, model.predict(X))
