"""Grid search over TorchLinearRegressor on a real dask.distributed cluster.

One LocalCluster (two worker processes, one thread each, loopback only) is
started for the module and always closed; every step is bounded in time so
that a worker that cannot import skorch_lite fails the test, not hangs it.
"""

import os
import signal
from contextlib import contextmanager

import joblib
import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from sklearn.datasets import load_diabetes
from sklearn.model_selection import GridSearchCV, KFold

import skorch_lite
from skorch_lite import TorchLinearRegressor

distributed = pytest.importorskip("distributed")

START_TIMEOUT_S = 60
SEARCH_TIMEOUT_S = 120
GRID = {"alpha": [0.01, 1.0, 100.0], "fit_intercept": [True, False]}
CV = KFold(n_splits=3, shuffle=True, random_state=0)


@contextmanager
def time_limit(seconds, what):
    """Raise TimeoutError in the main thread if the block outlives ``seconds``."""

    def _expired(signum, frame):
        raise TimeoutError(f"{what} took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def dask_client():
    cluster = client = None
    try:
        with time_limit(START_TIMEOUT_S, "starting the LocalCluster"):
            cluster = distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True,
                host="127.0.0.1", dashboard_address=None,
            )
            client = distributed.Client(cluster, timeout=f"{START_TIMEOUT_S}s")
            client.wait_for_workers(2, timeout=START_TIMEOUT_S)
        yield client
    finally:
        if client is not None:
            client.close(timeout=30)
        if cluster is not None:
            cluster.close(timeout=30)


def worker_pid(estimator, X, y):
    # A "scorer" that reports which process ran the fit.
    return os.getpid()


def _search():
    return GridSearchCV(
        TorchLinearRegressor(), GRID, cv=CV,
        scoring={"r2": "r2", "pid": worker_pid}, refit="r2", n_jobs=-1,
    )


def test_grid_search_on_dask_workers_equals_the_local_run(dask_client):
    X, y = load_diabetes(return_X_y=True)
    with time_limit(SEARCH_TIMEOUT_S, "checking the workers"):
        # The workers import this very skorch_lite (else tasks would hang),
        # and run torch on one thread each, as threads_per_worker=1 asks.
        files = dask_client.run(lambda: __import__("skorch_lite").__file__)
        threads = dask_client.run(torch.get_num_threads)
        pids = set(dask_client.run(os.getpid).values())
    assert set(files.values()) == {skorch_lite.__file__}
    assert set(threads.values()) == {1}

    with time_limit(SEARCH_TIMEOUT_S, "the search on dask"):
        with joblib.parallel_config(backend="dask"):
            on_dask = _search().fit(X, y)
    local = _search().set_params(n_jobs=2).fit(X, y)

    used = {int(on_dask.cv_results_[f"split{i}_test_pid"][j])
            for i in range(CV.n_splits) for j in range(6)}
    assert used <= pids and os.getpid() not in used
    assert on_dask.best_params_ == local.best_params_
    assert_allclose(on_dask.cv_results_["mean_test_r2"], local.cv_results_["mean_test_r2"],
                    rtol=1e-12, atol=1e-12)
    # The final refit runs in this process, on all rows.
    assert_allclose(on_dask.best_estimator_.coef_, local.best_estimator_.coef_, rtol=1e-12)
    assert np.isfinite(on_dask.best_score_)
